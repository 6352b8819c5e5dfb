// The warm model: one whisper_context (weights loaded once) and a fixed pool of whisper_state
// slots, each with its own compute backend (on CUDA, its own stream). Slots are handed out by the
// TypeScript scheduler; the engine checks that a slot is free and runs inference on it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "options.h"

struct whisper_context;
struct whisper_state;

namespace prism {

struct Segment {
  int64_t t0_ms = 0;
  int64_t t1_ms = 0;
  std::string text;
  float no_speech_prob = 0.0f;
};

struct Timings {
  double mel_ms = 0;
  double encode_ms = 0;
  double decode_ms = 0;
  double total_ms = 0;
  int tokens = 0;
  int windows = 0;
  // decoder calls that built their graph vs ran the kept one again (deps/patches/0003);
  // -1 when whisper.cpp is not patched
  int graphs_built = -1;
  int graphs_reused = -1;
};

struct TranscribeResult {
  std::vector<Segment> segments;
  std::string language;
  Timings timings;
};

struct EngineInfo {
  std::string type;
  bool multilingual = false;
  std::string backend;  // "cpu" or "cuda:N"
  std::string device_name;
  std::string fallback_reason;
  std::string system_info;
  int states = 0;
  int n_vocab = 0;
  int n_audio_ctx = 0;
  int n_text_layer = 0;
  int n_mels = 0;
  int ftype = 0;
  double model_bytes = 0;
  double state_bytes = 0;
  double load_ms = 0;
  double warmup_ms = 0;
};

class Engine {
 public:
  using SegmentSink = std::function<void(const Segment&)>;

  // Loads the weights once, creates `states` slots and warms them up. Throws Failure.
  static std::unique_ptr<Engine> Load(const LoadOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Called from a worker thread, runs on a shared inference thread (inference_threads.h). `abort` is
  // polled by whisper.cpp between graph computations.
  TranscribeResult Transcribe(int slot, const float* pcm, size_t samples, const TranscribeOptions& options, const SegmentSink& on_segment,
                              const std::atomic<bool>& abort);

  // Marks a slot busy; false when it already is (the scheduler never lets that happen).
  bool Claim(int slot);
  void Release(int slot);
  int slots() const { return static_cast<int>(states_.size()); }
  const EngineInfo& info() const { return info_; }
  static bool IsLanguage(const std::string& language);

 private:
  Engine() = default;
  void Warmup(int threads);
  TranscribeResult TranscribeHere(int slot, const float* pcm, size_t samples, const TranscribeOptions& options, const SegmentSink& on_segment,
                                  const std::atomic<bool>& abort);

  whisper_context* ctx_ = nullptr;
  std::vector<whisper_state*> states_;
  std::unique_ptr<std::atomic<bool>[]> busy_;
  EngineInfo info_;
};

}  // namespace prism
