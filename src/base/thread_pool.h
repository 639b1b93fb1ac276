// ThreadPool: a fixed set of worker threads for data-parallel work (e.g. the rows of a large
// batch). ParallelFor runs chunks on the workers and on the calling thread, and returns when all
// are done.
// Thread-safety: ParallelFor may be called from several threads at once; their chunks share the
// workers.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "base/thread_annotations.h"

namespace inferd::base {

class ThreadPool {
 public:
  // `threads` workers (>= 0; 0 = everything runs on the calling thread).
  explicit ThreadPool(int threads);
  ~ThreadPool();  // joins the workers; precondition: no ParallelFor in progress
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()); }

  // Calls fn(i) for every i in [0, n), spread over the workers and the calling thread.
  // `fn` must not throw.
  void ParallelFor(int64_t n, const std::function<void(int64_t)>& fn) EXCLUDES(mu_);

 private:
  struct Job;
  void Work() EXCLUDES(mu_) NO_THREAD_SAFETY_ANALYSIS;  // drops mu_ around each job

  Mutex mu_;
  CondVar cv_;       // work queued, or stopping
  CondVar done_cv_;  // a worker left a job
  std::deque<Job*> jobs_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace inferd::base
