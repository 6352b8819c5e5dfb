#include "native_model.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "failure.h"
#include "js_guard.h"
#include "load_worker.h"
#include "transcribe_worker.h"

namespace prism {

namespace {

Napi::Value Rejected(Napi::Env env, const std::string& code, const std::string& message) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(CodedError(env, code, message).Value());
  return deferred.Promise();
}

// Frees the engine off the JS thread (releasing GPU memory can take a while), then settles close().
class CloseWorker : public PromiseWorker {
 public:
  CloseWorker(Napi::Env env, NativeModel* model, Napi::Object object, std::unique_ptr<Engine> engine)
      : PromiseWorker(env, "prism-whisper:close"), model_(model), ref_(Napi::Persistent(object)), engine_(std::move(engine)) {}

 protected:
  void Run() override {
    engine_.reset();
#if defined(__GLIBC__)
    // glibc keeps freed model and state buffers in its per-thread arenas; hand them back to the OS.
    malloc_trim(0);
#endif
  }
  void Settle(Napi::Env env, Napi::Value result, Napi::Value error) override {
    model_->Closed(env);
    Finish(result, error);
  }

 private:
  NativeModel* model_;
  Napi::ObjectReference ref_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace

Napi::Function NativeModel::Define(Napi::Env env) {
  return DefineClass(env, "NativeModel",
                     {InstanceMethod<&NativeModel::Transcribe>("transcribe"), InstanceMethod<&NativeModel::Abort>("abort"),
                      InstanceMethod<&NativeModel::Close>("close"), InstanceMethod<&NativeModel::Info>("info")});
}

Napi::Object NativeModel::Wrap(Napi::Env env, std::unique_ptr<Engine> engine) {
  Napi::FunctionReference* ctor = env.GetInstanceData<Napi::FunctionReference>();
  Napi::Object object = ctor->New({});
  NativeModel* self = Unwrap(object);
  self->engine_ = std::move(engine);
  self->reported_bytes_ = self->MemoryBytes();
  Napi::MemoryManagement::AdjustExternalMemory(env, self->reported_bytes_);
  return object;
}

NativeModel::NativeModel(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeModel>(info) {}

// Garbage collection of a model that was never closed: the memory reported to V8 for it is taken back
// (the engine itself goes in the destructor, next).
void NativeModel::Finalize(Napi::Env env) {
  if (reported_bytes_ != 0) Napi::MemoryManagement::AdjustExternalMemory(env, -reported_bytes_);
  reported_bytes_ = 0;
}

NativeModel::~NativeModel() {
  // Reached only by garbage collection of a model that was never closed, or by the teardown of its
  // environment (a worker_threads Worker: Node has finished its threadpool work by then); no call can be
  // in flight (each holds a reference to this object).
  engine_.reset();
}

int64_t NativeModel::MemoryBytes() const {
  if (!engine_) return 0;
  return static_cast<int64_t>(engine_->info().model_bytes + engine_->info().state_bytes);
}

// transcribe(slot, pcm, options, onSegment, job) → Promise<result>
Napi::Value NativeModel::Transcribe(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return TranscribeHere(info); });
}

Napi::Value NativeModel::TranscribeHere(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (closing_ || closed_ || !engine_) return Rejected(env, "CLOSED", "the model is closed");
  if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsObject() || !info[4].IsNumber()) {
    return Rejected(env, "BAD_ARGUMENT", "transcribe(slot, pcm, options, onSegment, job): bad arguments");
  }
  if (info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    return Rejected(env, "BAD_AUDIO", "audio must be a Float32Array of 16 kHz mono samples");
  }
  TranscribeOptions options;
  try {
    options = ParseTranscribeOptions(info[2].As<Napi::Object>());
  } catch (const Failure& f) {
    return Rejected(env, f.code(), f.what());
  }
  if (!Engine::IsLanguage(options.language)) return Rejected(env, "BAD_ARGUMENT", "unknown language '" + options.language + "'");
  const int slot = info[0].As<Napi::Number>().Int32Value();
  const uint32_t job = info[4].As<Napi::Number>().Uint32Value();
  if (!engine_->Claim(slot)) return Rejected(env, "BAD_ARGUMENT", "state slot " + std::to_string(slot) + " is busy or does not exist");

  auto abort = std::make_shared<std::atomic<bool>>(false);
  jobs_[job] = abort;
  auto* worker = new TranscribeWorker(env, this, Value(), slot, job, info[1].As<Napi::Float32Array>(), std::move(options), info[3], abort);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value NativeModel::Abort(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsNumber()) return Napi::Boolean::New(info.Env(), false);
  auto it = jobs_.find(info[0].As<Napi::Number>().Uint32Value());
  if (it == jobs_.end()) return Napi::Boolean::New(info.Env(), false);
  it->second->store(true);
  return Napi::Boolean::New(info.Env(), true);
}

void NativeModel::JobDone(uint32_t job) {
  jobs_.erase(job);
  if (closing_ && jobs_.empty()) StartClose(Env());
}

Napi::Value NativeModel::Close(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return CloseHere(info); });
}

Napi::Value NativeModel::CloseHere(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (closed_) {
    deferred.Resolve(env.Undefined());
    return deferred.Promise();
  }
  close_waiters_.push_back(deferred);
  if (!closing_) {
    closing_ = true;
    if (jobs_.empty()) StartClose(env);
  }
  return deferred.Promise();
}

void NativeModel::StartClose(Napi::Env env) { (new CloseWorker(env, this, Value(), std::move(engine_)))->Queue(); }

void NativeModel::Closed(Napi::Env env) {
  Napi::MemoryManagement::AdjustExternalMemory(env, -reported_bytes_);
  reported_bytes_ = 0;
  closed_ = true;
  closing_ = false;
  for (auto& waiter : close_waiters_) waiter.Resolve(env.Undefined());
  close_waiters_.clear();
}

Napi::Value NativeModel::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!engine_) return env.Null();
  const EngineInfo& e = engine_->info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("type", e.type);
  o.Set("multilingual", e.multilingual);
  o.Set("backend", e.backend);
  o.Set("deviceName", e.device_name);
  o.Set("fallbackReason", e.fallback_reason);
  o.Set("systemInfo", e.system_info);
  o.Set("states", e.states);
  o.Set("nVocab", e.n_vocab);
  o.Set("nAudioCtx", e.n_audio_ctx);
  o.Set("nTextLayer", e.n_text_layer);
  o.Set("nMels", e.n_mels);
  o.Set("ftype", e.ftype);
  o.Set("modelBytes", e.model_bytes);
  o.Set("stateBytes", e.state_bytes);
  o.Set("loadMs", e.load_ms);
  o.Set("warmupMs", e.warmup_ms);
  return o;
}

}  // namespace prism
