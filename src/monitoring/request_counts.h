// RequestCounts: a version's requests, failures and latencies, counted cumulatively without locks
// in fine logarithmic buckets (each 5% wider than the last, 1 us to about 10^8 us), so that the
// difference of two snapshots gives the counts and quantiles of the time between them. Used by
// automatic rollback (rollout/auto_rollback.h) to compare a canary with stable over a window.
// Thread-safety: Record and Take may run concurrently from any threads.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace inferd::monitoring {

class RequestCounts {
 public:
  static constexpr int kBuckets = 380;  // 1.05^380 us ~ 1.1e8 us

  struct Snapshot {
    uint64_t requests = 0, errors = 0;
    std::array<uint64_t, kBuckets> buckets{};  // latency counts, bucket i < 1.05^(i+1) us

    // The counts of the time since `earlier` (a snapshot of the same counts).
    Snapshot operator-(const Snapshot& earlier) const;
    double ErrorRate() const { return requests ? static_cast<double>(errors) / requests : 0.0; }
    // The latency, in seconds, under which a share `q` (0-1) of the requests finished: the upper
    // bound of the bucket holding it (at most 5% high). 0 without requests.
    double Quantile(double q) const;
  };

  void Record(double seconds, bool error);
  Snapshot Take() const;

  // The bucket of a latency.
  static int Bucket(double seconds);
  static double UpperBound(int bucket);  // seconds

 private:
  std::atomic<uint64_t> requests_{0}, errors_{0};
  std::array<std::atomic<uint64_t>, kBuckets> buckets_{};
};

}  // namespace inferd::monitoring
