// Distribution tails the drift tests need, in double precision: the standard normal, chi-squared
// and Kolmogorov survival functions. Each matches the scipy function named beside it within 1e-12
// absolute (src/monitoring/drift_test.cc checks them against values Debian's scipy 1.10 printed).
// Thread-safety: pure functions.
#pragma once

namespace inferd::monitoring {

// P(Z > z) for a standard normal Z: scipy.stats.norm.sf(z).
double NormalSf(double z);
// P(X > x) for chi-squared X with `dof` degrees of freedom (> 0): scipy.stats.chi2.sf(x, dof).
// The regularized upper incomplete gamma Q(dof/2, x/2), by its series below a + 1 and its
// continued fraction above.
double ChiSquaredSf(double x, double dof);
// Kolmogorov's limiting distribution of sqrt(n) * D: P(K > x), scipy.special.kolmogorov(x)
// (= scipy.stats.kstwobign.sf(x)).
double KolmogorovSf(double x);

}  // namespace inferd::monitoring
