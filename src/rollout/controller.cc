#include "rollout/controller.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/logging.h"

namespace inferd::rollout {

base::Status Controller::Refresh() {
  std::lock_guard<std::mutex> lock(refresh_mu_);
  ASSIGN_OR_RETURN(auto records, o_.store->Rollouts());
  base::Status failed;
  for (const auto& r : records) {
    auto it = applied_.find(r.model);
    if (it != applied_.end() && it->second == r.policy_json) continue;
    auto policy = PolicyFromJson(r.policy_json);
    if (!policy.ok()) {
      // (Another build's policy during a rolling upgrade, say: the others still apply.)
      LOG_WARN("stored rollout of '{}' not applied: {}", r.model, policy.status().message());
      failed = base::Internal("stored rollout of '" + r.model + "': " + policy.status().message());
      continue;
    }
    o_.table->SetOverride(r.model, std::make_shared<const Policy>(std::move(policy).value()));
    applied_[r.model] = r.policy_json;
  }
  return failed;
}

base::StatusOr<Controller::Effective> Controller::Current(const std::string& model) {
  if (o_.store->Shared()) RETURN_IF_ERROR(Refresh());  // another replica may have changed it
  if (auto p = o_.table->Override(model)) return Effective{*p, true};
  ASSIGN_OR_RETURN(Policy config, o_.config_policy(model));
  return Effective{std::move(config), false};
}

base::StatusOr<int64_t> Controller::Stable(const std::string& model, const Policy& policy) {
  if (auto it = policy.labels.find("stable"); it != policy.labels.end()) return it->second;
  ASSIGN_OR_RETURN(auto ready, o_.ready_versions(model));
  if (ready.empty()) return base::Unavailable("model '" + model + "' has no ready version");
  return ready.back();  // what serves without a policy: the latest
}

base::StatusOr<std::string> Controller::Status(const std::string& model) {
  ASSIGN_OR_RETURN(auto ready, o_.ready_versions(model));
  ASSIGN_OR_RETURN(Effective e, Current(model));
  ASSIGN_OR_RETURN(Policy config, o_.config_policy(model));
  nlohmann::json j = nlohmann::json::parse(PolicyToJson(e.policy));
  j["model"] = model;
  j["source"] = e.from_api ? "api" : "config";
  j["config"] = nlohmann::json::parse(PolicyToJson(config));
  j["ready_versions"] = ready;
  if (e.from_api) {
    auto log = o_.store->AuditLog(model, 1);
    if (log.ok() && !log->empty()) {
      j["updated_at_ms"] = (*log)[0].at_ms;
      j["updated_by"] = (*log)[0].who;
    }
  }
  return j.dump();
}

base::StatusOr<std::string> Controller::Apply(const std::string& model, Policy policy,
                                              const std::string& who, const std::string& action,
                                              const std::string& detail) {
  RETURN_IF_ERROR(Validate(policy));
  ASSIGN_OR_RETURN(auto ready, o_.ready_versions(model));
  for (const auto& [label, version] : policy.labels) {
    if (!std::binary_search(ready.begin(), ready.end(), version)) {
      return base::InvalidArgument("label '" + label + "': version " + std::to_string(version) +
                                   " of '" + model + "' is not loaded and ready");
    }
  }
  for (const auto& [target, weight] : policy.weights) {
    const auto v = TargetVersion(policy, target);
    if (weight > 0 && !std::binary_search(ready.begin(), ready.end(), *v)) {
      return base::InvalidArgument("weight for '" + target + "': version " + std::to_string(*v) +
                                   " of '" + model + "' is not loaded and ready");
    }
  }
  if (policy.shadow_percent > 0 &&
      !std::binary_search(ready.begin(), ready.end(), policy.shadow_version)) {
    return base::InvalidArgument("shadow: version " + std::to_string(policy.shadow_version) +
                                 " of '" + model + "' is not loaded and ready");
  }
  const int64_t now = o_.clock->WallNanos() / 1000000;
  const std::string json = PolicyToJson(policy);
  // Stored first (with its audit entry), then swapped in: what requests see is always stored.
  RETURN_IF_ERROR(o_.store->PutRollout({model, json, now, who}, {now, who, action, model, detail}));
  {
    std::lock_guard<std::mutex> lock(refresh_mu_);
    o_.table->SetOverride(model, std::make_shared<const Policy>(std::move(policy)));
    applied_[model] = json;
  }
  return Status(model);
}

base::StatusOr<std::string> Controller::Set(const std::string& model, Policy policy,
                                            const std::string& who) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Effective e, Current(model));
  if (policy.previous_stable.empty()) policy.previous_stable = e.policy.previous_stable;
  const std::string detail = PolicyToJson(policy);
  return Apply(model, std::move(policy), who, "rollout_set", detail);
}

base::Status Controller::CheckValidation(const std::string& model, int64_t version, bool force,
                                         std::string* detail) {
  ASSIGN_OR_RETURN(auto records, o_.store->Validations(model, version));
  if (records.empty()) {
    *detail += ",\"validation\":\"none\"";
    return base::Status::Ok();
  }
  const auto& v = records.back();
  // A validation of other files (the version directory was replaced) does not count.
  ASSIGN_OR_RETURN(auto versions, o_.store->Versions(model));
  for (const auto& r : versions) {
    if (r.version == version && !v.sha256.empty() && !r.sha256.empty() && r.sha256 != v.sha256) {
      *detail += ",\"validation\":\"stale\"";
      return base::Status::Ok();
    }
  }
  if (v.passed) {
    *detail += ",\"validation\":\"passed\"";
    return base::Status::Ok();
  }
  if (force) {
    *detail += ",\"validation\":\"failed\",\"forced\":true";
    return base::Status::Ok();
  }
  std::string failed;
  const auto report = nlohmann::json::parse(v.report_json, nullptr, false);
  if (report.is_object() && report.contains("failed") && report["failed"].is_array()) {
    for (const auto& f : report["failed"]) {
      if (f.is_string()) failed += (failed.empty() ? "" : "; ") + f.get<std::string>();
    }
  }
  return base::FailedPrecondition("version " + std::to_string(version) + " of '" + model +
                                  "' failed validation" +
                                  (failed.empty() ? "" : " (" + failed + ")") +
                                  ": validate it again, or force it (--force; audited)");
}

base::StatusOr<std::string> Controller::SetCanary(const std::string& model, int64_t version,
                                                  int64_t weight, const std::string& who,
                                                  bool force) {
  if (weight < 0 || weight > 100) {
    return base::InvalidArgument("the canary's weight must be between 0 and 100");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Effective e, Current(model));
  ASSIGN_OR_RETURN(int64_t stable, Stable(model, e.policy));
  std::string detail = "{\"canary\":" + std::to_string(version) +
                       ",\"weight\":" + std::to_string(weight) +
                       ",\"stable\":" + std::to_string(stable);
  if (weight > 0) RETURN_IF_ERROR(CheckValidation(model, version, force, &detail));
  Policy p = e.policy;
  p.labels["stable"] = stable;
  p.labels["canary"] = version;
  p.weights = {{"stable", 100 - weight}, {"canary", weight}};
  return Apply(model, std::move(p), who, "canary", detail + "}");
}

base::StatusOr<std::string> Controller::Promote(const std::string& model,
                                                std::optional<int64_t> version,
                                                const std::string& who, bool force) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Effective e, Current(model));
  if (!version) {
    auto it = e.policy.labels.find("canary");
    if (it == e.policy.labels.end()) {
      return base::FailedPrecondition("model '" + model +
                                      "' has no canary to promote: name the version");
    }
    version = it->second;
  }
  ASSIGN_OR_RETURN(int64_t stable, Stable(model, e.policy));
  std::string detail =
      "{\"version\":" + std::to_string(*version) + ",\"previous_stable\":" + std::to_string(stable);
  RETURN_IF_ERROR(CheckValidation(model, *version, force, &detail));
  Policy p = e.policy;
  if (stable != *version) p.previous_stable.push_back(stable);
  p.labels.erase("canary");
  p.labels["stable"] = *version;
  p.weights = {{"stable", 100}};
  return Apply(model, std::move(p), who, "promote", detail + "}");
}

base::StatusOr<std::string> Controller::Pin(const std::string& model, const std::string& who) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Effective e, Current(model));
  if (e.policy.labels.contains("stable")) return Status(model);
  ASSIGN_OR_RETURN(int64_t stable, Stable(model, e.policy));
  Policy p = e.policy;
  p.labels["stable"] = stable;
  if (p.weights.empty()) p.weights = {{"stable", 100}};
  return Apply(model, std::move(p), who, "pin", "{\"stable\":" + std::to_string(stable) + "}");
}

base::StatusOr<std::string> Controller::Rollback(const std::string& model, const std::string& who) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Effective e, Current(model));
  Policy p = e.policy;
  if (p.previous_stable.empty()) {
    return base::FailedPrecondition("model '" + model +
                                    "' has no previous stable version to roll back to");
  }
  ASSIGN_OR_RETURN(int64_t stable, Stable(model, e.policy));
  const int64_t back = p.previous_stable.back();
  p.previous_stable.pop_back();
  p.labels.erase("canary");
  p.labels["stable"] = back;
  p.weights = {{"stable", 100}};
  return Apply(model, std::move(p), who, "rollback",
               "{\"from\":" + std::to_string(stable) + ",\"to\":" + std::to_string(back) + "}");
}

base::StatusOr<std::string> Controller::SetShadow(const std::string& model, int64_t version,
                                                  int64_t percent, double tolerance,
                                                  const std::string& who) {
  if (percent < 0 || percent > 100) {
    return base::InvalidArgument("the shadow percent must be between 0 and 100");
  }
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Effective e, Current(model));
  Policy p = e.policy;
  p.shadow_version = percent > 0 ? version : 0;
  p.shadow_percent = percent;
  p.shadow_tolerance = tolerance;
  return Apply(
      model, std::move(p), who, "shadow",
      "{\"version\":" + std::to_string(version) + ",\"percent\":" + std::to_string(percent) + "}");
}

base::StatusOr<Policy> Controller::EffectivePolicy(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Effective e, Current(model));
  return std::move(e.policy);
}

base::StatusOr<std::string> Controller::AutoRollbackCanary(const std::string& model, int64_t canary,
                                                           const std::string& detail) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(Effective e, Current(model));
  auto it = e.policy.labels.find("canary");
  if (it == e.policy.labels.end() || it->second != canary || WeightOf(e.policy, canary) == 0) {
    return base::FailedPrecondition("version " + std::to_string(canary) + " of '" + model +
                                    "' is no longer a canary taking traffic");
  }
  Policy p = e.policy;
  for (auto& [target, weight] : p.weights) {
    if (TargetVersion(p, target) == canary) weight = 0;  // the others keep their shares
  }
  return Apply(model, std::move(p), "auto-rollback", "auto_rollback", detail);
}

}  // namespace inferd::rollout
