// Loads a model and its state pool on a worker thread; resolves with a NativeModel.
#pragma once

#include <memory>

#include "engine.h"
#include "promise_worker.h"

namespace prism {

class LoadWorker : public PromiseWorker {
 public:
  LoadWorker(Napi::Env env, LoadOptions options) : PromiseWorker(env, "prism-whisper:load", "MODEL_LOAD_FAILED"), options_(std::move(options)) {}

 protected:
  void Run() override;
  Napi::Value Result(Napi::Env env) override;

 private:
  LoadOptions options_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace prism
