// Routes whisper.cpp and ggml log lines: captured per thread while a model loads (so that a load
// failure can say why), printed to stderr only when PRISM_WHISPER_LOG is set.
#pragma once

#include <string>

namespace prism {

class LogSink {
 public:
  static void Install();

  // Collects every log line emitted on this thread for its lifetime.
  class Capture {
   public:
    Capture();
    ~Capture();
    Capture(const Capture&) = delete;
    Capture& operator=(const Capture&) = delete;
    const std::string& text() const { return text_; }
    // The last line at error level, or the last line, without its newline.
    std::string LastError() const;
    void Append(bool is_error, const char* text);

   private:
    std::string text_;
    std::string last_error_;
    Capture* previous_;
  };
};

}  // namespace prism
