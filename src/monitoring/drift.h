// Drift statistics: how far a current window of a feature (or of the predictions) is from the
// training reference. Each function states the scipy/numpy computation it equals
// (src/monitoring/drift_test.cc checks them against values Debian's scipy 1.10 printed for
// tests/fixtures/monitoring/drift.json). Degenerate inputs — an empty side, a constant column, a
// category one side never saw — give finite numbers (or "no test"), never NaN.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace inferd::monitoring {

// Shares of `counts` (sum 1); all zero when the counts are.
std::vector<double> Shares(std::span<const double> counts);

// The bin of `x` among quantile bins with inner edges `edges` (ascending): the number of edges
// below x, numpy.searchsorted(edges, x, side='left'). Bins run 0..edges.size().
size_t BinOf(std::span<const double> edges, double x);

// Population stability index over matching bins, as Evidently computes it: shares of 0 become
// `epsilon` (1e-4), then sum (cur - ref) * ln(cur / ref).
double Psi(std::span<const double> reference_shares, std::span<const double> current_shares,
           double epsilon = 1e-4);

// Jensen–Shannon distance with the natural log (in [0, sqrt(ln 2)]):
// scipy.spatial.distance.jensenshannon(p, q). The inputs are normalized to sum 1; 0 when either
// side is empty.
double JensenShannon(std::span<const double> p, std::span<const double> q);

struct TestResult {
  double statistic = 0;
  double p_value = 1;
};

// Two-sample Kolmogorov–Smirnov: the statistic of scipy.stats.ks_2samp(a, b), and the p-value
// of Kolmogorov's limiting distribution, scipy.special.kolmogorov(sqrt(n m / (n + m)) * D).
// (scipy 1.10's ks_2samp(method='asymp') uses kstwo.sf(D, round(n m / (n + m))) instead, which
// differs by about 0.01 absolute at n m / (n + m) ~ 350: the test prints both.) Empty side: D 0,
// p 1.
TestResult KolmogorovSmirnov(std::span<const double> a, std::span<const double> b);

// scipy.stats.wasserstein_distance(a, b) / scale (scale: the reference's standard deviation,
// numpy.std with ddof 0; a scale of 0 counts as 1). Empty side: 0.
double WassersteinNormalized(std::span<const double> a, std::span<const double> b, double scale);

// Chi-squared test of homogeneity of two samples' category counts (reference, current), over the
// union of categories (those neither side has are dropped):
// scipy.stats.chi2_contingency([ref, cur], correction=False). No test (p 1) with fewer than two
// categories or an empty side.
TestResult ChiSquaredHomogeneity(std::span<const double> reference_counts,
                                 std::span<const double> current_counts);

// Two-proportion Z-test with the pooled proportion (Evidently's z-test for two-valued columns):
// z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2)), p-value two-sided 2 * norm.sf(|z|). p 1 when the
// pooled proportion is 0 or 1 or a side is empty.
TestResult TwoProportionZ(double reference_hits, double reference_n, double current_hits,
                          double current_n);

// Which of `p_values` are below `alpha` after the correction: "none", "bonferroni" (alpha / m),
// or "fdr" (Benjamini–Hochberg).
std::vector<bool> Rejected(std::span<const double> p_values, double alpha,
                           const std::string& correction);

}  // namespace inferd::monitoring
