// API keys, kept as SHA-256 hashes in a keys file: a presented key is hashed and compared with
// every stored hash in constant time (no early exit, no lookup keyed by the secret).
//
// The keys file: one key per line, `#` comments and blank lines ignored:
//   NAME SHA256_HEX SCOPES [rps=R] [burst=B]
// e.g. `ci-bot 9f86d0...0f00a08 infer,monitor rps=50`. `inferd auth new-key` makes a key and its
// line. Keys are sent as `Authorization: Bearer KEY` or `X-API-Key: KEY`.
// Thread-safety: immutable after Load; Find may run on many threads at once.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.h"
#include "base/status.h"

namespace inferd::auth {

class ApiKeys {
 public:
  // Parses the keys file's text. Errors: INVALID_ARGUMENT naming the line and the problem.
  static base::StatusOr<ApiKeys> Parse(std::string_view text);
  static base::StatusOr<ApiKeys> Load(const std::filesystem::path& path);

  // The principal of `key`, or null when no stored hash matches.
  const Principal* Find(std::string_view key) const;
  size_t size() const { return entries_.size(); }

  // A new random key ("ik_" and 43 base64url characters: 256 bits).
  static std::string NewKey();
  // The keys-file line for `key`.
  static std::string Line(const std::string& name, std::string_view key, uint32_t scopes);

 private:
  struct Entry {
    std::array<uint8_t, 32> hash;
    Principal principal;
  };
  std::vector<Entry> entries_;
};

// Constant-time equality of two equal-length byte strings.
bool ConstantTimeEqual(const uint8_t* a, const uint8_t* b, size_t n);

}  // namespace inferd::auth
