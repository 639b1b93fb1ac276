#include "base/sha256.h"

#include <gtest/gtest.h>

#include <random>

namespace inferd::base {
namespace {

// FIPS 180-2's examples, and the NIST one-million-'a' vector.
void CheckVectors() {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256Test, StandardVectors) {
  CheckVectors();
  Sha256::UsePortableForTesting(true);
  CheckVectors();
  Sha256::UsePortableForTesting(false);
}

TEST(Sha256Test, StreamingInAnyPiecesAndBothCodePathsAgree) {
  std::mt19937 rng(5);
  for (size_t size : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u, 1000u, 65537u}) {
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    const std::string whole = Sha256Hex(data);
    Sha256 pieces;
    for (size_t at = 0; at < size;) {
      const size_t n = std::min<size_t>(size - at, 1 + rng() % 97);
      pieces.Update(data.data() + at, n);
      at += n;
    }
    EXPECT_EQ(pieces.FinishHex(), whole) << size;
    Sha256::UsePortableForTesting(true);
    EXPECT_EQ(Sha256Hex(data), whole) << size;
    Sha256::UsePortableForTesting(false);
  }
}

}  // namespace
}  // namespace inferd::base
