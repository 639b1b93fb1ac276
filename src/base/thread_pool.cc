#include "base/thread_pool.h"

#include <atomic>

namespace inferd::base {

// One ParallelFor call. Chunks are claimed with an atomic counter, so each runs exactly once on
// whichever thread claims it. `active` counts the workers inside the job; the caller returns only
// when every chunk is done and no worker still holds the job.
struct ThreadPool::Job {
  const std::function<void(int64_t)>* fn = nullptr;
  int64_t n = 0;
  std::atomic<int64_t> next{0};
  std::atomic<int64_t> done{0};
  int active = 0;  // guarded by the pool's mu_

  void RunChunks() {
    for (int64_t i; (i = next.fetch_add(1)) < n;) {
      (*fn)(i);
      done.fetch_add(1);
    }
  }
};

ThreadPool::ThreadPool(int threads) {
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

ThreadPool::~ThreadPool() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Work() {
  MutexLock lock(mu_);
  for (;;) {
    cv_.Wait(mu_, [this]() NO_THREAD_SAFETY_ANALYSIS { return stopping_ || !jobs_.empty(); });
    if (stopping_) return;
    Job* job = jobs_.front();
    if (job->next.load() >= job->n) {  // every chunk is claimed: nothing left to join
      jobs_.pop_front();
      continue;
    }
    ++job->active;
    mu_.Unlock();
    job->RunChunks();
    mu_.Lock();
    --job->active;
    done_cv_.NotifyAll();
  }
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t)>& fn) {
  if (n <= 0) return;
  if (workers_.empty() || n == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  Job job;
  job.fn = &fn;
  job.n = n;
  {
    MutexLock lock(mu_);
    jobs_.push_back(&job);
  }
  cv_.NotifyAll();
  job.RunChunks();
  MutexLock lock(mu_);
  done_cv_.Wait(mu_, [&job]() NO_THREAD_SAFETY_ANALYSIS {
    return job.done.load() == job.n && job.active == 0;
  });
  for (auto it = jobs_.begin(); it != jobs_.end(); ++it) {
    if (*it == &job) {
      jobs_.erase(it);
      break;
    }
  }
}

}  // namespace inferd::base
