// Plain option structs, parsed from JS objects on the JS thread before any work is queued
// (a worker's Execute never touches JS values).
#pragma once

#include <napi.h>

#include <string>

namespace prism {

enum class GpuMode { kAuto, kCuda, kCpu };

struct LoadOptions {
  std::string path;
  GpuMode gpu = GpuMode::kAuto;
  int device = 0;
  int states = 1;
  bool flash_attn = true;
  bool warmup = true;
  int warmup_threads = 1;
};

struct TranscribeOptions {
  std::string language = "en";  // "auto" detects
  std::string prompt;
  bool translate = false;
  int beam_size = 0;  // 0 or 1: greedy
  int audio_ctx = 0;  // 0: the model's full window
  bool no_timestamps = false;
  int threads = 1;
  float temperature = 0.0f;
  bool temperature_fallback = true;
};

LoadOptions ParseLoadOptions(const Napi::Object& options);
TranscribeOptions ParseTranscribeOptions(const Napi::Object& options);

}  // namespace prism
