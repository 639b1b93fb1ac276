#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <optional>

namespace inferd::store {

namespace {

// The schema, created when missing; `schema_version` says which one a database has.
constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  bytes INTEGER NOT NULL,
  files_json TEXT NOT NULL,
  backend TEXT NOT NULL,
  lineage_json TEXT NOT NULL,
  loaded_at_ms INTEGER NOT NULL,
  load_ms REAL NOT NULL,
  result TEXT NOT NULL,
  PRIMARY KEY (model, version)
);
CREATE TABLE IF NOT EXISTS rollout (
  model TEXT PRIMARY KEY,
  policy_json TEXT NOT NULL,
  updated_at_ms INTEGER NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at_ms INTEGER NOT NULL,
  who TEXT NOT NULL,
  action TEXT NOT NULL,
  model TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_model ON audit (model, id);
CREATE TABLE IF NOT EXISTS predictions (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  version INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  outputs_json TEXT NOT NULL,
  inputs_json TEXT NOT NULL,
  inputs_sha256 TEXT NOT NULL,
  PRIMARY KEY (model, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS predictions_age ON predictions (model, at_ms);
CREATE TABLE IF NOT EXISTS feedback (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  label_json TEXT NOT NULL,
  PRIMARY KEY (model, id)
);
CREATE TABLE IF NOT EXISTS monitor_buckets (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  kind TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  data_json TEXT NOT NULL,
  PRIMARY KEY (model, kind, start_ms, version)
);
)sql";
// 1: versions; 2: + rollout, audit; 3: + predictions, feedback, monitor_buckets (tables are
// created on open, so older databases are upgraded).
constexpr int kSchemaVersion = 3;

// A prepared statement, finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void Real(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  std::string ColumnText(int i) {
    const auto* p = sqlite3_column_text(stmt_, i);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, i)))
             : std::string();
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int rc_;
};

base::Status Error(sqlite3* db, const std::string& what) {
  return base::Unavailable(what + ": " + sqlite3_errmsg(db));
}

}  // namespace

base::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return base::Unavailable("cannot create the state directory " + dir.string() + ": " +
                             ec.message());
  }
  const auto path = dir / "inferd.db";
  sqlite3* db = nullptr;
  // NOMUTEX: every call is serialized by mu_ already; SQLite's own mutex per call would cost
  // each of the many calls of a batch insert.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    base::Status st = Error(db, "cannot open the state database " + path.string());
    sqlite3_close(db);
    return st;
  }
  std::unique_ptr<SqliteStore> store(new SqliteStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  // WAL: readers do not block the writer; NORMAL sync: durable at each checkpoint, and a crash
  // (kill -9) leaves every committed transaction or none of one.
  RETURN_IF_ERROR(store->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  RETURN_IF_ERROR(store->Exec(kSchema));
  Statement get(db, "SELECT version FROM schema_version");
  if (!get.ok()) return Error(db, "state database " + path.string());
  if (sqlite3_step(get.get()) == SQLITE_ROW) {
    const int64_t have = sqlite3_column_int64(get.get(), 0);
    if (have == 1 || have == 2) {
      RETURN_IF_ERROR(store->Exec("UPDATE schema_version SET version = 3"));
    } else if (have != kSchemaVersion) {
      return base::Unavailable("the state database " + path.string() + " has schema version " +
                               std::to_string(have) + "; this inferd reads version " +
                               std::to_string(kSchemaVersion));
    }
  } else {
    RETURN_IF_ERROR(store->Exec("INSERT INTO schema_version VALUES (3)"));
  }
  return store;
}

SqliteStore::~SqliteStore() { sqlite3_close(db_); }

base::Status SqliteStore::Exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string m = message ? message : "unknown error";
    sqlite3_free(message);
    return base::Unavailable("state database " + path_.string() + ": " + m);
  }
  return base::Status::Ok();
}

base::Status SqliteStore::PutVersion(const VersionRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement put(db_,
                "INSERT OR REPLACE INTO versions (model, version, sha256, bytes, files_json, "
                "backend, lineage_json, loaded_at_ms, load_ms, result) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!put.ok()) return Error(db_, "recording a version");
  put.Text(1, r.model);
  put.Int(2, r.version);
  put.Text(3, r.sha256);
  put.Int(4, r.bytes);
  put.Text(5, r.files_json);
  put.Text(6, r.backend);
  put.Text(7, r.lineage_json);
  put.Int(8, r.loaded_at_ms);
  put.Real(9, r.load_ms);
  put.Text(10, r.result);
  if (sqlite3_step(put.get()) != SQLITE_DONE) return Error(db_, "recording a version");
  return base::Status::Ok();
}

base::StatusOr<std::vector<VersionRecord>> SqliteStore::Versions(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_,
              "SELECT model, version, sha256, bytes, files_json, backend, lineage_json, "
              "loaded_at_ms, load_ms, result FROM versions WHERE model = ? ORDER BY version");
  if (!q.ok()) return Error(db_, "reading versions");
  q.Text(1, model);
  std::vector<VersionRecord> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    VersionRecord r;
    r.model = q.ColumnText(0);
    r.version = sqlite3_column_int64(q.get(), 1);
    r.sha256 = q.ColumnText(2);
    r.bytes = sqlite3_column_int64(q.get(), 3);
    r.files_json = q.ColumnText(4);
    r.backend = q.ColumnText(5);
    r.lineage_json = q.ColumnText(6);
    r.loaded_at_ms = sqlite3_column_int64(q.get(), 7);
    r.load_ms = sqlite3_column_double(q.get(), 8);
    r.result = q.ColumnText(9);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading versions");
  return out;
}

base::Status SqliteStore::PutRollout(const RolloutRecord& r, const AuditEntry& a) {
  std::lock_guard<std::mutex> lock(mu_);
  RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
  Statement put(db_,
                "INSERT OR REPLACE INTO rollout (model, policy_json, updated_at_ms, updated_by) "
                "VALUES (?, ?, ?, ?)");
  bool ok = put.ok();
  if (ok) {
    put.Text(1, r.model);
    put.Text(2, r.policy_json);
    put.Int(3, r.updated_at_ms);
    put.Text(4, r.updated_by);
    ok = sqlite3_step(put.get()) == SQLITE_DONE;
  }
  if (ok) ok = InsertAudit(a).ok();
  if (!ok) {
    base::Status st = Error(db_, "storing the rollout of '" + r.model + "'");
    (void)Exec("ROLLBACK");  // (the error above is the one to report)
    return st;
  }
  return Exec("COMMIT");
}

base::StatusOr<std::vector<RolloutRecord>> SqliteStore::Rollouts() {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_, "SELECT model, policy_json, updated_at_ms, updated_by FROM rollout");
  if (!q.ok()) return Error(db_, "reading rollouts");
  std::vector<RolloutRecord> out;
  while (sqlite3_step(q.get()) == SQLITE_ROW) {
    out.push_back(
        {q.ColumnText(0), q.ColumnText(1), sqlite3_column_int64(q.get(), 2), q.ColumnText(3)});
  }
  return out;
}

base::Status SqliteStore::InsertAudit(const AuditEntry& a) {
  Statement put(db_,
                "INSERT INTO audit (at_ms, who, action, model, detail) VALUES (?, ?, ?, ?, ?)");
  if (!put.ok()) return Error(db_, "writing the audit trail");
  put.Int(1, a.at_ms);
  put.Text(2, a.who);
  put.Text(3, a.action);
  put.Text(4, a.model);
  put.Text(5, a.detail);
  if (sqlite3_step(put.get()) != SQLITE_DONE) return Error(db_, "writing the audit trail");
  return base::Status::Ok();
}

base::Status SqliteStore::Audit(const AuditEntry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  return InsertAudit(entry);
}

base::StatusOr<std::vector<AuditEntry>> SqliteStore::AuditLog(const std::string& model, int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_,
              "SELECT at_ms, who, action, model, detail FROM audit WHERE (? = '' OR model = ?) "
              "ORDER BY id DESC LIMIT ?");
  if (!q.ok()) return Error(db_, "reading the audit trail");
  q.Text(1, model);
  q.Text(2, model);
  q.Int(3, limit);
  std::vector<AuditEntry> out;
  while (sqlite3_step(q.get()) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(q.get(), 0), q.ColumnText(1), q.ColumnText(2),
                   q.ColumnText(3), q.ColumnText(4)});
  }
  return out;
}

// A transaction: BEGIN IMMEDIATE, then COMMIT when Commit() is called, else ROLLBACK.
class SqliteStore::Transaction {
 public:
  explicit Transaction(SqliteStore* s) : s_(s) { begun_ = s_->Exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (begun_.ok() && !done_) (void)s_->Exec("ROLLBACK");
  }
  const base::Status& begun() const { return begun_; }
  base::Status Commit() {
    done_ = true;
    return s_->Exec("COMMIT");
  }

 private:
  SqliteStore* s_;
  base::Status begun_;
  bool done_ = false;
};

base::Status SqliteStore::PutPredictions(const std::vector<monitoring::PredictionRecord>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(this);
  RETURN_IF_ERROR(tx.begun());
  // Rows go in statements of up to 64 (one statement per row costs SQLite's per-statement work
  // for every prediction).
  constexpr size_t kRows = 64;
  auto sql = [](size_t rows) {
    std::string s =
        "INSERT OR IGNORE INTO predictions (model, id, version, at_ms, outputs_json, inputs_json, "
        "inputs_sha256) VALUES ";
    for (size_t i = 0; i < rows; ++i) s += i ? ",(?,?,?,?,?,?,?)" : "(?,?,?,?,?,?,?)";
    return s;
  };
  Statement full(db_, sql(kRows).c_str());
  if (!full.ok()) return Error(db_, "storing predictions");
  for (size_t begin = 0; begin < records.size(); begin += kRows) {
    const size_t n = std::min(kRows, records.size() - begin);
    std::optional<Statement> partial;
    if (n < kRows) {
      partial.emplace(db_, sql(n).c_str());
      if (!partial->ok()) return Error(db_, "storing predictions");
    }
    Statement& put = partial ? *partial : full;
    sqlite3_reset(put.get());
    for (size_t k = 0; k < n; ++k) {
      const auto& r = records[begin + k];
      const int at = static_cast<int>(k * 7);
      put.Text(at + 1, r.model);
      put.Text(at + 2, r.id);
      put.Int(at + 3, r.version);
      put.Int(at + 4, r.at_ms);
      put.Text(at + 5, r.outputs_json);
      put.Text(at + 6, r.inputs_json);
      put.Text(at + 7, r.inputs_sha256);
    }
    if (sqlite3_step(put.get()) != SQLITE_DONE) return Error(db_, "storing predictions");
  }
  return tx.Commit();
}

base::StatusOr<std::vector<monitoring::PredictionRecord>> SqliteStore::GetPredictions(
    const std::string& model, const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_,
              "SELECT p.model, p.id, p.version, p.at_ms, p.outputs_json, p.inputs_json, "
              "p.inputs_sha256, f.id IS NOT NULL FROM predictions p LEFT JOIN feedback f "
              "ON f.model = p.model AND f.id = p.id WHERE p.model = ? AND p.id = ?");
  if (!q.ok()) return Error(db_, "reading predictions");
  std::vector<monitoring::PredictionRecord> out;
  for (const auto& id : ids) {
    sqlite3_reset(q.get());
    q.Text(1, model);
    q.Text(2, id);
    const int rc = sqlite3_step(q.get());
    if (rc == SQLITE_ROW) {
      monitoring::PredictionRecord r;
      r.model = q.ColumnText(0);
      r.id = q.ColumnText(1);
      r.version = sqlite3_column_int64(q.get(), 2);
      r.at_ms = sqlite3_column_int64(q.get(), 3);
      r.outputs_json = q.ColumnText(4);
      r.inputs_json = q.ColumnText(5);
      r.inputs_sha256 = q.ColumnText(6);
      r.has_feedback = sqlite3_column_int64(q.get(), 7) != 0;
      out.push_back(std::move(r));
    } else if (rc != SQLITE_DONE) {
      return Error(db_, "reading predictions");
    }
  }
  return out;
}

base::Status SqliteStore::MergeBucketsLocked(const std::vector<monitoring::MonitorBucket>& deltas,
                                             const MergeFn& merge) {
  Statement get(db_,
                "SELECT data_json FROM monitor_buckets WHERE model = ? AND kind = ? AND "
                "start_ms = ? AND version = ?");
  Statement put(db_,
                "INSERT OR REPLACE INTO monitor_buckets (model, version, kind, start_ms, "
                "data_json) VALUES (?, ?, ?, ?, ?)");
  if (!get.ok() || !put.ok()) return Error(db_, "merging monitoring buckets");
  for (const auto& d : deltas) {
    sqlite3_reset(get.get());
    get.Text(1, d.model);
    get.Text(2, d.kind);
    get.Int(3, d.start_ms);
    get.Int(4, d.version);
    std::string data = d.data_json;
    const int rc = sqlite3_step(get.get());
    if (rc == SQLITE_ROW) {
      ASSIGN_OR_RETURN(data, merge(d.kind, get.ColumnText(0), d.data_json));
    } else if (rc != SQLITE_DONE) {
      return Error(db_, "merging monitoring buckets");
    }
    sqlite3_reset(put.get());
    put.Text(1, d.model);
    put.Int(2, d.version);
    put.Text(3, d.kind);
    put.Int(4, d.start_ms);
    put.Text(5, data);
    if (sqlite3_step(put.get()) != SQLITE_DONE) return Error(db_, "merging monitoring buckets");
  }
  return base::Status::Ok();
}

base::Status SqliteStore::PutFeedback(const std::vector<monitoring::FeedbackRecord>& feedback,
                                      const std::vector<monitoring::MonitorBucket>& deltas,
                                      const MergeFn& merge) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(this);
  RETURN_IF_ERROR(tx.begun());
  Statement put(db_, "INSERT INTO feedback (model, id, at_ms, label_json) VALUES (?, ?, ?, ?)");
  if (!put.ok()) return Error(db_, "storing feedback");
  for (const auto& f : feedback) {
    sqlite3_reset(put.get());
    put.Text(1, f.model);
    put.Text(2, f.id);
    put.Int(3, f.at_ms);
    put.Text(4, f.label_json);
    if (sqlite3_step(put.get()) != SQLITE_DONE) return Error(db_, "storing feedback");
  }
  RETURN_IF_ERROR(MergeBucketsLocked(deltas, merge));
  return tx.Commit();
}

base::Status SqliteStore::MergeBuckets(const std::vector<monitoring::MonitorBucket>& deltas,
                                       const MergeFn& merge) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(this);
  RETURN_IF_ERROR(tx.begun());
  RETURN_IF_ERROR(MergeBucketsLocked(deltas, merge));
  return tx.Commit();
}

base::StatusOr<std::vector<monitoring::MonitorBucket>> SqliteStore::Buckets(
    const std::string& model, const std::string& kind, int64_t since_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_,
              "SELECT model, version, kind, start_ms, data_json FROM monitor_buckets WHERE "
              "model = ? AND kind = ? AND start_ms >= ? ORDER BY start_ms, version");
  if (!q.ok()) return Error(db_, "reading monitoring buckets");
  q.Text(1, model);
  q.Text(2, kind);
  q.Int(3, since_ms);
  std::vector<monitoring::MonitorBucket> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    out.push_back({q.ColumnText(0), sqlite3_column_int64(q.get(), 1), q.ColumnText(2),
                   sqlite3_column_int64(q.get(), 3), q.ColumnText(4)});
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading monitoring buckets");
  return out;
}

base::StatusOr<int64_t> SqliteStore::Prune(const std::string& model, int64_t before_ms,
                                           int64_t keep) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(this);
  RETURN_IF_ERROR(tx.begun());
  int64_t dropped = 0;
  const char* steps[] = {
      "DELETE FROM feedback WHERE model = ?1 AND id IN (SELECT id FROM predictions WHERE "
      "model = ?1 AND (at_ms < ?2 OR at_ms <= (SELECT at_ms FROM predictions WHERE model = ?1 "
      "ORDER BY at_ms DESC LIMIT 1 OFFSET ?3)))",
      "DELETE FROM predictions WHERE model = ?1 AND (at_ms < ?2 OR at_ms <= (SELECT at_ms FROM "
      "predictions WHERE model = ?1 ORDER BY at_ms DESC LIMIT 1 OFFSET ?3))",
      "DELETE FROM monitor_buckets WHERE model = ?1 AND start_ms < ?2"};
  for (int i = 0; i < 3; ++i) {
    Statement del(db_, steps[i]);
    if (!del.ok()) return Error(db_, "pruning monitoring records");
    del.Text(1, model);
    del.Int(2, before_ms);
    del.Int(3, keep);
    if (sqlite3_step(del.get()) != SQLITE_DONE) return Error(db_, "pruning monitoring records");
    if (i == 1) dropped = sqlite3_changes(db_);
  }
  RETURN_IF_ERROR(tx.Commit());
  return dropped;
}

}  // namespace inferd::store
