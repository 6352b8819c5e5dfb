// prism-whisper native addon: module registration.
#include <napi.h>

#include "abort_hook.h"
#include "failure.h"
#include "ggml-backend.h"
#include "js_guard.h"
#include "load_worker.h"
#include "log_sink.h"
#include "native_model.h"
#include "whisper.h"

namespace prism {

namespace {

// load({ path, gpu, device, states, flashAttn, warmup, warmupThreads }) → Promise<NativeModel>
Napi::Value LoadHere(const Napi::CallbackInfo& info);

Napi::Value Load(const Napi::CallbackInfo& info) {
  return Guarded(info.Env(), [&] { return LoadHere(info); });
}

Napi::Value LoadHere(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto deferred = Napi::Promise::Deferred::New(env);
  if (info.Length() < 1 || !info[0].IsObject()) {
    deferred.Reject(CodedError(env, "BAD_ARGUMENT", "load(options) needs an options object").Value());
    return deferred.Promise();
  }
  LoadOptions options;
  try {
    options = ParseLoadOptions(info[0].As<Napi::Object>());
  } catch (const Failure& f) {
    deferred.Reject(CodedError(env, f.code(), f.what()).Value());
    return deferred.Promise();
  }
  auto* worker = new LoadWorker(env, std::move(options));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

// Loads ggml backends built as separate libraries (CPU variants, CUDA) from `dir`.
Napi::Value LoadBackends(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].IsString()) ggml_backend_load_all_from_path(info[0].As<Napi::String>().Utf8Value().c_str());
  return info.Env().Undefined();
}

Napi::Value Devices(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array out = Napi::Array::New(env);
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    Napi::Object d = Napi::Object::New(env);
    const auto type = ggml_backend_dev_type(dev);
    d.Set("name", ggml_backend_dev_name(dev));
    d.Set("description", ggml_backend_dev_description(dev));
    d.Set("type", type == GGML_BACKEND_DEVICE_TYPE_CPU ? "cpu" : type == GGML_BACKEND_DEVICE_TYPE_ACCEL ? "accel" : "gpu");
    size_t free_bytes = 0;
    size_t total_bytes = 0;
    ggml_backend_dev_memory(dev, &free_bytes, &total_bytes);
    d.Set("memoryFree", static_cast<double>(free_bytes));
    d.Set("memoryTotal", static_cast<double>(total_bytes));
    out.Set(static_cast<uint32_t>(i), d);
  }
  return out;
}

Napi::Value SystemInfo(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), whisper_print_system_info()); }

}  // namespace

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  LogSink::Install();
  Napi::Function model = NativeModel::Define(env);
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(model)));
  exports.Set("NativeModel", model);
  exports.Set("load", Napi::Function::New(env, Load, "load"));
  exports.Set("loadBackends", Napi::Function::New(env, LoadBackends, "loadBackends"));
  exports.Set("devices", Napi::Function::New(env, Devices, "devices"));
  exports.Set("systemInfo", Napi::Function::New(env, SystemInfo, "systemInfo"));
  exports.Set("fineAbort", Napi::Boolean::New(env, AbortScope::fine_grained()));
  exports.Set("whisperVersion", Napi::String::New(env, whisper_version()));
#ifdef PRISM_CUDA
  exports.Set("cuda", Napi::Boolean::New(env, true));
#else
  exports.Set("cuda", Napi::Boolean::New(env, false));
#endif
#ifdef PRISM_BACKEND_DL
  exports.Set("backendDl", Napi::Boolean::New(env, true));
#else
  exports.Set("backendDl", Napi::Boolean::New(env, false));
#endif
  return exports;
}

}  // namespace prism

static Napi::Object InitPrismWhisper(Napi::Env env, Napi::Object exports) { return prism::Init(env, exports); }

NODE_API_MODULE(prism_whisper, InitPrismWhisper)
