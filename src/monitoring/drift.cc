#include "monitoring/drift.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "monitoring/stat_math.h"

namespace inferd::monitoring {

std::vector<double> Shares(std::span<const double> counts) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  std::vector<double> out(counts.size(), 0.0);
  if (total > 0) {
    for (size_t i = 0; i < counts.size(); ++i) out[i] = counts[i] / total;
  }
  return out;
}

size_t BinOf(std::span<const double> edges, double x) {
  return static_cast<size_t>(std::lower_bound(edges.begin(), edges.end(), x) - edges.begin());
}

double Psi(std::span<const double> reference_shares, std::span<const double> current_shares,
           double epsilon) {
  double psi = 0;
  const size_t n = std::min(reference_shares.size(), current_shares.size());
  for (size_t i = 0; i < n; ++i) {
    const double r = reference_shares[i] > 0 ? reference_shares[i] : epsilon;
    const double c = current_shares[i] > 0 ? current_shares[i] : epsilon;
    psi += (c - r) * std::log(c / r);
  }
  return psi;
}

double JensenShannon(std::span<const double> p, std::span<const double> q) {
  const auto a = Shares(p), b = Shares(q);
  const double sa = std::accumulate(a.begin(), a.end(), 0.0);
  const double sb = std::accumulate(b.begin(), b.end(), 0.0);
  if (sa == 0 || sb == 0) return 0;
  // scipy: m = (p + q) / 2; js = sum(rel_entr(p, m)) + sum(rel_entr(q, m)); sqrt(js / 2).
  double js = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    const double m = (a[i] + b[i]) / 2;
    if (a[i] > 0) js += a[i] * std::log(a[i] / m);
    if (b[i] > 0) js += b[i] * std::log(b[i] / m);
  }
  return std::sqrt(std::max(0.0, js / 2));
}

TestResult KolmogorovSmirnov(std::span<const double> a, std::span<const double> b) {
  if (a.empty() || b.empty()) return {};
  std::vector<double> x(a.begin(), a.end()), y(b.begin(), b.end());
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  const double n = static_cast<double>(x.size()), m = static_cast<double>(y.size());
  // The largest gap between the two empirical CDFs, evaluated after each distinct value.
  double d = 0;
  size_t i = 0, j = 0;
  while (i < x.size() && j < y.size()) {
    const double v = std::min(x[i], y[j]);
    while (i < x.size() && x[i] <= v) ++i;
    while (j < y.size() && y[j] <= v) ++j;
    d = std::max(d, std::abs(i / n - j / m));
  }
  const double en = n * m / (n + m);
  return {d, KolmogorovSf(std::sqrt(en) * d)};
}

double WassersteinNormalized(std::span<const double> a, std::span<const double> b, double scale) {
  if (a.empty() || b.empty()) return 0;
  std::vector<double> x(a.begin(), a.end()), y(b.begin(), b.end());
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  // The integral of |F_a - F_b| over the merged values.
  std::vector<double> all;
  all.reserve(x.size() + y.size());
  std::merge(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(all));
  double w = 0;
  size_t i = 0, j = 0;
  for (size_t k = 0; k + 1 < all.size(); ++k) {
    while (i < x.size() && x[i] <= all[k]) ++i;
    while (j < y.size() && y[j] <= all[k]) ++j;
    const double fa = static_cast<double>(i) / x.size(), fb = static_cast<double>(j) / y.size();
    w += std::abs(fa - fb) * (all[k + 1] - all[k]);
  }
  return w / (scale > 0 ? scale : 1.0);
}

TestResult ChiSquaredHomogeneity(std::span<const double> reference_counts,
                                 std::span<const double> current_counts) {
  const size_t k = std::min(reference_counts.size(), current_counts.size());
  std::vector<double> r, c;
  for (size_t i = 0; i < k; ++i) {
    if (reference_counts[i] + current_counts[i] > 0) {
      r.push_back(reference_counts[i]);
      c.push_back(current_counts[i]);
    }
  }
  const double nr = std::accumulate(r.begin(), r.end(), 0.0);
  const double nc = std::accumulate(c.begin(), c.end(), 0.0);
  if (r.size() < 2 || nr == 0 || nc == 0) return {};
  const double n = nr + nc;
  double stat = 0;
  for (size_t i = 0; i < r.size(); ++i) {
    const double col = r[i] + c[i];
    const double er = nr * col / n, ec = nc * col / n;
    stat += (r[i] - er) * (r[i] - er) / er + (c[i] - ec) * (c[i] - ec) / ec;
  }
  return {stat, ChiSquaredSf(stat, static_cast<double>(r.size() - 1))};
}

TestResult TwoProportionZ(double reference_hits, double reference_n, double current_hits,
                          double current_n) {
  if (reference_n <= 0 || current_n <= 0) return {};
  const double p = (reference_hits + current_hits) / (reference_n + current_n);
  if (p <= 0 || p >= 1) return {};
  const double z = (reference_hits / reference_n - current_hits / current_n) /
                   std::sqrt(p * (1 - p) * (1 / reference_n + 1 / current_n));
  return {z, 2 * NormalSf(std::abs(z))};
}

std::vector<bool> Rejected(std::span<const double> p_values, double alpha,
                           const std::string& correction) {
  const size_t m = p_values.size();
  std::vector<bool> out(m, false);
  if (m == 0) return out;
  if (correction == "bonferroni") {
    for (size_t i = 0; i < m; ++i) out[i] = p_values[i] < alpha / m;
  } else if (correction == "fdr") {
    // Benjamini–Hochberg: the largest k with p_(k) <= k alpha / m; reject the k smallest.
    std::vector<size_t> order(m);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return p_values[a] < p_values[b]; });
    size_t k = 0;
    for (size_t r = 0; r < m; ++r) {
      if (p_values[order[r]] <= (r + 1) * alpha / m) k = r + 1;
    }
    for (size_t r = 0; r < k; ++r) out[order[r]] = true;
  } else {
    for (size_t i = 0; i < m; ++i) out[i] = p_values[i] < alpha;
  }
  return out;
}

}  // namespace inferd::monitoring
