// Explicit model control (Triton's --model-control-mode explicit): only --load-model models load
// at start; POST /v2/repository/models/{m}/load and /unload change that, from loopback only;
// the index lists unloaded models; mistakes get clear errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

std::string State(uint16_t port, const std::string& model) {
  auto index = json::parse(Http(port, "POST", "/v2/repository/index").body);
  std::string state;
  for (const auto& e : index) {
    if (e["name"] == model) state = e["state"].get<std::string>();
  }
  return state;
}

TEST(ModelControlTest, ExplicitLoadAndUnload) {
  TempDir repo;
  AddModel(repo.path(), "cancer", 1, "binary_logistic");
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server = ServerProcess::Start(repo.path(), {"--model-control-mode", "explicit",
                                                   "--load-model", "cancer", "--host", "0.0.0.0"});
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  auto rows = ReadCsv(FixtureDir("multi_softprob") / "input.csv", true);
  EXPECT_EQ(State(port, "cancer"), "READY");
  EXPECT_EQ(State(port, "iris"), "UNAVAILABLE");
  EXPECT_EQ(Http(port, "POST", "/v2/models/iris/infer", V2Request({rows[0]})).status, 404);

  auto load = Http(port, "POST", "/v2/repository/models/iris/load");
  EXPECT_EQ(load.status, 200) << load.body;
  EXPECT_EQ(State(port, "iris"), "READY");
  EXPECT_EQ(Http(port, "POST", "/v2/models/iris/infer", V2Request({rows[0]})).status, 200);

  auto unload = Http(port, "POST", "/v2/repository/models/iris/unload");
  EXPECT_EQ(unload.status, 200) << unload.body;
  EXPECT_EQ(State(port, "iris"), "UNAVAILABLE");
  EXPECT_EQ(Http(port, "POST", "/v2/models/iris/infer", V2Request({rows[0]})).status, 404);

  auto unknown = Http(port, "POST", "/v2/repository/models/nope/load");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_NE(unknown.body.find("the repository has no model 'nope'"), std::string::npos);
  auto twice = Http(port, "POST", "/v2/repository/models/iris/unload");
  EXPECT_EQ(twice.status, 404);
  EXPECT_NE(twice.body.find("is not loaded"), std::string::npos);
  EXPECT_EQ(Http(port, "GET", "/v2/repository/models/iris/load").status, 405);

  // Management answers only clients on this machine's loopback.
  const std::string address = NonLoopbackAddress();
  if (!address.empty()) {
    HttpConnection remote(port, address);
    ASSERT_TRUE(remote.connected());
    auto r = remote.Request("POST", "/v2/repository/models/iris/load");
    EXPECT_EQ(r.status, 403);
    EXPECT_NE(r.body.find("only clients on loopback"), std::string::npos);
  }
}

TEST(ModelControlTest, LoadAndUnloadNeedExplicitMode) {
  TempDir repo;
  AddModel(repo.path(), "cancer", 1, "binary_logistic");
  auto server = ServerProcess::Start(repo.path());
  ASSERT_NE(server, nullptr);
  auto r = Http(server->port(), "POST", "/v2/repository/models/cancer/unload");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("need --model-control-mode explicit"), std::string::npos) << r.body;
  auto bad = RunInferd({"serve", "--model-repository", repo.path().string(), "--http-port", "0",
                        "--model-control-mode", "explicit", "--load-model", "nope"},
                       {}, std::chrono::seconds(20));
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("--load-model: the repository has no model 'nope'"), std::string::npos)
      << bad.err;
}

}  // namespace
}  // namespace inferd::testing
