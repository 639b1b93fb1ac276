#include "tools/drift_report.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "backends/forest/forest_backend.h"

namespace inferd::tools {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class DriftReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "drift-report-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    registry_.Register(backends::forest::ForestBackend::Create({.threads = 1}).value());
  }
  void TearDown() override { fs::remove_all(dir_); }
  // x ~ N(shift, 1), color in {red, green, blue}, y = (x > 0).
  fs::path Data(const std::string& name, int rows, double shift, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<double> normal(shift, 1);
    std::ofstream f(dir_ / name);
    f << "x,color,y\n";
    const char* colors[] = {"red", "green", "blue"};
    for (int i = 0; i < rows; ++i) {
      const double x = normal(rng);
      f << x << "," << colors[rng() % 3] << "," << (x > 0) << "\n";
    }
    return dir_ / name;
  }
  fs::path dir_;
  backend::BackendRegistry registry_;
};

TEST_F(DriftReportTest, AShiftedColumnAndLabelAreReported) {
  DriftReportOptions o;
  o.reference = Data("ref.csv", 1000, 0, 1);
  o.current = Data("cur.csv", 800, 0.5, 2);
  o.label = "y";
  auto text = BuildDriftReport(o);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const json r = json::parse(*text);
  EXPECT_EQ(r["reference"]["rows"], 1000);
  EXPECT_EQ(r["current"]["rows"], 800);
  const json& f = r["drift"]["features"];
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0]["name"], "x");
  EXPECT_EQ(f[0]["method"], "ks");
  EXPECT_TRUE(f[0]["drifted"].get<bool>());
  EXPECT_EQ(f[1]["type"], "categorical");
  EXPECT_FALSE(f[1]["drifted"].get<bool>()) << f[1].dump();
  EXPECT_EQ(f[0]["distributions"]["reference"].size(), 10u);
  EXPECT_TRUE(r["drift"]["dataset_drift"].get<bool>());  // 1 of 2 features: the 0.5 share
  EXPECT_TRUE(r["label_drift"]["drifted"].get<bool>());  // more y = 1 now
  const std::string html = RenderDriftReportHtml(*text);
  EXPECT_NE(html.find("<b id=\"verdict\">dataset drift</b>"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"drift\"><td>x</td>"), std::string::npos);
  EXPECT_NE(html.find("<svg class=\"bars\""), std::string::npos);
  // The embedded data reads back.
  const size_t at = html.find("id=\"report\">") + 12;
  const json back = json::parse(html.substr(at, html.find("</script>", at) - at));
  EXPECT_EQ(back["drift"]["features"][0]["name"], "x");
}

TEST_F(DriftReportTest, QualityAndPredictionsWithAModel) {
  // The fixture's rows with xgboost's own labels: the same data on both sides.
  const fs::path fixture = fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/xgboost/binary_logistic";
  std::ifstream in(fixture / "input.csv"), pred(fixture / "predict.csv");
  std::ofstream out(dir_ / "data.csv");
  std::string line, p;
  std::getline(in, line);
  out << line << ",y\n";
  int flips = 0, rows = 0;
  while (std::getline(in, line) && std::getline(pred, p)) {
    int y = std::stod(p) > 0.5;
    if (rows % 10 == 0) {  // every tenth label wrong: accuracy 0.9
      y = 1 - y;
      ++flips;
    }
    out << line << "," << y << "\n";
    ++rows;
  }
  out.close();
  DriftReportOptions o;
  o.reference = dir_ / "data.csv";
  o.current = dir_ / "data.csv";
  o.label = "y";
  o.model = fixture / "model.json";
  o.backends = &registry_;
  auto text = BuildDriftReport(o);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const json r = json::parse(*text);
  EXPECT_FALSE(r["drift"]["dataset_drift"].get<bool>());
  EXPECT_DOUBLE_EQ(r["quality"]["current"]["accuracy"].get<double>(),
                   1.0 - static_cast<double>(flips) / rows);
  EXPECT_EQ(r["quality"]["reference"]["count"], rows);
  EXPECT_FALSE(r["drift"]["prediction"]["drifted"].get<bool>());
  EXPECT_NE(RenderDriftReportHtml(*text).find("<table id=\"quality\">"), std::string::npos);
}

TEST_F(DriftReportTest, ColumnsMustMatch) {
  DriftReportOptions o;
  o.reference = Data("ref.csv", 100, 0, 1);
  std::ofstream(dir_ / "other.csv") << "a,b\n1,2\n";
  o.current = dir_ / "other.csv";
  auto r = BuildDriftReport(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no column 'x'"), std::string::npos) << r.status().message();
  std::ofstream(dir_ / "text.csv") << "x,color,y\nhigh,red,1\n";
  o.current = dir_ / "text.csv";
  r = BuildDriftReport(o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'x' holds text in one file and numbers in the other"),
            std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace inferd::tools
