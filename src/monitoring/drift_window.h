// Live drift: what a window of served rows looks like next to the profile, and the verdict.
// A DriftAccumulator gathers, for one version and time bucket, per feature (and for the
// predictions and the score) what the tests need: for numeric columns the counts in the profile's
// quantile bins and a bounded uniform sample (reservoir; merged by weight, so a window's sample is
// uniform over the window), for categorical ones the category counts; plus the data quality
// counts (missing, out of the profile's range, unseen category). Buckets merge into windows.
// EvaluateDrift applies the tests of drift.h to a window.
// Thread-safety: value types; not synchronized.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "monitoring/profile.h"

namespace inferd::monitoring {

class DriftAccumulator {
 public:
  struct Column {
    uint64_t seen = 0;  // values, missing ones included
    uint64_t missing = 0, out_of_range = 0, unseen = 0;
    std::vector<double> bins;                    // numeric: counts in the profile's bins
    std::vector<double> sample;                  // numeric: reservoir
    std::map<std::string, uint64_t> categories;  // categorical
    // Reservoir state (algorithm L: a random draw per replacement, not per value); not stored.
    uint64_t next = 0;
    double w = 0;
  };

  DriftAccumulator() = default;
  // `profile` must outlive the accumulator. `sample_cap`: the reservoir size per numeric column.
  DriftAccumulator(const Profile* profile, size_t sample_cap, uint64_t seed);

  // Rows of features, row-major, `features` per row (the profile's count; others are ignored).
  // NaN is missing.
  void AddRows(std::span<const double> values, size_t features);
  void AddRows(std::span<const float> values, size_t features);
  // One prediction row: its label (classifiers) or value (regression), and its score.
  void AddPrediction(std::optional<double> prediction, std::optional<double> score);
  // Adds `other` (same profile); reservoirs merge by weight.
  void Merge(const DriftAccumulator& other);
  bool empty() const { return rows_ == 0 && predictions_ == 0; }
  uint64_t rows() const { return rows_; }
  const std::vector<Column>& features() const { return features_; }
  const Column& prediction() const { return prediction_; }
  const Column& score() const { return score_; }

  std::string ToJson() const;
  static base::StatusOr<DriftAccumulator> FromJson(const Profile* profile, std::string_view json,
                                                   size_t sample_cap, uint64_t seed);
  // A whole dataset as a window (offline reports): `current` profiled with samples of all its
  // values and the same column kinds as `reference`.
  static DriftAccumulator FromProfiles(const Profile* reference, const Profile& current);

 private:
  void Add(const FeatureProfile& ref, Column& c, double v);
  template <typename T>
  void AddRowsOf(std::span<const T> values, size_t features);
  double Unit();  // uniform in (0, 1)
  static void MergeColumn(Column& into, const Column& from, size_t cap, std::mt19937_64& rng);

  const Profile* profile_ = nullptr;
  size_t cap_ = 0;
  std::mt19937_64 rng_;
  uint64_t rows_ = 0, predictions_ = 0;
  std::vector<Column> features_;
  Column prediction_, score_;
};

struct DriftSettings {
  std::string numeric_method = "auto";      // auto | ks | wasserstein | psi | jensenshannon
  std::string categorical_method = "auto";  // auto | chisquare | z | jensenshannon
  double p_value = 0.05;
  std::optional<double> threshold;  // distances; default 0.1
  std::string correction = "none";  // none | bonferroni | fdr
  double dataset_share = 0.5;
  uint64_t min_rows = 100;
};

struct ColumnDrift {
  std::string name;
  std::string method;  // ks, wasserstein, psi, jensenshannon, chisquare, z; "" without data
  double statistic = 0;
  std::optional<double> p_value;  // tests
  double threshold = 0;           // p-value bound for tests, distance bound otherwise
  bool drifted = false;
  uint64_t rows = 0;    // non-missing values in the window
  bool enough = false;  // rows >= min_rows
};

struct DriftReport {
  uint64_t rows = 0;
  std::vector<ColumnDrift> features;
  std::optional<ColumnDrift> prediction, score;
  double drifted_share = 0;  // of the features with enough data
  bool dataset_drift = false;
};

// The verdict on a window. Methods chosen by `auto`: p-value tests on up to 1,000 rows (KS for
// numeric; Z for two categories, chi-squared for more), distances above (normalized Wasserstein;
// Jensen–Shannon), as Evidently does. Corrections apply to the features' p-values.
DriftReport EvaluateDrift(const Profile& profile, const DriftAccumulator& window,
                          const DriftSettings& settings);
// As JSON: rows, per feature {name, method, statistic, p_value, threshold, drifted, rows,
// enough_data}, prediction, score, drifted_share, dataset_drift.
std::string DriftReportToJson(const DriftReport& report);

}  // namespace inferd::monitoring
