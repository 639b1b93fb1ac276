#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <filesystem>
#include <fstream>

#include "auth/api_keys.h"
#include "auth/authorizer.h"
#include "auth/base64url.h"
#include "auth/jwt.h"
#include "auth/log_cipher.h"
#include "auth/rate_limiter.h"
#include "base/sha256.h"

namespace inferd::auth {
namespace {

std::string Hex(const std::array<uint8_t, 32>& d) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) s += k[b >> 4], s += k[b & 15];
  return s;
}

TEST(Base64UrlTest, RoundTripsAndRefusesOtherAlphabets) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00"}) {
    auto d = Base64UrlDecode(Base64UrlEncode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  EXPECT_EQ(*Base64UrlDecode("Zm9vYg=="), "foob");
  EXPECT_FALSE(Base64UrlDecode("Zm9v+g").has_value());
  EXPECT_FALSE(Base64UrlDecode("Z").has_value());
  // Standard base64: padded, '+' and '/'.
  for (std::string s : {"", "f", "fo", "foo", "foob", "\xfb\xff\x00"}) {
    auto d = Base64Decode(Base64Encode(s));
    ASSERT_TRUE(d.has_value());
    EXPECT_EQ(*d, s);
  }
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_FALSE(Base64Decode("-_8").has_value());
}

TEST(HmacTest, Rfc4231) {
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block is hashed first.
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(ApiKeysTest, FindsKeysByHashOnly) {
  const std::string a = ApiKeys::NewKey(), b = ApiKeys::NewKey();
  EXPECT_EQ(a.size(), 3u + 43u);
  EXPECT_NE(a, b);
  const std::string text = "# team keys\n" + ApiKeys::Line("ci", a, kScopeInfer | kScopeMonitor) +
                           "\n\n" + ApiKeys::Line("ops", b, kScopeAdmin) + " rps=5 burst=10\n";
  EXPECT_EQ(text.find(a), std::string::npos);  // the file holds hashes
  auto keys = ApiKeys::Parse(text);
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  ASSERT_NE(keys->Find(a), nullptr);
  EXPECT_EQ(keys->Find(a)->name, "key:ci");
  EXPECT_EQ(keys->Find(a)->scopes, kScopeInfer | kScopeMonitor);
  EXPECT_FALSE(keys->Find(a)->rate.has_value());
  EXPECT_EQ(keys->Find(b)->rate->rps, 5);
  EXPECT_EQ(keys->Find(b)->rate->burst, 10);
  EXPECT_EQ(keys->Find(a + "x"), nullptr);
  EXPECT_EQ(keys->Find(""), nullptr);

  auto error = [](const std::string& text) { return ApiKeys::Parse(text).status().message(); };
  EXPECT_EQ(error("ci abc"), "keys file line 1: expected NAME SHA256_HEX SCOPES [rps=R] [burst=B]");
  EXPECT_NE(error("ci ik_secret infer").find("is not a SHA-256 in hex"), std::string::npos);
  const std::string hash = base::Sha256Hex("k");
  EXPECT_EQ(error("ci " + hash + " root"),
            "keys file line 1: unknown scope 'root' (infer, monitor, admin)");
  EXPECT_EQ(error("ci " + hash + " infer\nci " + hash + " infer"),
            "keys file line 2: key name 'ci' appears twice");
  EXPECT_EQ(error("ci " + hash + " infer rps=-1"),
            "keys file line 1: 'rps=-1' is not rps=R or burst=B (R, B > 0)");
}

// JWT helpers: sign with HMAC or an RSA key.
std::string Part(const std::string& json) { return Base64UrlEncode(json); }

std::string Hs256(const std::string& header, const std::string& claims, const std::string& key) {
  const std::string signed_part = Part(header) + "." + Part(claims);
  const auto mac = HmacSha256(key, signed_part);
  return signed_part + "." +
         Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

struct RsaKey {
  EVP_PKEY* key = nullptr;
  RsaKey() { key = EVP_RSA_gen(2048); }
  ~RsaKey() { EVP_PKEY_free(key); }
  std::string PublicPem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
  }
  std::string Sign(const std::string& header, const std::string& claims) const {
    const std::string signed_part = Part(header) + "." + Part(claims);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const uint8_t*>(signed_part.data()),
                   signed_part.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<uint8_t*>(sig.data()), &len,
                   reinterpret_cast<const uint8_t*>(signed_part.data()), signed_part.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return signed_part + "." + Base64UrlEncode(sig);
  }
};

constexpr int64_t kNow = 1'800'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-hs256";

TEST(JwtTest, Hs256ClaimsAreChecked) {
  JwtOptions o;
  o.hs256_secrets = {kSecret};
  o.issuer = "https://id.example";
  o.audience = "inferd";
  auto v = JwtVerifier::Create(o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const std::string h = R"({"alg":"HS256","typ":"JWT"})";
  auto claims = [](const std::string& extra) {
    return R"({"sub":"alice","iss":"https://id.example","aud":["x","inferd"],"scope":"infer openid monitor")" +
           extra + "}";
  };
  auto p = (*v)->Verify(Hs256(h, claims(R"(,"exp":1800000100)"), kSecret), kNow);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->name, "jwt:alice");
  EXPECT_EQ(p->scopes, kScopeInfer | kScopeMonitor);
  auto reason = [&](const std::string& token, int64_t now = kNow) {
    auto r = (*v)->Verify(token, now);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), base::StatusCode::kUnauthenticated);
    return r.status().message();
  };
  EXPECT_EQ(reason(Hs256(h, claims(R"(,"exp":1799999000)"), kSecret)), "the token has expired");
  // A cached token expires too.
  EXPECT_EQ(reason(Hs256(h, claims(R"(,"exp":1800000100)"), kSecret), kNow + 1000),
            "the token has expired");
  EXPECT_EQ(reason(Hs256(h, claims(R"(,"nbf":1800001000)"), kSecret)),
            "the token is not valid yet (nbf)");
  EXPECT_EQ(reason(Hs256(h, claims(""), "another-secret-another-secret-1234")),
            "the token's signature does not verify");
  EXPECT_EQ(reason(Hs256(h, R"({"sub":"a","iss":"evil","aud":"inferd"})", kSecret)),
            "the token's issuer is not accepted");
  EXPECT_EQ(reason(Hs256(h, R"({"sub":"a","iss":"https://id.example","aud":"other"})", kSecret)),
            "the token is not for this audience");
  EXPECT_EQ(reason(Hs256(h, R"({"iss":"https://id.example","aud":"inferd"})", kSecret)),
            "the token has no subject (sub)");
  EXPECT_EQ(reason(Part(R"({"alg":"none"})") + "." + Part(claims("")) + "."),
            "token algorithm 'none' is not accepted (HS256, RS256)");
  EXPECT_EQ(reason("abc.def"), "malformed token (expected header.payload.signature)");
  EXPECT_EQ(reason("a.b.c.d"), "malformed token (expected header.payload.signature)");
  EXPECT_EQ(reason("!!.b.c"), "malformed token (base64url)");
  // An RS256 token where only HS256 is configured.
  RsaKey rsa;
  EXPECT_EQ(reason(rsa.Sign(R"({"alg":"RS256"})", claims(""))),
            "RS256 tokens are not accepted here (no RS256 key configured)");
  EXPECT_FALSE(JwtVerifier::Create(JwtOptions{.hs256_secrets = {"short"}}).ok());
  EXPECT_FALSE(JwtVerifier::Create(JwtOptions{}).ok());
}

TEST(JwtTest, TheCacheIsPerVerifier) {
  // A token another verifier accepted (and cached on this thread) must be checked again.
  const std::string token = Hs256(R"({"alg":"HS256"})", R"({"sub":"a"})", kSecret);
  for (int i = 0; i < 3; ++i) {
    auto accepting = JwtVerifier::Create(JwtOptions{.hs256_secrets = {kSecret}});
    ASSERT_TRUE((*accepting)->Verify(token, kNow).ok());
    accepting->reset();  // a new verifier may get the same address
    auto other = JwtVerifier::Create(JwtOptions{.hs256_secrets = {std::string(40, 'o')}});
    EXPECT_EQ((*other)->Verify(token, kNow).status().message(),
              "the token's signature does not verify");
  }
}

TEST(JwtTest, Rs256FromPemAndJwks) {
  RsaKey k1, k2;
  const auto dir = std::filesystem::path(::testing::TempDir()) / "jwt_keys";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "k1.pem") << k1.PublicPem();
  JwtOptions o;
  o.rs256_key_files = {dir / "k1.pem"};
  auto v = JwtVerifier::Create(o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  const std::string claims = R"({"sub":"svc","scp":["admin"]})";
  auto p = (*v)->Verify(k1.Sign(R"({"alg":"RS256"})", claims), kNow);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->scopes, kScopeAdmin);
  EXPECT_EQ((*v)->Verify(k2.Sign(R"({"alg":"RS256"})", claims), kNow).status().message(),
            "the token's signature does not verify");
  // An HS256 token signed with the public key's PEM as the secret (algorithm confusion).
  EXPECT_EQ(
      (*v)->Verify(Hs256(R"({"alg":"HS256"})", claims, k1.PublicPem()), kNow).status().message(),
      "HS256 tokens are not accepted here (no HS256 secret configured)");

  // JWKS: k2 as an RSA JWK by kid, and an oct key.
  BIGNUM *n = nullptr, *e = nullptr;
  EVP_PKEY_get_bn_param(k2.key, "n", &n);
  EVP_PKEY_get_bn_param(k2.key, "e", &e);
  auto b64 = [](BIGNUM* bn) {
    std::string s(static_cast<size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<uint8_t*>(s.data()));
    return Base64UrlEncode(s);
  };
  std::ofstream(dir / "jwks.json")
      << R"({"keys":[{"kty":"RSA","kid":"two","n":")" << b64(n) << R"(","e":")" << b64(e)
      << R"("},{"kty":"oct","k":")" << Base64UrlEncode(kSecret) << R"("}]})";
  BN_free(n);
  BN_free(e);
  o.rs256_key_files = {dir / "jwks.json"};
  v = JwtVerifier::Create(o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE((*v)->Verify(k2.Sign(R"({"alg":"RS256","kid":"two"})", claims), kNow).ok());
  EXPECT_TRUE((*v)->Verify(Hs256(R"({"alg":"HS256"})", claims, kSecret), kNow).ok());
  EXPECT_FALSE((*v)->Verify(k1.Sign(R"({"alg":"RS256","kid":"two"})", claims), kNow).ok());
  std::ofstream(dir / "bad.json") << R"({"keys":[{"kty":"EC","crv":"P-256"}]})";
  o.rs256_key_files = {dir / "bad.json"};
  EXPECT_NE(JwtVerifier::Create(o).status().message().find("kty 'EC' is not supported"),
            std::string::npos);
  o.rs256_key_files = {dir / "missing.pem"};
  EXPECT_EQ(JwtVerifier::Create(o).status().code(), base::StatusCode::kNotFound);
}

TEST(RateLimiterTest, RefillsAtTheRateUpToTheBurst) {
  RateLimiter l;
  const Rate r{10, 3};
  int64_t t = 0;
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(l.Acquire("a", r, t).has_value());
  auto wait = l.Acquire("a", r, t);
  ASSERT_TRUE(wait.has_value());
  EXPECT_NEAR(*wait, 0.1, 1e-9);
  EXPECT_FALSE(l.Acquire("b", r, t).has_value());  // buckets are per name
  t += 100'000'000;                                // 0.1 s: one token
  EXPECT_FALSE(l.Acquire("a", r, t).has_value());
  EXPECT_TRUE(l.Acquire("a", r, t).has_value());
  t += 10'000'000'000;  // long idle: back to the burst, not more
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(l.Acquire("a", r, t).has_value());
  EXPECT_TRUE(l.Acquire("a", r, t).has_value());
}

TEST(AuthorizerTest, DecisionsPerRouteAndCredential) {
  base::FakeClock clock(kNow * 1'000'000'000);
  const std::string infer_key = ApiKeys::NewKey(), admin_key = ApiKeys::NewKey();
  auto keys = ApiKeys::Parse(ApiKeys::Line("app", infer_key, kScopeInfer) + "\n" +
                             ApiKeys::Line("ops", admin_key, kScopeAdmin) + " rps=1 burst=2\n");
  ASSERT_TRUE(keys.ok());
  JwtOptions jo;
  jo.hs256_secrets = {kSecret};
  auto jwt = JwtVerifier::Create(jo);
  ASSERT_TRUE(jwt.ok());
  AuthOptions o;
  o.api_keys = std::make_shared<ApiKeys>(std::move(keys).value());
  o.jwt = std::shared_ptr<const JwtVerifier>(std::move(jwt).value());
  o.scopes[RouteClass::kMetrics] = kScopeNone;  // Prometheus scrapes without credentials
  o.clock = &clock;
  Authorizer a(o);
  using C = RouteClass;
  auto check = [&](C c, std::optional<std::string> authz, std::optional<std::string> key = {}) {
    std::optional<std::string_view> av, kv;
    if (authz) av = *authz;
    if (key) kv = *key;
    return a.Check(c, av, kv, false, "10.0.0.1");
  };
  EXPECT_EQ(check(C::kHealth, std::nullopt).status, 0);
  EXPECT_EQ(check(C::kMetrics, std::nullopt).status, 0);
  Decision d = check(C::kInfer, std::nullopt);
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.www_authenticate, "Bearer realm=\"inferd\"");
  d = check(C::kInfer, "Bearer " + infer_key);
  EXPECT_EQ(d.status, 0);
  EXPECT_EQ(d.principal, "key:app");
  EXPECT_EQ(check(C::kInfer, std::nullopt, infer_key).status, 0);
  d = check(C::kInfer, "Bearer ik_wrong");
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.message, "the API key is not valid");
  EXPECT_NE(d.www_authenticate.find("error=\"invalid_token\""), std::string::npos);
  d = check(C::kManagement, "Bearer " + infer_key);
  EXPECT_EQ(d.status, 403);
  EXPECT_EQ(d.message, "'key:app' lacks the scope 'admin' this route needs (it has: infer)");
  EXPECT_EQ(d.www_authenticate,
            "Bearer realm=\"inferd\", error=\"insufficient_scope\", scope=\"admin\"");
  EXPECT_EQ(check(C::kOther, "Bearer " + infer_key).status, 0);
  EXPECT_EQ(check(C::kOther, std::nullopt).status, 401);
  EXPECT_EQ(check(C::kInfer, "Basic dXNlcjpwdw==").message,
            "unsupported Authorization scheme 'Basic': send 'Bearer <token or API key>' or "
            "X-API-Key");
  // JWT: scopes from the token; expiry.
  const std::string h = R"({"alg":"HS256"})";
  EXPECT_EQ(check(C::kMonitor, "Bearer " + Hs256(h, R"({"sub":"bob","scope":"monitor"})", kSecret))
                .principal,
            "jwt:bob");
  d = check(C::kInfer, "Bearer " + Hs256(h, R"({"sub":"bob","scope":"monitor"})", kSecret));
  EXPECT_EQ(d.status, 403);
  d = check(C::kInfer, "bearer " + Hs256(h, R"({"sub":"bob","exp":1000})", kSecret));
  EXPECT_EQ(d.status, 401);
  EXPECT_EQ(d.message, "the token has expired");
  // Admin grants everything; its own rate: 2 at once, then 429 with Retry-After.
  EXPECT_EQ(check(C::kInfer, "Bearer " + admin_key).status, 0);
  EXPECT_EQ(check(C::kMonitor, "Bearer " + admin_key).status, 0);
  d = check(C::kInfer, "Bearer " + admin_key);
  EXPECT_EQ(d.status, 429);
  EXPECT_EQ(d.retry_after_s, 1);
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(check(C::kInfer, "Bearer " + admin_key).status, 0);

  // No credentials configured: open, except management off loopback.
  Authorizer open(AuthOptions{});
  EXPECT_EQ(open.Check(C::kInfer, std::nullopt, std::nullopt, false, "10.0.0.1").status, 0);
  EXPECT_EQ(open.Check(C::kManagement, std::nullopt, std::nullopt, false, "10.0.0.1").status, 403);
  EXPECT_EQ(open.Check(C::kManagement, std::nullopt, std::nullopt, true, "127.0.0.1").status, 0);
}

TEST(LogCipherTest, SealsPerRecordAndRefusesEverythingElse) {
  auto c = LogCipher::FromKeyText(std::string(64, 'a') + "\n");  // hex
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const std::string inputs = R"({"input":[[1.5,2,3]]})";
  const std::string a = c->Seal(inputs, "m/id-1"), b = c->Seal(inputs, "m/id-1");
  EXPECT_TRUE(LogCipher::IsSealed(a));
  EXPECT_NE(a, b);  // a fresh nonce each time
  EXPECT_EQ(a.find("1.5"), std::string::npos);
  EXPECT_EQ(*c->Open(a, "m/id-1"), inputs);
  EXPECT_EQ(*c->Open(b, "m/id-1"), inputs);
  EXPECT_EQ(c->Open(a, "m/id-2").status().code(), base::StatusCode::kDataLoss);  // moved
  std::string flipped = a;
  flipped[20] = flipped[20] == 'A' ? 'B' : 'A';
  EXPECT_EQ(c->Open(flipped, "m/id-1").status().code(), base::StatusCode::kDataLoss);
  auto other = LogCipher::FromKeyText(std::string(32, 'k'));  // raw
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->Open(a, "m/id-1").status().code(), base::StatusCode::kDataLoss);
  EXPECT_EQ(c->Open("plain", "m/id-1").status().code(), base::StatusCode::kInvalidArgument);
  EXPECT_EQ(*c->Open(c->Seal("", "x"), "x"), "");
  EXPECT_TRUE(LogCipher::FromKeyText(Base64UrlEncode(std::string(32, '\x07'))).ok());
  EXPECT_TRUE(LogCipher::FromKeyText(Base64Encode(std::string(32, '\xfb')) + "\n").ok());
  // 32 raw bytes may end in a newline byte; a final newline after them is still ignored.
  auto nl = LogCipher::FromKeyText(std::string(31, 'k') + "\n");
  ASSERT_TRUE(nl.ok());
  EXPECT_NE(nl->Digest("x"), LogCipher::FromKeyText(std::string(31, 'k') + "j")->Digest("x"));
  EXPECT_EQ(LogCipher::FromKeyText(std::string(32, 'k') + "\n")->Digest("x"), other->Digest("x"));
  EXPECT_FALSE(LogCipher::FromKeyText("short").ok());
  // The keyed digest: stable for one key, different for another, not the plain SHA-256.
  const std::string d = c->Digest("inputs");
  EXPECT_EQ(d.rfind("hmac-sha256:", 0), 0u);
  EXPECT_EQ(d.size(), 12u + 64u);
  EXPECT_EQ(d, c->Digest("inputs"));
  EXPECT_NE(d, c->Digest("inputs2"));
  EXPECT_NE(d, other->Digest("inputs"));
  EXPECT_EQ(d.find(base::Sha256Hex("inputs")), std::string::npos);
  EXPECT_FALSE(LogCipher::FromKeyText(std::string(64, 'z')).ok());
}

}  // namespace
}  // namespace inferd::auth
