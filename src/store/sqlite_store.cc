#include "store/sqlite_store.h"

#include <sqlite3.h>

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
)sql";
// 1: versions; 2: + rollout, audit (created on open, so a version 1 database is upgraded).
constexpr int kSchemaVersion = 2;

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
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX;
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
    if (have == 1) RETURN_IF_ERROR(store->Exec("UPDATE schema_version SET version = 2"));
    if (have != kSchemaVersion && have != 1) {
      return base::Unavailable("the state database " + path.string() + " has schema version " +
                               std::to_string(have) + "; this inferd reads version " +
                               std::to_string(kSchemaVersion));
    }
  } else {
    RETURN_IF_ERROR(store->Exec("INSERT INTO schema_version VALUES (2)"));
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

}  // namespace inferd::store
