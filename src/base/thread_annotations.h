// Clang thread-safety annotations and an annotated mutex. g++ ignores the attributes; the clang
// build (`make tsa`) checks them with -Wthread-safety.
// Thread-safety: Mutex is a mutex; MutexLock is a scoped lock held by one thread.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define INFERD_TSA(x) __attribute__((x))
#else
#define INFERD_TSA(x)
#endif

// Abseil (pulled in by gRPC) defines some of the same names: ours replace them.
#undef CAPABILITY
#undef SCOPED_CAPABILITY
#undef GUARDED_BY
#undef PT_GUARDED_BY
#undef REQUIRES
#undef EXCLUDES
#undef ACQUIRE
#undef RELEASE
#undef NO_THREAD_SAFETY_ANALYSIS

#define CAPABILITY(x) INFERD_TSA(capability(x))
#define SCOPED_CAPABILITY INFERD_TSA(scoped_lockable)
#define GUARDED_BY(x) INFERD_TSA(guarded_by(x))
#define PT_GUARDED_BY(x) INFERD_TSA(pt_guarded_by(x))
#define REQUIRES(...) INFERD_TSA(requires_capability(__VA_ARGS__))
#define EXCLUDES(...) INFERD_TSA(locks_excluded(__VA_ARGS__))
#define ACQUIRE(...) INFERD_TSA(acquire_capability(__VA_ARGS__))
#define RELEASE(...) INFERD_TSA(release_capability(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS INFERD_TSA(no_thread_safety_analysis)

namespace inferd::base {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  std::mutex& native() { return mu_; }

 private:
  std::mutex mu_;
};

class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.Lock(); }
  ~MutexLock() RELEASE() { mu_.Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// A condition variable usable with Mutex while it is held through MutexLock.
class CondVar {
 public:
  // Precondition: `mu` is held by the caller.
  template <typename Pred>
  void Wait(Mutex& mu, Pred pred) NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock<std::mutex> lk(mu.native(), std::adopt_lock);
    cv_.wait(lk, pred);
    lk.release();
  }
  // Waits at most `timeout`; returns pred().
  template <typename Duration, typename Pred>
  bool WaitFor(Mutex& mu, Duration timeout, Pred pred) NO_THREAD_SAFETY_ANALYSIS {
    std::unique_lock<std::mutex> lk(mu.native(), std::adopt_lock);
    bool r = cv_.wait_for(lk, timeout, pred);
    lk.release();
    return r;
  }
  void NotifyAll() { cv_.notify_all(); }
  void NotifyOne() { cv_.notify_one(); }

 private:
  std::condition_variable cv_;
};

}  // namespace inferd::base
