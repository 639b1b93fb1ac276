// PostgresStore against a real PostgreSQL server (a throwaway cluster per test suite).
#include "store/postgres_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "base/ids.h"
#include "postgres/postgres_cluster.h"

namespace inferd::store {
namespace {

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // One database per test, in one cluster per suite.
    if (!cluster_) INFERD_START_POSTGRES(cluster_);
    static int databases = 0;
    const std::string db = "t" + std::to_string(++databases);
    ASSERT_EQ(
        std::system(("psql -q " + cluster_->url() + " -c 'CREATE DATABASE " + db + "'").c_str()),
        0);
    url_ = cluster_->url().substr(0, cluster_->url().rfind('/') + 1) + db;
  }
  static void TearDownTestSuite() { cluster_.reset(); }

  std::unique_ptr<PostgresStore> Open() {
    auto s = PostgresStore::Open(url_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // psql's answer to one query on this test's database (unaligned, no headers).
  std::string Psql(const std::string& sql) {
    FILE* p = ::popen(("psql -qtA " + url_ + " -c \"" + sql + "\"").c_str(), "r");
    std::string out;
    char buf[256];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  static std::unique_ptr<testing::PostgresCluster> cluster_;
  std::string url_;
};
std::unique_ptr<testing::PostgresCluster> PostgresStoreTest::cluster_;

// Buckets of this test are {"n": count}: merging adds.
base::StatusOr<std::string> AddCounts(const std::string&, const std::string& a,
                                      const std::string& b) {
  auto n = [](const std::string& j) { return std::stoll(j.substr(j.find(':') + 1)); };
  return "{\"n\":" + std::to_string(n(a) + n(b)) + "}";
}

TEST_F(PostgresStoreTest, MigratesOnceEvenWhenReplicasStartTogether) {
  // Three replicas open a fresh database at once: each migration is applied exactly once.
  std::vector<std::thread> threads;
  std::atomic<int> opened{0};
  std::string errors;
  std::mutex mu;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      auto s = PostgresStore::Open(url_);
      if (s.ok()) {
        ++opened;
      } else {
        std::lock_guard<std::mutex> lock(mu);
        errors += s.status().message() + "\n";
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(opened.load(), 3) << errors;
  EXPECT_EQ(Psql("SELECT string_agg(version::text, ',' ORDER BY version) FROM schema_migrations"),
            "1,2,3");
  auto store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(store->SchemaVersion().value(), PostgresStore::KnownSchemaVersion());
  EXPECT_TRUE(store->Shared());
  EXPECT_EQ(store->Describe().rfind("postgres://inferd@127.0.0.1:", 0), 0u) << store->Describe();
}

TEST_F(PostgresStoreTest, RefusesADatabaseANewerInferdMigrated) {
  ASSERT_TRUE(Open());
  Psql("INSERT INTO schema_migrations VALUES (99, 'from the future', 0)");
  auto s = PostgresStore::Open(url_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(s.status().message().find("schema version 99"), std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("up to 3"), std::string::npos) << s.status().message();
}

TEST_F(PostgresStoreTest, ConnectionErrorsNameTheServerButNeverThePassword) {
  auto s = PostgresStore::Open("postgres://inferd:s3cret-pw@127.0.0.1:1/inferd?connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), base::StatusCode::kUnavailable);
  const std::string m = s.status().message();
  EXPECT_NE(m.find("cannot connect to PostgreSQL at postgres://inferd:***@127.0.0.1:1/inferd"),
            std::string::npos)
      << m;
  EXPECT_EQ(m.find("s3cret-pw"), std::string::npos) << m;
  auto kv = PostgresStore::Open("host=127.0.0.1 port=1 password=hunter2 connect_timeout=2");
  ASSERT_FALSE(kv.ok());
  EXPECT_EQ(kv.status().message().find("hunter2"), std::string::npos) << kv.status().message();
  // URLs libpq cannot parse: its message quotes the bad part, which must not be the password.
  for (const std::string& password : {std::string("ab%zzsecret"), std::string("two words")}) {
    auto bad = PostgresStore::Open("postgres://inferd:" + password + "@127.0.0.1:1/inferd");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().message().find("secret"), std::string::npos) << bad.status().message();
    EXPECT_EQ(bad.status().message().find("words"), std::string::npos) << bad.status().message();
  }
}

TEST_F(PostgresStoreTest, RegistryRolloutAuditAndValidationsAsSqliteKeepsThem) {
  auto store = Open();
  ASSERT_TRUE(store);
  VersionRecord v{"m", 2, "bb", 200, "[]", "xgboost_json", "{}", 1700000000002, 1.5, "ready"};
  ASSERT_TRUE(store->PutVersion(v).ok());
  ASSERT_TRUE(store->PutVersion({"m", 1, "aa", 100, "[]", "onnx", "{}", 1, 2.25, "ready"}).ok());
  v.sha256 = "dd";
  v.result = "failed: truncated file";
  ASSERT_TRUE(store->PutVersion(v).ok());  // a later load of a version replaces its record
  auto versions = store->Versions("m");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 2u);
  EXPECT_EQ((*versions)[0].version, 1);
  EXPECT_EQ((*versions)[0].load_ms, 2.25);
  EXPECT_EQ((*versions)[1].sha256, "dd");
  EXPECT_EQ((*versions)[1].result, "failed: truncated file");

  ASSERT_TRUE(store
                  ->PutRollout({"m", R"({"canary":2})", 10, "ana"},
                               {10, "ana", "rollout_set", "m", "canary 2"})
                  .ok());
  ASSERT_TRUE(store
                  ->PutRollout({"m", R"({"canary":3})", 11, "bo"},
                               {11, "bo", "rollout_set", "m", "canary 3"})
                  .ok());
  ASSERT_TRUE(store->Audit({12, "cy", "load", "other", "v1"}).ok());
  auto rollouts = store->Rollouts();
  ASSERT_TRUE(rollouts.ok());
  ASSERT_EQ(rollouts->size(), 1u);
  EXPECT_EQ((*rollouts)[0].policy_json, R"({"canary":3})");
  EXPECT_EQ((*rollouts)[0].updated_by, "bo");
  auto all = store->AuditLog("", 10);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].who, "cy");  // newest first
  auto of_m = store->AuditLog("m", 1);
  ASSERT_TRUE(of_m.ok());
  ASSERT_EQ(of_m->size(), 1u);
  EXPECT_EQ((*of_m)[0].detail, "canary 3");

  ASSERT_TRUE(store
                  ->PutValidation({"m", 2, "dd", false, 20, "ci", R"({"failed":["auc"]})"},
                                  {20, "ci", "validate", "m", "failed"})
                  .ok());
  ASSERT_TRUE(
      store->PutValidation({"m", 2, "dd", true, 21, "ci", "{}"}, {21, "ci", "validate", "m", "ok"})
          .ok());
  ASSERT_TRUE(
      store->PutValidation({"m", 1, "aa", true, 22, "ci", "{}"}, {22, "ci", "validate", "m", "ok"})
          .ok());
  auto vals = store->Validations("m", 0);
  ASSERT_TRUE(vals.ok());
  ASSERT_EQ(vals->size(), 2u);
  EXPECT_EQ((*vals)[0].version, 1);
  EXPECT_TRUE((*vals)[1].passed);  // the latest of version 2
  auto v2 = store->Validations("m", 2);
  ASSERT_TRUE(v2.ok());
  ASSERT_EQ(v2->size(), 1u);
  EXPECT_EQ((*v2)[0].at_ms, 21);
}

monitoring::PredictionRecord Prediction(const std::string& id, int64_t at_ms) {
  return {"m", id, 1, at_ms, R"({"l":[1]})", "", "digest-" + id};
}

TEST_F(PostgresStoreTest, PredictionsAreFoundByTheirIdsAcrossReplicas) {
  auto a = Open();
  auto b = Open();  // another replica's connection
  ASSERT_TRUE(a && b);
  const int64_t now = 1'750'000'000'000;
  std::vector<monitoring::PredictionRecord> batch;
  std::vector<std::string> ids;
  for (int i = 0; i < 50; ++i) {
    ids.push_back(base::NewRequestId());
    batch.push_back(Prediction(ids.back(), now + i));
  }
  // Ids of the caller's own (not inferd's), one of them with quotes and a backslash.
  batch.push_back(Prediction("order-7", now + 50));
  batch.push_back(Prediction(R"(we"ird\id)", now + 51));
  ASSERT_TRUE(a->PutPredictions(batch).ok());
  // A repeated caller id is ignored.
  ASSERT_TRUE(b->PutPredictions({Prediction("order-7", now + 99)}).ok());
  std::vector<std::string> wanted = {ids[0], ids[49], "order-7", R"(we"ird\id)", "missing"};
  auto found = b->GetPredictions("m", wanted);
  ASSERT_TRUE(found.ok()) << found.status().message();
  std::map<std::string, monitoring::PredictionRecord> by_id;
  for (auto& r : *found) by_id[r.id] = r;
  ASSERT_EQ(by_id.size(), 4u);
  EXPECT_EQ(by_id["order-7"].at_ms, now + 50);
  EXPECT_EQ(by_id[ids[49]].inputs_sha256, "digest-" + ids[49]);
  EXPECT_EQ(by_id[R"(we"ird\id)"].outputs_json, R"({"l":[1]})");
  EXPECT_FALSE(by_id[ids[0]].has_feedback);

  auto newest = a->ListPredictions("m", 3);
  ASSERT_TRUE(newest.ok());
  ASSERT_EQ(newest->size(), 3u);
  EXPECT_EQ((*newest)[0].id, R"(we"ird\id)");
  EXPECT_EQ((*newest)[2].id, ids[49]);
}

TEST_F(PostgresStoreTest, FeedbackStoredThroughAnotherReplicaIsADuplicateAndNothingIsStored) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->PutPredictions({Prediction("p1", 1), Prediction("p2", 2)}).ok());
  ASSERT_TRUE(
      a->PutFeedback({{"m", "p1", 5, "1"}}, {{"m", 1, "quality", 0, R"({"n":1})"}}, AddCounts)
          .ok());
  // Replica b read p1 before a's feedback and now sends p2 and p1 together.
  auto st = b->PutFeedback({{"m", "p2", 6, "0"}, {"m", "p1", 6, "1"}},
                           {{"m", 1, "quality", 0, R"({"n":2})"}}, AddCounts);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), base::StatusCode::kAlreadyExists);
  EXPECT_NE(st.message().find("'p1' already has feedback"), std::string::npos) << st.message();
  // All or nothing: p2 has no feedback, and the bucket counts a's one only.
  auto found = b->GetPredictions("m", {"p1", "p2"});
  ASSERT_TRUE(found.ok());
  for (const auto& r : *found) EXPECT_EQ(r.has_feedback, r.id == "p1") << r.id;
  auto buckets = b->Buckets("m", "quality", 0);
  ASSERT_TRUE(buckets.ok());
  ASSERT_EQ(buckets->size(), 1u);
  EXPECT_EQ((*buckets)[0].data_json, R"({"n":1})");
}

TEST_F(PostgresStoreTest, ConcurrentMergesFromReplicasLoseNoCount) {
  // Four replicas merge into the same eight buckets at once, in transactions of several buckets
  // (each replica lists them in its own order; the store locks them in key order): every count
  // is kept.
  constexpr int kReplicas = 4, kRounds = 60;
  std::vector<std::unique_ptr<PostgresStore>> stores;
  for (int i = 0; i < kReplicas; ++i) {
    stores.push_back(Open());
    ASSERT_TRUE(stores.back());
  }
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int r = 0; r < kReplicas; ++r) {
    threads.emplace_back([&, r] {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<monitoring::MonitorBucket> deltas;
        for (int k = 0; k < 8; ++k) {
          const int key = (k * (r + 1) + round) % 8;
          deltas.push_back({"m", key % 2, "drift", key / 2 * 1000, R"({"n":1})"});
        }
        if (!stores[r]->MergeBuckets(deltas, AddCounts).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto buckets = stores[0]->Buckets("m", "drift", 0);
  ASSERT_TRUE(buckets.ok());
  int64_t total = 0;
  for (const auto& b : *buckets) total += std::stoll(b.data_json.substr(5));
  EXPECT_EQ(total, int64_t{kReplicas} * kRounds * 8);
}

TEST_F(PostgresStoreTest, PruneKeepsTheNewestAndDropsTheOld) {
  auto store = Open();
  ASSERT_TRUE(store);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(store
                    ->PutPredictions({Prediction("a" + std::to_string(i), 100 * i),
                                      Prediction("b" + std::to_string(i), 100 * i + 1)})
                    .ok());
  }
  ASSERT_TRUE(
      store->PutFeedback({{"m", "a0", 10, "1"}}, {{"m", 1, "quality", 0, R"({"n":1})"}}, AddCounts)
          .ok());
  // Older than 250 ms goes (3 batches, 6 records); the feedback and bucket of time 0 too.
  auto dropped = store->Prune("m", 250, 1000);
  ASSERT_TRUE(dropped.ok()) << dropped.status().message();
  EXPECT_EQ(*dropped, 6);
  auto left = store->ListPredictions("m", 100);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(left->size(), 4u);
  EXPECT_TRUE(store->GetPredictions("m", {"a0"})->empty());
  EXPECT_TRUE(store->Buckets("m", "quality", 0)->empty());
  EXPECT_EQ(Psql("SELECT count(*) FROM prediction_ids"), "4");
  // Then all but the newest batch (2 records kept).
  EXPECT_EQ(store->Prune("m", 0, 2).value(), 2);
  EXPECT_EQ(store->ListPredictions("m", 100)->size(), 2u);
}

TEST_F(PostgresStoreTest, SurvivesARestartOfPostgres) {
  auto store = Open();
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->Audit({1, "a", "load", "m", "before"}).ok());
  ASSERT_TRUE(cluster_->Restart());
  // The connection was cut while idle: the next call reconnects and runs.
  ASSERT_TRUE(store->Audit({2, "a", "load", "m", "first after"}).ok());
  ASSERT_TRUE(cluster_->Restart());
  // ... and a transaction too.
  ASSERT_TRUE(store->PutRollout({"m", "{}", 3, "a"}, {3, "a", "rollout_set", "m", "after"}).ok());
  auto log = store->AuditLog("m", 10);
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_EQ(log->front().detail, "after");
  EXPECT_EQ(log->back().detail, "before");
}

}  // namespace
}  // namespace inferd::store
