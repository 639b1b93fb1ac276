#include "tools/validate.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backends/forest/forest_backend.h"
#include "tools/local_model.h"

namespace inferd::tools {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> Lines(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) {
    if (!l.empty()) out.push_back(l);
  }
  return out;
}

class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "validate-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    registry_.Register(backends::forest::ForestBackend::Create({.threads = 1}).value());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path Write(const std::string& name, const std::string& content) {
    fs::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return dir_ / name;
  }
  static fs::path Fixture(const std::string& name) {
    return fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/xgboost" / name;
  }
  static fs::path BreastCancerData() {
    return fs::path(INFERD_SOURCE_DIR) / "examples/data/breast_cancer.csv";
  }
  // <dir>/m/<version>/model.json from `fixture`.
  void AddVersion(int version, const fs::path& model_json) {
    fs::create_directories(dir_ / "m" / std::to_string(version));
    fs::copy_file(model_json, dir_ / "m" / std::to_string(version) / "model.json");
  }
  // The fixture's input rows with a label column: `label(row, prediction)`.
  fs::path Labelled(const std::string& fixture, const std::function<double(int, double)>& label) {
    auto in = Lines(Fixture(fixture) / "input.csv");
    auto pred = Lines(Fixture(fixture) / "predict.csv");
    std::string csv = in[0] + ",y\n";
    for (size_t r = 1; r < in.size(); ++r) {
      csv += in[r] + "," + std::to_string(label(static_cast<int>(r - 1), std::stod(pred[r - 1]))) +
             "\n";
    }
    return Write(fixture + ".csv", csv);
  }
  ValidateOptions Options(int version) {
    ValidateOptions o;
    o.model_dir = dir_ / "m";
    o.version = version;
    o.data = BreastCancerData();
    o.label = "label";
    o.backends = &registry_;
    o.latency_seconds = 0.01;
    return o;
  }
  fs::path dir_;
  backend::BackendRegistry registry_;
};

TEST_F(ValidateTest, GatesParseAndTyposAreRefused) {
  auto g = ParseGates(R"(
metrics:
  roc_auc: {min: 0.97}
  log_loss: {max: 0.25, min: 0}
max_drop: {accuracy: 0.01}
latency: {p99_us_batch_1: 300, p99_us_max_batch: 5000, max_batch: 64}
parity: {file: ref.csv, tolerance: 1e-5}
schema: {max_rejected_share: 0.01}
)",
                      "/base");
  ASSERT_TRUE(g.ok()) << g.status().message();
  EXPECT_EQ(g->min.at("roc_auc"), 0.97);
  EXPECT_EQ(g->max.at("log_loss"), 0.25);
  EXPECT_EQ(g->min.at("log_loss"), 0);
  EXPECT_EQ(g->max_drop.at("accuracy"), 0.01);
  EXPECT_EQ(*g->p99_us_batch_1, 300);
  EXPECT_EQ(*g->p99_us_max_batch, 5000);
  EXPECT_EQ(g->max_batch, 64);
  EXPECT_EQ(g->parity_file, fs::path("/base/ref.csv"));
  EXPECT_EQ(g->parity_tolerance, 1e-5);
  EXPECT_EQ(*g->max_rejected_share, 0.01);
  EXPECT_TRUE(ParseGates("", "/").ok());

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"metric: {}", "unknown key 'metric'"},
      {"metrics: {auc: {minimum: 1}}", "unknown key 'minimum' in metrics.auc"},
      {"metrics: {auc: {min: high}}", "metrics.auc.min must be a number"},
      {"max_drop: [1]", "max_drop must map"},
      {"latency: {max_batch: 0}", "max_batch must be a whole number"},
      {"latency: {p99_us_batch_1: .nan}", "must be a finite number"},
      {"parity: {tolerance: 1}", "parity.file"},
      {"parity: {file: r.csv, tolerance: -1}", "tolerance must be >= 0"},
      {"schema: {max_rejected: 0}", "unknown key 'max_rejected'"},
      {"metrics: [", "not YAML"},
  };
  for (const auto& [yaml, want] : bad) {
    auto st = ParseGates(yaml, "/");
    ASSERT_FALSE(st.ok()) << yaml;
    EXPECT_NE(st.status().message().find(want), std::string::npos)
        << yaml << " -> " << st.status().message();
  }
}

TEST_F(ValidateTest, ReadingLabelledDataNamesBadLinesAndColumns) {
  auto path = Write("d.csv", "a,b,y\n1,2,cat\n3,,dog\n\n5,6,\n");
  auto d = ReadLabelledCsv({.path = path, .label = "y", .classes = {"dog", "cat"}});
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->features, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(d->rows, 3);
  EXPECT_EQ(d->labels[0], 1);  // cat
  EXPECT_EQ(d->labels[1], 0);  // dog
  EXPECT_TRUE(std::isnan(d->labels[2]));
  EXPECT_TRUE(std::isnan(d->x[3]));  // b missing on the second row

  auto expect_error = [&](const ReadLabelledOptions& o, const std::string& want) {
    auto r = ReadLabelledCsv(o);
    ASSERT_FALSE(r.ok()) << want;
    EXPECT_NE(r.status().message().find(want), std::string::npos) << r.status().message();
  };
  expect_error({.path = path, .label = "y"}, "line 2, label column 'y': 'cat' is not a number");
  expect_error({.path = path, .label = "z"}, "no column 'z'");
  expect_error({.path = path, .label = "y", .classes = {"cat", "dog"}, .width = 3},
               "2 feature columns (a, b), but the model takes 3");
  expect_error({.path = Write("e.csv", "a,y\n1,0\nx,1\n"), .label = "y"},
               "line 3, column 'a': 'x' is not a number");
  expect_error({.path = Write("f.csv", "a,y\n1,0,3\n"), .label = "y"},
               "line 2: 3 fields, the header has 2");
  expect_error({.path = Write("g.csv", "1,0\n"), .label = "y"}, "must be a header");
  expect_error({.path = Write("h.csv", "a,y\n"), .label = "y"}, "no data rows");
  expect_error({.path = dir_ / "none.csv", .label = "y"}, "cannot read");
}

TEST_F(ValidateTest, MetricsAgreeWithLibxgboostsPredictions) {
  // Binary: the truth is libxgboost's own decision, flipped on every 7th row, so accuracy is
  // known without our engine.
  auto path = Labelled("binary_logistic", [](int r, double p) {
    const int decided = p > 0.5;
    return static_cast<double>(r % 7 == 0 ? 1 - decided : decided);
  });
  AddVersion(1, Fixture("binary_logistic") / "model.json");
  auto local = LoadLocalModel({.path = dir_ / "m", .backends = &registry_});
  ASSERT_TRUE(local.ok()) << local.status().message();
  auto data = ReadLabelledCsv({.path = path, .label = "y", .width = 30});
  ASSERT_TRUE(data.ok()) << data.status().message();
  auto e = Evaluate(*local->model, local->config, *data);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->task, "binary");
  EXPECT_EQ(e->rows, 80);
  const int flipped = (80 + 6) / 7;
  EXPECT_DOUBLE_EQ(e->metrics.at("accuracy"), (80.0 - flipped) / 80);
  ASSERT_TRUE(e->metrics.contains("roc_auc"));
  ASSERT_TRUE(e->outputs.contains("probabilities"));
  EXPECT_EQ(e->output_width.at("probabilities"), 2);
  const auto pred = Lines(Fixture("binary_logistic") / "predict.csv");
  for (size_t r = 0; r < pred.size(); ++r) {
    EXPECT_NEAR(e->outputs.at("probabilities")[2 * r + 1], std::stod(pred[r]), 1e-6);
  }

  // Regression: labels are libxgboost's predictions plus known errors.
  auto reg = Labelled("reg_squarederror", [](int r, double p) { return p + (r % 2 ? 3 : -1); });
  fs::remove_all(dir_ / "m");
  AddVersion(1, Fixture("reg_squarederror") / "model.json");
  local = LoadLocalModel({.path = dir_ / "m", .backends = &registry_});
  ASSERT_TRUE(local.ok());
  data = ReadLabelledCsv({.path = reg, .label = "y", .width = 10});
  ASSERT_TRUE(data.ok()) << data.status().message();
  e = Evaluate(*local->model, local->config, *data);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->task, "regression");
  EXPECT_NEAR(e->metrics.at("mae"), 2.0, 1e-4);              // |3| and |-1| alternate
  EXPECT_NEAR(e->metrics.at("rmse"), std::sqrt(5.0), 1e-4);  // (9 + 1) / 2
  EXPECT_NEAR(e->metrics.at("mean_error"), -1.0, 1e-4);      // prediction - truth
}

TEST_F(ValidateTest, MetricDirections) {
  EXPECT_EQ(DefaultMetric("binary"), "roc_auc");
  EXPECT_EQ(DefaultMetric("multiclass"), "accuracy");
  EXPECT_EQ(DefaultMetric("regression"), "rmse");
  EXPECT_NEAR(MetricDrop("roc_auc", 0.99, 0.98), 0.01, 1e-12);
  EXPECT_DOUBLE_EQ(MetricDrop("rmse", 2.0, 2.5), 0.5);  // a rise of an error is a drop
  EXPECT_NEAR(MetricDrop("log_loss", 0.3, 0.2), -0.1, 1e-12);
  EXPECT_TRUE(IsMetric("binary", "f1"));
  EXPECT_FALSE(IsMetric("regression", "f1"));
}

TEST_F(ValidateTest, GatesPassAndFailAgainstTheVersionItReplaces) {
  AddVersion(1, fs::path(INFERD_SOURCE_DIR) / "examples/models/breast_cancer/1/model.json");
  AddVersion(2, Fixture("rf_binary") / "model.json");  // 12 trees on 80 rows: a worse model
  // Version 1's outputs are the parity reference.
  auto o = Options(1);
  o.write_outputs = dir_ / "ref.csv";
  auto v1 = Validate(o);
  ASSERT_TRUE(v1.ok()) << v1.status().message();
  EXPECT_TRUE(v1->passed);  // no gates: nothing can fail
  EXPECT_TRUE(v1->gates.empty());
  EXPECT_EQ(Lines(dir_ / "ref.csv").size(), 570u);
  EXPECT_EQ(Lines(dir_ / "ref.csv")[0], "p0,p1,label");
  EXPECT_EQ(v1->sha256.size(), 64u);

  Gates g;
  g.min["roc_auc"] = 0.9;
  g.max_drop["accuracy"] = 0.005;
  g.p99_us_batch_1 = 1e9;
  g.parity_file = dir_ / "ref.csv";
  g.parity_tolerance = 1e-6;
  o = Options(2);
  o.against = 1;
  o.against_name = "stable";
  o.gates = g;
  auto v2 = Validate(o);
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  EXPECT_FALSE(v2->passed);
  ASSERT_EQ(v2->gates.size(), 4u);
  std::map<std::string, bool> passed;
  for (const auto& r : v2->gates) passed[r.gate] = r.passed;
  EXPECT_TRUE(passed.at("min roc_auc"));
  EXPECT_FALSE(passed.at("max_drop accuracy"));  // v1 saw every row in training
  EXPECT_TRUE(passed.at("p99 batch 1"));
  EXPECT_FALSE(passed.at("parity"));  // another model
  EXPECT_EQ(v2->failed.size(), 2u);
  EXPECT_GT(v2->against_metrics.at("accuracy"), v2->metrics.at("accuracy"));
  const auto j = nlohmann::json::parse(v2->ToJson());
  EXPECT_FALSE(j["passed"].get<bool>());
  EXPECT_EQ(j["against"]["version"], 1);
  EXPECT_EQ(j["failed"].size(), 2u);
  const std::string text = v2->ToText();
  EXPECT_NE(text.find("FAIL  max_drop accuracy"), std::string::npos) << text;
  EXPECT_NE(text.find("FAILED: 2 of 4 gates failed"), std::string::npos) << text;

  // Version 1 against itself: parity holds exactly.
  o = Options(1);
  Gates same;
  same.parity_file = dir_ / "ref.csv";
  same.parity_tolerance = 0;
  o.gates = same;
  auto again = Validate(o);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->passed) << again->ToText();

  // Latency gates no call can meet (a thousandth of a microsecond) fail, at both batch sizes.
  Gates instant;
  instant.p99_us_batch_1 = 0.001;
  instant.p99_us_max_batch = 0.001;
  instant.max_batch = 8;
  o.gates = instant;
  o.latency_seconds = 0.01;
  auto slow = Validate(o);
  ASSERT_TRUE(slow.ok()) << slow.status().message();
  EXPECT_FALSE(slow->passed);
  ASSERT_EQ(slow->gates.size(), 2u);
  EXPECT_EQ(slow->gates[0].gate, "p99 batch 1");
  EXPECT_FALSE(slow->gates[0].passed);
  EXPECT_EQ(slow->gates[1].gate, "p99 batch 8");
  EXPECT_FALSE(slow->gates[1].passed);
  EXPECT_EQ(slow->max_batch.batch, 8);

  // A gate on a metric the task has not is an error, not a failure.
  Gates wrong;
  wrong.min["rmse"] = 1;
  o.gates = wrong;
  auto err = Validate(o);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.status().message().find("'rmse' is not a binary metric"), std::string::npos);

  // Without gates but with a reference: the default max_drop on roc_auc.
  o = Options(2);
  o.against = 1;
  auto defaults = Validate(o);
  ASSERT_TRUE(defaults.ok());
  ASSERT_EQ(defaults->gates.size(), 1u);
  EXPECT_EQ(defaults->gates[0].gate, "max_drop roc_auc");
}

TEST_F(ValidateTest, TheSchemaGateCountsRejectedRows) {
  AddVersion(1, fs::path(INFERD_SOURCE_DIR) / "examples/models/breast_cancer/1/model.json");
  // f0 (mean radius) above 20 is rejected: 60-odd of the 569 rows.
  std::string yaml = "schema:\n  features:\n    - {name: f0, max: 20, out_of_range: reject}\n";
  for (int i = 1; i < 30; ++i) yaml += "    - {name: f" + std::to_string(i) + "}\n";
  Write("m/config.yaml", yaml);
  int above = 0;
  for (const auto& line : Lines(BreastCancerData())) {
    if (line[0] != 'f' && std::stod(line.substr(0, line.find(','))) > 20) ++above;
  }
  ASSERT_GT(above, 0);
  auto r = Validate(Options(1));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->rejected_rows, above);
  EXPECT_EQ(r->rows, 569 - above);
  EXPECT_FALSE(r->passed);  // the default schema gate: nothing rejected
  ASSERT_EQ(r->gates.size(), 1u);
  EXPECT_EQ(r->gates[0].gate, "schema");
  EXPECT_NE(r->gates[0].detail.find("feature 'f0'"), std::string::npos) << r->gates[0].detail;

  auto o = Options(1);
  Gates lenient;
  lenient.max_rejected_share = 0.5;
  o.gates = lenient;
  r = Validate(o);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->passed) << r->ToText();
}

}  // namespace
}  // namespace inferd::tools
