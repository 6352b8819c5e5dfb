// Methods called from JS, made safe for an environment that is being torn down (a worker_threads
// Worker terminated mid-call): node-api calls then fail, node-addon-api turns the failure into a
// C++ exception and rethrows it into JS, which fails too — and std::terminate ends the whole
// process. Guarded() throws the error into JS while JS can run, and drops it when it cannot; what
// fails inside node-addon-api's own wrappers (unwrapping `this`, reading the arguments) is dropped by
// NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS (CMakeLists.txt).
#pragma once

#include <napi.h>

namespace prism {

template <typename F>
Napi::Value Guarded(Napi::Env env, F&& body) {
  try {
    return body();
  } catch (const Napi::Error& e) {
    try {
      napi_throw(env, e.Value());
    } catch (...) {
    }
    return Napi::Value();
  }
}

}  // namespace prism
