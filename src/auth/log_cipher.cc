#include "auth/log_cipher.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/logging.h"

namespace inferd::auth {

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

}  // namespace

LogCipher::LogCipher(const uint8_t* key) {
  std::memcpy(key_.data(), key, key_.size());
  mac_key_ = HmacSha256(std::string_view(reinterpret_cast<const char*>(key), key_.size()),
                        "inferd prediction log digest");
}

base::StatusOr<LogCipher> LogCipher::FromKeyText(std::string_view text) {
  auto raw = [](std::string_view t) {
    return LogCipher(reinterpret_cast<const uint8_t*>(t.data()));
  };
  // 32 raw bytes, whatever the last one is; then the text forms, with a final newline ignored.
  if (text.size() == 32) return raw(text);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.size() == 32) return raw(text);
  if (std::array<uint8_t, 32> key{}; base::HexDecode(text, key.data(), key.size())) {
    return LogCipher(key.data());
  }
  if (auto b = Base64Decode(text); b && b->size() == 32) return raw(*b);
  return base::InvalidArgument(
      "the log encryption key must be 32 bytes: raw, 64 hex characters or base64 (openssl rand "
      "-hex 32 makes one)");
}

base::StatusOr<LogCipher> LogCipher::FromKeyFile(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(const std::string text, base::ReadWholeFile(path, "log encryption key file"));
  auto c = FromKeyText(text);
  if (!c.ok()) return c.status().WithContext(path.string());
  return c;
}

std::string LogCipher::Seal(std::string_view plaintext, std::string_view aad) const {
  std::string out(12 + plaintext.size() + 16, '\0');
  auto* bytes = reinterpret_cast<uint8_t*>(out.data());
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0, tail = 0;
  // A nonce that is not random could repeat under the key, which gives GCM away: without one,
  // nothing is sealed.
  const bool sealed =
      RAND_bytes(bytes, 12) == 1 && ctx != nullptr &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), bytes) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                        static_cast<int>(aad.size())) == 1 &&
      EVP_EncryptUpdate(ctx.get(), bytes + 12, &len,
                        reinterpret_cast<const uint8_t*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), bytes + 12 + len, &tail) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, bytes + 12 + plaintext.size()) == 1;
  if (!sealed) {
    LOG_ERROR("the prediction log cannot seal inputs (OpenSSL's random source or AES-GCM failed)");
    std::abort();
  }
  return std::string(kPrefix) + Base64UrlEncode(out);
}

std::string LogCipher::Digest(std::string_view data) const {
  const auto mac = HmacSha256(
      std::string_view(reinterpret_cast<const char*>(mac_key_.data()), mac_key_.size()), data);
  return "hmac-sha256:" + base::HexEncode(mac.data(), mac.size());
}

base::StatusOr<std::string> LogCipher::Open(std::string_view sealed, std::string_view aad) const {
  if (!IsSealed(sealed)) return base::InvalidArgument("not a sealed value");
  auto raw = Base64UrlDecode(sealed.substr(kPrefix.size()));
  if (!raw || raw->size() < 28) return base::InvalidArgument("a sealed value is malformed");
  const auto* bytes = reinterpret_cast<const uint8_t*>(raw->data());
  const size_t n = raw->size() - 28;
  std::string out(n, '\0');
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), bytes);
  EVP_DecryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                    static_cast<int>(aad.size()));
  EVP_DecryptUpdate(ctx.get(), reinterpret_cast<uint8_t*>(out.data()), &len, bytes + 12,
                    static_cast<int>(n));
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, 16, const_cast<uint8_t*>(bytes + 12 + n));
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<uint8_t*>(out.data()) + len, &len) != 1) {
    return base::DataLoss(
        "a sealed value does not open: another key, another record, or changed bytes");
  }
  return out;
}

}  // namespace inferd::auth
