// OpeningStore: a state store opened on a thread of its own, so that opening the database runs
// alongside the model loads at start-up. Calls wait until it is open; Wait() gives the open's
// result (the server refuses to start when it failed).
// Thread-safety: thread-safe.
#pragma once

#include <functional>
#include <future>
#include <memory>

#include "store/state_store.h"

namespace inferd::store {

class OpeningStore final : public StateStore {
 public:
  using Open = std::function<base::StatusOr<std::unique_ptr<StateStore>>()>;
  explicit OpeningStore(Open open);

  // Waits for the open; its error, if it failed.
  base::Status Wait();

  base::Status PutVersion(const VersionRecord& record) override;
  base::StatusOr<std::vector<VersionRecord>> Versions(const std::string& model) override;
  base::Status PutRollout(const RolloutRecord& record, const AuditEntry& audit) override;
  base::StatusOr<std::vector<RolloutRecord>> Rollouts() override;
  base::Status Audit(const AuditEntry& entry) override;
  base::StatusOr<std::vector<AuditEntry>> AuditLog(const std::string& model, int limit) override;
  base::Status PutValidation(const ValidationRecord& record, const AuditEntry& audit) override;
  base::StatusOr<std::vector<ValidationRecord>> Validations(const std::string& model,
                                                            int64_t version) override;
  base::StatusOr<std::vector<monitoring::PredictionRecord>> ListPredictions(
      const std::string& model, int64_t limit) override;
  std::string Describe() const override;
  bool Shared() const override;
  base::Status PutPredictions(const std::vector<monitoring::PredictionRecord>& records) override;
  base::StatusOr<std::vector<monitoring::PredictionRecord>> GetPredictions(
      const std::string& model, const std::vector<std::string>& ids) override;
  base::Status PutFeedback(const std::vector<monitoring::FeedbackRecord>& feedback,
                           const std::vector<monitoring::MonitorBucket>& deltas,
                           const MergeFn& merge) override;
  base::Status MergeBuckets(const std::vector<monitoring::MonitorBucket>& deltas,
                            const MergeFn& merge) override;
  base::StatusOr<std::vector<monitoring::MonitorBucket>> Buckets(const std::string& model,
                                                                 const std::string& kind,
                                                                 int64_t since_ms) override;
  base::StatusOr<int64_t> Prune(const std::string& model, int64_t before_ms, int64_t keep) override;

 private:
  std::unique_ptr<StateStore> store_;  // set by the opening thread before opened_ is ready
  // (Declared last, destroyed first: its destructor waits for the opening thread.)
  std::shared_future<base::Status> opened_;
};

}  // namespace inferd::store
