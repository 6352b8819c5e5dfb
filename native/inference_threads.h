// Where inference runs: a few long-lived native threads shared by every model and state of the
// process, the lowest idle one first.
//
// whisper.cpp's CPU backend computes each graph on an OpenMP team whose master is the calling thread,
// and the team lives as long as its master. libgomp counts every team's threads, and once they
// outnumber the CPUs it stops spinning at barriers and sleeps instead; a decoder step crosses a barrier
// per graph node, so every token then pays hundreds of futex wake-ups (measured on 2 cores, tiny: 3.5
// ms per decoded token with one team, 12.3 with a second, idle one). Calls from libuv's pool (any of
// its threads) used to start a team per pool thread; one thread per state still made two teams as soon
// as a second state or a second model had run once. Here sequential calls, whatever their model or
// state, all run on lane 0, so the process keeps one team; a lane above 0 exists only while calls
// overlap, and its thread (with its team) exits as soon as it is idle.
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>

namespace prism {

class InferenceThreads {
 public:
  // The process-wide set. Never destroyed: lane 0's thread sleeps on a condition variable until exit.
  static InferenceThreads& Shared();

  // Runs `task` on the lowest idle lane and waits for it (the caller, a libuv worker, sleeps
  // meanwhile); rethrows what the task threw.
  void Run(const std::function<void()>& task);

  // Lanes with a thread now (for tests and diagnostics).
  int threads();

 private:
  struct Lane {
    const std::function<void()>* task = nullptr;
    std::exception_ptr error;
    bool busy = false;      // claimed by a Run() call
    bool finished = false;  // the task returned or threw
    bool alive = false;     // a thread serves this lane
    std::condition_variable wake;
    std::condition_variable done;
  };

  InferenceThreads() = default;
  void Serve(size_t index);

  std::mutex mutex_;
  std::deque<Lane> lanes_;  // a deque: lanes keep their address as more are added
};

}  // namespace prism
