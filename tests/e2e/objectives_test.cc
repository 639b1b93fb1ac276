// Every fixture (one per objective family, JSON and UBJSON, and the 2.x/3.x formats) served over
// HTTP: the outputs equal libxgboost's predictions stored beside the fixture.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

double Tol(double x) { return 1e-6 * std::max(1.0, std::abs(x)); }

std::vector<std::string> Fixtures() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(SourceDir() / "tests/fixtures/xgboost")) {
    if (e.is_directory() && fs::exists(e.path() / "meta.json")) {
      out.push_back(e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ObjectivesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new TempDir();
    for (const auto& f : Fixtures()) {
      AddModel(repo_->path(), f, 1, f, "model.json");
      if (fs::exists(FixtureDir(f) / "model.ubj"))
        AddModel(repo_->path(), f + "_ubj", 1, f, "model.ubj");
    }
    server_ = ServerProcess::Start(repo_->path()).release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }
  static TempDir* repo_;
  static ServerProcess* server_;
};
TempDir* ObjectivesTest::repo_ = nullptr;
ServerProcess* ObjectivesTest::server_ = nullptr;

std::map<std::string, json> OutputsByName(const json& response) {
  std::map<std::string, json> m;
  for (const auto& o : response["outputs"]) m[o["name"].get<std::string>()] = o;
  return m;
}

void CheckModel(uint16_t port, const std::string& model, const std::string& fixture) {
  SCOPED_TRACE(model);
  auto meta = json::parse(ReadFile(FixtureDir(fixture) / "meta.json"));
  std::string objective = meta["objective"];
  auto rows = ReadCsv(FixtureDir(fixture) / "input.csv", true);
  auto predict = ReadCsv(FixtureDir(fixture) / "predict.csv", false);
  auto margin = ReadCsv(FixtureDir(fixture) / "margin.csv", false);
  ASSERT_EQ(rows.size(), predict.size());
  const size_t n = rows.size();

  auto r = Http(port, "POST", "/v2/models/" + model + "/infer", V2Request(rows));
  ASSERT_EQ(r.status, 200) << r.body;
  auto outs = OutputsByName(json::parse(r.body));
  EXPECT_EQ(outs.count("margin"), 0u) << "margin is returned only when asked for";

  if (objective == "binary:logistic") {
    ASSERT_EQ(outs.size(), 2u);
    const auto& p = outs["probabilities"];
    EXPECT_EQ(p["shape"], json::array({n, 2}));
    for (size_t i = 0; i < n; ++i) {
      double p1 = p["data"][2 * i + 1], p0 = p["data"][2 * i];
      EXPECT_NEAR(p1, predict[i][0], Tol(predict[i][0])) << "row " << i;
      EXPECT_NEAR(p0, 1.0 - predict[i][0], 2e-6) << "row " << i;
      EXPECT_EQ(outs["label"]["data"][i].get<int64_t>(), p1 > p0 ? 1 : 0) << "row " << i;
    }
    EXPECT_EQ(outs["label"]["datatype"], "INT64");
  } else if (objective == "multi:softprob") {
    const auto& p = outs["probabilities"];
    size_t c = predict[0].size();
    EXPECT_EQ(p["shape"], json::array({n, c}));
    for (size_t i = 0; i < n; ++i) {
      size_t best = 0;
      for (size_t k = 0; k < c; ++k) {
        EXPECT_NEAR(p["data"][i * c + k].get<double>(), predict[i][k], Tol(predict[i][k]));
        if (predict[i][k] > predict[i][best]) best = k;
      }
      EXPECT_EQ(outs["label"]["data"][i].get<int64_t>(), static_cast<int64_t>(best));
    }
  } else if (objective == "multi:softmax") {
    size_t c = margin[0].size();
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(outs["label"]["data"][i].get<double>(), predict[i][0]) << "row " << i;
      double mx = *std::max_element(margin[i].begin(), margin[i].end()), sum = 0;
      for (double m : margin[i]) sum += std::exp(m - mx);
      for (size_t k = 0; k < c; ++k) {
        EXPECT_NEAR(outs["probabilities"]["data"][i * c + k].get<double>(),
                    std::exp(margin[i][k] - mx) / sum, 1e-6);
      }
    }
  } else if (objective == "binary:hinge") {
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(outs["label"]["data"][i].get<double>(), predict[i][0]);
      EXPECT_EQ(outs["prediction"]["data"][i].get<double>(), predict[i][0]);
    }
  } else {
    ASSERT_EQ(outs.size(), 1u);
    const auto& p = outs["prediction"];
    EXPECT_EQ(p["shape"], json::array({n}));
    EXPECT_EQ(p["datatype"], "FP32");
    for (size_t i = 0; i < n; ++i) {
      EXPECT_NEAR(p["data"][i].get<double>(), predict[i][0], Tol(predict[i][0])) << "row " << i;
    }
  }

  // Raw scores on request.
  auto m =
      Http(port, "POST", "/v2/models/" + model + "/infer", V2Request(rows, "input", {"margin"}));
  ASSERT_EQ(m.status, 200) << m.body;
  auto mo = OutputsByName(json::parse(m.body));
  ASSERT_EQ(mo.size(), 1u);
  size_t width = margin[0].size();
  for (size_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < width; ++k) {
      EXPECT_NEAR(mo["margin"]["data"][i * width + k].get<double>(), margin[i][k],
                  Tol(margin[i][k]));
    }
  }
}

TEST_F(ObjectivesTest, EveryFixtureMatchesLibxgboost) {
  auto fixtures = Fixtures();
  ASSERT_GE(fixtures.size(), 20u);
  for (const auto& f : fixtures) {
    CheckModel(server_->port(), f, f);
    if (fs::exists(FixtureDir(f) / "model.ubj")) CheckModel(server_->port(), f + "_ubj", f);
  }
}

TEST_F(ObjectivesTest, TfServingRowsMatchToo) {
  auto rows = ReadCsv(FixtureDir("multi_softprob_missing") / "input.csv", true);
  auto predict = ReadCsv(FixtureDir("multi_softprob_missing") / "predict.csv", false);
  json inst = json::array();
  for (const auto& r : rows) {
    json row = json::array();
    for (double v : r) row.push_back(std::isnan(v) ? json(nullptr) : json(v));
    inst.push_back(row);
  }
  auto r = Http(server_->port(), "POST", "/v1/models/multi_softprob_missing:predict",
                json{{"instances", inst}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  auto preds = json::parse(r.body)["predictions"];
  ASSERT_EQ(preds.size(), rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t k = 0; k < predict[i].size(); ++k) {
      EXPECT_NEAR(preds[i]["probabilities"][k].get<double>(), predict[i][k], Tol(predict[i][k]));
    }
  }
}

}  // namespace
}  // namespace inferd::testing
