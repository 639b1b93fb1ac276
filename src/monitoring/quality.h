// Model quality from labelled predictions, kept as additive aggregates so that time buckets, and
// the buckets of several replicas, merge into any window: a confusion matrix and score-bin counts
// for classifiers, error sums for regression. Metrics follow scikit-learn's definitions
// (src/monitoring/quality_test.cc checks them against values Debian's scikit-learn 1.2 printed):
//  - classes are those present in the truth or the predictions of the window (sklearn's default
//    `labels=None`), and a ratio with a zero denominator is 0 (zero_division=0);
//  - micro averages of single-label classification equal accuracy; weighted averages weigh by
//    support (true count);
//  - ROC AUC is computed from score bins (binary: 1,000 bins of P(class 1); multiclass: one-vs-rest
//    macro, 100 bins per class), equal to roc_auc_score when the scores in a bin are equal, and
//    within the bin width otherwise; it needs both outcomes (every class, multiclass);
//  - log loss clips probabilities to [eps, 1 - eps] (eps: the double epsilon) and renormalizes,
//    as log_loss does;
//  - regression: MAE, RMSE, MAPE (|y - p| / max(|y|, eps)), R² (1 when the truth is constant and
//    the errors are 0, else 0 then: force_finite) and the mean error mean(p - y).
// Thread-safety: value types; not synchronized.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace inferd::monitoring {

class ClassificationCounts;
class RegressionCounts;
struct ClassificationMetrics;
struct RegressionMetrics;
ClassificationMetrics ComputeClassification(const ClassificationCounts& c);
RegressionMetrics ComputeRegression(const RegressionCounts& c);

class ClassificationCounts {
 public:
  static constexpr int kBinaryBins = 1000;
  static constexpr int kMulticlassBins = 100;

  ClassificationCounts() = default;
  explicit ClassificationCounts(int classes);  // >= 2

  int classes() const { return classes_; }
  uint64_t count() const { return n_; }
  // One labelled prediction: the true and the predicted class (0..classes-1) and, when the model
  // gives them, its probabilities (one per class; empty: no AUC or log loss for this one).
  void Add(int truth, int predicted, std::span<const double> probabilities);
  // Adds `other`'s counts. INVALID_ARGUMENT when the class counts differ.
  base::Status Merge(const ClassificationCounts& other);

  std::string ToJson() const;
  static base::StatusOr<ClassificationCounts> FromJson(std::string_view json);

 private:
  friend ClassificationMetrics ComputeClassification(const ClassificationCounts& c);
  int Bins() const { return classes_ == 2 ? kBinaryBins : kMulticlassBins; }

  int classes_ = 0;
  uint64_t n_ = 0, scored_ = 0;
  std::vector<uint64_t> confusion_;  // [truth * classes + predicted]
  // Score bins: binary, P(class 1) for truths 0 and 1 ([truth * bins + bin]); multiclass, P(c)
  // split by whether the truth is c ([(c * 2 + (truth == c)) * bins + bin]).
  std::vector<uint64_t> score_bins_;
  double log_loss_sum_ = 0;
};

struct ClassMetrics {
  double precision = 0, recall = 0, f1 = 0;
  uint64_t support = 0;
};

struct ClassificationMetrics {
  uint64_t count = 0;
  double accuracy = 0;
  std::vector<int> classes;             // present in the window
  std::vector<ClassMetrics> per_class;  // for `classes`
  ClassMetrics macro, micro, weighted;
  std::optional<double> roc_auc, log_loss;
  std::vector<std::vector<uint64_t>> confusion;  // all classes, [truth][predicted]
};
ClassificationMetrics ComputeClassification(const ClassificationCounts& c);

class RegressionCounts {
 public:
  void Add(double truth, double prediction);
  void Merge(const RegressionCounts& other);
  uint64_t count() const { return n_; }

  std::string ToJson() const;
  static base::StatusOr<RegressionCounts> FromJson(std::string_view json);

 private:
  friend RegressionMetrics ComputeRegression(const RegressionCounts& c);
  uint64_t n_ = 0;
  double sum_abs_ = 0, sum_sq_ = 0, sum_ape_ = 0, sum_err_ = 0;
  double mean_y_ = 0, m2_y_ = 0;  // the truth's mean and sum of squared deviations (Chan)
};

struct RegressionMetrics {
  uint64_t count = 0;
  double mae = 0, rmse = 0, mape = 0, r2 = 0, mean_error = 0;
};
RegressionMetrics ComputeRegression(const RegressionCounts& c);

// The metrics as JSON (GET monitor, drift reports): accuracy, precision/recall/f1 macro, micro and
// weighted, per class (named by `names` when given), confusion, roc_auc, log_loss (null when
// undefined); or count, mae, rmse, mape, r2, mean_error.
std::string MetricsJson(const ClassificationMetrics& m, const std::vector<std::string>& names = {});
std::string MetricsJson(const RegressionMetrics& m);

}  // namespace inferd::monitoring
