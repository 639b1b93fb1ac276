#include "monitoring/request_counts.h"

#include <algorithm>
#include <cmath>

namespace inferd::monitoring {

namespace {
const double kLogBase = std::log(1.05);
}

int RequestCounts::Bucket(double seconds) {
  const double us = seconds * 1e6;
  if (!(us > 1)) return 0;  // NaN too
  const double b = std::floor(std::log(us) / kLogBase);
  return b >= kBuckets - 1 ? kBuckets - 1 : static_cast<int>(b);
}

double RequestCounts::UpperBound(int bucket) { return std::pow(1.05, bucket + 1) * 1e-6; }

void RequestCounts::Record(double seconds, bool error) {
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (error) errors_.fetch_add(1, std::memory_order_relaxed);
  buckets_[Bucket(seconds)].fetch_add(1, std::memory_order_relaxed);
}

RequestCounts::Snapshot RequestCounts::Take() const {
  Snapshot s;
  s.requests = requests_.load(std::memory_order_relaxed);
  s.errors = errors_.load(std::memory_order_relaxed);
  for (int i = 0; i < kBuckets; ++i) s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
  return s;
}

RequestCounts::Snapshot RequestCounts::Snapshot::operator-(const Snapshot& earlier) const {
  Snapshot d;
  auto sub = [](uint64_t a, uint64_t b) { return a >= b ? a - b : 0; };
  d.requests = sub(requests, earlier.requests);
  d.errors = sub(errors, earlier.errors);
  for (int i = 0; i < kBuckets; ++i) d.buckets[i] = sub(buckets[i], earlier.buckets[i]);
  return d;
}

double RequestCounts::Snapshot::Quantile(double q) const {
  uint64_t total = 0;
  for (uint64_t c : buckets) total += c;
  if (total == 0) return 0;
  // The rank of the quantile among `total` sorted latencies (1-based, nearest rank).
  const uint64_t rank = std::max<uint64_t>(1, static_cast<uint64_t>(std::ceil(q * total)));
  uint64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += buckets[i];
    if (seen >= rank) return UpperBound(i);
  }
  return UpperBound(kBuckets - 1);
}

}  // namespace inferd::monitoring
