// Rollout changes through the API: set a canary and its weight, promote, roll back, or set a whole
// policy. Each change is validated against the versions that are ready, stored with its audit
// entry in one transaction, then swapped in whole for the requests that follow (a request in
// flight finishes on the version it was routed to). Policies set here take precedence over
// config.yaml's and are read back from the state store at start-up.
// Thread-safety: thread-safe; changes are serialized.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"
#include "rollout/routing.h"
#include "store/state_store.h"

namespace inferd::rollout {

struct ControllerOptions {
  RolloutTable* table = nullptr;       // not owned, required
  store::StateStore* store = nullptr;  // not owned, required
  // The ready versions of a model (ascending) and its config.yaml policy; NOT_FOUND when unknown.
  std::function<base::StatusOr<std::vector<int64_t>>(const std::string&)> ready_versions;
  std::function<base::StatusOr<Policy>(const std::string&)> config_policy;
  const base::Clock* clock = &base::Clock::Real();
};

class Controller {
 public:
  explicit Controller(ControllerOptions options) : o_(std::move(options)) {}

  // Reads the stored policies into the table (at start-up).
  base::Status LoadStored() { return Refresh(); }
  // Applies the stored policies that differ from those applied here: with replicas sharing the
  // store, the changes made through the others (the server polls this; every change made here
  // reads it first, so that it builds on the latest policy).
  base::Status Refresh();

  // The effective policy and where it comes from, as JSON.
  base::StatusOr<std::string> Status(const std::string& model);
  // Replaces the model's policy. Errors: INVALID_ARGUMENT (bad policy, or a label naming a version
  // that is not ready); NOT_FOUND (model); UNAVAILABLE (the store).
  base::StatusOr<std::string> Set(const std::string& model, Policy policy, const std::string& who);
  // stable (the current one) gets 100 - weight, canary `version` gets `weight` (0-100).
  // The validation gate: a version whose latest validation (`inferd validate`, of the files now
  // loaded) failed takes no traffic: FAILED_PRECONDITION naming the failed gates, unless `force`
  // (the audit entry then says so).
  base::StatusOr<std::string> SetCanary(const std::string& model, int64_t version, int64_t weight,
                                        const std::string& who, bool force = false);
  // `version` (default: the canary) becomes stable with all the traffic; the old stable is kept
  // for rollback. The validation gate as SetCanary's.
  base::StatusOr<std::string> Promote(const std::string& model, std::optional<int64_t> version,
                                      const std::string& who, bool force = false);
  // Labels the version that serves now `stable` (the latest ready one, when no label says
  // otherwise), with all the traffic, so that versions added later take none until a rollout
  // gives it. Unchanged when a stable label exists. Audited as `pin`.
  base::StatusOr<std::string> Pin(const std::string& model, const std::string& who);
  // Back to the previous stable, with all the traffic. Errors: FAILED_PRECONDITION when there is
  // none.
  base::StatusOr<std::string> Rollback(const std::string& model, const std::string& who);
  // Mirrors `percent` (0-100) of the requests to `version` off the hot path; percent 0 stops it.
  // Outputs without a label agree within `tolerance`.
  base::StatusOr<std::string> SetShadow(const std::string& model, int64_t version, int64_t percent,
                                        double tolerance, const std::string& who);

  // The effective policy (the API's, else config.yaml's).
  base::StatusOr<Policy> EffectivePolicy(const std::string& model);
  // Automatic rollback (auto_rollback.h): the canary's weight goes to 0 (the other targets keep
  // theirs), audited as `auto_rollback` by "auto-rollback" with `detail` (JSON).
  // FAILED_PRECONDITION when `canary` is no longer the canary taking traffic (a change raced the
  // watcher).
  base::StatusOr<std::string> AutoRollbackCanary(const std::string& model, int64_t canary,
                                                 const std::string& detail);

 private:
  struct Effective {
    Policy policy;
    bool from_api = false;
  };
  base::StatusOr<Effective> Current(const std::string& model);
  base::StatusOr<int64_t> Stable(const std::string& model, const Policy& policy);
  // The validation gate for `version`: OK, or FAILED_PRECONDITION unless `force`. Appends what
  // it found to the audit detail (",\"validation\":...").
  base::Status CheckValidation(const std::string& model, int64_t version, bool force,
                               std::string* detail);
  base::StatusOr<std::string> Apply(const std::string& model, Policy policy, const std::string& who,
                                    const std::string& action, const std::string& detail);

  ControllerOptions o_;
  std::mutex mu_;  // serializes changes
  std::mutex refresh_mu_;
  std::map<std::string, std::string> applied_;  // model -> the stored policy JSON applied
};

}  // namespace inferd::rollout
