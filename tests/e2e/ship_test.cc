// Shipping better models, end to end through the CLI (issue #9).
// The release gate: `inferd validate` against a running server records its result there; a
// version whose gates failed takes no traffic (canary or promote) unless forced, which the audit
// trail says; a passing one goes through. Also the CLI's exit codes, the --state path, and the
// validation API's errors. `inferd optimize` writes a smaller version with its lineage that passes
// the gate it was made under.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    state_ = tmp_.path() / "state";
    const fs::path good = SourceDir() / "examples/models/breast_cancer/1/model.json";
    for (int v : {1, 3}) {
      fs::create_directories(repo_ / "m" / std::to_string(v));
      fs::copy_file(good, repo_ / "m" / std::to_string(v) / "model.json");
    }
    AddModel(repo_, "m", 2, "rf_binary");  // worse than 1 on the data
    WriteFile(repo_ / "m" / "config.yaml",
              "version_policy: {all: true}\nrollout: {labels: {stable: 1}}\n");
    WriteFile(tmp_.path() / "gates.yaml", "max_drop: {accuracy: 0.01}\n");
    server_ = ServerProcess::Start(repo_, {"--state", state_.string()});
    ASSERT_NE(server_, nullptr);
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  CommandResult Validate(const std::string& ref, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {
        "validate",     ref,      "--model-repository",
        repo_.string(), "--data", (SourceDir() / "examples/data/breast_cancer.csv").string(),
        "--label",      "label",  "--latency-seconds",
        "0.05"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunInferd(args);
  }
  CommandResult Rollout(std::vector<std::string> args) {
    args.insert(args.begin(), "rollout");
    args.insert(args.end(), {"--server", url_});
    return RunInferd(args);
  }
  TempDir tmp_;
  fs::path repo_, state_;
  std::unique_ptr<ServerProcess> server_;
  std::string url_;
};

TEST_F(ValidateTest, AFailedGateStopsTheRolloutUnlessForced) {
  const std::string gates = (tmp_.path() / "gates.yaml").string();
  // Version 2 against the stable version 1: its accuracy is lower; exit code 1, recorded.
  auto r = Validate("m@2", {"--against", "stable", "--gates", gates, "--server", url_});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("FAIL  max_drop accuracy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("recorded on " + url_), std::string::npos) << r.out;
  auto rec = Http(server_->port(), "GET", "/v2/models/m/versions/2/validation");
  ASSERT_EQ(rec.status, 200) << rec.body;
  const json j = json::parse(rec.body);
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_EQ(j["report"]["against"]["version"], 1);
  EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u);

  // Neither a canary weight nor a promotion.
  auto canary = Rollout({"set", "m", "--canary", "2", "--weight", "10"});
  EXPECT_EQ(canary.exit_code, 1);
  EXPECT_NE(canary.err.find("version 2 of 'm' failed validation (max_drop accuracy"),
            std::string::npos)
      << canary.err;
  auto promote = Rollout({"promote", "m", "--version", "2"});
  EXPECT_EQ(promote.exit_code, 1);
  EXPECT_NE(promote.err.find("--force"), std::string::npos) << promote.err;
  EXPECT_EQ(
      json::parse(Http(server_->port(), "GET", "/v2/models/m/rollout").body)["labels"]["stable"],
      1);
  // A weight of 0 sends it nothing: allowed.
  EXPECT_EQ(Rollout({"set", "m", "--canary", "2", "--weight", "0"}).exit_code, 0);

  // Forced: it goes through, and the audit trail says it was forced over a failed validation.
  auto forced = Rollout({"promote", "m", "--version", "2", "--force"});
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  auto audit = json::parse(Http(server_->port(), "GET", "/v2/audit?model=m&limit=10").body);
  ASSERT_FALSE(audit.empty());
  EXPECT_EQ(audit[0]["action"], "promote");
  const json detail = json::parse(audit[0]["detail"].get<std::string>());
  EXPECT_EQ(detail["validation"], "failed");
  EXPECT_EQ(detail["forced"], true);
  bool validate_audited = false;
  for (const auto& e : audit) validate_audited |= e["action"] == "validate";
  EXPECT_TRUE(validate_audited);

  // Version 3 (the same model as 1) passes against version 1 and is promoted without --force.
  r = Validate("m@3", {"--against", "1", "--gates", gates, "--server", url_});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PASSED"), std::string::npos);
  auto ok = Rollout({"promote", "m", "--version", "3"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  audit = json::parse(Http(server_->port(), "GET", "/v2/audit?model=m&limit=1").body);
  EXPECT_EQ(json::parse(audit[0]["detail"].get<std::string>())["validation"], "passed");
}

TEST_F(ValidateTest, LabelsJsonAndErrors) {
  // @stable resolves through the server; --json prints the report.
  auto r = Validate("m@stable", {"--server", url_, "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["version"], 1);
  EXPECT_TRUE(j["passed"].get<bool>());
  EXPECT_EQ(j["task"], "binary");
  EXPECT_GT(j["metrics"]["roc_auc"].get<double>(), 0.99);
  EXPECT_GT(j["latency"]["batch_1"]["calls"].get<int>(), 0);

  // Usage errors exit 2 with a message naming the problem.
  auto missing = Validate("m@7");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("model 'm' has no version 7"), std::string::npos) << missing.err;
  auto label = Validate("m@canary");
  EXPECT_EQ(label.exit_code, 2);
  EXPECT_NE(label.err.find("no label 'canary' (labels: stable)"), std::string::npos) << label.err;
  auto column = RunInferd({"validate", (repo_ / "m").string(), "--data",
                           (SourceDir() / "examples/data/breast_cancer.csv").string(), "--label",
                           "diagnosis"});
  EXPECT_EQ(column.exit_code, 2);
  EXPECT_NE(column.err.find("no column 'diagnosis'"), std::string::npos) << column.err;
  WriteFile(tmp_.path() / "bad.yaml", "metrics: {roc_auc: {min: high}}\n");
  auto gates = Validate("m@1", {"--gates", (tmp_.path() / "bad.yaml").string()});
  EXPECT_EQ(gates.exit_code, 2);
  EXPECT_NE(gates.err.find("metrics.roc_auc.min must be a number"), std::string::npos) << gates.err;

  // The API refuses what is not a report, an unknown version, and a report of other files.
  const std::string path = "/v2/models/m/versions/1/validation";
  auto bad = Http(server_->port(), "POST", path, R"({"passed":"yes"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("passed\\\": true or false"), std::string::npos) << bad.body;
  auto unknown =
      Http(server_->port(), "POST", "/v2/models/m/versions/9/validation", R"({"passed":true})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto other = Http(server_->port(), "POST", path, R"({"passed":true,"sha256":"abc"})");
  EXPECT_EQ(other.status, 409);
  EXPECT_NE(other.body.find("the report is of other files"), std::string::npos) << other.body;
  EXPECT_EQ(Http(server_->port(), "GET", "/v2/models/m/versions/3/validation").status, 404);
  EXPECT_EQ(Http(server_->port(), "DELETE", path).status, 405);
}

TEST_F(ValidateTest, RecordedInTheStateDirectoryTheServerReads) {
  // The server shares its state directory with the CLI (SQLite in WAL mode).
  auto r = Validate("m@2", {"--against", "1", "--gates", (tmp_.path() / "gates.yaml").string(),
                            "--state", state_.string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("recorded in " + state_.string()), std::string::npos) << r.out;
  auto promote = Rollout({"promote", "m", "--version", "2"});
  EXPECT_EQ(promote.exit_code, 1);
  EXPECT_NE(promote.err.find("failed validation"), std::string::npos) << promote.err;
}

}  // namespace
}  // namespace inferd::testing

namespace inferd::testing {
namespace {

TEST(OptimizeTest, WritesASmallerVersionWithLineageThatPassesValidation) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  const fs::path bench = SourceDir() / "bench/models/forest_300";
  fs::create_directories(repo / "f" / "1");
  fs::copy_file(bench / "1/model.ubj", repo / "f/1/model.ubj");
  // A config that names the model and a label file: the candidates load with them.
  WriteFile(repo / "f/labels.txt", "no\nyes\n");
  WriteFile(repo / "f/config.yaml",
            "name: f\noutputs: [{name: probabilities, label_filename: labels.txt}]\n");
  const std::string holdout = (bench / "holdout.csv").string();
  auto r = RunInferd({"optimize", "f@1", "--model-repository", repo.string(), "--data", holdout,
                      "--label", "y", "--max-metric-drop", "0.002", "--latency-seconds", "0.05"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("written as version 2"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("optimize: [1/"), std::string::npos) << r.err;  // progress, not a tty
  ASSERT_TRUE(fs::exists(repo / "f/2/model.json"));
  const std::string meta = ReadFile(repo / "f/2/metadata.yaml");
  EXPECT_NE(meta.find("parent: \"f@1\""), std::string::npos) << meta;
  EXPECT_NE(meta.find("parent_sha256: "), std::string::npos) << meta;
  EXPECT_LT(fs::file_size(repo / "f/2/model.json"), fs::file_size(repo / "f/1/model.ubj"));

  // It passes the gate it was made under, measured by validate.
  WriteFile(tmp.path() / "gates.yaml", "max_drop: {roc_auc: 0.002}\n");
  auto v = RunInferd({"validate", "f@2", "--model-repository", repo.string(), "--data", holdout,
                      "--label", "y", "--against", "1", "--gates",
                      (tmp.path() / "gates.yaml").string(), "--latency-seconds", "0.05"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;

  // The server loads it and shows its lineage.
  WriteFile(repo / "f/config.yaml", "version_policy: {all: true}\n");
  auto server = ServerProcess::Start(repo);
  ASSERT_NE(server, nullptr);
  auto meta_v2 = Http(server->port(), "GET", "/v2/models/f/versions/2");
  ASSERT_EQ(meta_v2.status, 200) << meta_v2.body;
  EXPECT_NE(meta_v2.body.find("f@1"), std::string::npos) << meta_v2.body;

  // --json, --dry-run: a report and no new version.
  auto dry = RunInferd({"optimize", "f@1", "--model-repository", repo.string(), "--data", holdout,
                        "--label", "y", "--max-metric-drop", "0.002", "--dry-run", "--json",
                        "--latency-seconds", "0.02"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  const auto j = nlohmann::json::parse(dry.out);
  EXPECT_EQ(j["metric"], "roc_auc");
  EXPECT_FALSE(j["candidates"].empty());
  EXPECT_FALSE(j.contains("new_version"));
  EXPECT_FALSE(fs::exists(repo / "f/3"));
}

TEST(OptimizeTest, QuantizesAnMlpToInt8WithinTheBudget) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  const fs::path bench = SourceDir() / "bench/models/mlp_512";
  fs::create_directories(repo / "mlp" / "1");
  fs::copy_file(bench / "1/model.onnx", repo / "mlp/1/model.onnx");
  auto r = RunInferd({"optimize", "mlp@1", "--model-repository", repo.string(), "--data",
                      (bench / "holdout.csv").string(), "--label", "y", "--max-metric-drop",
                      "0.005", "--latency-seconds", "0.05", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["metric"], "accuracy");
  ASSERT_EQ(j["candidates"].size(), 3u);
  EXPECT_NE(j["candidates"][0]["name"].get<std::string>().find("int8"), std::string::npos);
  for (const auto& c : j["candidates"]) {
    EXPECT_LT(c["bytes"].get<int64_t>(), j["source"]["bytes"].get<int64_t>() / 3);  // int8
  }
  EXPECT_EQ(j["new_version"], 2);
  // The new version is standard ONNX with the quantized ops, and it serves.
  const std::string model = ReadFile(repo / "mlp/2/model.onnx");
  EXPECT_NE(model.find("DynamicQuantizeLinear"), std::string::npos);
  EXPECT_NE(model.find("MatMulInteger"), std::string::npos);
  auto server = ServerProcess::Start(repo);
  ASSERT_NE(server, nullptr);
  auto meta = Http(server->port(), "GET", "/v2/models/mlp/versions/2");
  ASSERT_EQ(meta.status, 200) << meta.body;
  EXPECT_NE(meta.body.find("mlp@1"), std::string::npos) << meta.body;  // lineage
  // `inferd quantize` alone writes the same kind of model, and names what it cannot quantize.
  auto q = RunInferd({"quantize", (bench / "1/model.onnx").string(), "--out",
                      (tmp.path() / "q.onnx").string(), "--keep-last-fp32"});
  EXPECT_EQ(q.exit_code, 0) << q.err;
  EXPECT_NE(q.out.find("2 MatMul/Gemm/Conv in int8; left in FP32:"), std::string::npos) << q.out;
}

TEST(OptimizeTest, ClearErrors) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  fs::create_directories(repo / "lgbm" / "1");
  fs::copy_file(SourceDir() / "examples/models/breast_cancer_lightgbm/1/model.txt",
                repo / "lgbm/1/model.txt");
  AddModel(repo, "m", 1, "binary_logistic");
  const std::string data = (SourceDir() / "examples/data/breast_cancer.csv").string();
  auto lgbm = RunInferd({"optimize", "lgbm@1", "--model-repository", repo.string(), "--data", data,
                         "--label", "label", "--max-metric-drop", "0.01"});
  EXPECT_EQ(lgbm.exit_code, 2);
  EXPECT_NE(lgbm.err.find("no optimizer for forest models (model.txt)"), std::string::npos)
      << lgbm.err;
  auto metric = RunInferd({"optimize", "m@1", "--model-repository", repo.string(), "--data", data,
                           "--label", "label", "--max-metric-drop", "0.01", "--metric", "rmse"});
  EXPECT_EQ(metric.exit_code, 2);
  EXPECT_NE(metric.err.find("'rmse' is not a binary metric"), std::string::npos) << metric.err;
  auto negative = RunInferd({"optimize", "m@1", "--model-repository", repo.string(), "--data", data,
                             "--label", "label", "--max-metric-drop", "-1"});
  EXPECT_NE(negative.exit_code, 0);
  EXPECT_NE(negative.err.find("--max-metric-drop"), std::string::npos) << negative.err;
}

}  // namespace
}  // namespace inferd::testing

namespace inferd::testing {
namespace {

TEST(TuneTest, FindsAConfigurationForTheSloPlansCapacityAndWritesIt) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  AddModel(repo, "m", 1, "binary_logistic");
  // A config that names the model and a label file: the configurations tried load with them.
  WriteFile(repo / "m/labels.txt", "benign\nmalignant\n");
  WriteFile(repo / "m/config.yaml",
            "# tuned below\nname: m\nmonitoring: {enabled: false}\n"
            "outputs: [{name: probabilities, label_filename: labels.txt}]\n");
  const std::vector<std::string> base = {"tune",      "m",   "--model-repository", repo.string(),
                                         "--seconds", "0.2", "--concurrency",      "1,4"};
  auto args = base;
  args.insert(args.end(), {"--slo-p99", "5s", "--target-rps", "250000", "--cost-per-core-hour",
                           "0.05", "--json"});
  auto r = RunInferd(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_GE(j["results"].size(), 9u);  // threads without batching, then batching around them
  bool batched = false, unbatched = false;
  for (const auto& res : j["results"]) {
    (res["config"]["dynamic_batching"].get<bool>() ? batched : unbatched) = true;
    ASSERT_EQ(res["levels"].size(), 2u);
    for (const auto& l : res["levels"]) EXPECT_EQ(l["errors"], 0);
  }
  EXPECT_TRUE(batched && unbatched);
  ASSERT_TRUE(j["chosen"].is_object());
  const auto& cap = j["capacity"];
  const double usable = cap["replica_rps"].get<double>() * 0.7;
  const int64_t replicas = cap["replicas"].get<int64_t>();
  EXPECT_GE(replicas * usable, 250000);
  EXPECT_LT((replicas - 1) * usable, 250000);
  EXPECT_EQ(cap["cores"].get<int64_t>(), replicas * cap["cores_per_replica"].get<int64_t>());
  EXPECT_NEAR(cap["monthly_cost"].get<double>(), cap["cores"].get<double>() * 0.05 * 730, 1e-6);

  // The text report, and --write: config.yaml gets the chosen batching; the server serves it.
  args = base;
  args.insert(args.end(), {"--slo-p99", "5s", "--write"});
  r = RunInferd(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("best: threads"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("written to"), std::string::npos) << r.out;
  const std::string config = ReadFile(repo / "m/config.yaml");
  EXPECT_NE(config.find("max_batch_size:"), std::string::npos) << config;
  EXPECT_NE(config.find("monitoring"), std::string::npos) << config;  // other keys kept
  auto server = ServerProcess::Start(repo);
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Http(server->port(), "GET", "/v2/models/m/ready").status, 200);
}

TEST(TuneTest, AnSloNothingMeetsAndBadInput) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  AddModel(repo, "m", 1, "binary_logistic");
  auto r = RunInferd({"tune", "m", "--model-repository", repo.string(), "--slo-p99", "1us",
                      "--seconds", "0.1", "--concurrency", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("no configuration meets p99 <= 1 us"), std::string::npos) << r.out;
  auto bad = RunInferd({"tune", "m", "--model-repository", repo.string(), "--slo-p99", "fast"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--slo-p99 'fast' is not a duration"), std::string::npos) << bad.err;
  auto levels = RunInferd({"tune", "m", "--model-repository", repo.string(), "--slo-p99", "5ms",
                           "--concurrency", "1,x"});
  EXPECT_EQ(levels.exit_code, 2);
  EXPECT_NE(levels.err.find("'x' is not a number"), std::string::npos) << levels.err;
  auto missing =
      RunInferd({"tune", "m@4", "--model-repository", repo.string(), "--slo-p99", "5ms"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no version 4"), std::string::npos) << missing.err;
}

}  // namespace
}  // namespace inferd::testing

namespace inferd::testing {
namespace {

TEST(SearchTest, TrainsMeasuresPlotsAndSavesTheChosenTrial) {
  TempDir tmp;
  const std::string data = (SourceDir() / "examples/data/breast_cancer.csv").string();
  const fs::path save = tmp.path() / "models" / "bc";
  const fs::path plot = tmp.path() / "front.svg";
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {"search", "--data",   data, "--label", "label", "--task",
                                     "binary", "--trials", "4",  "--seed",  "7"};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunInferd(args);
  };
  // (A budget every trial meets, however loaded the machine: the test is of the wiring.)
  auto r = run({"--save-to", save.string(), "--plot", plot.string(), "--max-size-mb", "5",
                "--latency-budget-us", "1000000"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("Pareto front (roc_auc vs batch-1 latency)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("written as version 1"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("search: [1/4] trial 2"), std::string::npos) << r.err;
  const std::string meta = ReadFile(save / "1/metadata.yaml");
  EXPECT_NE(meta.find("training_data_hash: "), std::string::npos) << meta;
  EXPECT_NE(meta.find("search_trial: "), std::string::npos) << meta;
  EXPECT_NE(ReadFile(save / "config.yaml").find("features: [\"f0\""), std::string::npos);
  const std::string svg = ReadFile(plot);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  size_t circles = 0;
  for (size_t p = svg.find("<circle"); p != std::string::npos; p = svg.find("<circle", p + 1)) {
    ++circles;
  }
  EXPECT_EQ(circles, 4u);

  // The saved model serves, and the draws are the seed's: a second run repeats the trials.
  auto server = ServerProcess::Start(tmp.path() / "models");
  ASSERT_NE(server, nullptr);
  EXPECT_EQ(Http(server->port(), "GET", "/v2/models/bc/versions/1/ready").status, 200);
  auto a = nlohmann::json::parse(run({"--json", "--plot", ""}).out);
  auto b = nlohmann::json::parse(run({"--json", "--plot", ""}).out);
  ASSERT_EQ(a["trials"].size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(a["trials"][i]["params"], b["trials"][i]["params"]);
    EXPECT_EQ(a["trials"][i]["rounds"], b["trials"][i]["rounds"]);
    EXPECT_EQ(a["trials"][i]["metric"], b["trials"][i]["metric"]);
  }
  // The choice is the best metric among the feasible.
  double best = -1;
  for (const auto& t : a["trials"]) best = std::max(best, t["metric"].get<double>());
  bool chosen_is_best = false;
  for (const auto& t : a["trials"]) {
    chosen_is_best |= t["trial"] == a["chosen"] && t["metric"].get<double>() == best;
  }
  EXPECT_TRUE(chosen_is_best) << a.dump();
}

TEST(SearchTest, BudgetsNothingMeetsAndBadLabels) {
  TempDir tmp;
  const std::string data = (SourceDir() / "examples/data/breast_cancer.csv").string();
  auto none = RunInferd({"search", "--data", data, "--label", "label", "--task", "binary",
                         "--trials", "2", "--latency-budget-us", "0.001", "--plot", ""});
  EXPECT_EQ(none.exit_code, 1) << none.err;
  EXPECT_NE(none.out.find("no trial meets the latency budget"), std::string::npos) << none.out;
  auto multi = RunInferd({"search", "--data", data, "--label", "label", "--task", "multiclass",
                          "--trials", "1", "--plot", ""});
  EXPECT_EQ(multi.exit_code, 2);
  EXPECT_NE(multi.err.find("multiclass needs at least 3 classes"), std::string::npos) << multi.err;
  WriteFile(tmp.path() / "bad.csv", "a,y\n1,0\n2,1\n3,2\n");
  auto bad = RunInferd({"search", "--data", (tmp.path() / "bad.csv").string(), "--label", "y",
                        "--task", "binary", "--plot", ""});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("row 3 has label 2: a binary label is a class index (0 or 1)"),
            std::string::npos)
      << bad.err;
  auto task = RunInferd({"search", "--data", data, "--label", "label", "--task", "ranking"});
  EXPECT_NE(task.exit_code, 0);
  EXPECT_NE(task.err.find("--task"), std::string::npos) << task.err;
}

}  // namespace
}  // namespace inferd::testing

namespace inferd::testing {
namespace {

struct ShellResult {
  int exit_code = -1;
  std::string out;
};

// Runs examples/ci/ship.sh all with `env`, output and errors together.
ShellResult RunShip(const std::map<std::string, std::string>& env) {
  std::string cmd;
  for (const auto& [k, v] : env) cmd += k + "='" + v + "' ";
  cmd += "INFERD='" + std::string(INFERD_BINARY_DIR) + "/inferd' bash '" +
         (SourceDir() / "examples/ci/ship.sh").string() + "' all 2>&1";
  ShellResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) r.out.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The pipeline of examples/ci (the GitHub Actions workflow and the Jenkinsfile run the same
// stages) against a local server with live traffic: a good version is shipped, one that fails
// its gates is stopped before it takes traffic, one that passes the gates but is slow on live
// traffic is rolled back.
TEST(CiPipelineTest, ShipsStopsAndRollsBack) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo", models = tmp.path() / "models";
  const fs::path bc = SourceDir() / "examples/models/breast_cancer/1/model.json";
  for (const fs::path& dir : {repo / "m/1", models / "m/1", models / "m/2"}) {
    fs::create_directories(dir);
    fs::copy_file(bc, dir / "model.json");
  }
  AddModel(models, "m", 3, "rf_binary");   // worse: fails strict gates
  fs::create_directories(models / "m/4");  // 300 trees: passes lenient gates, slow when served
  fs::copy_file(SourceDir() / "bench/models/forest_300/1/model.ubj", models / "m/4/model.ubj");
  WriteFile(repo / "m/config.yaml", "version_policy: {all: true}\n");
  WriteFile(tmp.path() / "lenient.yaml", "metrics: {roc_auc: {min: 0}}\n");
  WriteFile(tmp.path() / "strict.yaml", "max_drop: {accuracy: 0.01}\n");
  auto server = ServerProcess::Start(repo, {"--model-control-mode", "explicit", "--load-model", "m",
                                            "--state", (tmp.path() / "state").string()});
  ASSERT_NE(server, nullptr);
  // Live traffic all along.
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  auto row = ReadCsv(SourceDir() / "examples/data/breast_cancer.csv", true)[0];
  row.pop_back();  // the label
  const std::string body = V2Request({row});
  std::thread traffic([&] {
    HttpConnection c(server->port());
    while (!stop) {
      auto r = c.Request("POST", "/v2/models/m/infer", body);
      if (r.status != 200) ++failures;
    }
  });
  std::map<std::string, std::string> env = {
      {"MODEL", "m"},
      {"MODEL_DIR", (models / "m").string()},
      {"REPOSITORY", repo.string()},
      {"HOLDOUT", (SourceDir() / "examples/data/breast_cancer.csv").string()},
      {"LABEL", "label"},
      {"INFERD_URL", "http://127.0.0.1:" + std::to_string(server->port())},
      {"CANARY_WEIGHT", "50"},
      {"WATCH_SECONDS", "2"},
      {"WATCH_INTERVAL", "0.5"},
      {"MIN_REQUESTS", "20"}};
  auto labels = [&] {
    return nlohmann::json::parse(Http(server->port(), "GET", "/v2/models/m/rollout").body);
  };

  // Version 2 is the stable model itself: its compute time is stable's, up to the noise of a
  // shared machine, which a ratio limit of 3 leaves room for. Version 4 (300 trees) computes about
  // 3.5x as long as stable: the default limit, 1.5, stops it.
  env["VERSION"] = "2";
  env["MAX_LATENCY_RATIO"] = "3";
  auto r = RunShip(env);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("HEALTHY: the canary v2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shipped: m version 2 is stable"), std::string::npos) << r.out;
  EXPECT_EQ(labels()["labels"]["stable"], 2);

  env.erase("MAX_LATENCY_RATIO");
  env["VERSION"] = "3";
  env["GATES"] = (tmp.path() / "strict.yaml").string();
  r = RunShip(env);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("FAIL  max_drop accuracy"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stopped: version 3 failed its gates"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("== canary"), std::string::npos) << r.out;
  auto l = labels();
  EXPECT_EQ(l["labels"]["stable"], 2);
  EXPECT_EQ(l["weights"].value("canary", 0), 0);

  env["VERSION"] = "4";
  env["GATES"] = (tmp.path() / "lenient.yaml").string();
  r = RunShip(env);
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("NOT HEALTHY: the canary's compute time"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rolled back: m version 4 takes no traffic"), std::string::npos) << r.out;
  l = labels();
  EXPECT_EQ(l["labels"]["stable"], 2);
  EXPECT_EQ(l["labels"]["canary"], 4);
  EXPECT_EQ(l["weights"]["canary"], 0);
  stop = true;
  traffic.join();
  EXPECT_EQ(failures.load(), 0);  // no request failed through it all

  // The audit trail tells the story.
  auto audit =
      nlohmann::json::parse(Http(server->port(), "GET", "/v2/audit?model=m&limit=100").body);
  std::vector<std::string> actions;
  for (auto it = audit.rbegin(); it != audit.rend(); ++it) actions.push_back((*it)["action"]);
  const std::vector<std::string> want = {"pin",      "validate", "canary", "promote",
                                         "validate", "validate", "canary", "canary"};
  std::vector<std::string> rollout_actions;
  for (const auto& a : actions) {
    if (a != "load" && a != "unload") rollout_actions.push_back(a);
  }
  EXPECT_EQ(rollout_actions, want);
}

}  // namespace
}  // namespace inferd::testing
