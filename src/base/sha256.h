// SHA-256 (FIPS 180-4), streaming. Uses the CPU's SHA extensions when it has them (about 2 GB/s
// here), else portable code. inferd's own so that the binary does not link (and initialise)
// OpenSSL at start-up for one hash.
// Thread-safety: a Sha256 object is used by one thread at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace inferd::base {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t size);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // The digest; the object must not be updated afterwards.
  std::array<uint8_t, 32> Finish();
  // Finish() as lower-case hex.
  std::string FinishHex();
  // Tests: use the portable code even where the SHA extensions exist.
  static void UsePortableForTesting(bool portable);

 private:
  void Blocks(const uint8_t* data, size_t blocks);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;  // bytes
};

// The SHA-256 of `data`, lower-case hex.
std::string Sha256Hex(std::string_view data);

}  // namespace inferd::base
