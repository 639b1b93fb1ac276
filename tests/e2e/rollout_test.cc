// Rollout management against the real server: canary by weight, promote, roll back — through the
// `inferd rollout` CLI and the HTTP API — with no request failing while it changes, the state
// surviving a restart, the audit trail, and clear errors.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

class RolloutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    state_ = tmp_.path() / "state";
    AddModel(repo_, "m", 1, "binary_logistic");
    AddModel(repo_, "m", 2, "binary_logistic_base_score");
    AddModel(repo_, "m", 3, "binary_logistic");
    WriteFile(repo_ / "m" / "config.yaml",
              "version_policy: {all: true}\nrollout: {labels: {stable: 1}}\n");
    StartServer();
    body_ = V2Request({ReadCsv(FixtureDir("binary_logistic") / "input.csv", true)[0]});
  }
  void StartServer() {
    server_ = ServerProcess::Start(repo_, {"--state", state_.string(), "--host", "0.0.0.0"});
    ASSERT_NE(server_, nullptr);
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  CommandResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), "rollout");
    args.insert(args.end(), {"--server", url_});
    return RunInferd(args);
  }
  json Status() { return json::parse(Http(server_->port(), "GET", "/v2/models/m/rollout").body); }
  // The share of `n` unversioned requests that version `v` served.
  int Served(const std::string& v, int n) {
    HttpConnection c(server_->port());
    int hits = 0;
    for (int i = 0; i < n; ++i) {
      auto r = c.Request("POST", "/v2/models/m/infer", body_);
      EXPECT_EQ(r.status, 200) << r.body;
      hits += r.Header("inferd-model-version") == v;
    }
    return hits;
  }

  TempDir tmp_;
  fs::path repo_, state_;
  std::unique_ptr<ServerProcess> server_;
  std::string url_, body_;
};

TEST_F(RolloutTest, CanaryPromoteRollbackAndRestart) {
  auto s = Status();
  EXPECT_EQ(s["source"], "config");
  EXPECT_EQ(s["labels"]["stable"], 1);
  EXPECT_EQ(s["ready_versions"], json::array({1, 2, 3}));

  auto set = Cli({"set", "m", "--canary", "2", "--weight", "20"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  s = json::parse(set.out);
  EXPECT_EQ(s["source"], "api");
  EXPECT_EQ(s["labels"], json({{"stable", 1}, {"canary", 2}}));
  EXPECT_EQ(s["weights"], json({{"canary", 20}, {"stable", 80}}));
  EXPECT_NEAR(Served("2", 2000), 400, 90);  // Binomial(2000, 0.2): sd 17.9

  ASSERT_EQ(Cli({"promote", "m"}).exit_code, 0);
  s = Status();
  EXPECT_EQ(s["labels"], json({{"stable", 2}}));
  EXPECT_EQ(s["previous_stable"], json::array({1}));
  EXPECT_EQ(Served("2", 200), 200);

  // The state survives a restart.
  server_->Stop();
  StartServer();
  EXPECT_EQ(Status()["source"], "api");
  EXPECT_EQ(Status()["labels"]["stable"], 2);
  EXPECT_EQ(Served("2", 100), 100);

  auto back = Cli({"rollback", "m"});
  ASSERT_EQ(back.exit_code, 0) << back.err;
  EXPECT_EQ(json::parse(back.out)["labels"], json({{"stable", 1}}));
  EXPECT_EQ(Served("1", 200), 200);
  // Nothing further back.
  auto again = Cli({"rollback", "m"});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("no previous stable version to roll back to"), std::string::npos)
      << again.err;

  // The audit trail, newest first, with the caller.
  auto audit = RunInferd({"audit", "--model", "m", "--server", url_});
  ASSERT_EQ(audit.exit_code, 0) << audit.err;
  auto entries = json::parse(audit.out);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0]["action"], "rollback");
  EXPECT_EQ(entries[1]["action"], "promote");
  EXPECT_EQ(entries[2]["action"], "canary");
  EXPECT_EQ(entries[0]["who"], "127.0.0.1");
  EXPECT_EQ(json::parse(entries[0]["detail"].get<std::string>()), json({{"from", 2}, {"to", 1}}));
}

TEST_F(RolloutTest, ChangesUnderLoadLoseNoRequest) {
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      HttpConnection c(server_->port());
      while (!stop) {
        auto r = c.Request("POST", "/v2/models/m/infer", body_);
        (r.status == 200 ? ok : failed)++;
      }
    });
  }
  // Each change is made while requests are being answered: after it, 10 more are awaited.
  auto after_more = [&] {
    const int target = ok.load() + 10;
    while (ok.load() < target && failed.load() == 0) std::this_thread::yield();
  };
  for (int round = 0; round < 5; ++round) {
    ASSERT_EQ(
        Http(server_->port(), "POST", "/v2/models/m/rollout", R"({"canary": 3, "weight": 50})")
            .status,
        200);
    after_more();
    ASSERT_EQ(Http(server_->port(), "POST", "/v2/models/m/rollout/promote").status, 200);
    after_more();
    ASSERT_EQ(Http(server_->port(), "POST", "/v2/models/m/rollout/rollback").status, 200);
    after_more();
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 100);
  // A rollback takes effect for the next request.
  EXPECT_EQ(Served("1", 50), 50);
}

TEST_F(RolloutTest, ShadowComparesWithoutTouchingTheAnswer) {
  // Version 4 takes 10 features, not 30: every shadow run of it fails. Version 5 is a random
  // forest trained on the same data: its label differs from version 1's on some inputs.
  server_->Stop();
  AddModel(repo_, "m", 4, "reg_squarederror");
  AddModel(repo_, "m", 5, "rf_binary");
  StartServer();
  const uint16_t port = server_->port();
  ASSERT_EQ(Http(port, "POST", "/v2/models/m/rollout",
                 R"({"labels": {"stable": 1}, "weights": {"stable": 100}})")
                .status,
            200);
  HttpConnection c(port);
  const json primary = json::parse(c.Request("POST", "/v2/models/m/infer", body_).body)["outputs"];
  const auto row = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true)[0];
  const std::string v1_body = json({{"instances", json::array({row})}}).dump();
  const std::string v1_primary = c.Request("POST", "/v1/models/m:predict", v1_body).body;
  // Sends 40 v2 and 10 TF Serving requests: all answered by version 1, as without a shadow.
  auto send = [&] {
    for (int i = 0; i < 40; ++i) {
      auto r = c.Request("POST", "/v2/models/m/infer", body_);
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.Header("inferd-model-version"), "1");
      EXPECT_EQ(json::parse(r.body)["outputs"], primary);
    }
    for (int i = 0; i < 10; ++i) {
      auto r = c.Request("POST", "/v1/models/m:predict", v1_body);
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(r.body, v1_primary);
    }
  };
  auto stats_after = [&](uint64_t pairs) {
    json st;
    for (int i = 0; i < 1000; ++i) {
      st = Status()["shadow_stats"];
      if (st["pairs"].get<uint64_t>() >= pairs) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return st;
  };

  auto set = Cli({"shadow", "m", "--version", "3", "--percent", "100", "--tolerance", "0.001"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  EXPECT_EQ(json::parse(set.out)["shadow"],
            json({{"version", 3}, {"percent", 100}, {"tolerance", 0.001}}));
  send();
  json st = stats_after(50);
  EXPECT_EQ(st["pairs"], 50);
  EXPECT_EQ(st["agree"], 50);  // version 3 is the same model as version 1
  EXPECT_EQ(st["dropped"], 0);
  EXPECT_GT(st["shadow_ms_mean"].get<double>(), 0);

  EXPECT_EQ(st["abs_diff_max"], 0);

  // Version 2 has another base score: the same labels, other probabilities.
  ASSERT_EQ(Cli({"shadow", "m", "--version", "2"}).exit_code, 0);
  send();
  st = stats_after(100);
  EXPECT_EQ(st["pairs"], 100);
  EXPECT_EQ(st["agree"], 100);
  EXPECT_GT(st["abs_diff_max"].get<double>(), 0);

  // Against version 5, over 200 blends of two training rows: as many disagreements as the two
  // versions, asked directly, give different labels. (Every request is mirrored, those naming a
  // version too, but for those to the shadow version itself.)
  const auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  std::vector<std::vector<double>> blends;
  for (size_t i = 0; i < rows.size() && blends.size() < 200; ++i) {
    for (size_t j = i + 1; j < rows.size() && blends.size() < 200; ++j) {
      std::vector<double> b(rows[i].size());
      for (size_t k = 0; k < b.size(); ++k) b[k] = 0.5 * (rows[i][k] + rows[j][k]);
      blends.push_back(std::move(b));
    }
  }
  auto labels = [&](int version) {
    auto r = c.Request("POST", "/v2/models/m/versions/" + std::to_string(version) + "/infer",
                       V2Request(blends, "input", {"label"}));
    EXPECT_EQ(r.status, 200) << r.body;
    const json answer = json::parse(r.body);
    for (const auto& out : answer["outputs"]) {
      if (out["name"] == "label") return out["data"].get<std::vector<int64_t>>();
    }
    return std::vector<int64_t>();
  };
  ASSERT_EQ(Cli({"shadow", "m", "--percent", "0"}).exit_code, 0);  // (these are not mirrored)
  const auto l1 = labels(1), l5 = labels(5);
  ASSERT_EQ(l1.size(), blends.size());
  ASSERT_EQ(l5.size(), blends.size());
  int differ = 0;
  for (size_t i = 0; i < l1.size(); ++i) differ += l1[i] != l5[i];
  ASSERT_GT(differ, 0);
  ASSERT_EQ(Cli({"shadow", "m", "--version", "5", "--percent", "100"}).exit_code, 0);
  for (const auto& b : blends) {
    auto r = c.Request("POST", "/v2/models/m/infer", V2Request({b}));
    ASSERT_EQ(r.status, 200) << r.body;
  }
  st = stats_after(300);
  EXPECT_EQ(st["pairs"], 300);
  EXPECT_EQ(st["disagree"], differ);
  EXPECT_EQ(st["agree"], 300 - differ);

  // A shadow that fails every time changes nothing for the client.
  ASSERT_EQ(Cli({"shadow", "m", "--version", "4", "--percent", "100"}).exit_code, 0);
  send();
  st = stats_after(350);
  EXPECT_EQ(st["shadow_errors"], 50);
  const std::string metrics = Http(port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("inferd_shadow_requests_total{model=\"m\",outcome=\"shadow_error\"} 50"),
            std::string::npos);
  EXPECT_NE(metrics.find("inferd_shadow_requests_total{model=\"m\",outcome=\"disagree\"} " +
                         std::to_string(differ)),
            std::string::npos);
  EXPECT_NE(metrics.find("inferd_shadow_abs_diff_count{model=\"m\"} 300"), std::string::npos);

  // The shadow is part of the stored policy: it survives a restart, and percent 0 stops it.
  server_->Stop();
  StartServer();
  EXPECT_EQ(Status()["shadow"], json({{"version", 4}, {"percent", 100}, {"tolerance", 1e-6}}));
  ASSERT_EQ(Cli({"shadow", "m", "--percent", "0"}).exit_code, 0);
  EXPECT_FALSE(Status().contains("shadow"));
  HttpConnection c2(server_->port());
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(c2.Request("POST", "/v2/models/m/infer", body_).status, 200);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Status()["shadow_stats"]["pairs"], 0);
  auto audit = json::parse(Http(server_->port(), "GET", "/v2/audit?model=m&limit=1").body);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["action"], "shadow");
}

TEST_F(RolloutTest, AFailingCanaryIsRolledBackAutomatically) {
  // Version 4 takes 10 features, not 30: every request it gets fails.
  server_->Stop();
  AddModel(repo_, "m", 4, "reg_squarederror");
  WriteFile(repo_ / "m" / "config.yaml",
            "version_policy: {all: true}\n"
            "rollout: {labels: {stable: 1}, weights: {stable: 100},\n"
            "          auto_rollback: {window_s: 60, min_samples: 20, signals: [error_rate]}}\n");
  StartServer();
  const uint16_t port = server_->port();
  // A healthy canary (version 3 is version 1's model) keeps its weight.
  ASSERT_EQ(Cli({"set", "m", "--canary", "3", "--weight", "50"}).exit_code, 0);
  HttpConnection c(port);
  for (int i = 0; i < 200; ++i)
    EXPECT_EQ(c.Request("POST", "/v2/models/m/infer", body_).status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));  // two checks or more
  EXPECT_EQ(Status()["weights"]["canary"], 50);

  ASSERT_EQ(Cli({"set", "m", "--canary", "4", "--weight", "50"}).exit_code, 0);
  int failed = 0, sent = 0;
  json s;
  for (; sent < 5000; ++sent) {
    failed += c.Request("POST", "/v2/models/m/infer", body_).status != 200;
    if (sent % 20 == 19) {
      s = Status();
      if (s["weights"]["canary"] == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  ASSERT_EQ(s["weights"]["canary"], 0) << s.dump();
  EXPECT_EQ(s["weights"]["stable"], 50);  // stable keeps its share: it now serves everything
  EXPECT_EQ(s["labels"]["canary"], 4);
  EXPECT_GE(failed, 20);
  EXPECT_EQ(Served("1", 100), 100);
  auto audit = json::parse(Http(port, "GET", "/v2/audit?model=m&limit=1").body);
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0]["action"], "auto_rollback");
  EXPECT_EQ(audit[0]["who"], "auto-rollback");
  const json detail = json::parse(audit[0]["detail"].get<std::string>());
  EXPECT_EQ(detail["signal"], "error_rate");
  EXPECT_EQ(detail["canary"], 4);
  EXPECT_NE(detail["reason"].get<std::string>().find("error rate 100.00%"), std::string::npos)
      << detail.dump();
  EXPECT_NE(
      Http(port, "GET", "/metrics")
          .body.find("inferd_rollout_auto_rollbacks_total{model=\"m\",signal=\"error_rate\"} 1"),
      std::string::npos);
  EXPECT_NE(server_->Log().find("auto-rollback of 'm': canary version 4 set to weight 0"),
            std::string::npos);
  // It is stored like any change.
  server_->Stop();
  StartServer();
  EXPECT_EQ(Status()["weights"]["canary"], 0);
}

// SQLite's own check of the state database.
std::string IntegrityCheck(const fs::path& db_path) {
  sqlite3* db = nullptr;
  if (sqlite3_open(db_path.c_str(), &db) != SQLITE_OK) return "cannot open";
  sqlite3_stmt* q = nullptr;
  std::string result = "no answer";
  if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, nullptr) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW) {
    result = reinterpret_cast<const char*>(sqlite3_column_text(q, 0));
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  return result;
}

TEST_F(RolloutTest, KillNineInTheMiddleOfChangesLeavesAConsistentState) {
  int acked_total = 0;
  for (int trial = 0; trial < 6; ++trial) {
    // Canary, promote, rollback, as fast as they are answered, until SIGKILL.
    std::atomic<int> acked{0};
    std::thread changer([&, port = server_->port()] {
      HttpConnection c(port);
      for (int i = 0;; ++i) {
        HttpResult r;
        switch (i % 3) {
          case 0:
            r = c.Request("POST", "/v2/models/m/rollout", R"({"canary": 3, "weight": 50})");
            break;
          case 1:
            r = c.Request("POST", "/v2/models/m/rollout/promote");
            break;
          default:
            r = c.Request("POST", "/v2/models/m/rollout/rollback");
        }
        if (r.status == 0) return;  // killed
        if (r.status == 200) ++acked;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + 17 * trial));
    server_->Signal(SIGKILL);
    ASSERT_NE(server_->WaitExit(std::chrono::seconds(10)), -1);
    changer.join();
    ASSERT_EQ(IntegrityCheck(state_ / "inferd.db"), "ok");
    StartServer();
    // Every acknowledged change is there, and at most the one in flight besides.
    auto audit = json::parse(Http(server_->port(), "GET", "/v2/audit?model=m&limit=100000").body);
    const int changes = static_cast<int>(audit.size());
    EXPECT_GE(changes, acked_total + acked.load()) << "trial " << trial;
    EXPECT_LE(changes, acked_total + acked.load() + 1) << "trial " << trial;
    acked_total = changes;
    std::printf("trial %d: %d changes acknowledged, %d audited\n", trial, acked.load(), changes);
    if (changes == 0) continue;
    // The policy is the one the last audited change made.
    const json s = Status();
    EXPECT_EQ(s["source"], "api");
    const json last = audit[0];
    const json d = json::parse(last["detail"].get<std::string>());
    if (last["action"] == "canary") {
      EXPECT_EQ(s["labels"], json({{"stable", d["stable"]}, {"canary", d["canary"]}}));
      EXPECT_EQ(s["weights"]["canary"], d["weight"]);
    } else if (last["action"] == "promote") {
      EXPECT_EQ(s["labels"], json({{"stable", d["version"]}}));
      EXPECT_EQ(s["weights"], json({{"stable", 100}}));
    } else {
      ASSERT_EQ(last["action"], "rollback");
      EXPECT_EQ(s["labels"], json({{"stable", d["to"]}}));
    }
    // And it serves.
    EXPECT_EQ(Http(server_->port(), "POST", "/v2/models/m/infer", body_).status, 200);
  }
  EXPECT_GT(acked_total, 6);
}

TEST_F(RolloutTest, StickyByANamedInput) {
  WriteFile(repo_ / "m" / "config.yaml",
            "version_policy: {all: true}\n"
            "rollout: {labels: {stable: 1, canary: 2}, weights: {stable: 50, canary: 50},\n"
            "          route_key_input: user_id}\n");
  server_->Stop();
  StartServer();
  const auto row = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true)[0];
  // The model's input plus user_id, which the model does not declare: it routes, then is dropped.
  auto body = [&](int user) {
    return json({{"inputs",
                  {{{"name", "input"}, {"shape", {1, 30}}, {"datatype", "FP32"}, {"data", row}},
                   {{"name", "user_id"},
                    {"shape", {1, 1}},
                    {"datatype", "INT64"},
                    {"data", {user}}}}}})
        .dump();
  };
  HttpConnection c(server_->port());
  std::set<std::string> versions;
  for (int user = 0; user < 40; ++user) {
    std::string first;
    for (int i = 0; i < 5; ++i) {
      auto r = c.Request("POST", "/v2/models/m/infer", body(user));
      ASSERT_EQ(r.status, 200) << r.body;
      if (i == 0) first = r.Header("inferd-model-version");
      EXPECT_EQ(r.Header("inferd-model-version"), first) << "user " << user;
    }
    versions.insert(first);
  }
  EXPECT_EQ(versions, (std::set<std::string>{"1", "2"}));  // users spread over both
  // A route key in the header wins over the input.
  std::set<std::string> with_header;
  for (int user = 0; user < 20; ++user) {
    auto r = c.Request("POST", "/v2/models/m/infer", body(user), {{"inferd-route-key", "k1"}});
    ASSERT_EQ(r.status, 200) << r.body;
    with_header.insert(r.Header("inferd-model-version"));
  }
  EXPECT_EQ(with_header.size(), 1u);
  // A request naming a version is not rerouted, and user_id is still dropped.
  for (int user = 0; user < 10; ++user) {
    auto r = c.Request("POST", "/v2/models/m/versions/1/infer", body(user));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("inferd-model-version"), "1");
  }
}

TEST_F(RolloutTest, BadChangesAreRefusedWithTheReason) {
  const uint16_t port = server_->port();
  struct Case {
    std::string path, body;
    int status;
    std::string message;
  } cases[] = {
      {"/v2/models/m/rollout", R"({"canary": 9, "weight": 10})", 400,
       "version 9 of 'm' is not loaded and ready"},
      {"/v2/models/m/rollout", R"({"canary": 2, "weight": 150})", 400,
       "weight must be between 0 and 100"},
      {"/v2/models/m/rollout", R"({"canary": 2})", 400, "'weight' (0-100) must go with 'canary'"},
      {"/v2/models/m/rollout", R"({"labels": {"Blue": 2}})", 400,
       "must be lower-case letters, digits and _"},
      {"/v2/models/m/rollout", R"({"weights": {"green": 10}})", 400,
       "not a version number or a label"},
      {"/v2/models/m/rollout", "[1]", 400, "must be a JSON object"},
      {"/v2/models/m/rollout/promote", "{}", 400, "has no canary to promote"},
      {"/v2/models/m/rollout/sideways", "{}", 404, "no rollout action 'sideways'"},
      {"/v2/models/m/rollout/shadow", R"({"version": 9, "percent": 10})", 400,
       "shadow: version 9 of 'm' is not loaded and ready"},
      {"/v2/models/m/rollout/shadow", R"({"version": 2, "percent": 101})", 400,
       "percent must be between 0 and 100"},
      {"/v2/models/m/rollout/shadow", R"({"version": 2})", 400, "'percent' (0-100) is required"},
      {"/v2/models/m/rollout/shadow", R"({"percent": 5})", 400, "'version' names the shadow"},
      {"/v2/models/m/rollout", R"({"shadow": {"version": "2"}})", 400, "with integers"},
      {"/v2/models/nope/rollout", R"({"canary": 2, "weight": 10})", 404, "nope"},
  };
  for (const auto& c : cases) {
    auto r = Http(port, "POST", c.path, c.body);
    EXPECT_EQ(r.status, c.status) << c.path << " " << c.body << ": " << r.body;
    EXPECT_NE(r.body.find(c.message), std::string::npos) << c.body << ": " << r.body;
  }
  EXPECT_EQ(Status()["source"], "config");  // nothing changed
  EXPECT_EQ(Http(port, "GET", "/v2/audit?limit=0").status, 400);
  EXPECT_EQ(json::parse(Http(port, "GET", "/v2/audit").body).size(), 0u);
  // Changes answer only loopback clients.
  const std::string address = NonLoopbackAddress();
  if (!address.empty()) {
    HttpConnection remote(port, address);
    auto r = remote.Request("POST", "/v2/models/m/rollout/rollback");
    EXPECT_EQ(r.status, 403) << r.body;
    EXPECT_EQ(remote.Request("GET", "/v2/models/m/rollout").status, 200);  // status is open
  }
  auto cli = RunInferd(
      {"rollout", "set", "m", "--canary", "2", "--weight", "10", "--server", "http://127.0.0.1:1"});
  EXPECT_EQ(cli.exit_code, 1);
  EXPECT_NE(cli.err.find("cannot connect to http://127.0.0.1:1"), std::string::npos) << cli.err;
}

}  // namespace
}  // namespace inferd::testing
