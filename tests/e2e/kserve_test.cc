// KServe's handover of a model (`inferd serve --model-dir /mnt/models --model-name NAME`): the
// files lie directly in the directory, under KServe's names; model.bst is recognised by its
// content. Served over real sockets, the answers equal the fixtures'.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

class KserveTest : public ::testing::Test {
 protected:
  // `file` copied into a fresh directory as `name`.
  fs::path ModelDir(const fs::path& file, const std::string& name) {
    const fs::path dir = tmp_.path() / ("m" + std::to_string(++dirs_));
    fs::create_directories(dir);
    fs::copy_file(file, dir / name);
    return dir;
  }
  std::unique_ptr<ServerProcess> Serve(const fs::path& dir, const std::string& name = "bc") {
    return ServerProcess::Start({}, {"--model-dir", dir.string(), "--model-name", name});
  }
  TempDir tmp_;
  int dirs_ = 0;
};

TEST_F(KserveTest, ModelBstIsRecognisedByItsContent) {
  const auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  const auto want = ReadCsv(FixtureDir("binary_logistic") / "predict.csv", false);
  struct Case {
    fs::path file;
    std::string platform;
  };
  for (const Case& c : {Case{FixtureDir("binary_logistic") / "model.json", "xgboost_json"},
                        Case{FixtureDir("binary_logistic") / "model.ubj", "xgboost_ubj"}}) {
    SCOPED_TRACE(c.file.string());
    auto server = Serve(ModelDir(c.file, "model.bst"));
    ASSERT_NE(server, nullptr);
    auto meta = Http(server->port(), "GET", "/v2/models/bc");
    ASSERT_EQ(meta.status, 200) << meta.body;
    EXPECT_EQ(json::parse(meta.body)["platform"], c.platform);
    auto r = Http(server->port(), "POST", "/v2/models/bc/infer", V2Request({rows[0], rows[1]}));
    ASSERT_EQ(r.status, 200) << r.body;
    const auto probs = json::parse(r.body)["outputs"][0]["data"];
    EXPECT_NEAR(probs[1].get<double>(), want[0][0], 1e-6);
    EXPECT_NEAR(probs[3].get<double>(), want[1][0], 1e-6);
  }
  // A LightGBM text model named model.bst.
  const fs::path lgbm = SourceDir() / "examples/models/breast_cancer_lightgbm/1/model.txt";
  auto server = Serve(ModelDir(lgbm, "model.bst"));
  ASSERT_NE(server, nullptr);
  auto meta = Http(server->port(), "GET", "/v2/models/bc");
  ASSERT_EQ(meta.status, 200) << meta.body;
  EXPECT_NE(json::parse(meta.body)["platform"].get<std::string>().find("lightgbm"),
            std::string::npos)
      << meta.body;
}

TEST_F(KserveTest, KserveFileNamesAndTheModelsOtherFiles) {
  // model.onnx as it is, with a config.yaml beside it applying to the model.
  const fs::path dir =
      ModelDir(SourceDir() / "examples/models/breast_cancer_mlp/1/model.onnx", "model.onnx");
  WriteFile(dir / "config.yaml", "max_batch_size: 4\n");
  auto server = Serve(dir, "mlp");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Http(server->port(), "GET", "/v2/models/mlp/ready").status, 200);
  std::vector<std::vector<double>> five(5, std::vector<double>(30, 1.0));
  auto big = Http(server->port(), "POST", "/v2/models/mlp/infer", V2Request(five));
  EXPECT_EQ(big.status, 400) << big.body;  // config.yaml's max_batch_size applies
  EXPECT_NE(big.body.find("max_batch_size"), std::string::npos) << big.body;
  // The version is recorded with its digest, as any version is.
  auto versions = Http(server->port(), "GET", "/v2/models/mlp/versions");
  EXPECT_NE(versions.body.find("sha256"), std::string::npos) << versions.body;
}

TEST_F(KserveTest, ClearErrors) {
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "serve");
    return RunInferd(args);
  };
  const fs::path empty = tmp_.path() / "empty";
  fs::create_directories(empty);
  auto none = run({"--model-dir", empty.string(), "--model-name", "m"});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("holds no model file (looked for model.bst"), std::string::npos)
      << none.err;
  const fs::path two = ModelDir(FixtureDir("binary_logistic") / "model.json", "model.json");
  fs::copy_file(FixtureDir("binary_logistic") / "model.ubj", two / "model.ubj");
  auto several = run({"--model-dir", two.string(), "--model-name", "m"});
  EXPECT_EQ(several.exit_code, 2);
  EXPECT_NE(several.err.find("several model files (model.json, model.ubj)"), std::string::npos)
      << several.err;
  const fs::path legacy = tmp_.path() / "legacy";
  fs::create_directories(legacy);
  WriteFile(legacy / "model.bst", std::string("binf\0\0\0?", 8));
  auto old = run({"--model-dir", legacy.string(), "--model-name", "m"});
  EXPECT_EQ(old.exit_code, 2);
  EXPECT_NE(old.err.find("XGBoost's legacy binary format"), std::string::npos) << old.err;
  auto name = run({"--model-dir", two.string()});
  EXPECT_EQ(name.exit_code, 2);
  EXPECT_NE(name.err.find("--model-dir needs --model-name"), std::string::npos) << name.err;
  auto bad_name = run({"--model-dir", legacy.string(), "--model-name", "../x"});
  EXPECT_EQ(bad_name.exit_code, 2);
  EXPECT_NE(bad_name.err.find("is not a valid model name"), std::string::npos) << bad_name.err;
  auto missing = run({"--model-dir", (tmp_.path() / "nope").string(), "--model-name", "m"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("is not a directory"), std::string::npos) << missing.err;
  auto neither = run({});
  EXPECT_EQ(neither.exit_code, 2);
  EXPECT_NE(neither.err.find("needs --model-repository DIR or --model-dir DIR"), std::string::npos)
      << neither.err;
}

}  // namespace
}  // namespace inferd::testing

namespace inferd::testing {
namespace {

// `inferd health`: the container's HEALTHCHECK (no curl in the image).
TEST(HealthCommandTest, ExitCodeFollowsReadiness) {
  TempDir tmp;
  AddModel(tmp.path() / "repo", "m", 1, "binary_logistic");
  auto server = ServerProcess::Start(tmp.path() / "repo");
  ASSERT_NE(server, nullptr);
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port());
  EXPECT_EQ(RunInferd({"health", "--server", url}).exit_code, 0);
  EXPECT_EQ(RunInferd({"health", "--server", url, "--probe", "live"}).exit_code, 0);
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort());
  auto r = RunInferd({"health", "--server", dead});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("inferd health: cannot connect"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace inferd::testing
