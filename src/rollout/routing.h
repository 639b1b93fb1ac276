// Rollout routing: which version of a model serves a request that names none. A policy names
// versions by label (stable: 2, canary: 3) and splits traffic by weight over labels or versions
// (stable 90, canary 10). With a route key (a user id, say) the choice is a pure function of the
// key, so one user stays on one version while the weights stand; without one it is random.
// Targets that are not ready are left out and their share goes to the others, so a weight change
// or a rollback never sends a request to a version that cannot answer.
// Thread-safety: RolloutTable is thread-safe; the rest are values and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace inferd::rollout {

struct Policy {
  std::map<std::string, int64_t> labels;                 // label -> version
  std::vector<std::pair<std::string, int64_t>> weights;  // target (label or version) -> weight
  std::vector<int64_t> previous_stable;  // stable versions before the current one, oldest first
  // Shadow: this share (0-100) of the requests is also run, off the hot path, on this version;
  // the client sees only the primary's answer.
  int64_t shadow_version = 0;  // 0: no shadow
  int64_t shadow_percent = 0;
  // Outputs without a `label` agree when every element is within this absolute difference.
  double shadow_tolerance = 1e-6;
  // Sticky routing by a request input (e.g. user_id): its first element is the route key of
  // requests that send none in the header. The input is removed before the model runs unless the
  // model declares it.
  std::string route_key_input;
};

// A policy as JSON ({"labels": {...}, "weights": {...}, "previous_stable": [...]}) and back.
std::string PolicyToJson(const Policy& policy);
base::StatusOr<Policy> PolicyFromJson(std::string_view json);

// Checks label names ([a-z0-9_]+), versions (>= 1), weights (>= 0, some > 0) and that every
// weight's target is a version number or a label of the policy. Errors: INVALID_ARGUMENT.
base::Status Validate(const Policy& policy);

// The version a target (label or version number) names; nullopt when it names none.
std::optional<int64_t> TargetVersion(const Policy& policy, const std::string& target);
// The sum of the weights of the targets that are `version`.
int64_t WeightOf(const Policy& policy, int64_t version);

// The version to serve out of `ready` (ascending), by the policy's weights: deterministic in
// `route_key` when it is not empty, else by `random` (uniform 64 bits). nullopt when the policy
// has no weights or no weighted target is ready (the caller then serves the latest).
std::optional<int64_t> Choose(const Policy& policy, const std::vector<int64_t>& ready,
                              std::string_view route_key, uint64_t random);

// Per model, the policy set through the API (it takes precedence over config.yaml's).
class RolloutTable {
 public:
  // The API's policy for `model`, null when none is set.
  std::shared_ptr<const Policy> Override(const std::string& model) const;
  void SetOverride(const std::string& model, std::shared_ptr<const Policy> policy);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const Policy>, std::less<>> overrides_;
};

}  // namespace inferd::rollout
