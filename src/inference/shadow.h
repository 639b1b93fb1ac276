// Shadow traffic: a share of a model's requests is also run on a shadow version, on a thread of
// its own; the client sees only the primary's answer and status. The shadow thread takes every
// request queued since its last run and runs those of one version together as one batch (up to the
// version's max_batch_size rows; one by one when the batch fails or the model does not batch), so
// that mirroring costs the serving threads little more than a copy of the request. Each pair is
// compared — the same `label` output when the model has one, else the first output within 1e-6 —
// and counted with both latencies. A full shadow queue drops the shadow run (counted), never the
// request.
// Thread-safety: ShadowRunner is thread-safe; a ShadowPair is completed from two threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/clock.h"
#include "inference/infer_types.h"
#include "lifecycle/model_manager.h"
#include "monitoring/metrics.h"

namespace inferd::inference {

// A model's shadow counts (GET /v2/models/{m}/rollout).
struct ShadowStats {
  uint64_t pairs = 0, agree = 0, disagree = 0, shadow_errors = 0, dropped = 0;
  double primary_ms_sum = 0, shadow_ms_sum = 0;  // over the compared pairs
  // The largest absolute difference between the two scores (the first output that is not
  // `label`) of a pair, summed and at most, over the `scored` pairs whose scores had one shape.
  uint64_t scored = 0;
  double abs_diff_sum = 0, abs_diff_max = 0;
};

class ShadowRunner;

// The primary and shadow answers of one request.
class ShadowPair {
 public:
  // The primary's answer (any thread).
  void Primary(const base::StatusOr<InferResponse>& answer);

 private:
  friend class ShadowRunner;
  void Shadow(const base::StatusOr<InferResponse>& answer, double ms);
  void CompareLocked();

  // What a side keeps of its answer.
  struct Side {
    base::Status status;
    tensor::Tensor label;  // the `label` output, when there is one
    tensor::Tensor score;  // the first output that is not `label`
    double ms = 0;
  };
  static Side Keep(const base::StatusOr<InferResponse>& answer, double ms);

  ShadowRunner* runner_ = nullptr;
  std::string model;
  double tolerance = 0;
  base::Clock::TimePoint start;
  std::mutex mu_;
  std::optional<Side> primary_, shadow_;
};

class ShadowRunner {
 public:
  // Finds a shadow version; runs a request on it.
  using ResolveFn = std::function<base::StatusOr<lifecycle::ModelHandle>(const std::string& model,
                                                                         int64_t version)>;
  using RunFn =
      std::function<base::StatusOr<InferResponse>(InferRequest, const lifecycle::ModelHandle&)>;
  ShadowRunner(monitoring::MetricsRegistry* metrics, const base::Clock* clock, ResolveFn resolve,
               RunFn run);
  ~ShadowRunner();  // drops what is queued, joins the thread

  // Queues a shadow run of `request` (a copy) on `version`; null when the queue is full (counted
  // as dropped). The caller reports the primary's answer to the pair it gets. The answers agree
  // when both have a `label` output and the labels are equal; else when their first outputs are
  // equal within `tolerance` (absolute).
  std::shared_ptr<ShadowPair> Start(const std::string& model, int64_t version,
                                    const InferRequest& request, double tolerance = 1e-6);
  ShadowStats Stats(const std::string& model);

 private:
  friend class ShadowPair;
  struct Task {
    std::shared_ptr<ShadowPair> pair;
    int64_t version;
    InferRequest request;
  };
  // A model's counts and its metric cells (looked up once).
  struct PerModel {
    ShadowStats stats;
    monitoring::Counter *agree, *disagree, *shadow_error, *primary_error, *dropped;
    monitoring::Histogram* abs_diff;
  };
  PerModel& ModelLocked(const std::string& model);
  void Record(const std::string& model, const std::string& outcome, double primary_ms,
              double shadow_ms, std::optional<double> abs_diff);
  void Loop();
  // Runs tasks [begin, end) of one version, merged when they can be.
  void RunGroup(std::vector<Task>& tasks, size_t begin, size_t end);

  const base::Clock* clock_;
  ResolveFn resolve_;
  RunFn run_;
  monitoring::Family<monitoring::Counter>* outcomes_;
  monitoring::Family<monitoring::Histogram>* abs_diff_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  bool idle_ = false;  // the thread waits for work (only then is it notified)
  std::map<std::string, PerModel> models_;
  std::thread thread_;
};

}  // namespace inferd::inference
