// Who is calling, and what they may do: the result of authentication (api_keys.h, jwt.h).
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace inferd::auth {

// Scopes, as bits. `admin` implies the others.
enum Scope : uint32_t {
  kScopeNone = 0,
  kScopeInfer = 1,
  kScopeMonitor = 2,
  kScopeAdmin = 4,
};

// "infer" -> kScopeInfer ...; nullopt for an unknown name.
std::optional<uint32_t> ScopeFromName(std::string_view name);
const char* ScopeName(uint32_t scope);
// Parses "infer,monitor" (commas or spaces); unknown names are errors (nullopt, `bad` names it).
std::optional<uint32_t> ParseScopes(std::string_view list, std::string* bad = nullptr);
// "infer monitor".
std::string ScopesToString(uint32_t scopes);
// True when `have` grants `want` (admin grants everything).
inline bool Grants(uint32_t have, uint32_t want) {
  return want == kScopeNone || (have & kScopeAdmin) != 0 || (have & want) == want;
}

// A token-bucket rate: `rps` requests per second on average, bursts of up to `burst`.
struct Rate {
  double rps = 0;
  double burst = 0;
};

struct Principal {
  std::string name;  // "key:ci-bot", "jwt:alice", or "anonymous" (no credentials configured)
  uint32_t scopes = kScopeNone;
  std::optional<Rate> rate;  // this principal's own rate limit (else the server's default)
};

// The audit trail's "who": "principal@peer", or the peer alone for an anonymous caller. (Inline:
// the gRPC module uses it without linking the auth library.)
inline std::string AuditWho(std::string_view principal, std::string_view peer) {
  if (principal == "anonymous") return std::string(peer);
  std::string who(principal);
  who += '@';
  who += peer;
  return who;
}

}  // namespace inferd::auth
