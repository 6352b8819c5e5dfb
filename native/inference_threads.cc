#include "inference_threads.h"

#include <thread>

namespace prism {

InferenceThreads& InferenceThreads::Shared() {
  static InferenceThreads* shared = new InferenceThreads();  // leaked on purpose: no join at exit
  return *shared;
}

void InferenceThreads::Run(const std::function<void()>& task) {
  std::unique_lock<std::mutex> lock(mutex_);
  size_t index = 0;
  while (index < lanes_.size() && lanes_[index].busy) ++index;
  if (index == lanes_.size()) lanes_.emplace_back();
  Lane& lane = lanes_[index];
  lane.busy = true;
  lane.task = &task;
  lane.finished = false;
  lane.error = nullptr;
  if (lane.alive) {
    lane.wake.notify_one();
  } else {
    lane.alive = true;
    std::thread([this, index] { Serve(index); }).detach();
  }
  lane.done.wait(lock, [&lane] { return lane.finished; });
  const std::exception_ptr error = lane.error;
  lane.task = nullptr;
  lane.error = nullptr;
  lane.busy = false;
  lock.unlock();
  if (error) std::rethrow_exception(error);
}

int InferenceThreads::threads() {
  std::lock_guard<std::mutex> lock(mutex_);
  int n = 0;
  for (const Lane& lane : lanes_) n += lane.alive ? 1 : 0;
  return n;
}

void InferenceThreads::Serve(size_t index) {
  std::unique_lock<std::mutex> lock(mutex_);
  Lane& lane = lanes_[index];
  for (;;) {
    lane.wake.wait(lock, [&lane] { return lane.task != nullptr && !lane.finished; });
    const std::function<void()>* task = lane.task;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*task)();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    lane.error = error;
    lane.finished = true;
    lane.done.notify_one();
    if (index > 0) {
      // an overlap lane: its thread ends (and libgomp frees its team) until calls overlap again
      lane.alive = false;
      return;
    }
  }
}

}  // namespace prism
