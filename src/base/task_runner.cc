#include "base/task_runner.h"

#include <pthread.h>

#include <algorithm>

namespace inferd::base {

TaskRunner::TaskRunner(int threads, std::string name)
    : threads_(std::max(threads, 1)), name_(std::move(name)) {}

TaskRunner::~TaskRunner() { Stop(); }

void TaskRunner::Post(std::function<void()> task) {
  {
    MutexLock lock(mu_);
    if (!stopping_) {
      if (workers_.empty()) {
        for (int i = 0; i < threads_; ++i) workers_.emplace_back([this] { Work(); });
      }
      tasks_.push_back(std::move(task));
      cv_.NotifyOne();
      return;
    }
  }
  task();
}

void TaskRunner::Stop() {
  std::vector<std::thread> workers;
  {
    MutexLock lock(mu_);
    stopping_ = true;
    cv_.NotifyAll();
    workers.swap(workers_);
  }
  for (auto& w : workers) w.join();
}

void TaskRunner::Work() {
  pthread_setname_np(pthread_self(), name_.substr(0, 15).c_str());
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      cv_.Wait(mu_, [this]() NO_THREAD_SAFETY_ANALYSIS { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping, and nothing left
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace inferd::base
