// NativeModel: the JS face of an Engine. It owns the engine, counts in-flight calls, hands out
// abort flags per job, and frees native memory in close() once the last call has settled.
#pragma once

#include <napi.h>

#include <atomic>
#include <map>
#include <memory>
#include <vector>

#include "engine.h"

namespace prism {

class NativeModel : public Napi::ObjectWrap<NativeModel> {
 public:
  static Napi::Function Define(Napi::Env env);
  static Napi::Object Wrap(Napi::Env env, std::unique_ptr<Engine> engine);

  explicit NativeModel(const Napi::CallbackInfo& info);
  ~NativeModel() override;
  void Finalize(Napi::Env env) override;

  Engine* engine() const { return engine_.get(); }
  // Called on the JS thread when a transcription has fully settled.
  void JobDone(uint32_t job);
  // Called on the JS thread once the engine has been freed.
  void Closed(Napi::Env env);

 private:
  Napi::Value Transcribe(const Napi::CallbackInfo& info);
  Napi::Value TranscribeHere(const Napi::CallbackInfo& info);
  Napi::Value Abort(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value CloseHere(const Napi::CallbackInfo& info);
  Napi::Value Info(const Napi::CallbackInfo& info);
  void StartClose(Napi::Env env);
  int64_t MemoryBytes() const;

  std::unique_ptr<Engine> engine_;
  std::map<uint32_t, std::shared_ptr<std::atomic<bool>>> jobs_;
  bool closing_ = false;
  bool closed_ = false;
  std::vector<Napi::Promise::Deferred> close_waiters_;
  int64_t reported_bytes_ = 0;
};

}  // namespace prism
