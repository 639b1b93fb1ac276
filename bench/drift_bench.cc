// Drift detection at default settings, as issue #7 measures it: 30 features (normal, log-normal,
// uniform, categorical, binary), a profile from 10,000 reference rows, and 200 windows of 1,000
// rows each — unshifted (dataset-level false alarms; goal <= 1 per 100 windows) and with one
// feature's mean shifted by 0.5 reference std (share of windows where that feature is flagged;
// goal >= 95%). Prints both rates, the per-feature false-alarm rate, and the same for a shifted
// log-normal feature.
//
//   build/bench/drift_bench [WINDOWS] [ROWS]
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "monitoring/drift_window.h"

namespace {

using inferd::monitoring::DriftAccumulator;
using inferd::monitoring::DriftSettings;
using inferd::monitoring::EvaluateDrift;
using inferd::monitoring::FeatureProfiler;
using inferd::monitoring::Profile;

constexpr int kFeatures = 30;

// One row; feature `shifted` (or none: -1) moved by `shift` (in units of that feature's std).
void Row(std::mt19937_64& rng, int shifted, double shift, std::vector<double>* out) {
  std::normal_distribution<double> normal(0, 1);
  std::uniform_real_distribution<double> unit(0, 1);
  std::discrete_distribution<int> category({40, 25, 20, 10, 5});
  for (int f = 0; f < kFeatures; ++f) {
    double v;
    if (f < 10) {
      v = normal(rng);  // std 1
      if (f == shifted) v += shift;
    } else if (f < 15) {
      v = std::exp(0.5 * normal(rng));  // log-normal(0, 0.5): std ~0.6
      if (f == shifted) v += shift * std::sqrt((std::exp(0.25) - 1) * std::exp(0.25));
    } else if (f < 20) {
      v = unit(rng);  // std 0.289
      if (f == shifted) v += shift * std::sqrt(1.0 / 12);
    } else if (f < 25) {
      v = category(rng);
    } else {
      v = unit(rng) < 0.3 ? 1 : 0;
    }
    out->push_back(v);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int windows = argc > 1 ? std::atoi(argv[1]) : 200;
  const int rows = argc > 2 ? std::atoi(argv[2]) : 1000;
  std::mt19937_64 rng(20261126);
  // The reference.
  inferd::monitoring::ProfileOptions po;
  std::vector<FeatureProfiler> profilers;
  for (int f = 0; f < kFeatures; ++f) profilers.emplace_back("f" + std::to_string(f), false, po);
  std::vector<double> row;
  for (int i = 0; i < 10000; ++i) {
    row.clear();
    Row(rng, -1, 0, &row);
    for (int f = 0; f < kFeatures; ++f) profilers[f].AddNumber(row[f]);
  }
  Profile profile;
  for (const auto& p : profilers) profile.features.push_back(p.Finish());
  const DriftSettings settings;  // the defaults

  auto run = [&](int shifted) {
    int dataset_alarms = 0, flagged = 0, feature_alarms = 0, tests = 0;
    for (int w = 0; w < windows; ++w) {
      DriftAccumulator window(&profile, static_cast<size_t>(rows), static_cast<uint64_t>(w));
      std::vector<double> values;
      for (int r = 0; r < rows; ++r) Row(rng, shifted, 0.5, &values);
      window.AddRows(values, kFeatures);
      const auto report = EvaluateDrift(profile, window, settings);
      dataset_alarms += report.dataset_drift;
      for (int f = 0; f < kFeatures; ++f) {
        if (f == shifted) {
          flagged += report.features[f].drifted;
        } else {
          feature_alarms += report.features[f].drifted;
          ++tests;
        }
      }
    }
    struct Result {
      double dataset_alarm_rate, detection_rate, feature_alarm_rate;
    };
    return Result{static_cast<double>(dataset_alarms) / windows,
                  static_cast<double>(flagged) / windows,
                  static_cast<double>(feature_alarms) / tests};
  };
  const auto none = run(-1);
  const auto normal = run(0);
  const auto lognormal = run(10);
  std::printf(
      "drift at default settings: %d features, profile of 10000 rows, %d windows of %d "
      "rows\n",
      kFeatures, windows, rows);
  std::printf(
      "unshifted: dataset-level drift alarms in %.1f%% of windows (%.2f per 100; goal "
      "<= 1 per 100); per-feature false alarms %.2f%%\n",
      100 * none.dataset_alarm_rate, 100 * none.dataset_alarm_rate, 100 * none.feature_alarm_rate);
  std::printf("normal feature shifted by 0.5 std: flagged in %.1f%% of windows (goal >= 95%%)\n",
              100 * normal.detection_rate);
  std::printf("log-normal feature shifted by 0.5 std: flagged in %.1f%% of windows\n",
              100 * lognormal.detection_rate);
  std::printf(
      "dataset-level alarms with one feature shifted: %.1f%% (one of 30 features is "
      "below the 50%% share)\n",
      100 * normal.dataset_alarm_rate);
  return 0;
}
