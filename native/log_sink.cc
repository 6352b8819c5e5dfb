#include "log_sink.h"

#include <cstdio>
#include <cstdlib>

#include "whisper.h"

namespace prism {

namespace {

thread_local LogSink::Capture* current_capture = nullptr;
bool echo_to_stderr = false;

void OnLog(ggml_log_level level, const char* text, void* /*user_data*/) {
  if (text == nullptr) return;
  if (LogSink::Capture* capture = current_capture) capture->Append(level == GGML_LOG_LEVEL_ERROR, text);
  if (echo_to_stderr) std::fputs(text, stderr);
}

}  // namespace

void LogSink::Install() {
  const char* env = std::getenv("PRISM_WHISPER_LOG");
  echo_to_stderr = env != nullptr && env[0] != '\0' && env[0] != '0';
  whisper_log_set(OnLog, nullptr);
}

LogSink::Capture::Capture() : previous_(current_capture) { current_capture = this; }

LogSink::Capture::~Capture() { current_capture = previous_; }

void LogSink::Capture::Append(bool is_error, const char* text) {
  text_ += text;
  if (is_error) last_error_ += text;
}

std::string LogSink::Capture::LastError() const {
  std::string s = last_error_.empty() ? text_ : last_error_;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  const size_t nl = last_error_.empty() ? s.rfind('\n') : std::string::npos;
  return nl == std::string::npos ? s : s.substr(nl + 1);
}

}  // namespace prism
