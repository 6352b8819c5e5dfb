#include "options.h"

#include "failure.h"

namespace prism {

namespace {

bool Has(const Napi::Object& o, const char* key) { return o.Has(key) && !o.Get(key).IsUndefined() && !o.Get(key).IsNull(); }

int IntIn(const Napi::Object& o, const char* key, int fallback, int lo, int hi) {
  if (!Has(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) throw Failure("BAD_ARGUMENT", std::string(key) + " must be a number");
  const double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<int>(d) || d < lo || d > hi) {
    throw Failure("BAD_ARGUMENT", std::string(key) + " must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return static_cast<int>(d);
}

bool Bool(const Napi::Object& o, const char* key, bool fallback) {
  if (!Has(o, key)) return fallback;
  return o.Get(key).ToBoolean().Value();
}

std::string Str(const Napi::Object& o, const char* key, const std::string& fallback) {
  if (!Has(o, key)) return fallback;
  Napi::Value v = o.Get(key);
  if (!v.IsString()) throw Failure("BAD_ARGUMENT", std::string(key) + " must be a string");
  return v.As<Napi::String>().Utf8Value();
}

}  // namespace

LoadOptions ParseLoadOptions(const Napi::Object& o) {
  LoadOptions opts;
  opts.path = Str(o, "path", "");
  const std::string gpu = Str(o, "gpu", "auto");
  if (gpu == "auto") {
    opts.gpu = GpuMode::kAuto;
  } else if (gpu == "cuda") {
    opts.gpu = GpuMode::kCuda;
  } else if (gpu == "cpu") {
    opts.gpu = GpuMode::kCpu;
  } else {
    throw Failure("BAD_ARGUMENT", "gpu must be 'auto', 'cuda' or 'cpu'");
  }
  opts.device = IntIn(o, "device", 0, 0, 64);
  opts.states = IntIn(o, "states", 1, 1, 64);
  opts.flash_attn = Bool(o, "flashAttn", true);
  opts.warmup = Bool(o, "warmup", true);
  opts.warmup_threads = IntIn(o, "warmupThreads", 1, 1, 1024);
  return opts;
}

TranscribeOptions ParseTranscribeOptions(const Napi::Object& o) {
  TranscribeOptions opts;
  opts.language = Str(o, "language", "en");
  opts.prompt = Str(o, "prompt", "");
  opts.translate = Bool(o, "translate", false);
  opts.beam_size = IntIn(o, "beamSize", 0, 0, 16);
  opts.audio_ctx = IntIn(o, "audioCtx", 0, 0, 1500);
  opts.no_timestamps = Bool(o, "noTimestamps", false);
  opts.threads = IntIn(o, "threads", 1, 1, 1024);
  opts.temperature_fallback = Bool(o, "temperatureFallback", true);
  return opts;
}

}  // namespace prism
