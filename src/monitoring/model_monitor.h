// ModelMonitor: a model in production, watched. Every prediction of a model with `monitoring` on
// is observed after its answer: a compact record (request id, time, version, outputs) for the
// feedback join — its inputs too at `log_sample_rate` (or their SHA-256 with log_inputs: false) —
// goes through a bounded queue (a full queue drops, counted; a request never waits) to a writer
// thread that stores records in batches and applies the retention. Feedback (ground truth by
// request id) is joined to its record and added, with the record, to the quality aggregate of the
// current time bucket in one store transaction, durable before the answer; windows merge buckets
// (quality.h), so they survive restarts and replicas sharing the store add to the same ones.
//
// The compact outputs of a record: {"l": [labels]} and {"p": [[probabilities]]} for classifiers,
// {"v": [values]} for regression, one entry per row.
//
// Feedback: {"id": ID, "label": L} or a list of them; L is the class index, or a class name from
// `monitoring.classes`, for classifiers and a number for regression — or a list of one per row for
// a request of several rows. Quality windows follow feedback time.
// Thread-safety: thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "backend/backend.h"
#include "base/clock.h"
#include "config/model_config.h"
#include "monitoring/drift_window.h"
#include "monitoring/metrics.h"
#include "monitoring/monitor_store.h"
#include "monitoring/profile.h"
#include "tensor/tensor.h"

namespace inferd::monitoring {

// Which outputs carry what: the class count (0 for regression) and the outputs' names.
struct OutputRoles {
  int classes = 0;
  std::string label, probabilities, value;
};
// From a model's signature and config: a `probabilities` output [-1, C] makes C classes (with
// `label` when there is one); else `label` with `monitoring.classes`; else the first output is a
// regression value. monitoring.task, when set, must agree (INVALID_ARGUMENT otherwise).
base::StatusOr<OutputRoles> RolesOf(const backend::ModelSignature& signature,
                                    const config::MonitoringConfig& config);

// The metric families every monitor counts into (registered once per registry).
class MonitorRegistry;
struct MonitorMetrics {
  // The gauges (quality, drift) read `monitors` when scraped; set it before the first scrape.
  explicit MonitorMetrics(MetricsRegistry* registry);
  Family<Counter>* records;       // {model, outcome: stored, dropped, store_error}
  Family<Counter>* feedback;      // {model, result: joined, unknown_id, duplicate, bad_label}
  Family<Counter>* data_quality;  // {model, feature, issue: missing, out_of_range, unseen}
  Family<Counter>* alerts;        // {model, alert, event: firing, resolved}
  Family<Counter>* webhook;       // {model, result: sent, failed, dropped}
  std::atomic<MonitorRegistry*> monitors{nullptr};
};

struct ModelMonitorOptions {
  std::string model;
  config::MonitoringConfig config;
  OutputRoles roles;
  std::optional<Profile> profile;     // the reference (drift, data quality)
  MonitorStore* store = nullptr;      // not owned, required
  MonitorMetrics* metrics = nullptr;  // not owned, required
  const base::Clock* clock = &base::Clock::Real();
  uint64_t seed = 0;  // sampling (input log, reservoirs); 0: random
  // Sends an alert event to config.webhook (url, JSON body); required when a webhook is set.
  std::function<base::Status(const std::string& url, const std::string& body)> post;
  // When set, logged inputs are stored as seal(inputs JSON, "<model>/<request id>") (the
  // prediction log encrypted at rest; auth/log_cipher.h).
  std::function<std::string(std::string_view plaintext, std::string_view aad)> seal;
  // With log_inputs: false, the digest kept of the inputs' bytes; unset: their SHA-256 (hex).
  std::function<std::string(std::string_view bytes)> digest;
};

// One alert of a rule for one version.
struct AlertState {
  std::string rule;
  int64_t version = 0;
  std::string state;  // pending, firing (resolved ones are dropped after their event)
  double value = 0;
  int64_t since_ms = 0;  // when its metric went beyond the bound
};

class ModelMonitor {
 public:
  explicit ModelMonitor(ModelMonitorOptions options);
  ~ModelMonitor();  // writes what is queued, then stops

  const std::string& model() const { return o_.model; }
  // Floats kept inline up to 64 (a row of a few dozen features and its outputs), on the heap
  // beyond: a request of one row costs no allocation here.
  class Floats {
   public:
    void push_back(float v) {
      if (size_ < inline_.size()) {
        inline_[size_++] = v;
        return;
      }
      if (size_ == inline_.size()) heap_.assign(inline_.begin(), inline_.end());
      heap_.push_back(v);
      ++size_;
    }
    size_t size() const { return size_; }
    const float* data() const { return size_ <= inline_.size() ? inline_.data() : heap_.data(); }

   private:
    std::array<float, 64> inline_;
    std::vector<float> heap_;
    size_t size_ = 0;
  };
  // What a record and the drift need of one answer.
  struct Observation {
    int64_t version = 0;
    // The request id: inline up to 48 characters (inferd's are 32), else in `long_id`.
    std::array<char, 48> id;
    uint8_t id_size = 0;
    std::string long_id;
    std::string_view Id() const {
      return long_id.empty() ? std::string_view(id.data(), id_size) : std::string_view(long_id);
    }
    int64_t at_ms = 0;
    // features (rows x the profile's features, when the first input has that shape), labels,
    // probabilities (rows x classes), values: as many of each as the answer had.
    Floats data;
    uint32_t n_features = 0, n_labels = 0, n_probs = 0, n_values = 0;
    std::vector<tensor::Tensor> logged;  // the inputs, when this one is logged
  };

  // One answered request (any thread, after the answer): copies what the record needs.
  void Observe(int64_t version, const std::string& id, std::span<const tensor::Tensor> inputs,
               std::span<const tensor::Tensor> outputs);
  // The same in two steps, for the request path: Begin takes the inputs before the model runs
  // (they move on), Finish the answer.
  Observation Begin(int64_t version, std::span<const tensor::Tensor> inputs);
  void Finish(Observation&& obs, const std::string& id, std::span<const tensor::Tensor> outputs);

  // POST /v2/models/{m}/feedback. Returns the HTTP status and the JSON answer: for one item, its
  // result (200 joined, 404 unknown or expired id, 409 feedback already given, 400 bad label);
  // for a list, 200 with a result per item. 400 for a malformed body, 503 when the store fails.
  std::pair<int, std::string> Feedback(std::string_view body);
  // GET /v2/models/{m}/monitor: counts and the quality of each window, per version, as JSON.
  std::string Report();
  // Waits until everything observed so far is stored (drift aggregates too).
  void Flush();

  // What the gauges show, recomputed at most every 5 s: (version, window_s, metric, value) for
  // quality; (version, feature, statistic, drifted) for drift; (version, share) for datasets.
  struct Gauges {
    std::vector<std::tuple<int64_t, int64_t, std::string, double>> quality;
    std::vector<std::tuple<int64_t, std::string, double, bool>> drift;
    std::vector<std::pair<int64_t, double>> dataset_drift;
  };
  Gauges CurrentGauges(bool fresh = false);  // fresh: recomputed now
  // Evaluates the alert rules on the current gauges (the writer thread does it every 5 s) and
  // sends the firing and resolved events. Returns the alerts pending or firing.
  std::vector<AlertState> EvaluateAlerts();
  std::vector<AlertState> Alerts();
  // A version's quality metric (accuracy, f1_macro, roc_auc, log_loss, mae, rmse, r2, ...) over
  // the last `window_s` seconds, with how many labelled predictions made it; none without data.
  std::optional<std::pair<double, uint64_t>> Quality(int64_t version, const std::string& metric,
                                                     int64_t window_s);

 private:
  void Loop();
  void Write(std::vector<Observation>& batch);
  void Accumulate(const Observation& o);  // drift and data quality (writer thread)
  void FlushDrift();                      // the in-memory drift deltas into the store
  base::StatusOr<std::string> MergeBucket(const std::string& kind, const std::string& stored,
                                          const std::string& delta) const;
  // Drift windows per version: the stored buckets since `since_ms` plus what is not stored yet.
  base::StatusOr<std::map<int64_t, DriftAccumulator>> DriftWindows(int64_t since_ms);
  DriftSettings Settings() const;
  int64_t DriftBucketMs() const;
  void OutputsJson(const Observation& o, std::string* out) const;
  int64_t BucketStart(int64_t ms) const;
  base::StatusOr<std::string> QualityJson(int64_t since_ms);

  ModelMonitorOptions o_;
  Counter *stored_, *dropped_, *store_errors_;
  Counter *joined_, *unknown_, *duplicate_, *bad_label_;
  std::mutex mu_;
  std::condition_variable cv_, flushed_;
  std::deque<Observation> queue_;
  uint64_t enqueued_ = 0, written_ = 0;  // observations queued and handled, ever
  bool stopping_ = false;
  std::mt19937_64 rng_;  // log sampling (writer thread)
  int64_t last_prune_ms_ = 0;
  // Drift deltas not yet stored, by (version, bucket start); guarded by drift_mu_.
  std::mutex drift_mu_;
  // Held while deltas move from memory to the store, so that a window sees them in one or the
  // other.
  std::mutex drift_flush_mu_;
  std::map<std::pair<int64_t, int64_t>, DriftAccumulator> drift_;
  int64_t last_drift_flush_ms_ = 0;
  std::vector<std::array<Counter*, 3>> dq_;  // per feature: missing, out_of_range, unseen
  void Notify(const std::string& body);      // queues a webhook event
  void NotifyLoop();
  std::mutex alerts_mu_;
  std::map<std::pair<size_t, int64_t>, AlertState> alerts_;  // by (rule index, version)
  int64_t last_alerts_ms_ = 0;
  std::mutex notify_mu_;
  std::condition_variable notify_cv_;
  std::deque<std::string> notify_queue_;
  bool notify_stop_ = false;
  std::thread notifier_;
  std::mutex gauges_mu_;
  Gauges gauges_;
  int64_t gauges_at_ms_ = -1;
  std::thread thread_;
};

// The monitors of a server, one per model with monitoring on, made on first use by `make`
// (which returns null for a model without monitoring, NOT_FOUND for an unknown model).
// Thread-safety: thread-safe; monitors live as long as the registry.
class MonitorRegistry {
 public:
  using MakeFn =
      std::function<base::StatusOr<std::unique_ptr<ModelMonitor>>(const std::string& model)>;
  explicit MonitorRegistry(MakeFn make) : make_(std::move(make)) {}
  // The model's monitor; null when it has none or it could not be made (logged once).
  ModelMonitor* For(const std::string& model);
  // The same, with the reason when there is none (for the API's 404 and 400).
  base::StatusOr<ModelMonitor*> Find(const std::string& model);
  std::vector<ModelMonitor*> All();  // those made so far

 private:
  MakeFn make_;
  std::mutex mu_;
  std::map<std::string, std::unique_ptr<ModelMonitor>, std::less<>> monitors_;
  std::map<std::string, base::Status, std::less<>> failed_;  // models that have none, and why
};

}  // namespace inferd::monitoring
