// One transcription on one state slot. The input Float32Array is borrowed (kept alive by a
// reference, never copied); segments stream to JS through a thread-safe function, and the promise
// settles only after every segment callback has run.
#pragma once

#include <napi.h>

#include <atomic>
#include <memory>

#include "engine.h"
#include "promise_worker.h"

namespace prism {

class NativeModel;

class TranscribeWorker : public PromiseWorker {
 public:
  TranscribeWorker(Napi::Env env, NativeModel* model, Napi::Object model_object, int slot, uint32_t job, Napi::Float32Array pcm, TranscribeOptions options,
                   Napi::Value on_segment, std::shared_ptr<std::atomic<bool>> abort);

 protected:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;
  void Settle(Napi::Env env, Napi::Value result, Napi::Value error) override;

 private:
  NativeModel* model_;
  Napi::ObjectReference model_ref_;
  int slot_;
  uint32_t job_;
  Napi::Reference<Napi::Float32Array> pcm_ref_;
  const float* pcm_;
  size_t samples_;
  TranscribeOptions options_;
  std::shared_ptr<std::atomic<bool>> abort_;
  Napi::ThreadSafeFunction segments_;
  bool streaming_ = false;
  TranscribeResult result_;
};

}  // namespace prism
