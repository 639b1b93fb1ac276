// The state store: what inferd must remember across restarts — the version registry, rollout
// changes, the audit trail, and monitoring's prediction records, feedback and aggregates
// (monitoring/monitor_store.h). SQLite in a state directory by default (sqlite_store.h);
// PostgreSQL, shared by replicas, with --state postgres://... (postgres_store.h, open_store.h).
// Thread-safety: implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "monitoring/monitor_store.h"

namespace inferd::store {

// One version as it was loaded: its files' digest, its lineage and how the load went.
struct VersionRecord {
  std::string model;
  int64_t version = 0;
  std::string sha256;               // of the version's manifest (repository/version_files.h)
  int64_t bytes = 0;                // the version's files, in all
  std::string files_json = "[]";    // [{"path","sha256","bytes"}]
  std::string backend;              // the platform that loaded it (xgboost_json, onnx, ...)
  std::string lineage_json = "{}";  // <version>/metadata.yaml as JSON
  int64_t loaded_at_ms = 0;         // wall clock, ms since the epoch
  double load_ms = 0;
  std::string result;  // "ready", or why it failed
};

// A rollout policy set through the API, as stored (JSON).
struct RolloutRecord {
  std::string model;
  std::string policy_json;
  int64_t updated_at_ms = 0;
  std::string updated_by;
};

// One line of the audit trail.
struct AuditEntry {
  int64_t at_ms = 0;
  std::string who;     // the caller (its address until #8 adds principals)
  std::string action;  // load, unload, rollout_set, promote, rollback, ...
  std::string model;
  std::string detail;  // what changed, as JSON or text
};

// The result of `inferd validate` for one version: whether its gates passed, and the report.
struct ValidationRecord {
  std::string model;
  int64_t version = 0;
  std::string sha256;  // the version's digest when it was validated (VersionRecord::sha256)
  bool passed = false;
  int64_t at_ms = 0;
  std::string who;
  std::string report_json = "{}";
};

class StateStore : public monitoring::MonitorStore {
 public:
  virtual ~StateStore() = default;
  // Records a load of a version (the latest load of a version replaces the earlier one).
  virtual base::Status PutVersion(const VersionRecord& record) = 0;
  // Every version recorded for `model`, ascending.
  virtual base::StatusOr<std::vector<VersionRecord>> Versions(const std::string& model) = 0;
  // Stores a model's API rollout policy and its audit entry in one transaction: both or neither.
  virtual base::Status PutRollout(const RolloutRecord& record, const AuditEntry& audit) = 0;
  virtual base::StatusOr<std::vector<RolloutRecord>> Rollouts() = 0;
  virtual base::Status Audit(const AuditEntry& entry) = 0;
  // The newest `limit` entries (of `model` when not empty), newest first.
  virtual base::StatusOr<std::vector<AuditEntry>> AuditLog(const std::string& model, int limit) = 0;
  // Records a validation and its audit entry in one transaction.
  virtual base::Status PutValidation(const ValidationRecord& record, const AuditEntry& audit) = 0;
  // The latest validation of each version of `model` (of `version` only when > 0), ascending.
  virtual base::StatusOr<std::vector<ValidationRecord>> Validations(const std::string& model,
                                                                    int64_t version) = 0;
  // The newest `limit` prediction records of `model`, newest first (`inferd predictions`).
  virtual base::StatusOr<std::vector<monitoring::PredictionRecord>> ListPredictions(
      const std::string& model, int64_t limit) = 0;
  // Where the state lives, for messages ("sqlite:<path>", "postgres://user@host:port/db"):
  // never a password.
  virtual std::string Describe() const = 0;
};

}  // namespace inferd::store
