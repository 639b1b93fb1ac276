// JWT bearer tokens (RFC 7519) signed HS256 (HMAC-SHA-256) or RS256 (RSASSA-PKCS1-v1_5 with
// SHA-256). The algorithm must match a configured key of its kind (an RS256 public key is never
// used as an HMAC secret); `none` and every other algorithm are refused. Checked claims: exp and
// nbf (with a leeway), iss and aud when configured. The principal is `jwt:<sub>`; its scopes come
// from `scope` (space separated, OAuth 2) or `scp` (a list or a string); names other than infer,
// monitor and admin are ignored.
// Keys: HS256 secrets from a file (its bytes, a final newline dropped); RS256 public keys from a
// PEM file (one or more keys) or a JWKS file ({"keys": [{"kty": "RSA", "kid", "n", "e"}, {"kty":
// "oct", "k"}]}); with several, a token's `kid` picks one, else each is tried.
// Verified tokens are cached per thread by their SHA-256 until they expire, so a client that
// repeats its token pays the signature check once.
// Thread-safety: Verify may run on many threads at once.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.h"
#include "base/status.h"

namespace inferd::auth {

struct JwtOptions {
  std::vector<std::string> hs256_secrets;
  std::vector<std::filesystem::path> rs256_key_files;  // PEM or JWKS (by content)
  std::optional<std::string> issuer;
  std::optional<std::string> audience;
  int64_t leeway_s = 30;
};

class JwtVerifier {
 public:
  // Reads the key files. Errors: NOT_FOUND (a file), INVALID_ARGUMENT (no keys, a bad key or JWKS).
  static base::StatusOr<std::unique_ptr<JwtVerifier>> Create(const JwtOptions& options);
  ~JwtVerifier();

  // Verifies `token` at wall time `now_s` (seconds since the epoch). Errors: UNAUTHENTICATED
  // with a short reason ("the token has expired", "the token's signature does not verify", ...)
  // that never repeats the token.
  base::StatusOr<Principal> Verify(std::string_view token, int64_t now_s) const;

  struct Keys;

 private:
  explicit JwtVerifier(const JwtOptions& options);
  base::StatusOr<Principal> VerifyUncached(std::string_view token, int64_t now_s,
                                           int64_t* exp) const;
  JwtOptions options_;
  std::unique_ptr<Keys> keys_;
  const uint64_t id_;  // tells this verifier's entries in the per-thread cache from others'
};

// HMAC-SHA-256 (RFC 2104), for HS256.
std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view message);

}  // namespace inferd::auth
