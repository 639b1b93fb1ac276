#include "auth/principal.h"

namespace inferd::auth {

std::optional<uint32_t> ScopeFromName(std::string_view name) {
  if (name == "infer") return kScopeInfer;
  if (name == "monitor") return kScopeMonitor;
  if (name == "admin") return kScopeAdmin;
  return std::nullopt;
}

const char* ScopeName(uint32_t scope) {
  switch (scope) {
    case kScopeInfer:
      return "infer";
    case kScopeMonitor:
      return "monitor";
    case kScopeAdmin:
      return "admin";
    default:
      return "";
  }
}

std::optional<uint32_t> ParseScopes(std::string_view list, std::string* bad) {
  uint32_t out = 0;
  size_t i = 0;
  while (i < list.size()) {
    size_t j = list.find_first_of(", ", i);
    if (j == std::string_view::npos) j = list.size();
    const std::string_view name = list.substr(i, j - i);
    if (!name.empty()) {
      auto s = ScopeFromName(name);
      if (!s) {
        if (bad) *bad = std::string(name);
        return std::nullopt;
      }
      out |= *s;
    }
    i = j + 1;
  }
  return out;
}

std::string ScopesToString(uint32_t scopes) {
  std::string out;
  for (uint32_t s : {kScopeInfer, kScopeMonitor, kScopeAdmin}) {
    if (scopes & s) out += (out.empty() ? "" : " ") + std::string(ScopeName(s));
  }
  return out;
}

}  // namespace inferd::auth
