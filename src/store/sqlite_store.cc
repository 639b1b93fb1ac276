#include "store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "base/ids.h"
#include "store/prediction_batch.h"

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
-- Prediction records go in batches, one row per write (store/prediction_batch.h); ids that are
-- not inferd's are indexed one by one in prediction_ids.
CREATE TABLE IF NOT EXISTS prediction_batches (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  first_ms INTEGER NOT NULL,
  last_ms INTEGER NOT NULL,
  id_min_ms INTEGER,
  id_max_ms INTEGER,
  count INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS prediction_batches_ids ON prediction_batches (model, id_min_ms);
CREATE INDEX IF NOT EXISTS prediction_batches_age ON prediction_batches (model, last_ms);
CREATE TABLE IF NOT EXISTS prediction_ids (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  batch INTEGER NOT NULL,
  PRIMARY KEY (model, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS feedback (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  at_ms INTEGER NOT NULL,
  label_json TEXT NOT NULL,
  PRIMARY KEY (model, id)
);
CREATE TABLE IF NOT EXISTS validations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  passed INTEGER NOT NULL,
  at_ms INTEGER NOT NULL,
  who TEXT NOT NULL,
  report_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS validations_version ON validations (model, version, id);
CREATE TABLE IF NOT EXISTS monitor_buckets (
  model TEXT NOT NULL,
  version INTEGER NOT NULL,
  kind TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  data_json TEXT NOT NULL,
  PRIMARY KEY (model, kind, start_ms, version)
);
)sql";
// 1: versions; 2: + rollout, audit; 3: + predictions, feedback, monitor_buckets; 4: +
// validations (tables are created on open, so older databases are upgraded).
constexpr int kSchemaVersion = 4;

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
    if (have >= 1 && have < kSchemaVersion) {
      RETURN_IF_ERROR(store->Exec("UPDATE schema_version SET version = 4"));
    } else if (have != kSchemaVersion) {
      return base::Unavailable("the state database " + path.string() + " has schema version " +
                               std::to_string(have) + "; this inferd reads version " +
                               std::to_string(kSchemaVersion));
    }
  } else {
    RETURN_IF_ERROR(store->Exec("INSERT INTO schema_version VALUES (4)"));
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

base::Status SqliteStore::PutRollout(const RolloutRecord& r, const AuditEntry& a) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(this);
  RETURN_IF_ERROR(tx.begun());
  Statement put(db_,
                "INSERT OR REPLACE INTO rollout (model, policy_json, updated_at_ms, updated_by) "
                "VALUES (?, ?, ?, ?)");
  if (!put.ok()) return Error(db_, "storing the rollout of '" + r.model + "'");
  put.Text(1, r.model);
  put.Text(2, r.policy_json);
  put.Int(3, r.updated_at_ms);
  put.Text(4, r.updated_by);
  if (sqlite3_step(put.get()) != SQLITE_DONE) {
    return Error(db_, "storing the rollout of '" + r.model + "'");
  }
  RETURN_IF_ERROR(InsertAudit(a));
  return tx.Commit();
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

base::Status SqliteStore::PutValidation(const ValidationRecord& r, const AuditEntry& a) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(this);
  RETURN_IF_ERROR(tx.begun());
  Statement put(db_,
                "INSERT INTO validations (model, version, sha256, passed, at_ms, who, report_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!put.ok()) return Error(db_, "recording the validation of '" + r.model + "'");
  put.Text(1, r.model);
  put.Int(2, r.version);
  put.Text(3, r.sha256);
  put.Int(4, r.passed ? 1 : 0);
  put.Int(5, r.at_ms);
  put.Text(6, r.who);
  put.Text(7, r.report_json);
  if (sqlite3_step(put.get()) != SQLITE_DONE) {
    return Error(db_, "recording the validation of '" + r.model + "'");
  }
  RETURN_IF_ERROR(InsertAudit(a));
  return tx.Commit();
}

base::StatusOr<std::vector<ValidationRecord>> SqliteStore::Validations(const std::string& model,
                                                                       int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement q(db_,
              "SELECT model, version, sha256, passed, at_ms, who, report_json FROM validations "
              "WHERE id IN (SELECT MAX(id) FROM validations WHERE model = ? AND (? <= 0 OR "
              "version = ?) GROUP BY version) ORDER BY version");
  if (!q.ok()) return Error(db_, "reading validations");
  q.Text(1, model);
  q.Int(2, version);
  q.Int(3, version);
  std::vector<ValidationRecord> out;
  int rc;
  while ((rc = sqlite3_step(q.get())) == SQLITE_ROW) {
    ValidationRecord r;
    r.model = q.ColumnText(0);
    r.version = sqlite3_column_int64(q.get(), 1);
    r.sha256 = q.ColumnText(2);
    r.passed = sqlite3_column_int64(q.get(), 3) != 0;
    r.at_ms = sqlite3_column_int64(q.get(), 4);
    r.who = q.ColumnText(5);
    r.report_json = q.ColumnText(6);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return Error(db_, "reading validations");
  return out;
}

base::Status SqliteStore::PutPredictions(const std::vector<monitoring::PredictionRecord>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  Transaction tx(this);
  RETURN_IF_ERROR(tx.begun());
  // One batch row per model; ids that are not inferd's are indexed (a repeated one is skipped).
  std::map<std::string, std::vector<const monitoring::PredictionRecord*>> by_model;
  for (const auto& r : records) by_model[r.model].push_back(&r);
  Statement batch(db_,
                  "INSERT INTO prediction_batches (model, first_ms, last_ms, id_min_ms, "
                  "id_max_ms, count, data) VALUES (?, ?, ?, ?, ?, ?, ?)");
  Statement index(db_, "INSERT OR IGNORE INTO prediction_ids (model, id, batch) VALUES (?, ?, ?)");
  Statement seq(db_, "SELECT seq FROM sqlite_sequence WHERE name = 'prediction_batches'");
  if (!batch.ok() || !index.ok()) return Error(db_, "storing predictions");
  for (const auto& [model, recs] : by_model) {
    // The seq the batch will get: indexed ids point at it.
    int64_t next = 1;
    if (seq.ok()) {
      sqlite3_reset(seq.get());
      if (sqlite3_step(seq.get()) == SQLITE_ROW) next = sqlite3_column_int64(seq.get(), 0) + 1;
    }
    BatchEncoder enc(recs);
    for (const auto* r : recs) {
      if (!base::RequestIdTimeMs(r->id)) {
        sqlite3_reset(index.get());
        index.Text(1, model);
        index.Text(2, r->id);
        index.Int(3, next);
        if (sqlite3_step(index.get()) != SQLITE_DONE) return Error(db_, "storing predictions");
        if (sqlite3_changes(db_) == 0) continue;  // the model has this id already
      }
      enc.Add(*r);
    }
    if (enc.count() == 0) continue;
    sqlite3_reset(batch.get());
    batch.Text(1, model);
    batch.Int(2, enc.first_ms());
    batch.Int(3, enc.last_ms());
    if (enc.has_id_times()) {
      batch.Int(4, enc.id_min_ms());
      batch.Int(5, enc.id_max_ms());
    } else {
      sqlite3_bind_null(batch.get(), 4);
      sqlite3_bind_null(batch.get(), 5);
    }
    batch.Int(6, enc.count());
    sqlite3_bind_blob(batch.get(), 7, enc.data().data(), static_cast<int>(enc.data().size()),
                      SQLITE_STATIC);
    if (sqlite3_step(batch.get()) != SQLITE_DONE) return Error(db_, "storing predictions");
    if (sqlite3_last_insert_rowid(db_) != next) {
      return base::Internal("prediction batch numbering went wrong");
    }
  }
  return tx.Commit();
}

base::StatusOr<std::vector<monitoring::PredictionRecord>> SqliteStore::ListPredictions(
    const std::string& model, int64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement read(db_, "SELECT data FROM prediction_batches WHERE model = ? ORDER BY seq DESC");
  if (!read.ok()) return Error(db_, "reading predictions");
  read.Text(1, model);
  std::vector<monitoring::PredictionRecord> out;
  while (static_cast<int64_t>(out.size()) < limit && sqlite3_step(read.get()) == SQLITE_ROW) {
    std::string_view in(static_cast<const char*>(sqlite3_column_blob(read.get(), 0)),
                        static_cast<size_t>(sqlite3_column_bytes(read.get(), 0)));
    AppendNewestFirst(in, model, limit, &out);
  }
  return out;
}

base::StatusOr<std::vector<monitoring::PredictionRecord>> SqliteStore::GetPredictions(
    const std::string& model, const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  // The batches that may hold each id: by its time, or by the index.
  std::map<int64_t, std::set<std::string>> wanted;  // batch seq -> ids
  Statement by_time(db_,
                    "SELECT seq FROM prediction_batches WHERE model = ? AND id_min_ms BETWEEN ? "
                    "AND ? AND id_max_ms >= ?");
  Statement by_index(db_, "SELECT batch FROM prediction_ids WHERE model = ? AND id = ?");
  if (!by_time.ok() || !by_index.ok()) return Error(db_, "reading predictions");
  for (const auto& id : ids) {
    if (auto t = base::RequestIdTimeMs(id)) {
      sqlite3_reset(by_time.get());
      by_time.Text(1, model);
      by_time.Int(2, *t - kBatchIdSpanMs);
      by_time.Int(3, *t);
      by_time.Int(4, *t);
      while (sqlite3_step(by_time.get()) == SQLITE_ROW) {
        wanted[sqlite3_column_int64(by_time.get(), 0)].insert(id);
      }
    } else {
      sqlite3_reset(by_index.get());
      by_index.Text(1, model);
      by_index.Text(2, id);
      if (sqlite3_step(by_index.get()) == SQLITE_ROW) {
        wanted[sqlite3_column_int64(by_index.get(), 0)].insert(id);
      }
    }
  }
  Statement read(db_, "SELECT data FROM prediction_batches WHERE seq = ?");
  Statement fb(db_, "SELECT 1 FROM feedback WHERE model = ? AND id = ?");
  if (!read.ok() || !fb.ok()) return Error(db_, "reading predictions");
  std::vector<monitoring::PredictionRecord> out;
  std::set<std::string> found;
  for (const auto& entry : wanted) {
    const std::set<std::string>& want = entry.second;  // (a lambda below uses it)
    sqlite3_reset(read.get());
    read.Int(1, entry.first);
    if (sqlite3_step(read.get()) != SQLITE_ROW) continue;
    std::string_view in(static_cast<const char*>(sqlite3_column_blob(read.get(), 0)),
                        static_cast<size_t>(sqlite3_column_bytes(read.get(), 0)));
    ForEachRecord(in, model, [&](monitoring::PredictionRecord r) {
      if (!want.contains(r.id) || !found.insert(r.id).second) return;
      sqlite3_reset(fb.get());
      fb.Text(1, model);
      fb.Text(2, r.id);
      r.has_feedback = sqlite3_step(fb.get()) == SQLITE_ROW;
      out.push_back(std::move(r));
    });
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
  Statement newest(db_,
                   "SELECT seq, count, last_ms FROM prediction_batches WHERE model = ? ORDER BY "
                   "seq DESC");
  if (!newest.ok()) return Error(db_, "pruning monitoring records");
  newest.Text(1, model);
  std::vector<BatchAge> ages;
  while (sqlite3_step(newest.get()) == SQLITE_ROW) {
    ages.push_back({sqlite3_column_int64(newest.get(), 0), sqlite3_column_int64(newest.get(), 1),
                    sqlite3_column_int64(newest.get(), 2)});
  }
  const int64_t keep_from = FirstBatchToKeep(ages, before_ms, keep);
  int64_t dropped = 0;
  if (keep_from > 0) {
    Statement count(db_,
                    "SELECT COALESCE(SUM(count), 0) FROM prediction_batches WHERE model = ? AND "
                    "seq < ?");
    if (!count.ok()) return Error(db_, "pruning monitoring records");
    count.Text(1, model);
    count.Int(2, keep_from);
    if (sqlite3_step(count.get()) == SQLITE_ROW) dropped = sqlite3_column_int64(count.get(), 0);
  }
  const char* steps[] = {"DELETE FROM prediction_batches WHERE model = ?1 AND seq < ?2",
                         "DELETE FROM prediction_ids WHERE model = ?1 AND batch < ?2",
                         "DELETE FROM feedback WHERE model = ?1 AND at_ms < ?3",
                         "DELETE FROM monitor_buckets WHERE model = ?1 AND start_ms < ?3"};
  for (const char* sql : steps) {
    Statement del(db_, sql);
    if (!del.ok()) return Error(db_, "pruning monitoring records");
    del.Text(1, model);
    del.Int(2, keep_from);
    del.Int(3, before_ms);
    if (sqlite3_step(del.get()) != SQLITE_DONE) return Error(db_, "pruning monitoring records");
  }
  RETURN_IF_ERROR(tx.Commit());
  return dropped;
}

}  // namespace inferd::store
