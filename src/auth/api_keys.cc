#include "auth/api_keys.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <set>
#include <sstream>

#include "auth/base64url.h"
#include "base/file.h"
#include "base/hex.h"
#include "base/sha256.h"

namespace inferd::auth {

using base::InvalidArgument;

bool ConstantTimeEqual(const uint8_t* a, const uint8_t* b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

namespace {

bool ParsePositive(std::string_view s, double* out) {
  try {
    size_t used = 0;
    const double v = std::stod(std::string(s), &used);
    if (used != s.size() || !(v > 0)) return false;
    *out = v;
    return true;
  } catch (...) {
    return false;
  }
}

}  // namespace

base::StatusOr<ApiKeys> ApiKeys::Parse(std::string_view text) {
  ApiKeys keys;
  std::set<std::string> names;
  std::istringstream in{std::string(text)};
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (const size_t hash = line.find('#'); hash != std::string::npos) line.resize(hash);
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string w; fields >> w;) f.push_back(w);
    if (f.empty()) continue;
    const std::string where = "keys file line " + std::to_string(line_no);
    if (f.size() < 3) {
      return InvalidArgument(where + ": expected NAME SHA256_HEX SCOPES [rps=R] [burst=B]");
    }
    Entry e;
    e.principal.name = "key:" + f[0];
    if (!names.insert(f[0]).second)
      return InvalidArgument(where + ": key name '" + f[0] + "' appears twice");
    if (!base::HexDecode(f[1], e.hash.data(), e.hash.size())) {
      return InvalidArgument(where + ": '" + f[1].substr(0, 16) +
                             "...' is not a SHA-256 in hex (64 characters); the file keeps hashes, "
                             "not keys (inferd auth new-key makes the line)");
    }
    std::string bad;
    auto scopes = ParseScopes(f[2], &bad);
    if (!scopes) {
      return InvalidArgument(where + ": unknown scope '" + bad + "' (infer, monitor, admin)");
    }
    e.principal.scopes = *scopes;
    for (size_t i = 3; i < f.size(); ++i) {
      const size_t eq = f[i].find('=');
      const std::string key = f[i].substr(0, eq);
      double v = 0;
      if (eq == std::string::npos || (key != "rps" && key != "burst") ||
          !ParsePositive(std::string_view(f[i]).substr(eq + 1), &v)) {
        return InvalidArgument(where + ": '" + f[i] + "' is not rps=R or burst=B (R, B > 0)");
      }
      if (!e.principal.rate) e.principal.rate = Rate{};
      (key == "rps" ? e.principal.rate->rps : e.principal.rate->burst) = v;
    }
    if (e.principal.rate) {
      if (e.principal.rate->rps <= 0) return InvalidArgument(where + ": burst= needs rps=");
      if (e.principal.rate->burst <= 0)
        e.principal.rate->burst = std::max(1.0, e.principal.rate->rps);
    }
    keys.entries_.push_back(std::move(e));
  }
  return keys;
}

base::StatusOr<ApiKeys> ApiKeys::Load(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(const std::string text, base::ReadWholeFile(path, "keys file"));
  auto keys = Parse(text);
  if (!keys.ok()) return keys.status().WithContext(path.string());
  return keys;
}

const Principal* ApiKeys::Find(std::string_view key) const {
  base::Sha256 h;
  h.Update(key);
  const auto digest = h.Finish();
  const Principal* found = nullptr;
  for (const auto& e : entries_) {
    // Every entry is compared, whatever matched before.
    const bool eq = ConstantTimeEqual(digest.data(), e.hash.data(), digest.size());
    if (eq && found == nullptr) found = &e.principal;
  }
  return found;
}

std::string ApiKeys::NewKey() {
  std::random_device rd;  // the kernel's CSPRNG (getrandom)
  uint8_t bytes[32];
  for (size_t i = 0; i < sizeof bytes; i += 4) {
    const uint32_t v = rd();
    std::memcpy(bytes + i, &v, 4);
  }
  return "ik_" +
         Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string ApiKeys::Line(const std::string& name, std::string_view key, uint32_t scopes) {
  std::string s = ScopesToString(scopes);
  for (char& c : s) {
    if (c == ' ') c = ',';
  }
  return name + " " + base::Sha256Hex(key) + " " + s;
}

}  // namespace inferd::auth
