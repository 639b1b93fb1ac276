// TaskRunner: worker threads that run posted closures, for blocking work that must stay off the
// HTTP event loops (a feedback request commits to the state store and, with replicas, may wait
// for another replica's writes). The workers start with the first task: a runner that is never
// used costs no threads.
// Thread-safety: thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "base/thread_annotations.h"

namespace inferd::base {

class TaskRunner {
 public:
  // `threads` workers (>= 1), named `name` (at most 15 characters shown).
  TaskRunner(int threads, std::string name);
  ~TaskRunner();  // Stop()
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  // Runs `task` on a worker; after Stop(), on the calling thread.
  void Post(std::function<void()> task) EXCLUDES(mu_);
  // Runs what is queued, then joins the workers. Idempotent.
  void Stop() EXCLUDES(mu_);

 private:
  void Work() EXCLUDES(mu_);

  const int threads_;
  const std::string name_;
  Mutex mu_;
  CondVar cv_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_ GUARDED_BY(mu_);
};

}  // namespace inferd::base
