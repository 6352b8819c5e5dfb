#include "abort_hook.h"

#include "ggml-backend.h"

namespace prism {

namespace {

thread_local const std::atomic<bool>* current_flag = nullptr;

}  // namespace

AbortScope::AbortScope(const std::atomic<bool>* flag) : previous_(current_flag) { current_flag = flag; }

AbortScope::~AbortScope() { current_flag = previous_; }

#ifdef PRISM_ABORT_HOOK
bool AbortScope::fine_grained() { return true; }

namespace {

// Runs on the thread that computes the graph (ggml's thread 0 is the caller's thread).
bool PollCurrentCall(void* /*data*/) {
  const std::atomic<bool>* flag = current_flag;
  return flag != nullptr && flag->load(std::memory_order_relaxed);
}

}  // namespace

}  // namespace prism

extern "C" {

ggml_backend_t __real_ggml_backend_init_by_type(enum ggml_backend_dev_type type, const char* params);

ggml_backend_t __wrap_ggml_backend_init_by_type(enum ggml_backend_dev_type type, const char* params) {
  ggml_backend_t backend = __real_ggml_backend_init_by_type(type, params);
  if (backend != nullptr && type == GGML_BACKEND_DEVICE_TYPE_CPU) {
    ggml_backend_reg_t reg = ggml_backend_dev_backend_reg(ggml_backend_get_device(backend));
    auto set_abort = reinterpret_cast<ggml_backend_set_abort_callback_t>(ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_abort_callback"));
    if (set_abort != nullptr) set_abort(backend, prism::PollCurrentCall, nullptr);
  }
  return backend;
}

}  // extern "C"

namespace prism {
#else
bool AbortScope::fine_grained() { return false; }
#endif

}  // namespace prism
