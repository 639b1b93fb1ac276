// Credentials as the Authorizer sees them: any Authorization value against API keys and an HS256
// JWT verifier, and a keys file's text.
#include <cstdint>
#include <string>

#include "auth/authorizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  static const auth::Authorizer kAuthorizer = [] {
    auth::AuthOptions o;
    o.api_keys = std::make_shared<const auth::ApiKeys>(
        *auth::ApiKeys::Parse(auth::ApiKeys::Line("k", "ik_fuzz-key", auth::kScopeInfer)));
    auth::JwtOptions j;
    j.hs256_secrets = {"fuzz-secret-fuzz-secret-fuzz-secret!"};
    j.issuer = "iss";
    j.audience = "aud";
    o.jwt =
        std::shared_ptr<const auth::JwtVerifier>(std::move(auth::JwtVerifier::Create(j)).value());
    o.default_rate = auth::Rate{1e9, 1e9};
    return auth::Authorizer(o);
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)kAuthorizer.Check(auth::RouteClass::kInfer, text, std::nullopt, false, "10.0.0.1");
  (void)kAuthorizer.Check(auth::RouteClass::kManagement, std::nullopt, text, true, "::1");
  (void)auth::ApiKeys::Parse(text);
  return 0;
}
