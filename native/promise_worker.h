// An AsyncWorker that settles a Promise: Run() does the work on a libuv worker thread and may
// throw Failure; the rejection then carries the failure's stable `code` (lib/errors.ts's table). Any
// other exception gets the worker's own code: a load that fails is MODEL_LOAD_FAILED, not a failed
// transcription.
#pragma once

#include <napi.h>

#include <string>

#include "failure.h"

namespace prism {

class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name, const char* failure_code = "TRANSCRIBE_FAILED")
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)), failure_code_(failure_code), code_(failure_code) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  virtual void Run() = 0;
  // Builds the resolved value on the JS thread.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }
  // Called on the JS thread once the outcome is known, before the promise settles.
  virtual void Settle(Napi::Env /*env*/, Napi::Value result, Napi::Value error) { Finish(result, error); }

  void Finish(Napi::Value result, Napi::Value error) {
    if (error.IsEmpty() || error.IsUndefined()) {
      deferred_.Resolve(result);
    } else {
      deferred_.Reject(error);
    }
  }

  Napi::Value CodedRejection(Napi::Env env) const { return CodedError(env, code_, message_).Value(); }

  Napi::Promise::Deferred deferred_;

 private:
  void Execute() final {
    try {
      Run();
    } catch (const Failure& f) {
      code_ = f.code();
      message_ = f.what();
      SetError(message_);
    } catch (const std::exception& e) {
      code_ = failure_code_;
      message_ = e.what();
      SetError(message_);
    }
  }

  // Both run on the JS thread; while the environment is torn down (a worker_threads Worker terminated
  // mid-call) JS can no longer run and node-api calls fail: the promise then has nobody to tell, and a
  // Napi::Error escaping here would abort the whole process (std::terminate), so it is dropped.
  void OnOK() final {
    Napi::Env env = Env();
    try {
      Napi::HandleScope scope(env);
      Napi::Value result;
      Napi::Value error = env.Undefined();
      try {
        result = Result(env);
      } catch (const Napi::Error& e) {
        result = env.Undefined();
        error = e.Value();
      }
      Settle(env, result, error);
    } catch (const Napi::Error&) {
    }
  }

  void OnError(const Napi::Error& /*e*/) final {
    Napi::Env env = Env();
    try {
      Napi::HandleScope scope(env);
      Settle(env, env.Undefined(), CodedRejection(env));
    } catch (const Napi::Error&) {
    }
  }

  const char* failure_code_;
  std::string code_;
  std::string message_;
};

}  // namespace prism
