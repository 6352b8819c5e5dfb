// One long-lived native thread per inference state. whisper.cpp's CPU backend runs its graphs on an
// OpenMP team whose master is the calling thread; libuv hands each AsyncWorker to whichever pool thread
// is free, so calls on one state used to start new masters, and every master keeps a team of its own
// spinning on the same cores (measured: 10.3 ms per decoded token instead of 4.3 on 2 cores). Every
// call on a state runs on that state's thread, so there is one team per state, created once and reused.
#pragma once

#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

namespace prism {

class StateThread {
 public:
  StateThread();
  ~StateThread();  // finishes the task in hand, then joins
  StateThread(const StateThread&) = delete;
  StateThread& operator=(const StateThread&) = delete;

  // Runs `task` on this thread and waits for it (the caller, a libuv worker, sleeps meanwhile);
  // rethrows what the task threw. One task at a time: the engine's slot claim guarantees it.
  void Run(const std::function<void()>& task);

 private:
  void Loop();

  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const std::function<void()>* task_ = nullptr;
  std::exception_ptr error_;
  bool finished_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace prism
