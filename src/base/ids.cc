#include "base/ids.h"

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
  for (int half = 0; half < 2; ++half) {
    uint64_t v = rng.Next();
    for (int i = 0; i < 16; ++i) {
      out[half * 16 + i] = kHex[v & 0xF];
      v >>= 4;
    }
  }
  return out;
}

}  // namespace inferd::base
