// A model directory as Triton's FIL backend has it (config.pbtxt, 1/xgboost.json) is served as
// Triton would: its input and output names, the configured batching, and the probabilities.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

TEST(TritonRepositoryTest, AFilModelWithItsConfigPbtxt) {
  TempDir repo;
  WriteFile(repo.path() / "fraud" / "1" / "xgboost.json",
            ReadFile(FixtureDir("binary_logistic") / "model.json"));
  WriteFile(repo.path() / "fraud" / "config.pbtxt", R"(name: "fraud"
backend: "fil"
max_batch_size: 1024
input [ { name: "input__0", data_type: TYPE_FP32, dims: [ 30 ] } ]
output [ { name: "output__0", data_type: TYPE_FP32, dims: [ 2 ] } ]
instance_group [ { kind: KIND_CPU } ]
parameters [
  { key: "model_type", value: { string_value: "xgboost_json" } },
  { key: "output_class", value: { string_value: "true" } },
  { key: "predict_proba", value: { string_value: "true" } }
]
dynamic_batching { max_queue_delay_microseconds: 100 }
optimization { }
)");
  auto server = ServerProcess::Start(repo.path());
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  rows.resize(2);
  auto r = Http(port, "POST", "/v2/models/fraud/infer", V2Request(rows, "input__0"));
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  ASSERT_EQ(j["outputs"].size(), 1u);  // the config declares one output
  EXPECT_EQ(j["outputs"][0]["name"], "output__0");
  EXPECT_EQ(j["outputs"][0]["shape"], json::array({2, 2}));
  auto expected = ReadCsv(FixtureDir("binary_logistic") / "predict.csv", false);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_NEAR(j["outputs"][0]["data"][2 * i + 1].get<double>(), expected[i][0], 1e-6);
  }
  auto config = json::parse(Http(port, "GET", "/v2/models/fraud/config").body);
  EXPECT_EQ(config["max_batch_size"], 1024);
  EXPECT_EQ(config["dynamic_batching"]["max_queue_delay_microseconds"], 100);
  // The unused Triton setting is named in the log.
  EXPECT_NE(server->Log().find("'optimization' is not used by inferd"), std::string::npos);
}

TEST(TritonRepositoryTest, AnUnsupportedConfigIsReportedInTheIndex) {
  TempDir repo;
  WriteFile(repo.path() / "gpu" / "1" / "xgboost.json",
            ReadFile(FixtureDir("binary_logistic") / "model.json"));
  WriteFile(repo.path() / "gpu" / "config.pbtxt",
            "backend: \"fil\"\ninstance_group [ { kind: KIND_GPU } ]\n");
  auto server = ServerProcess::Start(repo.path(), {"--strict-readiness", "false"});
  ASSERT_NE(server, nullptr);
  auto index = json::parse(Http(server->port(), "POST", "/v2/repository/index").body);
  bool reported = false;
  for (const auto& e : index) {
    reported |= e["name"] == "gpu" && e["reason"].get<std::string>().find(
                                          "KIND_GPU: inferd runs on CPUs") != std::string::npos;
  }
  EXPECT_TRUE(reported) << index.dump();
}

}  // namespace
}  // namespace inferd::testing
