// Parity with libxgboost 1.7 on every fixture under tests/fixtures/xgboost/: each model.json and
// model.ubj is loaded by the forest engine and by libxgboost's C API, and every output is compared
// (within 1e-6 * max(1, |x|)) with libxgboost's and with the fixture's predict.csv/margin.csv.
// The hand-converted fixtures (newer layouts, meta.json "converted_from") are checked against
// their csv files; libxgboost 1.7 is also compared when it reads them the way the csv says
// (it loads the 3.1 layout but silently ignores a bracketed base_score such as "[3E-1]").
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backends/forest/forest_test_util.h"

namespace inferd::backends::forest::testing {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> FixtureNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(XgboostFixtureRoot(), ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "model.json")) {
      names.push_back(entry.path().filename().string());
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Totals over the whole run, printed at the end for the report.
struct ParityTotals {
  ParityStats vs_libxgboost;
  ParityStats vs_csv;
  int fixtures = 0;
  int model_files = 0;
  std::vector<std::string> csv_only;  // files libxgboost 1.7 does not read as the csv says
};

ParityTotals& Totals() {
  static ParityTotals totals;
  return totals;
}

class ReportTotals : public ::testing::Environment {
 public:
  void TearDown() override {
    const ParityTotals& t = Totals();
    if (t.fixtures == 0) return;
    std::printf("[ parity ] %d fixtures, %d model files\n", t.fixtures, t.model_files);
    std::printf("[ parity ] vs libxgboost, its outputs: %s\n",
                t.vs_libxgboost.direct.ToString().c_str());
    std::printf("[ parity ] vs libxgboost, derived:     %s\n",
                t.vs_libxgboost.derived.ToString().c_str());
    std::printf("[ parity ] vs csv, its outputs:        %s\n", t.vs_csv.direct.ToString().c_str());
    std::printf("[ parity ] vs csv, derived:            %s\n", t.vs_csv.derived.ToString().c_str());
    for (const std::string& f : t.csv_only) {
      std::printf("[ parity ] %s: checked against csv only\n", f.c_str());
    }
  }
};
[[maybe_unused]] auto* const kReport = ::testing::AddGlobalTestEnvironment(new ReportTotals);

TEST(ForestParityTest, FixturesArePresent) {
  EXPECT_GE(FixtureNames().size(), 1u)
      << "no fixtures under " << XgboostFixtureRoot() << " (run tools/fixtures/make_fixtures.py)";
}

class FixtureParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureParityTest, MatchesLibxgboostAndCsv) {
  const fs::path dir = XgboostFixtureRoot() / GetParam();
  const auto meta = nlohmann::json::parse(ReadText(dir / "meta.json"));
  auto x = ReadCsv(dir / "input.csv", /*header=*/true);
  auto predict_csv = ReadCsv(dir / "predict.csv", /*header=*/false);
  auto margin_csv = ReadCsv(dir / "margin.csv", /*header=*/false);
  ASSERT_TRUE(x.ok()) << x.status().ToString();
  ASSERT_TRUE(predict_csv.ok()) << predict_csv.status().ToString();
  ASSERT_TRUE(margin_csv.ok()) << margin_csv.status().ToString();
  ASSERT_EQ(x->cols, meta["num_feature"].get<int64_t>());
  ++Totals().fixtures;

  for (const char* file : {"model.json", "model.ubj"}) {
    const fs::path path = dir / file;
    if (!fs::exists(path)) continue;
    SCOPED_TRACE(path.string());
    ++Totals().model_files;
    auto model = LoadWithForest(path);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    const backend::ModelSignature& sig = (*model)->signature();
    EXPECT_EQ(sig.platform, std::string(file) == "model.ubj" ? "xgboost_ubj" : "xgboost_json");
    EXPECT_EQ(sig.properties.at("objective"), meta["objective"].get<std::string>());
    EXPECT_EQ(sig.properties.at("num_trees"), std::to_string(meta["num_trees"].get<int>()));
    EXPECT_EQ(sig.properties.at("num_features"), std::to_string(x->cols));
    ASSERT_EQ(sig.inputs.size(), 1u);
    EXPECT_EQ(sig.inputs[0].shape, (tensor::Shape{-1, x->cols}));
    const Task task = TaskOf(**model);

    ParityStats csv_stats;
    {
      SCOPED_TRACE("vs predict.csv / margin.csv");
      ExpectMatchesReference(**model, task, *x, *predict_csv, *margin_csv, &csv_stats);
    }
    Totals().vs_csv.Merge(csv_stats);

    const bool converted = meta.contains("converted_from");
    auto booster = XgbBooster::Load(path);
    if (!booster.ok()) {
      EXPECT_TRUE(converted) << "libxgboost cannot load a 1.7 fixture: "
                             << booster.status().ToString();
      Totals().csv_only.push_back(GetParam() + "/" + file + " (libxgboost 1.7 cannot load it: " +
                                  booster.status().message().substr(0, 80) + ")");
      continue;
    }
    auto ref_predict = (*booster)->Predict(*x, /*margin=*/false);
    auto ref_margin = (*booster)->Predict(*x, /*margin=*/true);
    ASSERT_TRUE(ref_predict.ok()) << ref_predict.status().ToString();
    ASSERT_TRUE(ref_margin.ok()) << ref_margin.status().ToString();
    if (converted) {
      const double off =
          std::max(MaxRelDiff(*ref_margin, *margin_csv), MaxRelDiff(*ref_predict, *predict_csv));
      if (off > kTolerance) {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "%.3g", off);
        Totals().csv_only.push_back(GetParam() + "/" + file +
                                    " (libxgboost 1.7 loads it but differs from the csv by " + buf +
                                    ")");
        continue;
      }
    }
    ParityStats xgb_stats;
    {
      SCOPED_TRACE("vs libxgboost");
      ExpectMatchesReference(**model, task, *x, *ref_predict, *ref_margin, &xgb_stats);
    }
    Totals().vs_libxgboost.Merge(xgb_stats);
  }
}

std::string SafeName(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, FixtureParityTest, ::testing::ValuesIn(FixtureNames()),
                         SafeName);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(FixtureParityTest);

}  // namespace
}  // namespace inferd::backends::forest::testing
