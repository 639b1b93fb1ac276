// MonitorStore: where monitoring keeps what must outlive the process and be shared by replicas —
// prediction records (for the feedback join), feedback, and the additive aggregates of each time
// bucket. The state store implements it (store/state_store.h); monitoring knows only this.
// Thread-safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace inferd::monitoring {

// One prediction as the feedback join needs it.
struct PredictionRecord {
  std::string model, id;
  int64_t version = 0;
  int64_t at_ms = 0;          // wall clock
  std::string outputs_json;   // model_monitor.h's compact outputs
  std::string inputs_json;    // the inputs, when this one was sampled for the log; else empty
  std::string inputs_sha256;  // with log_inputs: false, their digest instead
  bool has_feedback = false;  // (read back only)
};

struct FeedbackRecord {
  std::string model, id;
  int64_t at_ms = 0;
  std::string label_json;
};

// The aggregate of one kind (quality, drift, data_quality) for one version and time bucket.
struct MonitorBucket {
  std::string model;
  int64_t version = 0;
  std::string kind;
  int64_t start_ms = 0;
  std::string data_json;
};

class MonitorStore {
 public:
  virtual ~MonitorStore() = default;
  // Merges a delta into a stored bucket's data (both JSON of `kind`).
  using MergeFn = std::function<base::StatusOr<std::string>(
      const std::string& kind, const std::string& stored, const std::string& delta)>;

  // Stores records in one transaction; a record whose id the model already has is ignored.
  virtual base::Status PutPredictions(const std::vector<PredictionRecord>& records) = 0;
  // The records of `model` with these ids (those found, in no particular order).
  virtual base::StatusOr<std::vector<PredictionRecord>> GetPredictions(
      const std::string& model, const std::vector<std::string>& ids) = 0;
  // Stores feedback and merges the buckets' deltas in one transaction: all or nothing, durable
  // when it returns.
  virtual base::Status PutFeedback(const std::vector<FeedbackRecord>& feedback,
                                   const std::vector<MonitorBucket>& deltas,
                                   const MergeFn& merge) = 0;
  // Merges deltas into their buckets (created when missing) in one transaction.
  virtual base::Status MergeBuckets(const std::vector<MonitorBucket>& deltas,
                                    const MergeFn& merge) = 0;
  // A model's buckets of `kind` that start at or after `since_ms`.
  virtual base::StatusOr<std::vector<MonitorBucket>> Buckets(const std::string& model,
                                                             const std::string& kind,
                                                             int64_t since_ms) = 0;
  // Whether other processes (replicas) write to the same store: then what a process keeps in
  // memory is not the whole truth (monitoring reads figures from the store only, and looks again
  // for predictions another replica may not have written yet).
  virtual bool Shared() const { return false; }
  // Retention: drops the model's prediction records older than `before_ms`, then all but the
  // newest `keep` (a store may keep whole write batches: at least `keep`), and feedback and
  // buckets older than `before_ms`. Returns the records dropped.
  virtual base::StatusOr<int64_t> Prune(const std::string& model, int64_t before_ms,
                                        int64_t keep) = 0;
};

}  // namespace inferd::monitoring
