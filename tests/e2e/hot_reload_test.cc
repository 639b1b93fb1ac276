// Versions added, removed, corrupted and repaired while requests flow: no request fails, a broken
// version never replaces a working one, and a broken model at start-up leaves the others serving.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

// Writes a version directory next to the repository and renames it into place, so the poller
// never sees half a directory.
void PublishVersion(const fs::path& repo, const std::string& model, int version,
                    const std::string& file, const std::string& content) {
  fs::path staging = repo.parent_path() / ("staging-" + std::to_string(version));
  fs::remove_all(staging);
  WriteFile(staging / file, content);
  fs::rename(staging, repo / model / std::to_string(version));
}

std::vector<std::string> ServedVersions(uint16_t port, const std::string& model) {
  auto r = Http(port, "GET", "/v2/models/" + model);
  if (r.status != 200) return {};
  return json::parse(r.body)["versions"].get<std::vector<std::string>>();
}

bool WaitFor(const std::function<bool()>& pred) {
  for (int i = 0; i < 400; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

json IndexEntry(uint16_t port, const std::string& model, const std::string& version) {
  auto idx = json::parse(Http(port, "POST", "/v2/repository/index").body);
  for (const auto& e : idx) {
    if (e["name"] == model && e.value("version", "") == version) return e;
  }
  return json::object();
}

TEST(HotReloadTest, AddRemoveCorruptRepairWhileServing) {
  TempDir tmp;
  fs::path repo = tmp.path() / "repo";
  AddModel(repo, "m", 1, "binary_logistic");
  auto server = ServerProcess::Start(
      repo, {"--model-control-mode", "poll", "--repository-poll-secs", "0.05"});
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  const std::string good = ReadFile(FixtureDir("binary_logistic") / "model.json");
  const std::string other = ReadFile(FixtureDir("binary_logistic_base_score") / "model.json");
  const std::string body =
      V2Request({ReadCsv(FixtureDir("binary_logistic") / "input.csv", true)[0]});

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::mutex mu;
  std::set<std::string> seen;
  std::string first_failure;
  std::vector<std::thread> clients;
  struct JoinOnExit {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~JoinOnExit() {
      stop = true;
      for (auto& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_on_exit{stop, clients};
  for (int t = 0; t < 2; ++t) {
    clients.emplace_back([&] {
      auto conn = std::make_unique<HttpConnection>(port);
      while (!stop) {
        auto r = conn->Request("POST", "/v2/models/m/infer", body);
        if (r.status == 200) {
          ++ok;
          std::lock_guard<std::mutex> lock(mu);
          seen.insert(json::parse(r.body)["model_version"].get<std::string>());
        } else {
          std::lock_guard<std::mutex> lock(mu);
          if (failed++ == 0) first_failure = std::to_string(r.status) + " " + r.body;
          conn = std::make_unique<HttpConnection>(port);
        }
      }
    });
  }

  // A new version is swapped in.
  PublishVersion(repo, "m", 2, "model.json", other);
  EXPECT_TRUE(WaitFor([&] { return ServedVersions(port, "m") == std::vector<std::string>{"2"}; }));
  // A truncated file and an unknown objective never replace version 2.
  PublishVersion(repo, "m", 3, "model.json", good.substr(0, good.size() / 2));
  std::string bad_objective = good;
  bad_objective.replace(bad_objective.find("binary:logistic"), 15, "binary:whatever");
  PublishVersion(repo, "m", 4, "model.json", bad_objective);
  EXPECT_TRUE(
      WaitFor([&] { return IndexEntry(port, "m", "4").value("state", "") == "UNAVAILABLE"; }));
  EXPECT_TRUE(
      WaitFor([&] { return IndexEntry(port, "m", "3").value("state", "") == "UNAVAILABLE"; }));
  EXPECT_NE(IndexEntry(port, "m", "4").value("reason", "").find("binary:whatever"),
            std::string::npos)
      << IndexEntry(port, "m", "4");
  EXPECT_FALSE(IndexEntry(port, "m", "3").value("reason", "").empty());
  EXPECT_EQ(ServedVersions(port, "m"), std::vector<std::string>{"2"});
  // Version 2 removed: version 1 comes back, and 2 serves until it is ready.
  fs::remove_all(repo / "m" / "2");
  EXPECT_TRUE(WaitFor([&] { return ServedVersions(port, "m") == std::vector<std::string>{"1"}; }));
  // Version 3 repaired: it is retried and served.
  fs::remove_all(repo / "m" / "3");
  PublishVersion(repo, "m", 3, "model.json", good);
  EXPECT_TRUE(WaitFor([&] { return ServedVersions(port, "m") == std::vector<std::string>{"3"}; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop = true;
  for (auto& c : clients) c.join();

  EXPECT_EQ(failed.load(), 0) << "first failure: " << first_failure;
  EXPECT_GT(ok.load(), 50);
  EXPECT_TRUE(seen.count("1") && seen.count("2") && seen.count("3"));
  EXPECT_NE(server->Log().find("failed to load"), std::string::npos);
}

TEST(HotReloadTest, ModelAddedAndRemovedWhileServing) {
  TempDir tmp;
  fs::path repo = tmp.path() / "repo";
  AddModel(repo, "a", 1, "multi_softprob");
  auto server = ServerProcess::Start(
      repo, {"--model-control-mode", "poll", "--repository-poll-secs", "0.05"});
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Http(server->port(), "GET", "/v2/models/b").status, 404);
  fs::create_directories(repo / "b");
  PublishVersion(repo, "b", 1, "model.ubj", ReadFile(FixtureDir("reg_squarederror") / "model.ubj"));
  EXPECT_TRUE(
      WaitFor([&] { return Http(server->port(), "GET", "/v2/models/b/ready").status == 200; }));
  fs::remove_all(repo / "b");
  EXPECT_TRUE(WaitFor([&] { return Http(server->port(), "GET", "/v2/models/b").status == 404; }));
  EXPECT_EQ(Http(server->port(), "GET", "/v2/models/a/ready").status, 200);
}

TEST(HotReloadTest, BrokenModelAtStartupLeavesOthersServing) {
  TempDir tmp;
  fs::path repo = tmp.path() / "repo";
  AddModel(repo, "good", 1, "multi_softprob");
  WriteFile(repo / "broken" / "1" / "model.json", "{\"learner\": ");
  WriteFile(repo / "badconfig" / "config.yaml", "max_batch_size: [oops\n");
  AddModel(repo, "badconfig", 1, "multi_softprob");
  auto server = ServerProcess::Start(repo);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  EXPECT_EQ(Http(port, "GET", "/v2/models/good/ready").status, 200);
  EXPECT_EQ(Http(port, "GET", "/v2/health/live").status, 200);
  EXPECT_EQ(Http(port, "GET", "/v2/health/ready").status, 503);  // strict readiness
  auto b = Http(port, "GET", "/v2/models/broken/ready");
  EXPECT_EQ(b.status, 503);
  auto infer = Http(port, "POST", "/v2/models/broken/infer", V2Request({{1, 2, 3, 4}}));
  EXPECT_EQ(infer.status, 503);
  EXPECT_NE(infer.body.find("not ready"), std::string::npos) << infer.body;
  EXPECT_EQ(IndexEntry(port, "broken", "1").value("state", ""), "UNAVAILABLE");
  EXPECT_FALSE(IndexEntry(port, "broken", "1").value("reason", "").empty());
  auto idx = Http(port, "POST", "/v2/repository/index").body;
  EXPECT_NE(idx.find("bad config"), std::string::npos) << idx;
  EXPECT_EQ(Http(port, "POST", "/v2/models/good/infer", V2Request({{5.1, 3.5, 1.4, 0.2}})).status,
            200);

  auto lenient = ServerProcess::Start(repo, {"--strict-readiness", "false"});
  ASSERT_NE(lenient, nullptr);
  EXPECT_EQ(Http(lenient->port(), "GET", "/v2/health/ready").status, 200);
}

TEST(HotReloadTest, OnnxModelsServeOrAreRefusedWithTheOperatorsTheyNeed) {
  TempDir tmp;
  fs::path repo = tmp.path() / "repo";
  AddModel(repo, "trees", 1, "multi_softprob");
  // Forest models alone never load the ONNX plugin.
  {
    auto server = ServerProcess::Start(repo);
    ASSERT_NE(server, nullptr);
    EXPECT_EQ(server->Log().find("onnx backend"), std::string::npos) << server->Log();
  }
  fs::create_directories(repo / "mlp" / "1");
  fs::copy_file(SourceDir() / "tests/fixtures/onnx/mlp_tabular/model.onnx",
                repo / "mlp" / "1" / "model.onnx");
  fs::create_directories(repo / "cnn" / "1");
  fs::copy_file(SourceDir() / "tests/fixtures/onnx/op_unsupported/model.onnx",
                repo / "cnn" / "1" / "model.onnx");
  auto server = ServerProcess::Start(repo);
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  EXPECT_EQ(Http(port, "GET", "/v2/models/trees/ready").status, 200);
  // A graph the engine runs: its real input and output names, and answers.
  auto meta = json::parse(Http(port, "GET", "/v2/models/mlp").body);
  EXPECT_EQ(meta["platform"], "onnx");
  EXPECT_EQ(meta["inputs"][0]["name"], "features");
  EXPECT_EQ(meta["inputs"][0]["shape"], json::array({-1, 30}));
  EXPECT_EQ(meta["outputs"][0]["name"], "logits");
  std::vector<double> row(30, 0.5);
  auto r = Http(port, "POST", "/v2/models/mlp/infer", V2Request({row}, "features"));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outputs"][0]["shape"], json::array({1, 2}));
  // One it cannot: refused with every operator it lacks.
  EXPECT_EQ(IndexEntry(port, "cnn", "1").value("state", ""), "UNAVAILABLE");
  const std::string reason = IndexEntry(port, "cnn", "1").value("reason", "");
  EXPECT_NE(reason.find("unsupported operators: "), std::string::npos) << reason;
  EXPECT_NE(reason.find("Softplus"), std::string::npos) << reason;
  EXPECT_EQ(Http(port, "POST", "/v2/models/cnn/infer", V2Request({{1, 2}})).status, 503);
  EXPECT_NE(server->Log().find("loaded the onnx backend"), std::string::npos) << server->Log();
}

TEST(HotReloadTest, MissingRepositoryIsAClearError) {
  TempDir tmp;
  auto log = tmp.path() / "err.txt";
  std::string cmd = std::string(INFERD_BINARY_DIR) + "/inferd serve --model-repository " +
                    (tmp.path() / "nope").string() + " --http-port 0 2>" + log.string();
  int rc = std::system(cmd.c_str());
  EXPECT_NE(rc, 0);
  EXPECT_NE(ReadFile(log).find("is not a directory"), std::string::npos) << ReadFile(log);
}

}  // namespace
}  // namespace inferd::testing
