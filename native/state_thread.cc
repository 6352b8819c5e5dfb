#include "state_thread.h"

namespace prism {

StateThread::StateThread() : thread_([this] { Loop(); }) {}

StateThread::~StateThread() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void StateThread::Run(const std::function<void()>& task) {
  std::unique_lock<std::mutex> lock(mutex_);
  task_ = &task;
  finished_ = false;
  error_ = nullptr;
  wake_.notify_one();
  done_.wait(lock, [this] { return finished_; });
  task_ = nullptr;
  if (error_) std::rethrow_exception(error_);
}

void StateThread::Loop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || (task_ != nullptr && !finished_); });
    if (task_ == nullptr || finished_) return;  // stopping, nothing in hand
    const std::function<void()>* task = task_;
    lock.unlock();
    std::exception_ptr error;
    try {
      (*task)();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    error_ = error;
    finished_ = true;
    done_.notify_one();
  }
}

}  // namespace prism
