#include "auth/rate_limiter.h"

#include <algorithm>
#include <functional>

namespace inferd::auth {

std::optional<double> RateLimiter::Acquire(std::string_view name, const Rate& rate,
                                           int64_t now_ns) {
  Shard& shard = shards_[std::hash<std::string_view>{}(name) % kShards];
  base::MutexLock lock(shard.mu);
  auto it = shard.buckets.find(std::string(name));
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= kMaxBucketsPerShard) {
      // Forget the buckets that have refilled: a new bucket starts full anyway.
      std::erase_if(shard.buckets, [&](const auto& kv) {
        const double dt = static_cast<double>(now_ns - kv.second.last_ns) * 1e-9;
        return kv.second.tokens + dt * rate.rps >= rate.burst;
      });
    }
    it = shard.buckets.emplace(std::string(name), Bucket{rate.burst, now_ns}).first;
  }
  Bucket& b = it->second;
  const double dt = static_cast<double>(std::max<int64_t>(0, now_ns - b.last_ns)) * 1e-9;
  b.tokens = std::min(rate.burst, b.tokens + dt * rate.rps);
  b.last_ns = now_ns;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return (1 - b.tokens) / rate.rps;
}

}  // namespace inferd::auth
