// A model directory as Triton's FIL backend has it (config.pbtxt, 1/xgboost.json) is served as
// Triton would: its input and output names, the configured batching, and the probabilities.
#include <gtest/gtest.h>

#include <map>
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

TEST(TritonRepositoryTest, ClassificationNamesTheClassFromALabelFile) {
  TempDir repo;
  // config.yaml: iris with its class names.
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  WriteFile(repo.path() / "iris" / "labels.txt", "setosa\nversicolor\nvirginica\n");
  WriteFile(repo.path() / "iris" / "config.yaml",
            "outputs: [{name: probabilities, label_filename: labels.txt},\n"
            "          {name: label, datatype: INT64}]\n");
  // config.pbtxt: a FIL forest whose one output is labelled.
  WriteFile(repo.path() / "fraud" / "1" / "xgboost.json",
            ReadFile(FixtureDir("binary_logistic") / "model.json"));
  WriteFile(repo.path() / "fraud" / "classes.txt", "benign\r\nmalignant\r\n");
  WriteFile(repo.path() / "fraud" / "config.pbtxt", R"(backend: "fil"
max_batch_size: 8
input [ { name: "input__0", data_type: TYPE_FP32, dims: [ 30 ] } ]
output [ { name: "output__0", data_type: TYPE_FP32, dims: [ 2 ], label_filename: "classes.txt" } ]
parameters [ { key: "output_class", value: { string_value: "true" } },
             { key: "predict_proba", value: { string_value: "true" } } ]
)");
  // Label files that cannot be used: named in the index, the model does not load.
  AddModel(repo.path(), "escape", 1, "multi_softprob");
  WriteFile(repo.path() / "escape" / "config.yaml",
            "outputs: [{name: probabilities, label_filename: ../labels.txt}]\n");
  AddModel(repo.path(), "missing", 1, "multi_softprob");
  WriteFile(repo.path() / "missing" / "config.yaml",
            "outputs: [{name: probabilities, label_filename: nope.txt}]\n");
  auto server = ServerProcess::Start(repo.path(), {"--strict-readiness", "false"});
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();

  auto iris_rows = ReadCsv(FixtureDir("multi_softprob") / "input.csv", true);
  iris_rows.resize(3);
  std::string body = V2Request(iris_rows);
  body.insert(body.size() - 1,
              R"(,"outputs":[{"name":"probabilities","parameters":{"classification":1}},)"
              R"({"name":"label"}])");
  auto r = Http(port, "POST", "/v2/models/iris/infer", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto out = json::parse(r.body)["outputs"];
  ASSERT_EQ(out.size(), 2u);
  const std::vector<std::string> names = {"setosa", "versicolor", "virginica"};
  for (size_t row = 0; row < 3; ++row) {
    const std::string top = out[0]["data"][row];
    const int64_t label = out[1]["data"][row];
    // "<value>:<index>:<label>", the index the model's own label output names.
    EXPECT_EQ(top.substr(top.find(':') + 1),
              std::to_string(label) + ":" + names[static_cast<size_t>(label)])
        << top;
  }

  auto fraud_rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  fraud_rows.resize(2);
  std::string fb = V2Request(fraud_rows, "input__0");
  fb.insert(fb.size() - 1,
            R"(,"outputs":[{"name":"output__0","parameters":{"classification":2}}])");
  auto f = Http(port, "POST", "/v2/models/fraud/infer", fb);
  ASSERT_EQ(f.status, 200) << f.body;
  for (const auto& entry : json::parse(f.body)["outputs"][0]["data"]) {
    const std::string e = entry;
    const bool benign = e.ends_with(":0:benign"), malignant = e.ends_with(":1:malignant");
    EXPECT_TRUE(benign || malignant) << e;  // (the \r of the file's line ends is not kept)
  }

  auto index = json::parse(Http(port, "POST", "/v2/repository/index").body);
  std::map<std::string, std::string> reasons;
  for (const auto& e : index) {
    if (!e.contains("version")) reasons[e["name"].get<std::string>()] = e.value("reason", "");
  }
  EXPECT_NE(reasons["escape"].find("must be a file name in the model directory"), std::string::npos)
      << reasons["escape"];
  EXPECT_NE(reasons["missing"].find("nope.txt cannot be read"), std::string::npos)
      << reasons["missing"];
}

}  // namespace
}  // namespace inferd::testing
