#include "base/ids.h"

#include <chrono>
#include <cstdint>
#include <random>

namespace inferd::base {
namespace {

// xoshiro256** seeded per thread from std::random_device.
struct Rng {
  uint64_t s[4];
  Rng() {
    std::random_device rd;
    for (auto& w : s) w = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t Next() {
    const uint64_t result = Rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return result;
  }
};

}  // namespace

std::string NewRequestId() {
  thread_local Rng rng;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  const uint64_t ms = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::system_clock::now().time_since_epoch())
                                                .count());
  for (int i = 0; i < 12; ++i) out[i] = kHex[(ms >> (4 * (11 - i))) & 0xF];
  uint64_t a = rng.Next(), b = rng.Next();
  for (int i = 12; i < 28; ++i) {
    out[i] = kHex[a & 0xF];
    a >>= 4;
  }
  for (int i = 28; i < 32; ++i) {
    out[i] = kHex[b & 0xF];
    b >>= 4;
  }
  return out;
}

std::optional<int64_t> RequestIdTimeMs(const std::string& id) {
  if (id.size() != 32) return std::nullopt;
  int64_t ms = 0;
  for (size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    const int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (v < 0) return std::nullopt;
    if (i < 12) ms = ms * 16 + v;
  }
  constexpr int64_t k2020 = 1577836800000;
  if (ms < k2020 || ms > k2020 * 4) return std::nullopt;
  return ms;
}

}  // namespace inferd::base
