#include "monitoring/drift_window.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace inferd::monitoring {
namespace {

// A profile of three features: x ~ N(0, 1), color in {0, 1, 2}, flag in {0, 1}; and a score.
Profile MakeProfile() {
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal(0, 1);
  ProfileOptions o;
  FeatureProfiler x("x", false, o), color("color", false, o), flag("flag", false, o),
      score("score", false, o);
  for (int i = 0; i < 5000; ++i) {
    x.AddNumber(normal(rng));
    color.AddNumber(static_cast<double>(i % 3));
    flag.AddNumber(static_cast<double>(i % 4 == 0));
    score.AddNumber(std::abs(normal(rng)) / 4);
  }
  Profile p;
  p.features = {x.Finish(), color.Finish(), flag.Finish()};
  p.score = score.Finish();
  return p;
}

// `rows` rows like the profile's, x shifted by `shift`, flag 1 with probability `flag_p`.
std::vector<double> Rows(std::mt19937_64& rng, int rows, double shift, double flag_p = 0.25) {
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<double> v;
  for (int i = 0; i < rows; ++i) {
    v.push_back(normal(rng) + shift);
    v.push_back(static_cast<double>(rng() % 3));
    v.push_back(unit(rng) < flag_p ? 1 : 0);
  }
  return v;
}

TEST(DriftWindowTest, AShiftedFeatureIsFlaggedAndTheOthersAreNot) {
  const Profile profile = MakeProfile();
  ASSERT_EQ(profile.features[1].kind, FeatureProfile::Kind::kCategorical);
  std::mt19937_64 rng(7);
  DriftAccumulator same(&profile, 1000, 1), shifted(&profile, 1000, 2);
  same.AddRows(Rows(rng, 800, 0), 3);
  shifted.AddRows(Rows(rng, 800, 0.5, 0.45), 3);
  const DriftSettings s;
  const auto a = EvaluateDrift(profile, same, s);
  ASSERT_EQ(a.features.size(), 3u);
  EXPECT_EQ(a.features[0].method, "ks");
  EXPECT_EQ(a.features[1].method, "chisquare");
  EXPECT_EQ(a.features[2].method, "z");
  EXPECT_FALSE(a.features[0].drifted) << a.features[0].p_value.value();
  EXPECT_FALSE(a.dataset_drift);
  const auto b = EvaluateDrift(profile, shifted, s);
  EXPECT_TRUE(b.features[0].drifted);
  EXPECT_LT(*b.features[0].p_value, 1e-6);
  EXPECT_FALSE(b.features[1].drifted);
  EXPECT_TRUE(b.features[2].drifted);  // 0.25 -> 0.45
  EXPECT_NEAR(b.drifted_share, 2.0 / 3, 1e-12);
  EXPECT_TRUE(b.dataset_drift);
  // Distances on larger windows.
  shifted.AddRows(Rows(rng, 800, 0.5, 0.45), 3);
  const auto c = EvaluateDrift(profile, shifted, s);
  EXPECT_EQ(c.features[0].method, "wasserstein");
  EXPECT_EQ(c.features[1].method, "jensenshannon");
  EXPECT_TRUE(c.features[0].drifted);
  EXPECT_NEAR(c.features[0].statistic, 0.5, 0.1);  // the mean shift in reference stds
  for (const char* method : {"psi", "jensenshannon", "ks", "wasserstein"}) {
    DriftSettings m;
    m.numeric_method = method;
    EXPECT_TRUE(EvaluateDrift(profile, shifted, m).features[0].drifted) << method;
    EXPECT_FALSE(EvaluateDrift(profile, same, m).features[0].drifted) << method;
  }
}

TEST(DriftWindowTest, BucketsMergeIntoAUniformWindowAndSurviveJson) {
  const Profile profile = MakeProfile();
  std::mt19937_64 rng(3);
  DriftAccumulator window(&profile, 300, 9);
  for (int b = 0; b < 10; ++b) {
    DriftAccumulator bucket(&profile, 100, static_cast<uint64_t>(b));
    // Buckets of very different sizes: 50 rows at x+0, 500 rows at x+3 alternately.
    bucket.AddRows(Rows(rng, b % 2 ? 500 : 50, b % 2 ? 3.0 : 0.0), 3);
    auto back = DriftAccumulator::FromJson(&profile, bucket.ToJson(), 100, 5);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    window.Merge(*back);
  }
  EXPECT_EQ(window.rows(), 5u * 50 + 5u * 500);
  const auto& x = window.features()[0];
  EXPECT_LE(x.sample.size(), 300u);
  EXPECT_GE(x.sample.size(), 100u);
  double bins = 0;
  for (double v : x.bins) bins += v;
  EXPECT_EQ(bins, 2750);
  // Weighted: about 2500 / 2750 of the sample comes from the shifted buckets (x > 1.5).
  const double high =
      std::count_if(x.sample.begin(), x.sample.end(), [](double v) { return v > 1.5; });
  EXPECT_NEAR(high / static_cast<double>(x.sample.size()), 2500.0 / 2750, 0.06);
  EXPECT_FALSE(DriftAccumulator::FromJson(&profile, "{\"rows\": 1, \"features\": []}", 10, 1).ok());
}

TEST(DriftWindowTest, DataQualityAndDegenerateWindows) {
  const Profile profile = MakeProfile();
  DriftAccumulator a(&profile, 100, 1);
  const double nan = std::nan("");
  a.AddRows(std::vector<double>{nan, 7, 1, 99, 1, 0, -99, nan, 1}, 3);
  const auto& x = a.features()[0];
  EXPECT_EQ(x.missing, 1u);
  EXPECT_EQ(x.out_of_range, 2u);
  EXPECT_EQ(a.features()[1].unseen, 1u);  // color 7
  EXPECT_EQ(a.features()[1].missing, 1u);
  // Too few rows: no verdict, no NaN.
  const auto r = EvaluateDrift(profile, a, DriftSettings());
  for (const auto& f : r.features) {
    EXPECT_FALSE(f.enough);
    EXPECT_FALSE(f.drifted);
    EXPECT_TRUE(std::isfinite(f.statistic));
  }
  EXPECT_FALSE(r.dataset_drift);
  const auto empty = EvaluateDrift(profile, DriftAccumulator(&profile, 100, 1), DriftSettings());
  EXPECT_EQ(empty.drifted_share, 0);
  EXPECT_TRUE(std::isfinite(empty.features[0].statistic));
  // A constant reference column.
  ProfileOptions o;
  FeatureProfiler k("k", false, o);
  for (int i = 0; i < 200; ++i) k.AddNumber(5.5);
  Profile constant;
  constant.features = {k.Finish()};
  DriftAccumulator c(&constant, 100, 1);
  for (int i = 0; i < 200; ++i) c.AddRows(std::vector<double>{5.5}, 1);
  for (const char* method : {"ks", "wasserstein", "psi", "jensenshannon"}) {
    DriftSettings m;
    m.numeric_method = method;
    const auto d = EvaluateDrift(constant, c, m);
    EXPECT_TRUE(std::isfinite(d.features[0].statistic)) << method;
    EXPECT_FALSE(d.features[0].drifted) << method;
  }
}

TEST(DriftWindowTest, CorrectionsLowerFalseAlarms) {
  // 30 unshifted N(0, 1) features, 100 windows of 200 rows: without correction about 5% of the
  // features are flagged; with Bonferroni (0.05 / 30) almost none.
  ProfileOptions o;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> normal(0, 1);
  Profile p;
  for (int f = 0; f < 30; ++f) {
    FeatureProfiler fp("f" + std::to_string(f), false, o);
    for (int i = 0; i < 2000; ++i) fp.AddNumber(normal(rng));
    p.features.push_back(fp.Finish());
  }
  int plain = 0, bonferroni = 0;
  for (int w = 0; w < 100; ++w) {
    DriftAccumulator a(&p, 1000, static_cast<uint64_t>(w));
    std::vector<double> rows;
    for (int i = 0; i < 200 * 30; ++i) rows.push_back(normal(rng));
    a.AddRows(rows, 30);
    DriftSettings s;
    for (const auto& f : EvaluateDrift(p, a, s).features) plain += f.drifted;
    s.correction = "bonferroni";
    for (const auto& f : EvaluateDrift(p, a, s).features) bonferroni += f.drifted;
  }
  EXPECT_GT(plain, 50);  // of 3000 feature-windows
  EXPECT_LT(plain, 300);
  EXPECT_LT(bonferroni, 15);
}

}  // namespace
}  // namespace inferd::monitoring
