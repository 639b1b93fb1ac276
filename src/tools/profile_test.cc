#include "tools/profile.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backends/forest/forest_backend.h"

namespace inferd::tools {
namespace {

namespace fs = std::filesystem;
using monitoring::FeatureProfile;

class ProfileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "profile-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    registry_.Register(backends::forest::ForestBackend::Create({.threads = 1}).value());
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return dir_ / name;
  }
  static fs::path Fixture(const std::string& name) {
    return fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/xgboost" / name;
  }
  fs::path dir_;
  backend::BackendRegistry registry_;
};

TEST_F(ProfileTest, TypesRangesBinsAndTheSchema) {
  // x: 1..100 (numeric); color: text (categorical); flag: 0/1 (categorical by the integer rule);
  // y: the label; missing values in x and color.
  std::string csv = "x,color,flag,y\n";
  for (int i = 1; i <= 100; ++i) {
    csv += (i == 50 ? std::string("") : std::to_string(i)) + "," +
           (i % 10 == 0 ? "NA" : (i % 3 ? "red" : "blue")) + "," + std::to_string(i % 2) + "," +
           std::to_string(i % 4 == 0) + "\n";
  }
  ProfileToolOptions o;
  o.data = Write("train.csv", csv);
  o.label = "y";
  auto p = BuildProfile(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->rows, 100u);
  ASSERT_EQ(p->features.size(), 3u);
  const FeatureProfile& x = p->features[0];
  EXPECT_EQ(x.kind, FeatureProfile::Kind::kNumeric);
  EXPECT_EQ(x.missing, 1u);
  EXPECT_EQ(x.min, 1);
  EXPECT_EQ(x.max, 100);
  EXPECT_EQ(x.edges.size(), 9u);  // deciles
  EXPECT_EQ(x.shares.size(), 10u);
  double total = 0;
  for (double s : x.shares) total += s;
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_EQ(x.sample.size(), 99u);                // all of them (fewer than the reservoir)
  EXPECT_NEAR(x.quantiles[3].second, 51, 1e-12);  // the median of 1..100 without 50
  const FeatureProfile& color = p->features[1];
  EXPECT_EQ(color.kind, FeatureProfile::Kind::kCategorical);
  EXPECT_EQ(color.missing, 10u);
  EXPECT_EQ(color.categories.at("red"), 60u);
  EXPECT_EQ(color.categories.at("blue"), 30u);
  EXPECT_EQ(p->features[2].kind, FeatureProfile::Kind::kCategorical);
  EXPECT_EQ(p->features[2].categories.at("1"), 50u);
  ASSERT_TRUE(p->label.has_value());
  EXPECT_EQ(p->label->categories.at("1"), 25u);
  // It round-trips through profile.json, with a proposed schema.
  const std::string text = p->ToJson();
  auto back = monitoring::Profile::FromJson(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->features[0].edges, x.edges);
  EXPECT_EQ(back->features[1].categories, color.categories);
  const auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j["schema"]["x"]["type"], "numeric");
  EXPECT_EQ(j["schema"]["x"]["max"], 100);
  EXPECT_EQ(j["schema"]["x"]["nullable"], true);
  EXPECT_EQ(j["schema"]["color"]["categories"], nlohmann::json::array({"blue", "red"}));
  EXPECT_EQ(j["schema"]["flag"]["nullable"], false);
}

TEST_F(ProfileTest, ReservoirIsBoundedAndReproducible) {
  std::string csv = "v\n";
  for (int i = 0; i < 5000; ++i) csv += std::to_string(i * 0.37) + "\n";
  ProfileToolOptions o;
  o.data = Write("big.csv", csv);
  o.profile.sample_size = 300;
  auto a = BuildProfile(o), b = BuildProfile(o);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->features[0].sample.size(), 300u);
  EXPECT_EQ(a->features[0].sample, b->features[0].sample);
  EXPECT_TRUE(std::is_sorted(a->features[0].sample.begin(), a->features[0].sample.end()));
}

TEST_F(ProfileTest, PredictionsOfAModel) {
  ProfileToolOptions o;
  o.data = Fixture("binary_logistic") / "input.csv";
  o.model = Fixture("binary_logistic") / "model.json";
  o.backends = &registry_;
  auto p = BuildProfile(o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->prediction.has_value());
  ASSERT_TRUE(p->score.has_value());
  EXPECT_EQ(p->prediction->kind, FeatureProfile::Kind::kCategorical);
  // The score is P(class 1): xgboost's own predictions (predict.csv) give the same mean.
  std::ifstream f(Fixture("binary_logistic") / "predict.csv");
  double sum = 0, n = 0;
  uint64_t positives = 0;
  for (std::string line; std::getline(f, line);) {
    if (line.empty()) continue;
    const double v = std::stod(line);
    sum += v;
    n += 1;
    positives += v > 0.5;
  }
  EXPECT_EQ(p->score->count, static_cast<uint64_t>(n));
  EXPECT_NEAR(p->score->mean, sum / n, 1e-6);
  EXPECT_EQ(p->prediction->categories.at("1"), positives);
}

TEST_F(ProfileTest, ErrorsNameTheProblem) {
  ProfileToolOptions o;
  o.data = dir_ / "missing.csv";
  EXPECT_EQ(BuildProfile(o).status().code(), base::StatusCode::kNotFound);
  o.data = Write("ragged.csv", "a,b\n1,2\n3\n");
  EXPECT_NE(BuildProfile(o).status().message().find("line 3: 1 fields, the header has 2"),
            std::string::npos);
  o.data = Write("ok.csv", "a,b\n1,2\n");
  o.label = "y";
  EXPECT_NE(BuildProfile(o).status().message().find("no column 'y'"), std::string::npos);
  o.label = "";
  o.data = Write("empty.csv", "a,b\n");
  EXPECT_NE(BuildProfile(o).status().message().find("no data rows"), std::string::npos);
  o.data = Write("text.csv", "a,b\nred,2\n");
  o.model = Fixture("binary_logistic") / "model.json";
  o.backends = &registry_;
  EXPECT_NE(BuildProfile(o).status().message().find("holds text"), std::string::npos);
  o.data = Write("narrow.csv", "a,b\n1,2\n");
  EXPECT_NE(BuildProfile(o).status().message().find("one input of shape [-1, 2]"),
            std::string::npos);
}

}  // namespace
}  // namespace inferd::tools
