// Authorizer: who may call which route. Routes fall in classes (RouteClass), each needing a
// scope; callers present an API key (X-API-Key, or Authorization: Bearer KEY) or a JWT
// (Authorization: Bearer header.payload.signature). Defaults (docs/security.md):
//  - health routes are always open (probes);
//  - without credentials configured: every route is open except management, which answers
//    clients on loopback only;
//  - with credentials: every route but health needs them; infer, metadata and feedback need the
//    `infer` scope, metrics and monitoring `monitor`, management `admin` (admin grants all);
//    a class may be given another scope or opened (`none`).
// Then the caller's rate limit (its own, or the default) applies: per principal, or per client
// address for anonymous callers.
// Thread-safety: Check may run on many threads at once.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/api_keys.h"
#include "auth/jwt.h"
#include "auth/principal.h"
#include "auth/rate_limiter.h"
#include "base/clock.h"
#include "base/status.h"

namespace inferd::auth {

enum class RouteClass {
  kHealth,      // liveness and readiness
  kMetadata,    // server and model metadata, readiness of a model
  kInfer,       // inference and prediction
  kFeedback,    // ground truth for monitoring
  kMetrics,     // /metrics
  kMonitor,     // monitoring reports, statistics, the dashboard, audit, rollout status, index
  kManagement,  // load/unload, rollout changes
  kOther,       // anything else (answers 404 or 405 once authenticated)
};
const char* RouteClassName(RouteClass c);
std::optional<RouteClass> RouteClassFromName(std::string_view name);

struct AuthOptions {
  std::shared_ptr<const ApiKeys> api_keys;  // may be null
  std::shared_ptr<const JwtVerifier> jwt;   // may be null
  // Scope required per class, overriding the defaults; kScopeNone opens the class.
  std::map<RouteClass, uint32_t> scopes;
  std::optional<Rate> default_rate;  // for principals without their own; absent: no limit
  const base::Clock* clock = &base::Clock::Real();
};

struct Decision {
  int status = 0;  // 0: go ahead; else 401, 403 or 429
  std::string message;
  std::string www_authenticate;  // with 401 and 403
  int retry_after_s = 0;         // with 429
  // The caller: "key:NAME", "jwt:SUB", or "anonymous" (no credentials were needed).
  std::string principal = "anonymous";
};

class Authorizer {
 public:
  explicit Authorizer(AuthOptions options);

  // True when API keys or JWT keys are configured.
  bool configured() const { return options_.api_keys != nullptr || options_.jwt != nullptr; }

  // Decides a request of class `c`. `authorization` and `api_key` are the Authorization and
  // X-API-Key header values (absent: nullopt); `peer` is the client's address.
  Decision Check(RouteClass c, std::optional<std::string_view> authorization,
                 std::optional<std::string_view> api_key, bool from_loopback,
                 std::string_view peer) const;

  // The scope class `c` needs (kScopeNone: open) when credentials are configured.
  uint32_t ScopeFor(RouteClass c) const;

 private:
  Decision RateLimit(Decision d, const std::optional<Rate>& own, std::string_view key) const;
  AuthOptions options_;
  mutable RateLimiter limiter_;
};

}  // namespace inferd::auth
