// Drift statistics against the values Debian's scipy 1.10 printed for the same data
// (tools/fixtures/monitoring/make_reference.py wrote tests/fixtures/monitoring/drift.json).
#include "monitoring/drift.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "monitoring/stat_math.h"

namespace inferd::monitoring {
namespace {

using nlohmann::json;

const json& Reference() {
  static const json j = [] {
    std::ifstream f(std::string(INFERD_SOURCE_DIR) + "/tests/fixtures/monitoring/drift.json");
    std::stringstream s;
    s << f.rdbuf();
    return json::parse(s.str());
  }();
  return j;
}

constexpr double kTol = 1e-9;

TEST(StatMathTest, TailsMatchScipy) {
  for (const auto& v : Reference()["normal_sf"]) {
    EXPECT_NEAR(NormalSf(v[0].get<double>()), v[1].get<double>(), 1e-12) << v;
  }
  for (const auto& v : Reference()["chi2_sf"]) {
    EXPECT_NEAR(ChiSquaredSf(v[0].get<double>(), v[1].get<double>()), v[2].get<double>(), 1e-12)
        << v;
  }
  for (const auto& v : Reference()["kolmogorov"]) {
    EXPECT_NEAR(KolmogorovSf(v[0].get<double>()), v[1].get<double>(), 1e-12) << v;
  }
  EXPECT_EQ(ChiSquaredSf(0, 3), 1.0);
  EXPECT_EQ(KolmogorovSf(0), 1.0);
  EXPECT_TRUE(std::isnan(ChiSquaredSf(1, 0)));
}

void ExpectNumeric(const json& c) {
  const auto a = c["a"].get<std::vector<double>>();
  const auto b = c["b"].get<std::vector<double>>();
  const auto edges = c["edges"].get<std::vector<double>>();
  const json& w = c["expected"];
  std::vector<double> ba(edges.size() + 1), bb(edges.size() + 1);
  for (double x : a) ++ba[BinOf(edges, x)];
  for (double x : b) ++bb[BinOf(edges, x)];
  EXPECT_EQ(ba, w["bins_a"].get<std::vector<double>>());
  EXPECT_EQ(bb, w["bins_b"].get<std::vector<double>>());
  EXPECT_NEAR(Psi(Shares(ba), Shares(bb)), w["psi"].get<double>(), kTol);
  EXPECT_NEAR(JensenShannon(ba, bb), w["jensenshannon"].get<double>(), kTol);
  const auto ks = KolmogorovSmirnov(a, b);
  EXPECT_NEAR(ks.statistic, w["ks_statistic"].get<double>(), kTol);
  EXPECT_NEAR(ks.p_value, w["ks_pvalue_kolmogorov"].get<double>(), kTol);
  // scipy's own ks_2samp(method='asymp') p-value (kstwo) differs from the limit by little (0.014 at
  // n m / (n + m) = 343).
  EXPECT_NEAR(ks.p_value, w["ks_pvalue_scipy_asymp"].get<double>(), 0.02);
  std::printf("KS p: kolmogorov %.6g, scipy asymp %.6g\n", ks.p_value,
              w["ks_pvalue_scipy_asymp"].get<double>());
  double mean = 0, var = 0;
  for (double x : a) mean += x / a.size();
  for (double x : a) var += (x - mean) * (x - mean) / a.size();
  EXPECT_NEAR(WassersteinNormalized(a, b, std::sqrt(var)),
              w["wasserstein_normalized"].get<double>(), kTol);
}

TEST(DriftTest, NumericMatchesScipy) {
  ExpectNumeric(Reference()["numeric_same"]);
  ExpectNumeric(Reference()["numeric_shifted"]);
  ExpectNumeric(Reference()["numeric_scaled_discrete"]);
}

TEST(DriftTest, CategoricalMatchesScipy) {
  for (const char* name : {"categorical", "categorical_same"}) {
    const json& c = Reference()[name];
    const auto ref = c["reference"].get<std::vector<double>>();
    const auto cur = c["current"].get<std::vector<double>>();
    const auto chi = ChiSquaredHomogeneity(ref, cur);
    EXPECT_NEAR(chi.statistic, c["expected"]["chi2"].get<double>(), kTol) << name;
    EXPECT_NEAR(chi.p_value, c["expected"]["pvalue"].get<double>(), kTol) << name;
    EXPECT_NEAR(JensenShannon(ref, cur), c["expected"]["jensenshannon"].get<double>(), kTol)
        << name;
  }
  for (const auto& z : Reference()["z"]) {
    const auto args = z["args"].get<std::vector<double>>();
    const auto r = TwoProportionZ(args[0], args[1], args[2], args[3]);
    EXPECT_NEAR(r.statistic, z["z"].get<double>(), kTol);
    EXPECT_NEAR(r.p_value, z["pvalue"].get<double>(), kTol);
  }
}

TEST(DriftTest, DegenerateInputsGiveNoNaN) {
  const std::vector<double> constant(50, 3.0), other(40, 3.0), empty;
  auto ks = KolmogorovSmirnov(constant, other);
  EXPECT_EQ(ks.statistic, 0);
  EXPECT_EQ(ks.p_value, 1);
  ks = KolmogorovSmirnov(constant, empty);
  EXPECT_EQ(ks.p_value, 1);
  EXPECT_EQ(WassersteinNormalized(constant, other, 0), 0);
  EXPECT_EQ(WassersteinNormalized(constant, std::vector<double>(10, 5.0), 0), 2);  // scale 0 -> 1
  EXPECT_EQ(JensenShannon(std::vector<double>{0, 0}, std::vector<double>{1, 2}), 0);
  const std::vector<double> ref_shares = {0.5, 0.5, 0}, cur_shares = {0, 0.5, 0.5};
  EXPECT_TRUE(std::isfinite(Psi(ref_shares, cur_shares)));
  // One category only, or an empty side: no test.
  EXPECT_EQ(ChiSquaredHomogeneity(std::vector<double>{10, 0}, std::vector<double>{5, 0}).p_value,
            1);
  EXPECT_EQ(ChiSquaredHomogeneity(std::vector<double>{10, 5}, std::vector<double>{0, 0}).p_value,
            1);
  // A category only the current window has counts (union of categories).
  EXPECT_LT(ChiSquaredHomogeneity(std::vector<double>{100, 100, 0}, std::vector<double>{10, 10, 30})
                .p_value,
            1e-6);
  EXPECT_EQ(TwoProportionZ(0, 10, 0, 10).p_value, 1);
  EXPECT_EQ(TwoProportionZ(5, 0, 1, 10).p_value, 1);
}

TEST(DriftTest, MultipleTestingCorrections) {
  const json& f = Reference()["fdr"];
  const auto p = f["p"].get<std::vector<double>>();
  EXPECT_EQ(Rejected(p, 0.05, "fdr"), f["rejected"].get<std::vector<bool>>());
  const auto bonferroni = Rejected(p, 0.05, "bonferroni");  // 0.005
  EXPECT_EQ(bonferroni, (std::vector<bool>{true, false, false, false, false, false, false, false,
                                           false, false}));
  const auto plain = Rejected(p, 0.05, "none");
  EXPECT_EQ(std::count(plain.begin(), plain.end(), true), 5);
}

}  // namespace
}  // namespace inferd::monitoring
