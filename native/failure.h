// A failure raised on a worker thread, carried to the JS thread and thrown there as an Error whose
// `code` is one of the stable codes of lib/errors.ts.
#pragma once

#include <napi.h>

#include <stdexcept>
#include <string>

namespace prism {

class Failure : public std::runtime_error {
 public:
  Failure(std::string code, const std::string& message) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const { return code_; }

 private:
  std::string code_;
};

inline Napi::Error CodedError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

}  // namespace prism
