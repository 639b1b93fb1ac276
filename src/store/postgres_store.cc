#include "store/postgres_store.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "base/ids.h"
#include "store/prediction_batch.h"

namespace inferd::store {

namespace {

// The migrations, in order; migration i + 1 is kMigrations[i]. A migration is never edited once
// released: a change of the schema is a new one at the end.
struct Migration {
  const char* description;
  const char* sql;
};
constexpr Migration kMigrations[] = {
    {"registry, rollout and audit", R"sql(
CREATE TABLE versions (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  bytes BIGINT NOT NULL,
  files_json TEXT NOT NULL,
  backend TEXT NOT NULL,
  lineage_json TEXT NOT NULL,
  loaded_at_ms BIGINT NOT NULL,
  load_ms DOUBLE PRECISION NOT NULL,
  result TEXT NOT NULL,
  PRIMARY KEY (model, version)
);
CREATE TABLE rollout (
  model TEXT PRIMARY KEY,
  policy_json TEXT NOT NULL,
  updated_at_ms BIGINT NOT NULL,
  updated_by TEXT NOT NULL
);
CREATE TABLE audit (
  id BIGSERIAL PRIMARY KEY,
  at_ms BIGINT NOT NULL,
  who TEXT NOT NULL,
  action TEXT NOT NULL,
  model TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX audit_model ON audit (model, id);
)sql"},
    {"prediction log, feedback and monitoring buckets", R"sql(
CREATE TABLE prediction_batches (
  seq BIGSERIAL PRIMARY KEY,
  model TEXT NOT NULL,
  first_ms BIGINT NOT NULL,
  last_ms BIGINT NOT NULL,
  id_min_ms BIGINT,
  id_max_ms BIGINT,
  count BIGINT NOT NULL,
  data BYTEA NOT NULL
);
CREATE INDEX prediction_batches_ids ON prediction_batches (model, id_min_ms);
CREATE INDEX prediction_batches_age ON prediction_batches (model, last_ms);
CREATE TABLE prediction_ids (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  batch BIGINT NOT NULL,
  PRIMARY KEY (model, id)
);
CREATE TABLE feedback (
  model TEXT NOT NULL,
  id TEXT NOT NULL,
  at_ms BIGINT NOT NULL,
  label_json TEXT NOT NULL,
  PRIMARY KEY (model, id)
);
CREATE TABLE monitor_buckets (
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  kind TEXT NOT NULL,
  start_ms BIGINT NOT NULL,
  data_json TEXT NOT NULL,
  PRIMARY KEY (model, kind, start_ms, version)
);
)sql"},
    {"validations", R"sql(
CREATE TABLE validations (
  id BIGSERIAL PRIMARY KEY,
  model TEXT NOT NULL,
  version BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  passed BOOLEAN NOT NULL,
  at_ms BIGINT NOT NULL,
  who TEXT NOT NULL,
  report_json TEXT NOT NULL
);
CREATE INDEX validations_version ON validations (model, version, id);
)sql"},
};
constexpr int kKnownVersion = static_cast<int>(std::size(kMigrations));
// pg_advisory_lock's key for migrations: any constant of our own ("inferd" in ASCII).
constexpr const char* kMigrationLock = "SELECT pg_advisory_lock(105110102101114100)";
constexpr const char* kMigrationUnlock = "SELECT pg_advisory_unlock(105110102101114100)";

// A query's parameters, as text or (for BYTEA) binary.
class Params {
 public:
  Params& Text(std::string v) {
    values_.push_back(std::move(v));
    formats_.push_back(0);
    nulls_.push_back(false);
    return *this;
  }
  Params& Int(int64_t v) { return Text(std::to_string(v)); }
  Params& Real(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    return Text(buf);
  }
  Params& Bool(bool v) { return Text(v ? "true" : "false"); }
  Params& Bytes(std::string_view v) {
    values_.emplace_back(v);
    formats_.push_back(1);
    nulls_.push_back(false);
    return *this;
  }
  Params& Null() {
    values_.emplace_back();
    formats_.push_back(0);
    nulls_.push_back(true);
    return *this;
  }
  // A text[] literal, {"a","b"}: each element quoted, with " and \ escaped.
  Params& TextArray(const std::vector<std::string>& items) {
    std::string lit = "{";
    for (size_t i = 0; i < items.size(); ++i) {
      if (i) lit += ',';
      lit += '"';
      for (char c : items[i]) {
        if (c == '"' || c == '\\') lit += '\\';
        lit += c;
      }
      lit += '"';
    }
    lit += '}';
    return Text(std::move(lit));
  }
  Params& IntArray(const std::vector<int64_t>& items) {
    std::string lit = "{";
    for (size_t i = 0; i < items.size(); ++i) lit += (i ? "," : "") + std::to_string(items[i]);
    return Text(lit + "}");
  }

  int size() const { return static_cast<int>(values_.size()); }
  // The arrays libpq takes (valid while this object lives and is not changed).
  void Arrays(std::vector<const char*>* values, std::vector<int>* lengths) const {
    values->clear();
    lengths->clear();
    for (size_t i = 0; i < values_.size(); ++i) {
      values->push_back(nulls_[i] ? nullptr : values_[i].data());
      lengths->push_back(static_cast<int>(values_[i].size()));
    }
  }
  const int* formats() const { return formats_.data(); }

 private:
  std::vector<std::string> values_;
  std::vector<int> formats_;
  std::vector<bool> nulls_;
};

// A query's result rows (text format unless asked for binary).
class Result {
 public:
  explicit Result(PGresult* r) : r_(r, &PQclear) {}
  PGresult* raw() const { return r_.get(); }
  int rows() const { return PQntuples(r_.get()); }
  int64_t affected() const {
    const char* n = PQcmdTuples(r_.get());
    return n && *n ? std::atoll(n) : 0;
  }
  bool Null(int row, int col) const { return PQgetisnull(r_.get(), row, col); }
  std::string Text(int row, int col) const {
    return std::string(PQgetvalue(r_.get(), row, col),
                       static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  std::string_view Bytes(int row, int col) const {
    return std::string_view(PQgetvalue(r_.get(), row, col),
                            static_cast<size_t>(PQgetlength(r_.get(), row, col)));
  }
  int64_t Int(int row, int col) const { return std::atoll(PQgetvalue(r_.get(), row, col)); }
  // A BIGINT column of a binary-format result (big-endian).
  int64_t BinaryInt(int row, int col) const {
    uint64_t v = 0;
    const auto* p = reinterpret_cast<const unsigned char*>(PQgetvalue(r_.get(), row, col));
    for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
    return static_cast<int64_t>(v);
  }
  double Real(int row, int col) const { return std::atof(PQgetvalue(r_.get(), row, col)); }
  bool Bool(int row, int col) const { return PQgetvalue(r_.get(), row, col)[0] == 't'; }

 private:
  std::unique_ptr<PGresult, decltype(&PQclear)> r_;
};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// SQLSTATEs a transaction is retried for: serialization_failure, deadlock_detected.
bool Retryable(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

}  // namespace

class PostgresStore::Connection {
 public:
  explicit Connection(PGconn* conn) : conn_(conn) {}
  ~Connection() { PQfinish(conn_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement. `what` names the operation in errors. After an error, sqlstate() is
  // PostgreSQL's code for it (empty when the connection failed).
  // Outside a transaction, a statement that finds the connection broken (PostgreSQL restarted,
  // the connection was cut while idle) reconnects and runs once more: the break shows only when
  // a statement fails, and nothing of this one was done.
  base::StatusOr<Result> Run(const char* sql, const Params& params, const std::string& what,
                             int result_format = 0) {
    std::vector<const char*> values;
    std::vector<int> lengths;
    params.Arrays(&values, &lengths);
    for (int attempt = 0;; ++attempt) {
      RETURN_IF_ERROR(Connected(what));
      auto r = Check(Result(PQexecParams(conn_, sql, params.size(), nullptr, values.data(),
                                         lengths.data(), params.formats(), result_format)),
                     what);
      if (r.ok() || attempt > 0 || in_transaction_ || !broken()) return r;
    }
  }
  // Runs statements without parameters (several, separated by ';').
  base::StatusOr<Result> Run(const char* sql, const std::string& what) {
    for (int attempt = 0;; ++attempt) {
      RETURN_IF_ERROR(Connected(what));
      auto r = Check(Result(PQexec(conn_, sql)), what);
      if (r.ok() || attempt > 0 || in_transaction_ || !broken()) return r;
    }
  }
  const std::string& sqlstate() const { return sqlstate_; }
  // Whether the last failure was the connection's (no SQLSTATE, the connection is down).
  bool broken() const { return sqlstate_.empty() && PQstatus(conn_) != CONNECTION_OK; }
  // Inside a transaction a broken connection is not re-established: the transaction failed.
  void set_in_transaction(bool in) { in_transaction_ = in; }

 private:
  base::Status Connected(const std::string& what) {
    sqlstate_.clear();
    if (PQstatus(conn_) == CONNECTION_OK) return base::Status::Ok();
    // Re-established here (PostgreSQL restarted, the connection dropped): the call that saw it
    // break failed; this one goes on.
    if (!in_transaction_) PQreset(conn_);
    if (PQstatus(conn_) == CONNECTION_OK) return base::Status::Ok();
    return base::Unavailable(what + ": PostgreSQL is unreachable: " + Trim(PQerrorMessage(conn_)));
  }
  base::StatusOr<Result> Check(Result r, const std::string& what) {
    const auto status = PQresultStatus(r.raw());
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
    const char* state = PQresultErrorField(r.raw(), PG_DIAG_SQLSTATE);
    sqlstate_ = state ? state : "";
    const char* message = PQresultErrorMessage(r.raw());
    return base::Unavailable(what + ": " +
                             Trim(message && *message ? message : PQerrorMessage(conn_)));
  }

  PGconn* conn_;
  std::string sqlstate_;
  bool in_transaction_ = false;
};

namespace {

// `url` without its password (a URI's user:password@, or password=... of a key=value string).
std::string WithoutPassword(const std::string& url) {
  std::string out = url;
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    const size_t from = scheme + 3;
    const size_t at = out.find('@', from);
    const size_t slash = out.find('/', from);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      const size_t colon = out.find(':', from);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  for (size_t p = out.find("password="); p != std::string::npos; p = out.find("password=", p + 1)) {
    const size_t from = p + 9;
    size_t end = out.find_first_of("& ", from);
    if (end == std::string::npos) end = out.size();
    out.replace(from, end - from, "***");
  }
  return out;
}

}  // namespace

PostgresStore::PostgresStore(std::unique_ptr<Connection> db, std::string describe)
    : db_(std::move(db)), describe_(std::move(describe)) {}

PostgresStore::~PostgresStore() = default;

int PostgresStore::KnownSchemaVersion() { return kKnownVersion; }

base::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(const std::string& url) {
  // A URL libpq cannot parse: its message would quote the bad part, which may be the password
  // (a stray '%', a space), so it is not passed on.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &parse_error);
  PQfreemem(parse_error);
  if (parsed == nullptr) {
    return base::Unavailable("cannot connect to PostgreSQL at " + WithoutPassword(url) +
                             ": libpq cannot parse the URL (a '%' not followed by two hex "
                             "digits, or a space, in one of its parts?)");
  }
  PQconninfoFree(parsed);
  // Defaults first: what the URL says overrides them.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "inferd", url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return base::Unavailable("PostgreSQL: out of memory");
  auto db = std::make_unique<Connection>(conn);
  if (PQstatus(conn) != CONNECTION_OK) {
    return base::Unavailable("cannot connect to PostgreSQL at " + WithoutPassword(url) + ": " +
                             Trim(PQerrorMessage(conn)));
  }
  const std::string host = PQhost(conn) ? PQhost(conn) : "";
  std::string describe = std::string("postgres://") + PQuser(conn) + "@" +
                         (host.empty() || host[0] == '/' ? "[" + host + "]" : host) + ":" +
                         PQport(conn) + "/" + PQdb(conn);
  // Quiet: the server's notices (a ROLLBACK with no transaction left) are not for stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(db), describe));
  RETURN_IF_ERROR(store->Migrate().WithContext(describe));
  return store;
}

base::Status PostgresStore::Migrate() {
  std::lock_guard<std::mutex> lock(mu_);
  // Replicas starting together: one applies the migrations, the others wait, then see them.
  RETURN_IF_ERROR(db_->Run(kMigrationLock, "taking the migration lock").status());
  auto migrate = [&]() -> base::Status {
    RETURN_IF_ERROR(db_->Run("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER "
                             "PRIMARY KEY, description TEXT NOT NULL, applied_at_ms BIGINT NOT "
                             "NULL)",
                             "creating schema_migrations")
                        .status());
    ASSIGN_OR_RETURN(auto have, db_->Run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                         "reading the schema version"));
    const int version = static_cast<int>(have.Int(0, 0));
    if (version > kKnownVersion) {
      return base::Unavailable("the database has schema version " + std::to_string(version) +
                               "; this inferd knows versions up to " +
                               std::to_string(kKnownVersion) + " (a newer inferd migrated it)");
    }
    for (int v = version + 1; v <= kKnownVersion; ++v) {
      const Migration& m = kMigrations[v - 1];
      const std::string what = "migration " + std::to_string(v) + " (" + m.description + ")";
      RETURN_IF_ERROR(InTransaction(what, [&]() -> base::Status {
        RETURN_IF_ERROR(db_->Run(m.sql, what).status());
        return db_
            ->Run(
                "INSERT INTO schema_migrations (version, description, applied_at_ms) VALUES "
                "($1, $2, (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT)",
                Params().Int(v).Text(m.description), what)
            .status();
      }));
    }
    return base::Status::Ok();
  };
  base::Status st = migrate();
  (void)db_->Run(kMigrationUnlock, "releasing the migration lock");
  return st;
}

base::StatusOr<int> PostgresStore::SchemaVersion() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto r, db_->Run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                                    "reading the schema version"));
  return static_cast<int>(r.Int(0, 0));
}

template <typename Fn>
base::Status PostgresStore::InTransaction(const std::string& what, Fn body) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    RETURN_IF_ERROR(db_->Run("BEGIN", what).status());
    db_->set_in_transaction(true);
    base::Status st = body();
    std::string state = db_->sqlstate();
    // The connection broke before COMMIT was sent: PostgreSQL keeps nothing of this attempt.
    const bool broken_before_commit = !st.ok() && db_->broken();
    if (st.ok()) {
      st = db_->Run("COMMIT", what).status();
      state = db_->sqlstate();
    }
    if (!st.ok()) (void)db_->Run("ROLLBACK", what);
    db_->set_in_transaction(false);
    // A deadlock or serialization failure: PostgreSQL undid this one; the next attempt redoes it.
    // (A connection lost at COMMIT is not retried: the commit may have happened.)
    if (st.ok() || !(Retryable(state) || broken_before_commit) || attempt == kAttempts) return st;
  }
}

base::Status PostgresStore::PutVersion(const VersionRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  return db_
      ->Run(
          "INSERT INTO versions (model, version, sha256, bytes, files_json, backend, "
          "lineage_json, loaded_at_ms, load_ms, result) VALUES ($1, $2, $3, $4, $5, $6, $7, "
          "$8, $9, $10) ON CONFLICT (model, version) DO UPDATE SET sha256 = EXCLUDED.sha256, "
          "bytes = EXCLUDED.bytes, files_json = EXCLUDED.files_json, backend = "
          "EXCLUDED.backend, lineage_json = EXCLUDED.lineage_json, loaded_at_ms = "
          "EXCLUDED.loaded_at_ms, load_ms = EXCLUDED.load_ms, result = EXCLUDED.result",
          Params()
              .Text(r.model)
              .Int(r.version)
              .Text(r.sha256)
              .Int(r.bytes)
              .Text(r.files_json)
              .Text(r.backend)
              .Text(r.lineage_json)
              .Int(r.loaded_at_ms)
              .Real(r.load_ms)
              .Text(r.result),
          "recording a version")
      .status();
}

base::StatusOr<std::vector<VersionRecord>> PostgresStore::Versions(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto q, db_->Run("SELECT model, version, sha256, bytes, files_json, backend, "
                                    "lineage_json, loaded_at_ms, load_ms, result FROM versions "
                                    "WHERE model = $1 ORDER BY version",
                                    Params().Text(model), "reading versions"));
  std::vector<VersionRecord> out;
  for (int i = 0; i < q.rows(); ++i) {
    out.push_back({q.Text(i, 0), q.Int(i, 1), q.Text(i, 2), q.Int(i, 3), q.Text(i, 4), q.Text(i, 5),
                   q.Text(i, 6), q.Int(i, 7), q.Real(i, 8), q.Text(i, 9)});
  }
  return out;
}

base::Status PostgresStore::InsertAudit(const AuditEntry& a) {
  return db_
      ->Run("INSERT INTO audit (at_ms, who, action, model, detail) VALUES ($1, $2, $3, $4, $5)",
            Params().Int(a.at_ms).Text(a.who).Text(a.action).Text(a.model).Text(a.detail),
            "writing the audit trail")
      .status();
}

base::Status PostgresStore::PutRollout(const RolloutRecord& r, const AuditEntry& a) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = "storing the rollout of '" + r.model + "'";
  return InTransaction(what, [&]() -> base::Status {
    RETURN_IF_ERROR(
        db_->Run("INSERT INTO rollout (model, policy_json, updated_at_ms, updated_by) "
                 "VALUES ($1, $2, $3, $4) ON CONFLICT (model) DO UPDATE SET "
                 "policy_json = EXCLUDED.policy_json, updated_at_ms = "
                 "EXCLUDED.updated_at_ms, updated_by = EXCLUDED.updated_by",
                 Params().Text(r.model).Text(r.policy_json).Int(r.updated_at_ms).Text(r.updated_by),
                 what)
            .status());
    return InsertAudit(a);
  });
}

base::StatusOr<std::vector<RolloutRecord>> PostgresStore::Rollouts() {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto q, db_->Run("SELECT model, policy_json, updated_at_ms, updated_by FROM "
                                    "rollout ORDER BY model",
                                    "reading rollouts"));
  std::vector<RolloutRecord> out;
  for (int i = 0; i < q.rows(); ++i) {
    out.push_back({q.Text(i, 0), q.Text(i, 1), q.Int(i, 2), q.Text(i, 3)});
  }
  return out;
}

base::Status PostgresStore::Audit(const AuditEntry& entry) {
  std::lock_guard<std::mutex> lock(mu_);
  return InsertAudit(entry);
}

base::StatusOr<std::vector<AuditEntry>> PostgresStore::AuditLog(const std::string& model,
                                                                int limit) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto q, db_->Run("SELECT at_ms, who, action, model, detail FROM audit WHERE "
                                    "($1 = '' OR model = $1) ORDER BY id DESC LIMIT $2",
                                    Params().Text(model).Int(limit), "reading the audit trail"));
  std::vector<AuditEntry> out;
  for (int i = 0; i < q.rows(); ++i) {
    out.push_back({q.Int(i, 0), q.Text(i, 1), q.Text(i, 2), q.Text(i, 3), q.Text(i, 4)});
  }
  return out;
}

base::Status PostgresStore::PutValidation(const ValidationRecord& r, const AuditEntry& a) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = "recording the validation of '" + r.model + "'";
  return InTransaction(what, [&]() -> base::Status {
    RETURN_IF_ERROR(db_->Run("INSERT INTO validations (model, version, sha256, passed, at_ms, "
                             "who, report_json) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                             Params()
                                 .Text(r.model)
                                 .Int(r.version)
                                 .Text(r.sha256)
                                 .Bool(r.passed)
                                 .Int(r.at_ms)
                                 .Text(r.who)
                                 .Text(r.report_json),
                             what)
                        .status());
    return InsertAudit(a);
  });
}

base::StatusOr<std::vector<ValidationRecord>> PostgresStore::Validations(const std::string& model,
                                                                         int64_t version) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto q, db_->Run("SELECT DISTINCT ON (version) model, version, sha256, passed, "
                                    "at_ms, who, report_json FROM validations WHERE model = $1 "
                                    "AND ($2::BIGINT <= 0 OR version = $2::BIGINT) ORDER BY "
                                    "version, id DESC",
                                    Params().Text(model).Int(version), "reading validations"));
  std::vector<ValidationRecord> out;
  for (int i = 0; i < q.rows(); ++i) {
    out.push_back({q.Text(i, 0), q.Int(i, 1), q.Text(i, 2), q.Bool(i, 3), q.Int(i, 4), q.Text(i, 5),
                   q.Text(i, 6)});
  }
  return out;
}

base::Status PostgresStore::PutPredictions(
    const std::vector<monitoring::PredictionRecord>& records) {
  std::lock_guard<std::mutex> lock(mu_);
  std::map<std::string, std::vector<const monitoring::PredictionRecord*>> by_model;
  for (const auto& r : records) by_model[r.model].push_back(&r);
  const std::string what = "storing predictions";
  return InTransaction(what, [&]() -> base::Status {
    for (const auto& [model, recs] : by_model) {
      // The batch's number, reserved first: indexed ids point at it. (Numbers from a sequence:
      // replicas writing at once never take the same.)
      ASSIGN_OR_RETURN(auto next,
                       db_->Run("SELECT nextval(pg_get_serial_sequence('prediction_batches', "
                                "'seq'))",
                                Params(), what));
      const int64_t seq = next.Int(0, 0);
      BatchEncoder enc(recs);
      for (const auto* r : recs) {
        if (!base::RequestIdTimeMs(r->id)) {
          ASSIGN_OR_RETURN(auto put, db_->Run("INSERT INTO prediction_ids (model, id, batch) "
                                              "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                              Params().Text(model).Text(r->id).Int(seq), what));
          if (put.affected() == 0) continue;  // the model has this id already
        }
        enc.Add(*r);
      }
      if (enc.count() == 0) continue;
      Params p;
      p.Int(seq).Text(model).Int(enc.first_ms()).Int(enc.last_ms());
      if (enc.has_id_times()) {
        p.Int(enc.id_min_ms()).Int(enc.id_max_ms());
      } else {
        p.Null().Null();
      }
      p.Int(enc.count()).Bytes(enc.data());
      RETURN_IF_ERROR(db_->Run("INSERT INTO prediction_batches (seq, model, first_ms, last_ms, "
                               "id_min_ms, id_max_ms, count, data) VALUES ($1, $2, $3, $4, $5, "
                               "$6, $7, $8)",
                               p, what)
                          .status());
    }
    return base::Status::Ok();
  });
}

base::StatusOr<std::vector<monitoring::PredictionRecord>> PostgresStore::ListPredictions(
    const std::string& model, int64_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<monitoring::PredictionRecord> out;
  // Newest batches first, a few at a time, until `limit` records.
  int64_t before = INT64_MAX;
  while (static_cast<int64_t>(out.size()) < limit) {
    ASSIGN_OR_RETURN(auto q, db_->Run("SELECT seq, data FROM prediction_batches WHERE model = $1 "
                                      "AND seq < $2 ORDER BY seq DESC LIMIT 16",
                                      Params().Text(model).Int(before), "reading predictions",
                                      /*result_format=*/1));
    if (q.rows() == 0) break;
    for (int i = 0; i < q.rows() && static_cast<int64_t>(out.size()) < limit; ++i) {
      AppendNewestFirst(q.Bytes(i, 1), model, limit, &out);
      before = q.BinaryInt(i, 0);
    }
  }
  return out;
}

base::StatusOr<std::vector<monitoring::PredictionRecord>> PostgresStore::GetPredictions(
    const std::string& model, const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = "reading predictions";
  std::map<int64_t, std::set<std::string>> wanted;  // batch seq -> ids
  // inferd's ids, by their time: the batches whose id range may hold them, in one query.
  std::multimap<int64_t, const std::string*> by_time;
  std::vector<std::string> others;
  for (const auto& id : ids) {
    if (auto t = base::RequestIdTimeMs(id)) {
      by_time.emplace(*t, &id);
    } else {
      others.push_back(id);
    }
  }
  if (!by_time.empty()) {
    ASSIGN_OR_RETURN(
        auto q, db_->Run("SELECT seq, id_min_ms, id_max_ms FROM prediction_batches WHERE model = "
                         "$1 AND id_min_ms BETWEEN $2 AND $3",
                         Params()
                             .Text(model)
                             .Int(by_time.begin()->first - kBatchIdSpanMs)
                             .Int(by_time.rbegin()->first),
                         what));
    for (int i = 0; i < q.rows(); ++i) {
      // The ids made within the batch's id range and the span after its start.
      const int64_t lo = q.Int(i, 1);
      const int64_t hi = std::min(q.Int(i, 2), lo + kBatchIdSpanMs);
      for (auto it = by_time.lower_bound(lo); it != by_time.end() && it->first <= hi; ++it) {
        wanted[q.Int(i, 0)].insert(*it->second);
      }
    }
  }
  if (!others.empty()) {
    ASSIGN_OR_RETURN(auto q, db_->Run("SELECT batch, id FROM prediction_ids WHERE model = $1 AND "
                                      "id = ANY($2::TEXT[])",
                                      Params().Text(model).TextArray(others), what));
    for (int i = 0; i < q.rows(); ++i) wanted[q.Int(i, 0)].insert(q.Text(i, 1));
  }
  std::vector<monitoring::PredictionRecord> out;
  if (wanted.empty()) return out;
  std::vector<int64_t> seqs;
  for (const auto& entry : wanted) seqs.push_back(entry.first);
  ASSIGN_OR_RETURN(
      auto batches,
      db_->Run(
          "SELECT seq, data FROM prediction_batches WHERE seq = ANY($1::BIGINT[]) ORDER BY seq",
          Params().IntArray(seqs), what, /*result_format=*/1));
  std::set<std::string> found;
  for (int i = 0; i < batches.rows(); ++i) {
    const std::set<std::string>& want = wanted[batches.BinaryInt(i, 0)];
    ForEachRecord(batches.Bytes(i, 1), model, [&](monitoring::PredictionRecord r) {
      if (want.contains(r.id) && found.insert(r.id).second) out.push_back(std::move(r));
    });
  }
  if (out.empty()) return out;
  ASSIGN_OR_RETURN(
      auto fb,
      db_->Run("SELECT id FROM feedback WHERE model = $1 AND id = "
               "ANY($2::TEXT[])",
               Params().Text(model).TextArray(std::vector<std::string>(found.begin(), found.end())),
               what));
  std::set<std::string> has;
  for (int i = 0; i < fb.rows(); ++i) has.insert(fb.Text(i, 0));
  for (auto& r : out) r.has_feedback = has.contains(r.id);
  return out;
}

base::Status PostgresStore::MergeBucketsLocked(const std::vector<monitoring::MonitorBucket>& deltas,
                                               const MergeFn& merge) {
  const std::string what = "merging monitoring buckets";
  // In key order: two replicas merging the same buckets lock them in the same order.
  std::vector<const monitoring::MonitorBucket*> sorted;
  for (const auto& d : deltas) sorted.push_back(&d);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return std::tie(a->model, a->kind, a->start_ms, a->version) <
           std::tie(b->model, b->kind, b->start_ms, b->version);
  });
  for (const auto* d : sorted) {
    // A new bucket is the delta. (ON CONFLICT waits for a replica inserting the same one.)
    ASSIGN_OR_RETURN(auto put,
                     db_->Run("INSERT INTO monitor_buckets (model, version, kind, start_ms, "
                              "data_json) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                              Params()
                                  .Text(d->model)
                                  .Int(d->version)
                                  .Text(d->kind)
                                  .Int(d->start_ms)
                                  .Text(d->data_json),
                              what));
    if (put.affected() == 1) continue;
    // Else merge into the stored one, locked until the transaction ends.
    Params key;
    key.Text(d->model).Text(d->kind).Int(d->start_ms).Int(d->version);
    ASSIGN_OR_RETURN(auto get, db_->Run("SELECT data_json FROM monitor_buckets WHERE model = $1 "
                                        "AND kind = $2 AND start_ms = $3 AND version = $4 FOR "
                                        "UPDATE",
                                        key, what));
    if (get.rows() != 1) return base::Unavailable(what + ": a bucket vanished while merging");
    ASSIGN_OR_RETURN(std::string merged, merge(d->kind, get.Text(0, 0), d->data_json));
    key.Text(std::move(merged));
    RETURN_IF_ERROR(db_->Run("UPDATE monitor_buckets SET data_json = $5 WHERE model = $1 AND "
                             "kind = $2 AND start_ms = $3 AND version = $4",
                             key, what)
                        .status());
  }
  return base::Status::Ok();
}

base::Status PostgresStore::PutFeedback(const std::vector<monitoring::FeedbackRecord>& feedback,
                                        const std::vector<monitoring::MonitorBucket>& deltas,
                                        const MergeFn& merge) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = "storing feedback";
  // One statement for the lot, in id order (two replicas inserting overlapping ids wait for each
  // other in the same order, never in a cycle).
  std::vector<const monitoring::FeedbackRecord*> sorted;
  for (const auto& f : feedback) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const auto* a, const auto* b) {
    return std::tie(a->model, a->id) < std::tie(b->model, b->id);
  });
  std::vector<std::string> models, ids, labels;
  std::vector<int64_t> times;
  for (const auto* f : sorted) {
    models.push_back(f->model);
    ids.push_back(f->id);
    times.push_back(f->at_ms);
    labels.push_back(f->label_json);
  }
  return InTransaction(what, [&]() -> base::Status {
    ASSIGN_OR_RETURN(
        auto put,
        db_->Run("INSERT INTO feedback (model, id, at_ms, label_json) SELECT * FROM "
                 "unnest($1::TEXT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[]) ON CONFLICT DO NOTHING "
                 "RETURNING model, id",
                 Params().TextArray(models).TextArray(ids).IntArray(times).TextArray(labels),
                 what));
    if (put.rows() != static_cast<int>(sorted.size())) {
      // Another replica stored feedback for one of these ids since this one read them.
      std::set<std::pair<std::string, std::string>> stored;
      for (int i = 0; i < put.rows(); ++i) stored.emplace(put.Text(i, 0), put.Text(i, 1));
      for (const auto* f : sorted) {
        if (!stored.contains({f->model, f->id})) {
          return base::Status(base::StatusCode::kAlreadyExists,
                              "prediction '" + f->id +
                                  "' already has feedback (stored through another replica "
                                  "meanwhile); nothing of this request was stored");
        }
      }
    }
    return MergeBucketsLocked(deltas, merge);
  });
}

base::Status PostgresStore::MergeBuckets(const std::vector<monitoring::MonitorBucket>& deltas,
                                         const MergeFn& merge) {
  std::lock_guard<std::mutex> lock(mu_);
  return InTransaction("merging monitoring buckets",
                       [&]() -> base::Status { return MergeBucketsLocked(deltas, merge); });
}

base::StatusOr<std::vector<monitoring::MonitorBucket>> PostgresStore::Buckets(
    const std::string& model, const std::string& kind, int64_t since_ms) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(auto q, db_->Run("SELECT model, version, kind, start_ms, data_json FROM "
                                    "monitor_buckets WHERE model = $1 AND kind = $2 AND start_ms "
                                    ">= $3 ORDER BY start_ms, version",
                                    Params().Text(model).Text(kind).Int(since_ms),
                                    "reading monitoring buckets"));
  std::vector<monitoring::MonitorBucket> out;
  for (int i = 0; i < q.rows(); ++i) {
    out.push_back({q.Text(i, 0), q.Int(i, 1), q.Text(i, 2), q.Int(i, 3), q.Text(i, 4)});
  }
  return out;
}

base::StatusOr<int64_t> PostgresStore::Prune(const std::string& model, int64_t before_ms,
                                             int64_t keep) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string what = "pruning monitoring records";
  int64_t dropped = 0;
  RETURN_IF_ERROR(InTransaction(what, [&]() -> base::Status {
    dropped = 0;
    ASSIGN_OR_RETURN(auto q, db_->Run("SELECT seq, count, last_ms FROM prediction_batches WHERE "
                                      "model = $1 ORDER BY seq DESC",
                                      Params().Text(model), what));
    std::vector<BatchAge> ages;
    for (int i = 0; i < q.rows(); ++i) ages.push_back({q.Int(i, 0), q.Int(i, 1), q.Int(i, 2)});
    const int64_t keep_from = FirstBatchToKeep(ages, before_ms, keep);
    // The batches and their indexed ids in one statement (one snapshot: a batch committed
    // meanwhile keeps both).
    ASSIGN_OR_RETURN(auto del, db_->Run("WITH gone AS (DELETE FROM prediction_batches WHERE "
                                        "model = $1 AND seq < $2 RETURNING seq, count), ids AS "
                                        "(DELETE FROM prediction_ids WHERE model = $1 AND batch "
                                        "IN (SELECT seq FROM gone)) SELECT COALESCE(SUM(count), "
                                        "0) FROM gone",
                                        Params().Text(model).Int(keep_from), what));
    dropped = del.Int(0, 0);
    for (const char* sql : {"DELETE FROM feedback WHERE model = $1 AND at_ms < $2",
                            "DELETE FROM monitor_buckets WHERE model = $1 AND start_ms < $2"}) {
      RETURN_IF_ERROR(db_->Run(sql, Params().Text(model).Int(before_ms), what).status());
    }
    return base::Status::Ok();
  }));
  return dropped;
}

}  // namespace inferd::store
