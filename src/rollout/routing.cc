#include "rollout/routing.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

namespace inferd::rollout {

namespace {

bool IsLabel(const std::string& s) {
  return !s.empty() &&
         s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") == std::string::npos;
}

// FNV-1a, then a 64-bit mix: a stable hash of the route key.
uint64_t KeyHash(std::string_view key) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

}  // namespace

std::optional<int64_t> TargetVersion(const Policy& policy, const std::string& target) {
  if (auto it = policy.labels.find(target); it != policy.labels.end()) return it->second;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(target.data(), target.data() + target.size(), v);
  if (ec == std::errc() && end == target.data() + target.size() && v >= 1) return v;
  return std::nullopt;
}

base::Status Validate(const Policy& policy) {
  for (const auto& [label, version] : policy.labels) {
    if (!IsLabel(label)) {
      return base::InvalidArgument("label '" + label +
                                   "' must be lower-case letters, digits and _");
    }
    if (version < 1) return base::InvalidArgument("label '" + label + "': versions are >= 1");
  }
  int64_t total = 0;
  for (const auto& [target, weight] : policy.weights) {
    if (!TargetVersion(policy, target)) {
      return base::InvalidArgument("weight for '" + target +
                                   "': not a version number or a label of the policy");
    }
    if (weight < 0 || weight > 1000000) {
      return base::InvalidArgument("weight for '" + target + "' must be between 0 and 1000000");
    }
    total += weight;
  }
  if (policy.shadow_percent < 0 || policy.shadow_percent > 100) {
    return base::InvalidArgument("shadow percent must be between 0 and 100");
  }
  if (policy.shadow_percent > 0 && policy.shadow_version < 1) {
    return base::InvalidArgument("shadow needs a version (>= 1)");
  }
  if (!(policy.shadow_tolerance >= 0)) {
    return base::InvalidArgument("the shadow tolerance must be a number >= 0");
  }
  if (!policy.weights.empty() && total == 0) {
    return base::InvalidArgument("the weights add up to 0: no version would serve");
  }
  return base::Status::Ok();
}

std::optional<int64_t> Choose(const Policy& policy, const std::vector<int64_t>& ready,
                              std::string_view route_key, uint64_t random) {
  // The weighted targets that can answer now, merged by version.
  std::vector<std::pair<int64_t, int64_t>> live;  // version, weight
  int64_t total = 0;
  for (const auto& [target, weight] : policy.weights) {
    const auto v = TargetVersion(policy, target);
    if (!v || weight <= 0 || !std::binary_search(ready.begin(), ready.end(), *v)) continue;
    bool merged = false;
    for (auto& [lv, lw] : live) {
      if (lv == *v) {
        lw += weight;
        merged = true;
      }
    }
    if (!merged) live.emplace_back(*v, weight);
    total += weight;
  }
  if (total == 0) return std::nullopt;
  const uint64_t draw = (route_key.empty() ? random : KeyHash(route_key)) % uint64_t(total);
  uint64_t acc = 0;
  for (const auto& [v, w] : live) {
    acc += static_cast<uint64_t>(w);
    if (draw < acc) return v;
  }
  return live.back().first;
}

std::shared_ptr<const Policy> RolloutTable::Override(const std::string& model) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = overrides_.find(model);
  return it == overrides_.end() ? nullptr : it->second;
}

void RolloutTable::SetOverride(const std::string& model, std::shared_ptr<const Policy> policy) {
  std::lock_guard<std::mutex> lock(mu_);
  if (policy) {
    overrides_[model] = std::move(policy);
  } else {
    overrides_.erase(model);
  }
}

int64_t WeightOf(const Policy& policy, int64_t version) {
  int64_t sum = 0;
  for (const auto& [target, weight] : policy.weights) {
    if (TargetVersion(policy, target) == version) sum += weight;
  }
  return sum;
}

std::string PolicyToJson(const Policy& policy) {
  nlohmann::json j;
  j["labels"] = nlohmann::json::object();
  for (const auto& [l, v] : policy.labels) j["labels"][l] = v;
  j["weights"] = nlohmann::json::object();
  for (const auto& [t, w] : policy.weights) j["weights"][t] = w;
  j["previous_stable"] = policy.previous_stable;
  if (!policy.route_key_input.empty()) j["route_key_input"] = policy.route_key_input;
  if (policy.shadow_version > 0) {
    j["shadow"] = {{"version", policy.shadow_version},
                   {"percent", policy.shadow_percent},
                   {"tolerance", policy.shadow_tolerance}};
  }
  return j.dump();
}

base::StatusOr<Policy> PolicyFromJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return base::InvalidArgument("a rollout policy must be a JSON object");
  Policy p;
  for (const auto& [key, value] : j.items()) {
    if (key != "labels" && key != "weights" && key != "previous_stable" && key != "shadow" &&
        key != "route_key_input") {
      return base::InvalidArgument("unknown key '" + key +
                                   "' (labels, weights, shadow, route_key_input)");
    }
    if (key == "route_key_input") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return base::InvalidArgument("'route_key_input' must name an input");
      }
      p.route_key_input = value.get<std::string>();
      continue;
    }
    if (key == "shadow") {
      if (!value.is_object() || !value.contains("version") ||
          !value["version"].is_number_integer() ||
          (value.contains("percent") && !value["percent"].is_number_integer()) ||
          (value.contains("tolerance") && !value["tolerance"].is_number())) {
        return base::InvalidArgument(
            "'shadow' must be {\"version\": V, \"percent\": P, \"tolerance\": T} with integers V "
            "and P");
      }
      for (const auto& [k, _] : value.items()) {
        if (k != "version" && k != "percent" && k != "tolerance") {
          return base::InvalidArgument("unknown key 'shadow." + k +
                                       "' (version, percent, tolerance)");
        }
      }
      p.shadow_version = value["version"].get<int64_t>();
      p.shadow_percent = value.value("percent", int64_t{100});
      p.shadow_tolerance = value.value("tolerance", 1e-6);
      continue;
    }
    if (key == "previous_stable") {
      if (!value.is_array()) return base::InvalidArgument("'previous_stable' must be a list");
      for (const auto& v : value) {
        if (!v.is_number_integer()) return base::InvalidArgument("'previous_stable': versions");
        p.previous_stable.push_back(v.get<int64_t>());
      }
      continue;
    }
    if (!value.is_object()) return base::InvalidArgument("'" + key + "' must be an object");
    for (const auto& [name, n] : value.items()) {
      if (!n.is_number_integer()) {
        return base::InvalidArgument("'" + key + "." + name + "' must be an integer");
      }
      if (key == "labels") {
        p.labels[name] = n.get<int64_t>();
      } else {
        p.weights.emplace_back(name, n.get<int64_t>());
      }
    }
  }
  RETURN_IF_ERROR(Validate(p));
  return p;
}

}  // namespace inferd::rollout
