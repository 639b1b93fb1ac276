#include "store/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fstream>
#include <set>

#include "base/ids.h"

namespace inferd::store {
namespace {

namespace fs = std::filesystem;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferd_store_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

VersionRecord Record(const std::string& model, int64_t version, const std::string& sha) {
  VersionRecord r;
  r.model = model;
  r.version = version;
  r.sha256 = sha;
  r.bytes = 100 * version;
  r.files_json = R"([{"path":"model.json"}])";
  r.backend = "xgboost_json";
  r.lineage_json = R"({"author":"ana"})";
  r.loaded_at_ms = 1700000000000 + version;
  r.load_ms = 1.5;
  r.result = "ready";
  return r;
}

TEST_F(SqliteStoreTest, RecordsVersionsAndKeepsThemAcrossReopen) {
  {
    auto store = SqliteStore::Open(dir_ / "state");
    ASSERT_TRUE(store.ok()) << store.status().message();
    EXPECT_EQ((*store)->Describe(), "sqlite:" + (dir_ / "state" / "inferd.db").string());
    ASSERT_TRUE((*store)->PutVersion(Record("m", 2, "bb")).ok());
    ASSERT_TRUE((*store)->PutVersion(Record("m", 1, "aa")).ok());
    ASSERT_TRUE((*store)->PutVersion(Record("other", 1, "cc")).ok());
    // A later load of the same version replaces the record.
    auto again = Record("m", 2, "dd");
    again.result = "failed: truncated file";
    ASSERT_TRUE((*store)->PutVersion(again).ok());
  }
  auto store = SqliteStore::Open(dir_ / "state");
  ASSERT_TRUE(store.ok());
  auto versions = (*store)->Versions("m");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version, 1);
  EXPECT_EQ((*versions)[0].sha256, "aa");
  EXPECT_EQ((*versions)[0].lineage_json, R"({"author":"ana"})");
  EXPECT_EQ((*versions)[0].loaded_at_ms, 1700000000001);
  EXPECT_DOUBLE_EQ((*versions)[0].load_ms, 1.5);
  EXPECT_EQ((*versions)[1].sha256, "dd");
  EXPECT_EQ((*versions)[1].result, "failed: truncated file");
  EXPECT_EQ((*versions)[1].bytes, 200);
  EXPECT_TRUE((*store)->Versions("nobody")->empty());
  // WAL mode, so readers never wait for the writer.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "state" / "inferd.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &q, nullptr);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), "wal");
  sqlite3_finalize(q);
  sqlite3_close(db);
}

TEST_F(SqliteStoreTest, ErrorsNameThePath) {
  fs::create_directories(dir_);
  { std::ofstream(dir_ / "file") << "x"; }
  auto not_dir = SqliteStore::Open(dir_ / "file");
  ASSERT_FALSE(not_dir.ok());
  EXPECT_EQ(not_dir.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(not_dir.status().message().find((dir_ / "file").string()), std::string::npos)
      << not_dir.status().message();

  fs::create_directories(dir_ / "junk");
  { std::ofstream(dir_ / "junk" / "inferd.db") << "this is not a database, it is text"; }
  auto junk = SqliteStore::Open(dir_ / "junk");
  ASSERT_FALSE(junk.ok());
  EXPECT_NE(junk.status().message().find("inferd.db"), std::string::npos)
      << junk.status().message();

  // A database from a newer inferd is not read.
  auto fresh = SqliteStore::Open(dir_ / "newer");
  ASSERT_TRUE(fresh.ok());
  fresh->reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "newer" / "inferd.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "UPDATE schema_version SET version = 99", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto newer = SqliteStore::Open(dir_ / "newer");
  ASSERT_FALSE(newer.ok());
  EXPECT_NE(newer.status().message().find("schema version 99"), std::string::npos)
      << newer.status().message();
}

TEST_F(SqliteStoreTest, RolloutAndAuditTogether) {
  {
    auto store = SqliteStore::Open(dir_ / "state");
    ASSERT_TRUE(store.ok());
    AuditEntry a{1000, "127.0.0.1", "rollout_set", "m", R"({"weights":{"canary":10}})"};
    ASSERT_TRUE(
        (*store)->PutRollout({"m", R"({"labels":{"canary":3}})", 1000, "127.0.0.1"}, a).ok());
    a.at_ms = 2000;
    a.action = "promote";
    ASSERT_TRUE(
        (*store)->PutRollout({"m", R"({"labels":{"stable":3}})", 2000, "127.0.0.1"}, a).ok());
    ASSERT_TRUE((*store)->Audit({3000, "127.0.0.1", "load", "other", "version 1"}).ok());
  }
  auto store = SqliteStore::Open(dir_ / "state");
  ASSERT_TRUE(store.ok());
  auto rollouts = (*store)->Rollouts();
  ASSERT_TRUE(rollouts.ok());
  ASSERT_EQ(rollouts->size(), 1u);
  EXPECT_EQ((*rollouts)[0].policy_json, R"({"labels":{"stable":3}})");  // the latest
  auto all = (*store)->AuditLog("", 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].action, "load");  // newest first
  EXPECT_EQ((*all)[2].action, "rollout_set");
  auto m = (*store)->AuditLog("m", 1);
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].action, "promote");
}

TEST_F(SqliteStoreTest, ValidationsKeepTheLatestPerVersionWithTheirAudit) {
  {
    auto store = SqliteStore::Open(dir_ / "state");
    ASSERT_TRUE(store.ok());
    auto put = [&](int64_t version, bool passed, int64_t at, const std::string& report) {
      ValidationRecord r{"m", version, "sha" + std::to_string(version), passed, at, "ci", report};
      return (*store)->PutValidation(r, {at, "ci", "validate", "m", report});
    };
    ASSERT_TRUE(put(2, false, 1000, R"({"failed":["min roc_auc"]})").ok());
    ASSERT_TRUE(put(2, true, 2000, R"({"failed":[]})").ok());
    ASSERT_TRUE(put(3, false, 3000, R"({"failed":["max_drop"]})").ok());
    ValidationRecord other{"other", 1, "", true, 4000, "ci", "{}"};
    ASSERT_TRUE((*store)->PutValidation(other, {4000, "ci", "validate", "other", "{}"}).ok());
  }
  auto store = SqliteStore::Open(dir_ / "state");  // it outlives a restart
  ASSERT_TRUE(store.ok());
  auto all = (*store)->Validations("m", 0);
  ASSERT_TRUE(all.ok()) << all.status().message();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].version, 2);
  EXPECT_TRUE((*all)[0].passed);  // the latest of version 2
  EXPECT_EQ((*all)[0].at_ms, 2000);
  EXPECT_EQ((*all)[0].sha256, "sha2");
  EXPECT_EQ((*all)[1].version, 3);
  EXPECT_FALSE((*all)[1].passed);
  EXPECT_EQ((*all)[1].report_json, R"({"failed":["max_drop"]})");
  auto three = (*store)->Validations("m", 3);
  ASSERT_EQ(three->size(), 1u);
  EXPECT_EQ((*three)[0].version, 3);
  EXPECT_TRUE((*store)->Validations("m", 7)->empty());
  auto log = (*store)->AuditLog("m", 10);
  ASSERT_EQ(log->size(), 3u);
  EXPECT_EQ((*log)[0].action, "validate");
}

TEST_F(SqliteStoreTest, AVersionOneDatabaseIsUpgraded) {
  fs::create_directories(dir_ / "old");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((dir_ / "old" / "inferd.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE TABLE schema_version (version INTEGER NOT NULL);"
                         "INSERT INTO schema_version VALUES (1);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStore::Open(dir_ / "old");
  ASSERT_TRUE(store.ok()) << store.status().message();
  EXPECT_TRUE((*store)->Audit({1, "x", "load", "m", ""}).ok());
}

monitoring::PredictionRecord Prediction(const std::string& id, int64_t at_ms) {
  monitoring::PredictionRecord r;
  r.model = "m";
  r.id = id;
  r.version = 1;
  r.at_ms = at_ms;
  r.outputs_json = "{\"label\":[1]}";
  return r;
}

// Buckets here hold a number; merging adds.
base::StatusOr<std::string> AddNumbers(const std::string&, const std::string& a,
                                       const std::string& b) {
  if (b == "bad") return base::InvalidArgument("cannot merge 'bad'");
  return std::to_string(std::stoll(a) + std::stoll(b));
}

TEST_F(SqliteStoreTest, PredictionsFeedbackAndBuckets) {
  auto store = SqliteStore::Open(dir_);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto& s = **store;
  ASSERT_TRUE(s.PutPredictions({Prediction("a", 1000), Prediction("b", 2000)}).ok());
  auto again = Prediction("a", 9999);  // an id already stored is kept as it was
  ASSERT_TRUE(s.PutPredictions({again}).ok());
  auto got = s.GetPredictions("m", {"a", "zzz", "b"});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].at_ms, 1000);
  EXPECT_FALSE((*got)[0].has_feedback);
  EXPECT_TRUE(s.GetPredictions("other", {"a"})->empty());

  monitoring::MonitorBucket q{"m", 1, "quality", 60000, "5"};
  ASSERT_TRUE(s.PutFeedback({{"m", "a", 3000, "1"}}, {q}, AddNumbers).ok());
  q.data_json = "7";
  ASSERT_TRUE(s.MergeBuckets({q, {"m", 2, "quality", 60000, "1"}}, AddNumbers).ok());
  auto buckets = s.Buckets("m", "quality", 0);
  ASSERT_TRUE(buckets.ok());
  ASSERT_EQ(buckets->size(), 2u);
  EXPECT_EQ((*buckets)[0].data_json, "12");  // 5 + 7
  EXPECT_EQ((*buckets)[1].version, 2);
  EXPECT_TRUE(s.Buckets("m", "quality", 60001)->empty());
  EXPECT_TRUE((*s.GetPredictions("m", {"a"}))[0].has_feedback);

  // All or nothing: a second feedback for "a" fails, and the bucket delta with it is not merged.
  q.data_json = "100";
  EXPECT_FALSE(s.PutFeedback({{"m", "b", 3000, "0"}, {"m", "a", 3000, "1"}}, {q}, AddNumbers).ok());
  EXPECT_FALSE((*s.GetPredictions("m", {"b"}))[0].has_feedback);
  EXPECT_EQ((*s.Buckets("m", "quality", 0))[0].data_json, "12");
  q.data_json = "bad";
  EXPECT_FALSE(s.PutFeedback({{"m", "b", 3000, "0"}}, {q}, AddNumbers).ok());
  EXPECT_FALSE((*s.GetPredictions("m", {"b"}))[0].has_feedback);

  // Retention by age, then by count.
  for (int i = 0; i < 10; ++i) {  // ten writes
    ASSERT_TRUE(s.PutPredictions({Prediction("n" + std::to_string(i), 10000 + i)}).ok());
  }
  auto dropped = s.Prune("m", 5000, 1000);  // a and b are older than 5 s
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 2);
  EXPECT_TRUE(s.GetPredictions("m", {"a", "b"})->empty());
  EXPECT_EQ(s.Buckets("m", "quality", 0)->size(), 2u);  // (they start at 60 s)
  dropped = s.Prune("m", 0, 3);
  ASSERT_TRUE(dropped.ok());
  EXPECT_EQ(*dropped, 7);
  EXPECT_EQ(s.GetPredictions("m", {"n6", "n7", "n8", "n9"})->size(), 3u);
  dropped = s.Prune("m", 70000, 1000);
  EXPECT_TRUE(s.Buckets("m", "quality", 0)->empty());
}

TEST_F(SqliteStoreTest, InferdIdsAreFoundByTheirTime) {
  auto store = SqliteStore::Open(dir_);
  ASSERT_TRUE(store.ok());
  auto& s = **store;
  std::vector<std::string> ids;
  for (int batch = 0; batch < 20; ++batch) {
    std::vector<monitoring::PredictionRecord> records;
    for (int i = 0; i < 50; ++i) {
      ids.push_back(base::NewRequestId());
      records.push_back(Prediction(ids.back(), 1000 + batch));
    }
    ASSERT_TRUE(s.PutPredictions(records).ok());
  }
  auto got = s.GetPredictions("m", {ids[0], ids[517], ids[999]});
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  std::set<std::string> found;
  for (const auto& r : *got) {
    found.insert(r.id);
    EXPECT_EQ(r.outputs_json, "{\"label\":[1]}");
  }
  EXPECT_EQ(found, (std::set<std::string>{ids[0], ids[517], ids[999]}));
  // An id of the right form that was never stored, and one of another model.
  EXPECT_TRUE(s.GetPredictions("m", {base::NewRequestId()})->empty());
  EXPECT_TRUE(s.GetPredictions("other", {ids[3]})->empty());
}

}  // namespace
}  // namespace inferd::store
