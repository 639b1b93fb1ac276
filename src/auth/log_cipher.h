// LogCipher: AES-256-GCM for what the prediction log keeps of requests (their inputs), so that a
// copy of the state store does not give them away. Each sealed value has its own random 96-bit
// nonce and is bound to its record by the associated data (model and request id): a value moved
// to another record does not open.
// Sealed form: "aes256gcm:" + base64url(nonce || ciphertext || 16-byte tag).
// Keys: a file of 32 raw bytes, 64 hex characters or base64 of 32 bytes (a final newline is
// ignored); `openssl rand -hex 32 > log.key` makes one.
// Thread-safety: Seal and Open may run on many threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "base/status.h"

namespace inferd::auth {

class LogCipher {
 public:
  // Errors: NOT_FOUND (the file), INVALID_ARGUMENT (not a 256-bit key in one of the forms).
  static base::StatusOr<LogCipher> FromKeyFile(const std::filesystem::path& path);
  static base::StatusOr<LogCipher> FromKeyText(std::string_view text);

  // Aborts the process when OpenSSL cannot give a random nonce or encrypt: a log of unsealed
  // or nonce-reusing values would be worse than none.
  std::string Seal(std::string_view plaintext, std::string_view aad) const;
  // Errors: INVALID_ARGUMENT when `sealed` is not a sealed value; DATA_LOSS when it does not open
  // (another key, another record, or changed bytes).
  base::StatusOr<std::string> Open(std::string_view sealed, std::string_view aad) const;
  static bool IsSealed(std::string_view value) { return value.starts_with(kPrefix); }
  // A keyed digest of `data` ("hmac-sha256:" + hex), for logs that keep only a digest of the
  // inputs (`log_inputs: false`): unlike a plain SHA-256, nobody without the key can test guesses
  // of low-entropy inputs against it. The HMAC key is derived from the encryption key.
  std::string Digest(std::string_view data) const;

 private:
  explicit LogCipher(const uint8_t* key);  // 32 bytes
  static constexpr std::string_view kPrefix = "aes256gcm:";
  std::array<uint8_t, 32> key_{};
  std::array<uint8_t, 32> mac_key_{};  // derived from key_ for Digest
};

}  // namespace inferd::auth
