#include "load_worker.h"

#include <mutex>

#include "native_model.h"

namespace prism {

namespace {
// Loads run one at a time: whisper.cpp's log hook and backend registry are process-wide.
std::mutex load_mutex;
}  // namespace

void LoadWorker::Run() {
  std::lock_guard<std::mutex> lock(load_mutex);
  engine_ = Engine::Load(options_);
}

Napi::Value LoadWorker::Result(Napi::Env env) { return NativeModel::Wrap(env, std::move(engine_)); }

}  // namespace prism
