#include "auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include <array>
#include <atomic>
#include <cstring>
#include <unordered_map>

#include "auth/api_keys.h"
#include "auth/base64url.h"
#include "base/file.h"
#include "base/sha256.h"

namespace inferd::auth {

using base::InvalidArgument;
using base::StatusOr;

std::array<uint8_t, 32> HmacSha256(std::string_view key, std::string_view message) {
  uint8_t k[64] = {};
  if (key.size() > 64) {
    base::Sha256 h;
    h.Update(key);
    const auto d = h.Finish();
    std::memcpy(k, d.data(), d.size());
  } else {
    std::memcpy(k, key.data(), key.size());
  }
  uint8_t pad[64];
  for (int i = 0; i < 64; ++i) pad[i] = k[i] ^ 0x36;
  base::Sha256 inner;
  inner.Update(pad, 64);
  inner.Update(message);
  const auto inner_digest = inner.Finish();
  for (int i = 0; i < 64; ++i) pad[i] = k[i] ^ 0x5c;
  base::Sha256 outer;
  outer.Update(pad, 64);
  outer.Update(inner_digest.data(), inner_digest.size());
  return outer.Finish();
}

struct JwtVerifier::Keys {
  struct Rsa {
    std::string kid;
    EVP_PKEY* key = nullptr;
  };
  struct Hmac {
    std::string kid;
    std::string secret;
  };
  std::vector<Rsa> rsa;
  std::vector<Hmac> hmac;
  ~Keys() {
    for (auto& r : rsa) EVP_PKEY_free(r.key);
  }
};

namespace {

base::Status Unauthenticated(const std::string& m) { return base::Unauthenticated(m); }

// An RSA public key from its JWK modulus and exponent (base64url big-endian).
EVP_PKEY* RsaFromJwk(std::string_view n64, std::string_view e64) {
  auto n = Base64UrlDecode(n64), e = Base64UrlDecode(e64);
  if (!n || !e || n->empty() || e->empty()) return nullptr;
  BIGNUM* bn =
      BN_bin2bn(reinterpret_cast<const uint8_t*>(n->data()), static_cast<int>(n->size()), nullptr);
  BIGNUM* be =
      BN_bin2bn(reinterpret_cast<const uint8_t*>(e->data()), static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* key = nullptr;
  if (bn && be && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be)) {
    OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr);
    if (params && ctx && EVP_PKEY_fromdata_init(ctx) > 0) {
      if (EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) key = nullptr;
    }
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  BN_free(be);
  return key;
}

base::Status LoadKeyFile(const std::filesystem::path& path, JwtVerifier::Keys* keys) {
  ASSIGN_OR_RETURN(const std::string text, base::ReadWholeFile(path, "JWT key file"));
  const std::string where = "JWT key file " + path.string();
  if (text.find("-----BEGIN") != std::string::npos) {
    BIO* bio = BIO_new_mem_buf(text.data(), static_cast<int>(text.size()));
    int found = 0;
    while (EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr)) {
      if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) {
        EVP_PKEY_free(key);
        BIO_free(bio);
        return InvalidArgument(where + ": a key is not RSA (RS256 needs RSA public keys)");
      }
      keys->rsa.push_back({"", key});
      ++found;
    }
    BIO_free(bio);
    if (found == 0) {
      return InvalidArgument(where + ": no PEM public key (-----BEGIN PUBLIC KEY-----) in it");
    }
    return base::Status::Ok();
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array arr;
  if (parser.parse(text).get(doc) || doc["keys"].get_array().get(arr)) {
    return InvalidArgument(where + ": neither PEM nor a JWKS ({\"keys\": [...]})");
  }
  int i = 0;
  for (simdjson::dom::element k : arr) {
    const std::string at = where + ": keys[" + std::to_string(i++) + "]";
    std::string_view kty, kid;
    if (k["kty"].get_string().get(kty)) return InvalidArgument(at + " has no kty");
    if (k["kid"].get_string().get(kid) != simdjson::SUCCESS) kid = {};
    if (kty == "RSA") {
      std::string_view n, e;
      if (k["n"].get_string().get(n) || k["e"].get_string().get(e)) {
        return InvalidArgument(at + ": an RSA key needs n and e");
      }
      EVP_PKEY* key = RsaFromJwk(n, e);
      if (!key) return InvalidArgument(at + ": n and e do not make an RSA key");
      keys->rsa.push_back({std::string(kid), key});
    } else if (kty == "oct") {
      std::string_view k64;
      if (k["k"].get_string().get(k64)) return InvalidArgument(at + ": an oct key needs k");
      auto secret = Base64UrlDecode(k64);
      if (!secret || secret->size() < 32) {
        return InvalidArgument(at + ": k must be base64url of at least 32 bytes");
      }
      keys->hmac.push_back({std::string(kid), std::move(*secret)});
    } else {
      return InvalidArgument(at + ": kty '" + std::string(kty) + "' is not supported (RSA, oct)");
    }
  }
  return base::Status::Ok();
}

// The per-thread cache of verified tokens: SHA-256 of the token -> principal and expiry.
struct CacheEntry {
  Principal principal;
  int64_t exp = 0;        // 0: none
  uint64_t verifier = 0;  // JwtVerifier::id_: a verifier made later at the same address differs
};
struct DigestHash {
  size_t operator()(const std::array<uint8_t, 32>& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);
    return h;
  }
};
constexpr size_t kCacheEntries = 1024;

}  // namespace

JwtVerifier::JwtVerifier(const JwtOptions& options)
    : options_(options), keys_(std::make_unique<Keys>()), id_([] {
        static std::atomic<uint64_t> next{1};
        return next.fetch_add(1);
      }()) {}
JwtVerifier::~JwtVerifier() = default;

StatusOr<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(const JwtOptions& options) {
  std::unique_ptr<JwtVerifier> v(new JwtVerifier(options));
  for (const auto& s : options.hs256_secrets) {
    if (s.size() < 32) {
      return InvalidArgument("an HS256 secret must be at least 32 bytes (256 bits); it has " +
                             std::to_string(s.size()));
    }
    v->keys_->hmac.push_back({"", s});
  }
  for (const auto& f : options.rs256_key_files) RETURN_IF_ERROR(LoadKeyFile(f, v->keys_.get()));
  if (v->keys_->hmac.empty() && v->keys_->rsa.empty()) {
    return InvalidArgument("JWT verification needs an HS256 secret or RS256 public keys");
  }
  return v;
}

StatusOr<Principal> JwtVerifier::Verify(std::string_view token, int64_t now_s) const {
  thread_local std::unordered_map<std::array<uint8_t, 32>, CacheEntry, DigestHash> cache;
  base::Sha256 h;
  h.Update(token);
  const auto digest = h.Finish();
  if (auto it = cache.find(digest); it != cache.end() && it->second.verifier == id_) {
    if (it->second.exp == 0 || now_s <= it->second.exp + options_.leeway_s) {
      return it->second.principal;
    }
    cache.erase(it);
    return Unauthenticated("the token has expired");
  }
  int64_t exp = 0;
  ASSIGN_OR_RETURN(Principal p, VerifyUncached(token, now_s, &exp));
  if (cache.size() >= kCacheEntries) cache.clear();
  cache[digest] = CacheEntry{p, exp, id_};
  return p;
}

StatusOr<Principal> JwtVerifier::VerifyUncached(std::string_view token, int64_t now_s,
                                                int64_t* exp_out) const {
  const size_t d1 = token.find('.');
  const size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return Unauthenticated("malformed token (expected header.payload.signature)");
  }
  auto header = Base64UrlDecode(token.substr(0, d1));
  auto payload = Base64UrlDecode(token.substr(d1 + 1, d2 - d1 - 1));
  auto signature = Base64UrlDecode(token.substr(d2 + 1));
  if (!header || !payload || !signature) return Unauthenticated("malformed token (base64url)");
  simdjson::dom::parser parser;
  simdjson::dom::element hdoc;
  std::string_view alg, kid;
  if (parser.parse(*header).get(hdoc) || hdoc["alg"].get_string().get(alg)) {
    return Unauthenticated("malformed token header");
  }
  if (hdoc["kid"].get_string().get(kid) != simdjson::SUCCESS) kid = {};
  std::string kid_copy(kid);
  const std::string_view signed_part = token.substr(0, d2);
  bool verified = false;
  if (alg == "HS256") {
    for (const auto& k : keys_->hmac) {
      if (!kid_copy.empty() && !k.kid.empty() && k.kid != kid_copy) continue;
      const auto mac = HmacSha256(k.secret, signed_part);
      if (signature->size() == mac.size() &&
          ConstantTimeEqual(mac.data(), reinterpret_cast<const uint8_t*>(signature->data()),
                            mac.size())) {
        verified = true;
        break;
      }
    }
    if (!verified && keys_->hmac.empty()) {
      return Unauthenticated("HS256 tokens are not accepted here (no HS256 secret configured)");
    }
  } else if (alg == "RS256") {
    for (const auto& k : keys_->rsa) {
      if (!kid_copy.empty() && !k.kid.empty() && k.kid != kid_copy) continue;
      EVP_MD_CTX* ctx = EVP_MD_CTX_new();
      if (ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, k.key) > 0 &&
          EVP_DigestVerify(ctx, reinterpret_cast<const uint8_t*>(signature->data()),
                           signature->size(), reinterpret_cast<const uint8_t*>(signed_part.data()),
                           signed_part.size()) == 1) {
        verified = true;
      }
      EVP_MD_CTX_free(ctx);
      if (verified) break;
    }
    if (!verified && keys_->rsa.empty()) {
      return Unauthenticated("RS256 tokens are not accepted here (no RS256 key configured)");
    }
  } else {
    return Unauthenticated("token algorithm '" + std::string(alg.substr(0, 16)) +
                           "' is not accepted (HS256, RS256)");
  }
  if (!verified) return Unauthenticated("the token's signature does not verify");

  simdjson::dom::element claims;
  if (parser.parse(*payload).get(claims) || !claims.is_object()) {
    return Unauthenticated("malformed token claims");
  }
  auto number = [&](const char* name, int64_t* out) -> bool {
    simdjson::dom::element e;
    if (claims[name].get(e)) return false;
    double d;
    if (e.get_double().get(d)) return false;
    *out = static_cast<int64_t>(d);
    return true;
  };
  int64_t exp = 0, nbf = 0;
  if (number("exp", &exp) && now_s > exp + options_.leeway_s) {
    return Unauthenticated("the token has expired");
  }
  if (number("nbf", &nbf) && now_s + options_.leeway_s < nbf) {
    return Unauthenticated("the token is not valid yet (nbf)");
  }
  if (options_.issuer) {
    std::string_view iss;
    if (claims["iss"].get_string().get(iss) || iss != *options_.issuer) {
      return Unauthenticated("the token's issuer is not accepted");
    }
  }
  if (options_.audience) {
    bool ok = false;
    simdjson::dom::element aud;
    if (!claims["aud"].get(aud)) {
      std::string_view one;
      simdjson::dom::array many;
      if (!aud.get_string().get(one)) {
        ok = one == *options_.audience;
      } else if (!aud.get_array().get(many)) {
        for (simdjson::dom::element a : many) {
          std::string_view s;
          if (!a.get_string().get(s) && s == *options_.audience) ok = true;
        }
      }
    }
    if (!ok) return Unauthenticated("the token is not for this audience");
  }
  Principal p;
  std::string_view sub;
  if (claims["sub"].get_string().get(sub) || sub.empty()) {
    return Unauthenticated("the token has no subject (sub)");
  }
  p.name = "jwt:" + std::string(sub.substr(0, 128));
  auto add_scopes = [&](std::string_view list) {
    size_t i = 0;
    while (i <= list.size()) {
      size_t j = list.find(' ', i);
      if (j == std::string_view::npos) j = list.size();
      if (auto s = ScopeFromName(list.substr(i, j - i))) p.scopes |= *s;
      i = j + 1;
    }
  };
  std::string_view scope;
  simdjson::dom::array scp;
  if (!claims["scope"].get_string().get(scope)) add_scopes(scope);
  if (!claims["scp"].get_string().get(scope)) add_scopes(scope);
  if (!claims["scp"].get_array().get(scp)) {
    for (simdjson::dom::element e : scp) {
      std::string_view s;
      if (!e.get_string().get(s)) add_scopes(s);
    }
  }
  *exp_out = exp;
  return p;
}

}  // namespace inferd::auth
