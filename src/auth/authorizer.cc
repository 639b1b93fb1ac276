#include "auth/authorizer.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>

namespace inferd::auth {

namespace {

constexpr std::string_view kRealm = "Bearer realm=\"inferd\"";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

Decision Unauthorized(std::string message, std::string_view error = {}) {
  Decision d;
  d.status = 401;
  d.www_authenticate = std::string(kRealm);
  if (!error.empty()) {
    d.www_authenticate +=
        ", error=\"" + std::string(error) + "\", error_description=\"" + message + "\"";
  }
  d.message = std::move(message);
  return d;
}

}  // namespace

const char* RouteClassName(RouteClass c) {
  switch (c) {
    case RouteClass::kHealth:
      return "health";
    case RouteClass::kMetadata:
      return "metadata";
    case RouteClass::kInfer:
      return "infer";
    case RouteClass::kFeedback:
      return "feedback";
    case RouteClass::kMetrics:
      return "metrics";
    case RouteClass::kMonitor:
      return "monitor";
    case RouteClass::kManagement:
      return "management";
    case RouteClass::kOther:
      return "other";
  }
  return "?";
}

std::optional<RouteClass> RouteClassFromName(std::string_view name) {
  for (RouteClass c : {RouteClass::kMetadata, RouteClass::kInfer, RouteClass::kFeedback,
                       RouteClass::kMetrics, RouteClass::kMonitor, RouteClass::kManagement}) {
    if (name == RouteClassName(c)) return c;
  }
  return std::nullopt;
}

Authorizer::Authorizer(AuthOptions options) : options_(std::move(options)) {}

uint32_t Authorizer::ScopeFor(RouteClass c) const {
  if (auto it = options_.scopes.find(c); it != options_.scopes.end()) return it->second;
  switch (c) {
    case RouteClass::kHealth:
    case RouteClass::kOther:
      return kScopeNone;
    case RouteClass::kMetadata:
    case RouteClass::kInfer:
    case RouteClass::kFeedback:
      return kScopeInfer;
    case RouteClass::kMetrics:
    case RouteClass::kMonitor:
      return kScopeMonitor;
    case RouteClass::kManagement:
      return kScopeAdmin;
  }
  return kScopeAdmin;
}

Decision Authorizer::RateLimit(Decision d, const std::optional<Rate>& own,
                               std::string_view key) const {
  const std::optional<Rate>& rate = own ? own : options_.default_rate;
  if (!rate) return d;
  const int64_t now = options_.clock->Now().time_since_epoch().count();
  if (auto wait = limiter_.Acquire(key, *rate, now)) {
    d.status = 429;
    d.retry_after_s = std::max(1, static_cast<int>(std::ceil(*wait)));
    char rps[32];
    std::snprintf(rps, sizeof rps, "%g", rate->rps);  // (0.5, 2, 1000)
    d.message = "rate limit of " + std::string(rps) + " requests/s exceeded for " +
                std::string(key) + "; retry after " + std::to_string(d.retry_after_s) + " s";
  }
  return d;
}

Decision Authorizer::Check(RouteClass c, std::optional<std::string_view> authorization,
                           std::optional<std::string_view> api_key, bool from_loopback,
                           std::string_view peer) const {
  if (c == RouteClass::kHealth) return {};
  // Anonymous callers are limited per address (the key is built only when a limit is set).
  const auto anonymous = [&] {
    if (!options_.default_rate) return Decision{};
    return RateLimit({}, std::nullopt, "anonymous@" + std::string(peer));
  };
  if (!configured()) {
    if (c == RouteClass::kManagement && !from_loopback) {
      Decision d;
      d.status = 403;
      d.message =
          "model management answers only clients on loopback (no credentials are configured)";
      return d;
    }
    return anonymous();
  }
  // The class's scope; an open class (none) takes anyone, except that management stays on
  // loopback without credentials.
  const uint32_t need = ScopeFor(c);
  const bool open = need == kScopeNone && c != RouteClass::kOther;
  std::optional<std::string_view> credential;
  bool bearer = false;
  if (api_key) {
    credential = Trim(*api_key);
  } else if (authorization) {
    std::string_view a = Trim(*authorization);
    const size_t sp = a.find(' ');
    const std::string_view scheme = a.substr(0, sp);
    if (!IEquals(scheme, "Bearer") || sp == std::string_view::npos) {
      if (open) return anonymous();
      return Unauthorized("unsupported Authorization scheme '" + std::string(scheme.substr(0, 20)) +
                          "': send 'Bearer <token or API key>' or X-API-Key");
    }
    credential = Trim(a.substr(sp + 1));
    bearer = true;
  }
  if (!credential || credential->empty()) {
    if (open) return anonymous();
    return Unauthorized(
        "this route needs credentials: an API key (X-API-Key or Authorization: Bearer) or a "
        "JWT bearer token");
  }
  Principal who;
  const bool looks_jwt = bearer && std::count(credential->begin(), credential->end(), '.') == 2;
  if (looks_jwt && options_.jwt != nullptr) {
    const int64_t now_s = options_.clock->WallNanos() / 1000000000;
    auto p = options_.jwt->Verify(*credential, now_s);
    if (!p.ok()) return Unauthorized(p.status().message(), "invalid_token");
    who = std::move(p).value();
  } else {
    const Principal* p =
        options_.api_keys != nullptr ? options_.api_keys->Find(*credential) : nullptr;
    if (p == nullptr) {
      return Unauthorized(
          looks_jwt ? "bearer tokens (JWT) are not accepted here" : "the API key is not valid",
          "invalid_token");
    }
    who = *p;
  }
  if (!Grants(who.scopes, need)) {
    Decision d;
    d.status = 403;
    d.principal = who.name;
    d.message = "'" + who.name + "' lacks the scope '" + ScopeName(need) + "' this route needs" +
                " (it has: " + (who.scopes ? ScopesToString(who.scopes) : "none") + ")";
    d.www_authenticate =
        std::string(kRealm) + ", error=\"insufficient_scope\", scope=\"" + ScopeName(need) + "\"";
    return d;
  }
  Decision d;
  d.principal = who.name;
  return RateLimit(std::move(d), who.rate, who.name);
}

}  // namespace inferd::auth
