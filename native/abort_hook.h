// Fine-grained abort on the CPU. whisper.cpp polls its abort callback only between whole graph
// computations (one encoder pass of a large model is seconds on a CPU) and does not hand it to the
// ggml CPU backends of its states. On Linux the addon is linked with
// --wrap=ggml_backend_init_by_type, so every CPU backend whisper.cpp creates gets a callback that
// polls the abort flag of the call running on the current thread, between graph nodes.
#pragma once

#include <atomic>

namespace prism {

class AbortScope {
 public:
  explicit AbortScope(const std::atomic<bool>* flag);
  ~AbortScope();
  AbortScope(const AbortScope&) = delete;
  AbortScope& operator=(const AbortScope&) = delete;

  // True when the hook is linked in (aborts land within one graph node, not one graph).
  static bool fine_grained();

 private:
  const std::atomic<bool>* previous_;
};

}  // namespace prism
