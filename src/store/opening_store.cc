#include "store/opening_store.h"

namespace inferd::store {

OpeningStore::OpeningStore(Open open) {
  opened_ = std::async(std::launch::async, [this, open = std::move(open)]() -> base::Status {
              auto store = open();
              if (!store.ok()) return store.status();
              store_ = std::move(store).value();
              return base::Status::Ok();
            }).share();
}

base::Status OpeningStore::Wait() { return opened_.get(); }

base::Status OpeningStore::PutVersion(const VersionRecord& record) {
  RETURN_IF_ERROR(Wait());
  return store_->PutVersion(record);
}

base::StatusOr<std::vector<VersionRecord>> OpeningStore::Versions(const std::string& model) {
  RETURN_IF_ERROR(Wait());
  return store_->Versions(model);
}

base::Status OpeningStore::PutRollout(const RolloutRecord& record, const AuditEntry& audit) {
  RETURN_IF_ERROR(Wait());
  return store_->PutRollout(record, audit);
}

base::StatusOr<std::vector<RolloutRecord>> OpeningStore::Rollouts() {
  RETURN_IF_ERROR(Wait());
  return store_->Rollouts();
}

base::Status OpeningStore::Audit(const AuditEntry& entry) {
  RETURN_IF_ERROR(Wait());
  return store_->Audit(entry);
}

base::StatusOr<std::vector<AuditEntry>> OpeningStore::AuditLog(const std::string& model,
                                                               int limit) {
  RETURN_IF_ERROR(Wait());
  return store_->AuditLog(model, limit);
}

base::Status OpeningStore::PutValidation(const ValidationRecord& record, const AuditEntry& audit) {
  RETURN_IF_ERROR(Wait());
  return store_->PutValidation(record, audit);
}

base::StatusOr<std::vector<ValidationRecord>> OpeningStore::Validations(const std::string& model,
                                                                        int64_t version) {
  RETURN_IF_ERROR(Wait());
  return store_->Validations(model, version);
}

base::StatusOr<std::vector<monitoring::PredictionRecord>> OpeningStore::ListPredictions(
    const std::string& model, int64_t limit) {
  RETURN_IF_ERROR(Wait());
  return store_->ListPredictions(model, limit);
}

bool OpeningStore::Shared() const { return opened_.get().ok() && store_->Shared(); }

std::string OpeningStore::Describe() const {
  return opened_.get().ok() ? store_->Describe() : "(not open)";
}

base::Status OpeningStore::PutPredictions(
    const std::vector<monitoring::PredictionRecord>& records) {
  RETURN_IF_ERROR(Wait());
  return store_->PutPredictions(records);
}

base::StatusOr<std::vector<monitoring::PredictionRecord>> OpeningStore::GetPredictions(
    const std::string& model, const std::vector<std::string>& ids) {
  RETURN_IF_ERROR(Wait());
  return store_->GetPredictions(model, ids);
}

base::Status OpeningStore::PutFeedback(const std::vector<monitoring::FeedbackRecord>& feedback,
                                       const std::vector<monitoring::MonitorBucket>& deltas,
                                       const MergeFn& merge) {
  RETURN_IF_ERROR(Wait());
  return store_->PutFeedback(feedback, deltas, merge);
}

base::Status OpeningStore::MergeBuckets(const std::vector<monitoring::MonitorBucket>& deltas,
                                        const MergeFn& merge) {
  RETURN_IF_ERROR(Wait());
  return store_->MergeBuckets(deltas, merge);
}

base::StatusOr<std::vector<monitoring::MonitorBucket>> OpeningStore::Buckets(
    const std::string& model, const std::string& kind, int64_t since_ms) {
  RETURN_IF_ERROR(Wait());
  return store_->Buckets(model, kind, since_ms);
}

base::StatusOr<int64_t> OpeningStore::Prune(const std::string& model, int64_t before_ms,
                                            int64_t keep) {
  RETURN_IF_ERROR(Wait());
  return store_->Prune(model, before_ms, keep);
}

}  // namespace inferd::store
