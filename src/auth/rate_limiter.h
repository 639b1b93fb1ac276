// Token-bucket rate limits per principal (or per client address for anonymous callers): each
// bucket refills at `rps` tokens a second up to `burst`; a request takes one token or is refused
// with the time until one is there (429 with Retry-After).
// Thread-safety: thread-safe; buckets are sharded by name, each shard under its own mutex.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/principal.h"
#include "base/thread_annotations.h"

namespace inferd::auth {

class RateLimiter {
 public:
  // Takes a token from `name`'s bucket (made full at its first use) at monotonic time `now_ns`.
  // Returns nullopt when allowed, else the seconds until a token is available.
  std::optional<double> Acquire(std::string_view name, const Rate& rate, int64_t now_ns);

 private:
  struct Bucket {
    double tokens = 0;
    int64_t last_ns = 0;
  };
  struct Shard {
    base::Mutex mu;
    std::unordered_map<std::string, Bucket> buckets GUARDED_BY(mu);
  };
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxBucketsPerShard = 4096;  // then full (idle) buckets are dropped
  std::array<Shard, kShards> shards_;
};

}  // namespace inferd::auth
