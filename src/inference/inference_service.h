// InferenceService: the transport-neutral request path — resolve the model version, check the
// request tensors against the model's signature, convert them to the declared types, run the
// model (through the version's dynamic batcher when it has one), and record metrics and Triton's
// statistics. HTTP and gRPC codecs only translate to and from these types.
// Thread-safety: thread-safe; Infer() may run on any number of threads at once.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "inference/infer_types.h"
#include "inference/shadow.h"
#include "lifecycle/model_manager.h"
#include "monitoring/metrics.h"
#include "monitoring/model_monitor.h"
#include "monitoring/request_counts.h"
#include "rollout/routing.h"
#include "tensor/tensor.h"

namespace inferd::inference {

struct InferenceServiceOptions {
  lifecycle::ModelManager* models = nullptr;       // not owned, required
  monitoring::MetricsRegistry* metrics = nullptr;  // not owned, required
  const base::Clock* clock = &base::Clock::Real();
  // Rollout policies set through the API (not owned; may be null: config.yaml's only).
  rollout::RolloutTable* rollout = nullptr;
  // The monitors of models with monitoring on (not owned; may be null: nothing is observed).
  monitoring::MonitorRegistry* monitors = nullptr;
  // A request whose input tensors hold more elements than this (in all) is refused; 0: no limit.
  int64_t max_tensor_elements = 0;
};

// Triton's statistics of one model version (GET /v2/models/{m}/versions/{v}/stats): cumulative
// counts and nanoseconds since the version loaded.
struct VersionStatistics {
  std::string model;
  int64_t version = 0;
  uint64_t last_inference_ms = 0;  // wall time of the last request, ms since the epoch
  uint64_t inference_count = 0;    // rows inferred
  uint64_t execution_count = 0;    // model executions (batches)
  struct Duration {
    uint64_t count = 0;
    uint64_t ns = 0;
  };
  Duration success, fail, queue, compute;
  // Per executed batch size: executions and their compute time.
  std::map<int64_t, Duration> batches;
};

using InferCallback = std::function<void(base::StatusOr<InferResponse>)>;

class InferenceService {
 public:
  static base::StatusOr<std::unique_ptr<InferenceService>> Create(
      const InferenceServiceOptions& options);

  // Errors: NOT_FOUND (model or version), UNAVAILABLE (not ready), INVALID_ARGUMENT (inputs that
  // do not fit the signature: missing, unknown or duplicate names, wrong rank or feature count,
  // values that cannot be converted, unknown requested outputs, more rows than max_batch_size),
  // RESOURCE_EXHAUSTED (the model's queue is full), DEADLINE_EXCEEDED (the request's timeout
  // passed in the queue), and the backend's errors.
  base::StatusOr<InferResponse> Infer(InferRequest request);
  // The same with the version already resolved (request.model and request.version are ignored).
  base::StatusOr<InferResponse> Infer(InferRequest request, const lifecycle::ModelHandle& handle);
  // The same, answered through `done`: for a version with a dynamic batcher, later, on the
  // batcher's thread; otherwise on the calling thread before InferAsync returns. `done` is called
  // exactly once. The transports' path: it also mirrors the request to the model's shadow version
  // when the rollout policy says so (Infer does not).
  void InferAsync(InferRequest request, const lifecycle::ModelHandle& handle, InferCallback done);
  // Resolves the model version a request goes to, counting failures as client errors. Transports
  // call it before decoding a body, so an unknown model is a 404 whatever the body holds.
  // Errors: as ModelManager::Get.
  // Without a version, the model's rollout weights choose one (by `route_key` when given, so one
  // key stays on one version), else the latest ready version serves.
  base::StatusOr<lifecycle::ModelHandle> Resolve(std::string_view model,
                                                 std::optional<int64_t> version,
                                                 std::string_view route_key = {});
  // The effective rollout policy of a model: the API's, else its config's.
  // Errors: as ModelManager::Get.
  base::StatusOr<std::shared_ptr<const rollout::Policy>> Policy(std::string_view model);
  // The version a label names in the effective policy. Errors: NOT_FOUND (model, or label; the
  // message lists the model's labels).
  base::StatusOr<int64_t> LabelVersion(std::string_view model, const std::string& label);
  ShadowStats ShadowStatsFor(const std::string& model) { return shadow_->Stats(model); }
  // A version's cumulative request counts (monitoring/request_counts.h); none before its first
  // request.
  std::optional<monitoring::RequestCounts::Snapshot> Counts(std::string_view model,
                                                            int64_t version);

  // Counts a request for `handle` that the transport refused before Infer (a body it could not
  // decode), so client errors show per model and version.
  void CountRejected(const lifecycle::ModelHandle& handle);

  lifecycle::ModelManager& models() const { return *options_.models; }

  // The statistics of the ready versions of `model` (every model when empty), by name and
  // version. Errors: NOT_FOUND for an unknown model or version.
  base::StatusOr<std::vector<VersionStatistics>> Statistics(std::string_view model,
                                                            std::optional<int64_t> version);

  struct VersionStats;  // per model version: metric cells and Triton's counters

 private:
  // Shadow traffic (shadow.h), as InferAsync does it: when policy `p` shadows this request (its
  // percent, a shadow version other than `primary_version`), queues a copy for the shadow version
  // and returns the pair to report the primary's answer to; else null.
  std::shared_ptr<ShadowPair> MaybeShadow(const rollout::Policy& p, std::string_view model,
                                          int64_t primary_version, const InferRequest& request);
  // InferAsync without the shadow.
  void RunAsync(InferRequest request, const lifecycle::ModelHandle& handle, InferCallback done);
  explicit InferenceService(const InferenceServiceOptions& options);
  // config.schema (when the version has one): turns the request's tensors into the model's input
  // (named columns, category names; preprocess::Schema::Assemble) and, with `apply`, applies the
  // policies. Every action is counted per feature. Errors: INVALID_ARGUMENT naming the row,
  // feature and rule.
  base::Status ApplySchema(InferRequest& request, const lifecycle::ModelHandle& handle, bool apply);
  // Checks the request against the signature and converts its inputs. Returns the rows.
  base::StatusOr<int64_t> Prepare(InferRequest& request, const lifecycle::ModelHandle& handle);
  std::shared_ptr<VersionStats> StatsFor(const lifecycle::ModelHandle& handle) EXCLUDES(stats_mu_);
  // Records one finished request.
  void Finish(VersionStats& stats, const base::Status& status, base::Clock::TimePoint start,
              std::chrono::nanoseconds queue, std::chrono::nanoseconds compute, int64_t rows,
              int64_t batch_rows, bool first_in_batch,
              std::optional<base::Clock::TimePoint> end = std::nullopt);

  InferenceServiceOptions options_;
  monitoring::Family<monitoring::Counter>* requests_;
  monitoring::Family<monitoring::Histogram>* duration_;
  monitoring::Family<monitoring::Counter>* rows_;
  monitoring::Family<monitoring::Histogram>* queue_;
  monitoring::Family<monitoring::Histogram>* compute_;
  monitoring::Family<monitoring::Histogram>* batch_size_;
  monitoring::Family<monitoring::Gauge>* in_flight_;
  monitoring::Family<monitoring::Counter>* rejected_;
  monitoring::Family<monitoring::Counter>* schema_actions_;
  std::unique_ptr<ShadowRunner> shadow_;
  base::Mutex stats_mu_;
  // By model and version; entries of unloaded versions are dropped by Statistics().
  std::map<std::string, std::map<int64_t, std::shared_ptr<VersionStats>>, std::less<>> stats_
      GUARDED_BY(stats_mu_);
};

// Checks `inputs` against the declared specs and returns them in declaration order, converted to
// the declared datatype; a rank-1 tensor for a [-1, F] input is taken as one row. Exposed for
// tests and for offline tools that share the request path.
base::StatusOr<std::vector<tensor::Tensor>> PrepareInputs(
    const std::vector<config::TensorSpec>& specs, std::vector<tensor::Tensor> inputs,
    const std::string& model_name);

}  // namespace inferd::inference
