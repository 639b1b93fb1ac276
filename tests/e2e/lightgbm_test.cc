// LightGBM text models (tests/fixtures/lightgbm, made by LightGBM v4.6.0) served over HTTP as
// <name>/1/model.txt: FP64 requests give LightGBM's own predictions and raw scores; FP32
// requests are widened; the metadata says FP64 and platform lightgbm_text.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

const char* const kFixtures[] = {"binary_breast_cancer",   "categorical_binary",
                                 "multiclass_digits",      "regression_diabetes",
                                 "regression_nan_missing", "xentropy"};

fs::path LightgbmDir(const std::string& name) {
  return SourceDir() / "tests" / "fixtures" / "lightgbm" / name;
}

double RelDiff(double got, double want) {
  return std::abs(got - want) / std::max(1.0, std::abs(want));
}

constexpr double kTol = 1e-9;
constexpr size_t kChunk = 128;  // rows per request, below the default max_batch_size

class LightgbmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new TempDir();
    for (const char* name : kFixtures) {
      const fs::path dir = repo_->path() / name / "1";
      fs::create_directories(dir);
      fs::copy_file(LightgbmDir(name) / "model.txt", dir / "model.txt");
    }
    server_ = ServerProcess::Start(repo_->path()).release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }
  static uint16_t port() { return server_->port(); }
  static TempDir* repo_;
  static ServerProcess* server_;
};
TempDir* LightgbmTest::repo_ = nullptr;
ServerProcess* LightgbmTest::server_ = nullptr;

std::map<std::string, json> OutputsByName(const json& response) {
  std::map<std::string, json> m;
  for (const auto& o : response["outputs"]) m[o["name"].get<std::string>()] = o;
  return m;
}

std::vector<std::vector<double>> Slice(const std::vector<std::vector<double>>& rows, size_t at) {
  const size_t end = std::min(rows.size(), at + kChunk);
  return {rows.begin() + static_cast<std::ptrdiff_t>(at),
          rows.begin() + static_cast<std::ptrdiff_t>(end)};
}

TEST_F(LightgbmTest, MetadataSaysFp64) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    auto r = Http(port(), "GET", std::string("/v2/models/") + name);
    ASSERT_EQ(r.status, 200) << r.body;
    auto j = json::parse(r.body);
    EXPECT_EQ(j["platform"], "lightgbm_text");
    ASSERT_EQ(j["inputs"].size(), 1u);
    EXPECT_EQ(j["inputs"][0]["name"], "input");
    EXPECT_EQ(j["inputs"][0]["datatype"], "FP64");
    const size_t features = ReadCsv(LightgbmDir(name) / "input.csv", true)[0].size();
    EXPECT_EQ(j["inputs"][0]["shape"], json::array({-1, features}));
    for (const auto& o : j["outputs"]) {
      EXPECT_EQ(o["datatype"], o["name"] == "label" ? "INT64" : "FP64") << o.dump();
    }
    EXPECT_EQ(j["parameters"]["format_version"], "v4");
    EXPECT_EQ(j["parameters"]["num_features"], std::to_string(features));
  }
  auto j = json::parse(Http(port(), "GET", "/v2/models/multiclass_digits").body);
  EXPECT_EQ(j["parameters"]["objective"], "multiclass");
  EXPECT_EQ(j["parameters"]["num_classes"], "10");
  EXPECT_EQ(j["parameters"]["num_trees"], "200");
}

TEST_F(LightgbmTest, Fp64RequestsMatchLightgbm) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const auto rows = ReadCsv(LightgbmDir(name) / "input.csv", true);
    const auto expected = ReadCsv(LightgbmDir(name) / "expected.csv", true);
    const auto raw = ReadCsv(LightgbmDir(name) / "expected_raw.csv", true);
    ASSERT_EQ(rows.size(), expected.size());
    const std::string target = std::string("/v2/models/") + name + "/infer";
    double max_rel = 0;
    for (size_t at = 0; at < rows.size(); at += kChunk) {
      const auto chunk = Slice(rows, at);
      const size_t n = chunk.size();
      auto r = Http(port(), "POST", target, V2RequestFp64(chunk));
      ASSERT_EQ(r.status, 200) << r.body;
      auto outs = OutputsByName(json::parse(r.body));
      EXPECT_EQ(outs.count("margin"), 0u);
      const size_t width = expected[0].size();
      if (outs.count("probabilities")) {
        const auto& p = outs["probabilities"];
        EXPECT_EQ(p["datatype"], "FP64");
        const size_t cols = width == 1 ? 2 : width;  // binary: [N, 2], column 1 = p
        EXPECT_EQ(p["shape"], json::array({n, cols}));
        for (size_t i = 0; i < n; ++i) {
          size_t best = 0;
          for (size_t k = 0; k < width; ++k) {
            const double want = expected[at + i][k];
            const double got = p["data"][i * cols + (width == 1 ? 1 : k)].get<double>();
            max_rel = std::max(max_rel, RelDiff(got, want));
            EXPECT_LE(RelDiff(got, want), kTol) << "row " << at + i << " class " << k;
            if (want > expected[at + i][best]) best = k;
          }
          if (width == 1) best = expected[at + i][0] > 0.5 ? 1 : 0;
          EXPECT_EQ(outs["label"]["data"][i].get<int64_t>(), static_cast<int64_t>(best));
        }
        EXPECT_EQ(outs["label"]["datatype"], "INT64");
      } else {
        const auto& p = outs["prediction"];
        EXPECT_EQ(p["datatype"], "FP64");
        EXPECT_EQ(p["shape"], json::array({n}));
        for (size_t i = 0; i < n; ++i) {
          const double got = p["data"][i].get<double>();
          max_rel = std::max(max_rel, RelDiff(got, expected[at + i][0]));
          EXPECT_LE(RelDiff(got, expected[at + i][0]), kTol) << "row " << at + i;
        }
      }
      // Raw scores on request.
      auto m = Http(port(), "POST", target, V2RequestFp64(chunk, "input", {"margin"}));
      ASSERT_EQ(m.status, 200) << m.body;
      auto mo = OutputsByName(json::parse(m.body));
      const size_t groups = raw[0].size();
      for (size_t i = 0; i < n; ++i) {
        for (size_t k = 0; k < groups; ++k) {
          const double got = mo["margin"]["data"][i * groups + k].get<double>();
          EXPECT_LE(RelDiff(got, raw[at + i][k]), kTol) << "row " << at + i;
        }
      }
    }
    std::printf("[ lightgbm ] %-24s over HTTP: max rel error %.3g\n", name, max_rel);
  }
}

TEST_F(LightgbmTest, Fp32RequestsAreWidened) {
  for (const char* name : kFixtures) {
    SCOPED_TRACE(name);
    const auto rows = Slice(ReadCsv(LightgbmDir(name) / "input.csv", true), 0);
    // Rounding inputs to float may flip splits, so only the answer's form is checked.
    auto r = Http(port(), "POST", std::string("/v2/models/") + name + "/infer", V2Request(rows));
    ASSERT_EQ(r.status, 200) << r.body;
    auto outs = OutputsByName(json::parse(r.body));
    const json& first = outs.count("prediction") ? outs["prediction"] : outs["probabilities"];
    EXPECT_EQ(first["datatype"], "FP64");
    EXPECT_EQ(first["shape"][0], rows.size());
  }
}

TEST_F(LightgbmTest, TfServingRowsMatchToo) {
  const auto rows = ReadCsv(LightgbmDir("regression_nan_missing") / "input.csv", true);
  const auto expected = ReadCsv(LightgbmDir("regression_nan_missing") / "expected.csv", true);
  json inst = json::array();
  for (size_t i = 0; i < kChunk; ++i) {
    json row = json::array();
    for (double v : rows[i]) row.push_back(std::isnan(v) ? json(nullptr) : json(v));
    inst.push_back(row);
  }
  auto r = Http(port(), "POST", "/v1/models/regression_nan_missing:predict",
                json{{"instances", inst}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  auto preds = json::parse(r.body)["predictions"];
  ASSERT_EQ(preds.size(), kChunk);
  for (size_t i = 0; i < kChunk; ++i) {
    EXPECT_LE(RelDiff(preds[i].get<double>(), expected[i][0]), kTol) << "row " << i;
  }
}

}  // namespace
}  // namespace inferd::testing
