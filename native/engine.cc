#include "engine.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "abort_hook.h"
#include "failure.h"
#include "ggml-backend.h"
#include "inference_threads.h"
#include "log_sink.h"
#include "whisper.h"

namespace prism {

namespace {

using Clock = std::chrono::steady_clock;

double MsSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// Sums the "… = 12.34 MB" figures of the log lines that start with `prefix`: the memory sizes of a build
// from the pristine tree (PRISM_PATCHES=OFF), which has no API for them.
double SumMegabytes(const std::string& log, const std::string& prefix, const char* must_contain) {
  double total = 0;
  std::istringstream lines(log);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(prefix, 0) != 0 || line.find(must_contain) == std::string::npos) continue;
    const size_t eq = line.rfind('=');
    const size_t mb = line.rfind(" MB");
    if (eq == std::string::npos || mb == std::string::npos || mb < eq) continue;
    total += std::atof(line.c_str() + eq + 1) * 1e6;
  }
  return total;
}

// The n-th GPU device (CUDA only, or any GPU backend the build has), or nullptr.
ggml_backend_dev_t FindGpu(int n, bool cuda_only, int* count) {
  *count = 0;
  ggml_backend_dev_t found = nullptr;
  for (size_t i = 0; i < ggml_backend_dev_count(); ++i) {
    ggml_backend_dev_t dev = ggml_backend_dev_get(i);
    const auto type = ggml_backend_dev_type(dev);
    if (type != GGML_BACKEND_DEVICE_TYPE_GPU && type != GGML_BACKEND_DEVICE_TYPE_IGPU) continue;
    if (cuda_only && std::string(ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev))) != "CUDA") continue;
    if (*count == n) found = dev;
    ++*count;
  }
  return found;
}

std::string BackendName(ggml_backend_dev_t dev, int index) {
  std::string reg = ggml_backend_reg_name(ggml_backend_dev_backend_reg(dev));
  for (char& c : reg) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return reg + ":" + std::to_string(index);
}

// Per-call bookkeeping shared with whisper.cpp's callbacks (all run on the worker thread).
struct CallContext {
  const std::atomic<bool>* abort;
  const Engine::SegmentSink* on_segment;
  int64_t audio_ms;
  Clock::time_point start;
  Clock::time_point encode_start;
  bool encoding = false;
  double first_encode_at_ms = -1;
  double encode_ms = 0;
  int windows = 0;
};

bool OnEncoderBegin(whisper_context*, whisper_state*, void* user) {
  auto* call = static_cast<CallContext*>(user);
  call->encode_start = Clock::now();
  if (call->first_encode_at_ms < 0) call->first_encode_at_ms = std::chrono::duration<double, std::milli>(call->encode_start - call->start).count();
  call->encoding = true;
  call->windows++;
  return !call->abort->load();
}

// Called before each sampling step; the first one after the encoder marks the end of encoding.
void OnLogits(whisper_context*, whisper_state*, const whisper_token_data*, int, float*, void* user) {
  auto* call = static_cast<CallContext*>(user);
  if (call->encoding) {
    call->encode_ms += MsSince(call->encode_start);
    call->encoding = false;
  }
}

bool OnAbortPoll(void* user) { return static_cast<CallContext*>(user)->abort->load(); }

Segment ReadSegment(whisper_state* state, int i, int64_t audio_ms) {
  Segment s;
  s.t0_ms = std::min<int64_t>(whisper_full_get_segment_t0_from_state(state, i) * 10, audio_ms);
  s.t1_ms = std::min<int64_t>(whisper_full_get_segment_t1_from_state(state, i) * 10, audio_ms);
  const char* text = whisper_full_get_segment_text_from_state(state, i);
  s.text = text ? text : "";
  s.no_speech_prob = whisper_full_get_segment_no_speech_prob_from_state(state, i);
  return s;
}

void OnNewSegment(whisper_context*, whisper_state* state, int n_new, void* user) {
  auto* call = static_cast<CallContext*>(user);
  if (!*call->on_segment) return;
  const int n = whisper_full_n_segments_from_state(state);
  for (int i = n - n_new; i < n; ++i) (*call->on_segment)(ReadSegment(state, i, call->audio_ms));
}

struct GraphCounts {
  int built = -1;
  int reused = -1;
};

// The patched whisper.cpp (deps/patches/0003) counts the decoder calls that built vs reused their graph.
GraphCounts DecodeGraphs(whisper_state* state) {
  GraphCounts c;
#ifdef PRISM_WHISPER_PATCHED
  int32_t built = 0;
  int32_t reused = 0;
  whisper_decode_graph_stats(state, &built, &reused);
  c.built = built;
  c.reused = reused;
#else
  (void)state;
#endif
  return c;
}

}  // namespace

std::unique_ptr<Engine> Engine::Load(const LoadOptions& o) {
  LogSink::Capture capture;
  const auto start = Clock::now();
  std::unique_ptr<Engine> engine(new Engine());
  EngineInfo& info = engine->info_;

  int gpu_count = 0;
  ggml_backend_dev_t gpu = o.gpu == GpuMode::kCpu ? nullptr : FindGpu(o.device, o.gpu == GpuMode::kCuda, &gpu_count);
  if (o.gpu != GpuMode::kCpu && gpu == nullptr) {
    const std::string why = gpu_count == 0 ? "no usable GPU: this build of prism-whisper has no CUDA backend, or no driver/GPU is visible"
                                           : "there is no GPU " + std::to_string(o.device) + " (found " + std::to_string(gpu_count) + ")";
    if (o.gpu == GpuMode::kCuda) throw Failure("GPU_UNAVAILABLE", why + "; build with PRISM_CUDA=1 npm rebuild prism-whisper, or use gpu: 'cpu'");
    info.fallback_reason = why;
  }

  whisper_context_params cparams = whisper_context_default_params();
  cparams.use_gpu = gpu != nullptr;
  cparams.gpu_device = o.device;
  cparams.flash_attn = o.flash_attn;
  try {
    engine->ctx_ = whisper_init_from_file_with_params_no_state(o.path.c_str(), cparams);
  } catch (const std::exception& e) {
    throw Failure("MODEL_LOAD_FAILED", std::string("whisper.cpp failed to load the model: ") + e.what());
  }
  if (engine->ctx_ == nullptr) throw Failure("MODEL_INVALID", "whisper.cpp rejected the model file " + o.path + ": " + capture.LastError());

  info.backend = gpu ? BackendName(gpu, o.device) : "cpu";
  info.device_name = gpu ? ggml_backend_dev_description(gpu) : "CPU";
  info.model_bytes = SumMegabytes(capture.text(), "whisper_model_load:", "total size");

  engine->busy_ = std::make_unique<std::atomic<bool>[]>(o.states);
  for (int i = 0; i < o.states; ++i) {
    LogSink::Capture state_capture;
    whisper_state* state = nullptr;
    try {
      state = whisper_init_state(engine->ctx_);
    } catch (const std::exception& e) {
      throw Failure(gpu ? "GPU_UNAVAILABLE" : "MODEL_LOAD_FAILED", std::string("creating inference state failed: ") + e.what());
    }
    if (state == nullptr) {
      throw Failure(gpu ? "GPU_UNAVAILABLE" : "MODEL_LOAD_FAILED",
                    "creating inference state " + std::to_string(i + 1) + " of " + std::to_string(o.states) + " failed: " + state_capture.LastError());
    }
    engine->states_.push_back(state);
    engine->busy_[i] = false;
    info.state_bytes += SumMegabytes(state_capture.text(), "whisper_init_state:", "MB");
  }

  whisper_context* ctx = engine->ctx_;
  info.type = whisper_model_type_readable(ctx);
  info.multilingual = whisper_is_multilingual(ctx) != 0;
  info.n_vocab = whisper_model_n_vocab(ctx);
  info.n_audio_ctx = whisper_model_n_audio_ctx(ctx);
  info.n_text_layer = whisper_model_n_text_layer(ctx);
  info.n_mels = whisper_model_n_mels(ctx);
  info.ftype = whisper_model_ftype(ctx);
  info.states = o.states;
  info.system_info = whisper_print_system_info();
  info.load_ms = MsSince(start);

  if (o.warmup) {
    const auto warm_start = Clock::now();
    engine->Warmup(o.warmup_threads);
    info.warmup_ms = MsSince(warm_start);
  }
#ifdef PRISM_WHISPER_PATCHED
  // read from ggml's buffers (deps/patches/0008), after the warm-up has sized the compute buffers
  info.model_bytes = static_cast<double>(whisper_model_memory_size(ctx));
  info.state_bytes = 0;
  for (whisper_state* state : engine->states_) info.state_bytes += static_cast<double>(whisper_state_memory_size(state));
#endif
  return engine;
}

void Engine::Warmup(int threads) {
  // One short pass per slot on a GPU (each has its own backend and stream); one on the CPU,
  // where slots share the same kernels and weights.
  const int n = info_.backend == "cpu" ? 1 : slots();
  std::vector<float> noise(WHISPER_SAMPLE_RATE);
  uint32_t x = 12345;
  for (float& s : noise) {
    x = x * 1664525u + 1013904223u;
    s = (static_cast<float>(x >> 8) / 16777216.0f - 0.5f) * 0.02f;
  }
  TranscribeOptions options;
  options.threads = threads;
  options.no_timestamps = true;
  options.temperature_fallback = false;
  options.audio_ctx = info_.backend == "cpu" ? 256 : 0;
  const std::atomic<bool> never(false);
  const SegmentSink none;
  for (int i = 0; i < n; ++i) {
    Claim(i);
    try {
      Transcribe(i, noise.data(), noise.size(), options, none, never);
    } catch (...) {
      Release(i);
      throw;
    }
    Release(i);
  }
}

bool Engine::Claim(int slot) {
  if (slot < 0 || slot >= slots()) return false;
  bool expected = false;
  return busy_[slot].compare_exchange_strong(expected, true);
}

void Engine::Release(int slot) {
  if (slot >= 0 && slot < slots()) busy_[slot] = false;
}

bool Engine::IsLanguage(const std::string& language) { return language == "auto" || whisper_lang_id(language.c_str()) >= 0; }

TranscribeResult Engine::Transcribe(int slot, const float* pcm, size_t samples, const TranscribeOptions& o, const SegmentSink& on_segment,
                                    const std::atomic<bool>& abort) {
  TranscribeResult result;
  InferenceThreads::Shared().Run([&] { result = TranscribeHere(slot, pcm, samples, o, on_segment, abort); });
  return result;
}

TranscribeResult Engine::TranscribeHere(int slot, const float* pcm, size_t samples, const TranscribeOptions& o, const SegmentSink& on_segment,
                                        const std::atomic<bool>& abort) {
  LogSink::Capture capture;
  whisper_state* state = states_.at(slot);
  CallContext call{&abort, &on_segment, static_cast<int64_t>(samples * 1000 / WHISPER_SAMPLE_RATE), Clock::now()};

  whisper_full_params p = whisper_full_default_params(o.beam_size > 1 ? WHISPER_SAMPLING_BEAM_SEARCH : WHISPER_SAMPLING_GREEDY);
  p.n_threads = o.threads;
  p.language = o.language.c_str();
  p.translate = o.translate;
  p.no_timestamps = o.no_timestamps;
  p.no_context = true;  // every call stands alone: a slot never leaks one caller's text into another's
  p.audio_ctx = o.audio_ctx;
  p.initial_prompt = o.prompt.empty() ? nullptr : o.prompt.c_str();
  p.print_progress = false;
  p.print_realtime = false;
  p.print_special = false;
  p.print_timestamps = false;
  if (o.beam_size > 1) p.beam_search.beam_size = o.beam_size;
  if (!o.temperature_fallback) p.temperature_inc = 0.0f;
  p.new_segment_callback = OnNewSegment;
  p.new_segment_callback_user_data = &call;
  p.encoder_begin_callback = OnEncoderBegin;
  p.encoder_begin_callback_user_data = &call;
  p.logits_filter_callback = OnLogits;
  p.logits_filter_callback_user_data = &call;
  p.abort_callback = OnAbortPoll;
  p.abort_callback_user_data = &call;

  const GraphCounts graphs_before = DecodeGraphs(state);
  int rc = 0;
  const AbortScope abort_scope(&abort);
  try {
    rc = whisper_full_with_state(ctx_, state, p, pcm, static_cast<int>(samples));
  } catch (const std::exception& e) {
    throw Failure("TRANSCRIBE_FAILED", std::string("whisper.cpp threw: ") + e.what());
  }
  if (abort.load()) throw Failure("ABORTED", "transcription aborted");
  if (rc != 0) throw Failure("TRANSCRIBE_FAILED", "whisper_full failed (code " + std::to_string(rc) + "): " + capture.LastError());

  TranscribeResult result;
  const int n = whisper_full_n_segments_from_state(state);
  result.segments.reserve(n);
  for (int i = 0; i < n; ++i) {
    result.segments.push_back(ReadSegment(state, i, call.audio_ms));
    result.timings.tokens += whisper_full_n_tokens_from_state(state, i);
  }
  const int lang = whisper_full_lang_id_from_state(state);
  result.language = lang >= 0 ? whisper_lang_str(lang) : "en";
  if (call.encoding) call.encode_ms += MsSince(call.encode_start);
  result.timings.total_ms = MsSince(call.start);
  result.timings.mel_ms = call.first_encode_at_ms < 0 ? 0 : call.first_encode_at_ms;
  result.timings.encode_ms = call.encode_ms;
  result.timings.decode_ms = std::max(0.0, result.timings.total_ms - result.timings.mel_ms - result.timings.encode_ms);
  result.timings.windows = call.windows;
  const GraphCounts graphs_after = DecodeGraphs(state);
  if (graphs_after.built >= 0) {
    result.timings.graphs_built = graphs_after.built - graphs_before.built;
    result.timings.graphs_reused = graphs_after.reused - graphs_before.reused;
  }
  return result;
}

Engine::~Engine() {
  for (whisper_state* s : states_) whisper_free_state(s);
  if (ctx_ != nullptr) whisper_free(ctx_);
}

}  // namespace prism
