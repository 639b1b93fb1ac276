#include "monitoring/stat_math.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace inferd::monitoring {

double NormalSf(double z) { return 0.5 * std::erfc(z / std::numbers::sqrt2); }

namespace {

// P(a, x) by its series: x^a e^-x / Gamma(a + 1) * sum x^n / ((a+1)...(a+n)).
double GammaPSeries(double a, double x) {
  double term = 1.0 / a, sum = term;
  for (int n = 1; n < 10000; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::abs(term) < std::abs(sum) * 1e-17) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Q(a, x) by its continued fraction (modified Lentz).
double GammaQFraction(double a, double x) {
  constexpr double kTiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / kTiny, d = 1.0 / b, h = d;
  for (int i = 1; i < 10000; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::abs(d) < kTiny) d = kTiny;
    c = b + an / c;
    if (std::abs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1.0) < 1e-17) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

}  // namespace

double ChiSquaredSf(double x, double dof) {
  if (!(dof > 0) || std::isnan(x)) return std::nan("");
  if (x <= 0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double a = dof / 2, h = x / 2;
  if (h < a + 1) return 1.0 - GammaPSeries(a, h);
  return GammaQFraction(a, h);
}

double KolmogorovSf(double x) {
  if (std::isnan(x)) return x;
  if (x <= 0) return 1.0;
  if (x < 1.0) {
    // 1 - sqrt(2 pi)/x * sum_k exp(-(2k-1)^2 pi^2 / (8 x^2)): converges fast for small x.
    const double w = std::numbers::pi * std::numbers::pi / (8 * x * x);
    double sum = 0;
    for (int k = 1; k < 100; ++k) {
      const double term = std::exp(-(2.0 * k - 1) * (2.0 * k - 1) * w);
      sum += term;
      if (term < 1e-20) break;
    }
    return 1.0 - std::sqrt(2 * std::numbers::pi) / x * sum;
  }
  // 2 sum_k (-1)^(k-1) exp(-2 k^2 x^2).
  double sum = 0;
  for (int k = 1; k < 100; ++k) {
    const double term = std::exp(-2.0 * k * k * x * x);
    sum += (k % 2 ? term : -term);
    if (term < 1e-20) break;
  }
  return std::max(0.0, std::min(1.0, 2 * sum));
}

}  // namespace inferd::monitoring
