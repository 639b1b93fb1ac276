#include "auth/log_cipher.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cstring>
#include <memory>

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "base/file.h"

namespace inferd::auth {

namespace {

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using Ctx = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

// Standard base64 (RFC 4648 section 4) to bytes; nullopt when it is not.
std::optional<std::string> Base64Decode(std::string_view s) {
  std::string t(s);
  for (char& c : t) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return Base64UrlDecode(t);
}

}  // namespace

base::StatusOr<LogCipher> LogCipher::FromKeyText(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  LogCipher c;
  if (text.size() == 32) {
    std::memcpy(c.key_.data(), text.data(), 32);
    return c;
  }
  if (text.size() == 64) {
    bool hex = true;
    for (size_t i = 0; i < 32 && hex; ++i) {
      auto nibble = [](char ch) -> int {
        if (ch >= '0' && ch <= '9') return ch - '0';
        if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
        return -1;
      };
      const int hi = nibble(text[2 * i]), lo = nibble(text[2 * i + 1]);
      hex = hi >= 0 && lo >= 0;
      if (hex) c.key_[i] = static_cast<uint8_t>(hi << 4 | lo);
    }
    if (hex) return c;
  }
  if (auto b = Base64Decode(text); b && b->size() == 32) {
    std::memcpy(c.key_.data(), b->data(), 32);
    return c;
  }
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
  RAND_bytes(bytes, 12);
  Ctx ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key_.data(), bytes);
  EVP_EncryptUpdate(ctx.get(), nullptr, &len, reinterpret_cast<const uint8_t*>(aad.data()),
                    static_cast<int>(aad.size()));
  EVP_EncryptUpdate(ctx.get(), bytes + 12, &len, reinterpret_cast<const uint8_t*>(plaintext.data()),
                    static_cast<int>(plaintext.size()));
  EVP_EncryptFinal_ex(ctx.get(), bytes + 12 + len, &len);
  EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, 16, bytes + 12 + plaintext.size());
  return std::string(kPrefix) + Base64UrlEncode(out);
}

std::string LogCipher::Digest(std::string_view data) const {
  const auto mac_key =
      HmacSha256(std::string_view(reinterpret_cast<const char*>(key_.data()), key_.size()),
                 "inferd prediction log digest");
  const auto mac = HmacSha256(
      std::string_view(reinterpret_cast<const char*>(mac_key.data()), mac_key.size()), data);
  static const char* kHex = "0123456789abcdef";
  std::string out = "hmac-sha256:";
  for (uint8_t b : mac) out += kHex[b >> 4], out += kHex[b & 15];
  return out;
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
