// SqliteStore: the state store in one SQLite database, <dir>/inferd.db, in WAL mode (readers never
// wait for the writer; a crash loses at most the transaction in flight). One connection, writes
// serialized by a mutex: inferd is the database's only writer.
// Thread-safety: thread-safe.
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>

#include "store/state_store.h"

struct sqlite3;

namespace inferd::store {

class SqliteStore final : public StateStore {
 public:
  // Creates `dir` when missing and opens (or creates) its database. Errors: UNAVAILABLE naming
  // the path and SQLite's message (not writable, not a database, locked by another server).
  static base::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& dir);
  ~SqliteStore() override;

  base::Status PutVersion(const VersionRecord& record) override;
  base::StatusOr<std::vector<VersionRecord>> Versions(const std::string& model) override;
  base::Status PutRollout(const RolloutRecord& record, const AuditEntry& audit) override;
  base::StatusOr<std::vector<RolloutRecord>> Rollouts() override;
  base::Status Audit(const AuditEntry& entry) override;
  base::StatusOr<std::vector<AuditEntry>> AuditLog(const std::string& model, int limit) override;
  base::Status PutValidation(const ValidationRecord& record, const AuditEntry& audit) override;
  base::StatusOr<std::vector<ValidationRecord>> Validations(const std::string& model,
                                                            int64_t version) override;
  std::string Describe() const override { return "sqlite:" + path_.string(); }
  base::Status PutPredictions(const std::vector<monitoring::PredictionRecord>& records) override;
  base::StatusOr<std::vector<monitoring::PredictionRecord>> ListPredictions(
      const std::string& model, int64_t limit) override;
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
  class Transaction;
  SqliteStore(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  base::Status Exec(const char* sql);
  base::Status InsertAudit(const AuditEntry& entry);  // with mu_ held
  base::Status MergeBucketsLocked(const std::vector<monitoring::MonitorBucket>& deltas,
                                  const MergeFn& merge);

  std::mutex mu_;
  sqlite3* db_;
  std::filesystem::path path_;
};

}  // namespace inferd::store
