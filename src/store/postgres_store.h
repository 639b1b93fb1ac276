// PostgresStore: the state store in PostgreSQL (libpq), shared by every replica of a deployment.
// The same tables and semantics as SqliteStore; what differs is that other processes write too:
//   - schema changes are versioned migrations (schema_migrations), applied at open under an
//     advisory lock, so replicas starting together apply each one once;
//   - prediction batches take their numbers from a sequence, so replicas never collide;
//   - a bucket merge locks its row (FOR UPDATE, rows in key order) and a transaction that loses a
//     deadlock or a serialization race is retried;
//   - feedback for an id that another replica stored first fails the whole call with
//     ALREADY_EXISTS (nothing of it is stored).
// One connection, calls serialized by a mutex; a broken connection is re-established on the next
// call. The server loads it as a module (libinferd_postgres.so, postgres_module.cc) so that a
// server without --state postgres://... never maps libpq.
// Thread-safety: thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "store/state_store.h"

namespace inferd::store {

class PostgresStore final : public StateStore {
 public:
  // Connects to `url` (postgres://user[:password]@host[:port]/db?..., or a libpq key=value
  // string) and applies the migrations this build knows. Errors: UNAVAILABLE naming the server
  // (never the password) and libpq's message; a database whose schema is newer than this build's.
  static base::StatusOr<std::unique_ptr<PostgresStore>> Open(const std::string& url);
  ~PostgresStore() override;

  base::Status PutVersion(const VersionRecord& record) override;
  base::StatusOr<std::vector<VersionRecord>> Versions(const std::string& model) override;
  base::Status PutRollout(const RolloutRecord& record, const AuditEntry& audit) override;
  base::StatusOr<std::vector<RolloutRecord>> Rollouts() override;
  base::Status Audit(const AuditEntry& entry) override;
  base::StatusOr<std::vector<AuditEntry>> AuditLog(const std::string& model, int limit) override;
  base::Status PutValidation(const ValidationRecord& record, const AuditEntry& audit) override;
  base::StatusOr<std::vector<ValidationRecord>> Validations(const std::string& model,
                                                            int64_t version) override;
  std::string Describe() const override { return describe_; }
  bool Shared() const override { return true; }
  base::StatusOr<std::vector<monitoring::PredictionRecord>> ListPredictions(
      const std::string& model, int64_t limit) override;
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

  // The schema version of the connected database (the newest migration applied).
  base::StatusOr<int> SchemaVersion();
  // The newest schema version this build knows.
  static int KnownSchemaVersion();

 private:
  class Connection;  // libpq's connection and queries (postgres_store.cc)
  PostgresStore(std::unique_ptr<Connection> db, std::string describe);
  base::Status Migrate();
  // Runs `body` in a transaction (with mu_ held), retried when PostgreSQL aborts it for a
  // deadlock or a serialization failure.
  template <typename Fn>
  base::Status InTransaction(const std::string& what, Fn body);
  base::Status InsertAudit(const AuditEntry& entry);  // with mu_ held
  base::Status MergeBucketsLocked(const std::vector<monitoring::MonitorBucket>& deltas,
                                  const MergeFn& merge);

  std::mutex mu_;
  std::unique_ptr<Connection> db_;
  std::string describe_;  // "postgres://user@host:port/db": no password
};

}  // namespace inferd::store
