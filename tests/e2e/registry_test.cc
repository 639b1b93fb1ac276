// The version registry against the real server and its SQLite state: every version's digest
// (checked with sha256sum), files and lineage from metadata.yaml, in GET /v2/models/{m}/versions
// and the model metadata; a loaded version whose files change keeps serving what it loaded and
// says so (index, metric, versions); the registry survives a restart.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

// The documented way to check a version's digest, run by the shell's own tools.
std::string ShellDigest(const fs::path& dir) {
  std::string out;
  const std::string cmd = "cd '" + dir.string() +
                          "' && find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum"
                          " | sha256sum";
  FILE* p = ::popen(cmd.c_str(), "r");
  char buf[256];
  while (p && std::fgets(buf, sizeof buf, p)) out += buf;
  if (p) ::pclose(p);
  return out.substr(0, 64);
}

json Version(uint16_t port, const std::string& model, const std::string& version) {
  auto all = json::parse(Http(port, "GET", "/v2/models/" + model + "/versions").body);
  for (const auto& v : all["versions"]) {
    if (v["version"] == version) return v;
  }
  return json();
}

std::string IndexReason(uint16_t port, const std::string& model, const std::string& version) {
  for (const auto& e : json::parse(Http(port, "POST", "/v2/repository/index").body)) {
    if (e["name"] == model && e.value("version", "") == version) return e.value("reason", "");
  }
  return "?";
}

bool WaitFor(const std::function<bool()>& done) {
  for (int i = 0; i < 400; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return done();
}

TEST(RegistryTest, DigestsLineageImmutabilityAndRestart) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo", state = tmp.path() / "state";
  AddModel(repo, "m", 1, "binary_logistic");
  AddModel(repo, "m", 2, "binary_logistic_base_score");
  WriteFile(repo / "m" / "config.yaml", "version_policy: {all: true}\n");
  WriteFile(repo / "m" / "1" / "metadata.yaml",
            "source_commit: 3f2a9c1\nauthor: ana\nmetrics: {auc: 0.97}\ntags: [fraud, weekly]\n");
  AddModel(repo, "bad", 1, "binary_logistic");
  WriteFile(repo / "bad" / "1" / "metadata.yaml", "metrics: {auc: high}\n");
  const std::vector<std::string> flags = {
      "--model-control-mode", "poll", "--repository-poll-secs", "0.05", "--state", state.string(),
      "--strict-readiness",   "false"};
  const std::string v1_digest = ShellDigest(repo / "m" / "1");
  {
    auto server = ServerProcess::Start(repo, flags);
    ASSERT_NE(server, nullptr);
    const uint16_t port = server->port();

    auto v1 = Version(port, "m", "1");
    ASSERT_FALSE(v1.is_null());
    EXPECT_EQ(v1["state"], "READY");
    EXPECT_EQ(v1["sha256"], v1_digest);
    EXPECT_EQ(v1["files"].size(), 2u);  // metadata.yaml, model.json
    EXPECT_EQ(v1["bytes"].get<int64_t>(),
              static_cast<int64_t>(fs::file_size(repo / "m" / "1" / "model.json")) +
                  static_cast<int64_t>(fs::file_size(repo / "m" / "1" / "metadata.yaml")));
    EXPECT_EQ(v1["lineage"]["author"], "ana");
    EXPECT_DOUBLE_EQ(v1["lineage"]["metrics"]["auc"].get<double>(), 0.97);
    EXPECT_EQ(v1["platform"], "xgboost_json");
    EXPECT_GT(v1["loaded_at_ms"].get<int64_t>(), 0);
    auto v2 = Version(port, "m", "2");
    EXPECT_EQ(v2["sha256"], ShellDigest(repo / "m" / "2"));
    EXPECT_EQ(v2["lineage"], json::object());

    // The metadata of a version carries its digest and lineage.
    auto meta = json::parse(Http(port, "GET", "/v2/models/m/versions/1").body);
    EXPECT_EQ(meta["parameters"]["sha256"], v1_digest);
    EXPECT_EQ(meta["parameters"]["lineage.source_commit"], "3f2a9c1");
    EXPECT_EQ(meta["parameters"]["lineage.tags"], R"(["fraud","weekly"])");

    // A bad metadata.yaml fails its version, naming the file and the key.
    auto bad = Version(port, "bad", "1");
    EXPECT_EQ(bad["state"], "UNAVAILABLE");
    EXPECT_NE(bad.value("reason", "").find("metric 'auc' must be a number"), std::string::npos)
        << bad;
    EXPECT_EQ(Http(port, "GET", "/v2/models/nope/versions").status, 404);
    EXPECT_EQ(Http(port, "POST", "/v2/models/m/versions").status, 405);

    // Versions are immutable: new files under a loaded version are reported, not loaded.
    const auto row = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true)[0];
    const std::string before =
        Http(port, "POST", "/v2/models/m/versions/1/infer", V2Request({row})).body;
    const std::string original = ReadFile(repo / "m" / "1" / "model.json");
    WriteFile(repo / "m" / "1" / "model.json",
              ReadFile(FixtureDir("binary_logistic_base_score") / "model.json"));
    const std::string changed_digest = ShellDigest(repo / "m" / "1");
    ASSERT_TRUE(WaitFor([&] {
      return IndexReason(port, "m", "1").find("files changed on disk") != std::string::npos;
    })) << IndexReason(port, "m", "1");
    EXPECT_NE(
        IndexReason(port, "m", "1").find("sha256 " + changed_digest + ", loaded " + v1_digest),
        std::string::npos);
    EXPECT_EQ(Version(port, "m", "1")["files_changed_sha256"], changed_digest);
    EXPECT_EQ(Version(port, "m", "1")["sha256"], v1_digest);
    auto metrics = Http(port, "GET", "/metrics").body;
    EXPECT_NE(metrics.find(R"(inferd_model_version_files_changed{model="m",version="1"} 1)"),
              std::string::npos);
    // Still the loaded copy's answers (ids aside).
    auto after =
        json::parse(Http(port, "POST", "/v2/models/m/versions/1/infer", V2Request({row})).body);
    EXPECT_EQ(after["outputs"], json::parse(before)["outputs"]);
    EXPECT_NE(server->Log().find("versions are immutable"), std::string::npos);
    // Put back, the report goes.
    WriteFile(repo / "m" / "1" / "model.json", original);
    ASSERT_TRUE(WaitFor([&] { return IndexReason(port, "m", "1").empty(); }))
        << IndexReason(port, "m", "1");
    EXPECT_EQ(Http(port, "GET", "/metrics").body.find("inferd_model_version_files_changed{"),
              std::string::npos);
    EXPECT_EQ(server->Stop(), 0);
  }

  // The registry is in the state directory's database, and survives a restart.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((state / "inferd.db").c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db,
                               "SELECT version, sha256, result FROM versions WHERE model = 'm' "
                               "ORDER BY version",
                               -1, &q, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(q, 0), 1);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 1))), v1_digest);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 2))), "ready");
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(q, 0), 2);
  EXPECT_EQ(sqlite3_step(q), SQLITE_DONE);
  sqlite3_finalize(q);
  sqlite3_close(db);
  auto again = ServerProcess::Start(repo, flags);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(Version(again->port(), "m", "1")["sha256"], v1_digest);
}

TEST(RegistryTest, AStateDirectoryThatCannotBeUsedIsAClearError) {
  TempDir tmp;
  AddModel(tmp.path() / "repo", "m", 1, "binary_logistic");
  WriteFile(tmp.path() / "afile", "x");
  auto r = RunInferd({"serve", "--model-repository", (tmp.path() / "repo").string(), "--state",
                      (tmp.path() / "afile").string(), "--http-port", "0"},
                     {}, std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("state directory " + (tmp.path() / "afile").string()), std::string::npos)
      << r.err;
}

TEST(RegistryTest, InferenceByLabel) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  AddModel(repo, "m", 1, "binary_logistic");
  AddModel(repo, "m", 2, "binary_logistic_base_score");
  WriteFile(repo / "m" / "config.yaml",
            "version_policy: {all: true}\n"
            "rollout: {labels: {stable: 1, canary: 2, gone: 9}}\n");
  auto server = ServerProcess::Start(repo);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  const auto row = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true)[0];
  for (const auto& [label, version] :
       std::vector<std::pair<std::string, std::string>>{{"stable", "1"}, {"canary", "2"}}) {
    auto r = Http(port, "POST", "/v2/models/m/labels/" + label + "/infer", V2Request({row}));
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(json::parse(r.body)["model_version"], version);
    EXPECT_EQ(r.Header("inferd-model-version"), version);
    // The same answer as the version itself.
    auto direct =
        Http(port, "POST", "/v2/models/m/versions/" + version + "/infer", V2Request({row}));
    EXPECT_EQ(json::parse(r.body)["outputs"], json::parse(direct.body)["outputs"]);
    // TF Serving's form.
    auto v1 = Http(port, "POST", "/v1/models/m/labels/" + label + ":predict",
                   "{\"instances\": [" + json(row).dump() + "]}");
    EXPECT_EQ(v1.status, 200) << v1.body;
    EXPECT_EQ(v1.Header("inferd-model-version"), version);
    auto meta = json::parse(Http(port, "GET", "/v2/models/m/labels/" + label).body);
    EXPECT_EQ(meta["versions"], json::array({version}));
  }
  auto unknown = Http(port, "POST", "/v2/models/m/labels/blue/infer", V2Request({row}));
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("model 'm' has no label 'blue' (labels: canary, gone, stable)"),
            std::string::npos)
      << unknown.body;
  auto gone = Http(port, "POST", "/v2/models/m/labels/gone/infer", V2Request({row}));
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(gone.body.find("has no version 9"), std::string::npos) << gone.body;
  EXPECT_EQ(Http(port, "POST", "/v2/models/nope/labels/stable/infer", V2Request({row})).status,
            404);
  EXPECT_EQ(Http(port, "POST", "/v1/models/m/labels/blue:predict", "{\"instances\": []}").status,
            404);
}

TEST(RegistryTest, WeightedAndStickyRouting) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  AddModel(repo, "m", 1, "binary_logistic");
  AddModel(repo, "m", 2, "binary_logistic_base_score");
  WriteFile(repo / "m" / "config.yaml",
            "version_policy: {all: true}\n"
            "rollout: {labels: {stable: 1, canary: 2}, weights: {stable: 90, canary: 10}}\n");
  auto server = ServerProcess::Start(repo);
  ASSERT_NE(server, nullptr);
  const auto row = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true)[0];
  const std::string body = V2Request({row});
  HttpConnection c(server->port());
  // 10,000 requests naming no version: the canary's share is 10% within 5 standard deviations.
  int canary = 0;
  const int n = 10000;
  for (int i = 0; i < n; ++i) {
    auto r = c.Request("POST", "/v2/models/m/infer", body);
    ASSERT_EQ(r.status, 200) << r.body;
    const std::string v = r.Header("inferd-model-version");
    ASSERT_TRUE(v == "1" || v == "2") << v;
    canary += v == "2";
  }
  EXPECT_NEAR(canary, 1000, 150);
  // A route key keeps its user on one version; over many users the split holds.
  int keyed_canary = 0;
  for (int u = 0; u < 2000; ++u) {
    const std::vector<std::pair<std::string, std::string>> key = {
        {"inferd-route-key", "user-" + std::to_string(u)}};
    auto first = c.Request("POST", "/v2/models/m/infer", body, key);
    ASSERT_EQ(first.status, 200);
    for (int again = 0; again < 3; ++again) {
      EXPECT_EQ(c.Request("POST", "/v2/models/m/infer", body, key).Header("inferd-model-version"),
                first.Header("inferd-model-version"));
    }
    keyed_canary += first.Header("inferd-model-version") == "2";
  }
  EXPECT_NEAR(keyed_canary, 200, 70);  // Binomial(2000, 0.1): sd 13.4
  // A version named in the path is not routed.
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(
        c.Request("POST", "/v2/models/m/versions/2/infer", body).Header("inferd-model-version"),
        "2");
  }
}

}  // namespace
}  // namespace inferd::testing
