// `inferd search`: hyperparameter search for XGBoost with deployment in mind. Each trial trains
// with libxgboost (xgboost_trainer.h) over a random draw of the search space (n_estimators as the
// round limit with early stopping, max_depth, eta, subsample, colsample_bytree, min_child_weight,
// lambda; fixed seeds), then is loaded as inferd serves it and measured on held-out rows: the
// metric (evaluate.h), the model's size, and its batch-1 latency after compilation (median, in
// process). The Pareto front of metric against latency is printed and drawn (SVG); the best metric
// within the latency budget and size limit is the chosen trial, which --save-to writes as a new
// version with the trial as its lineage.
// The data splits once (seeded): 20% held out for the metric, then 20% of the rest for early
// stopping, the rest for training.
// Thread-safety: Search is a blocking call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "tools/evaluate.h"

namespace inferd::tools {

struct SearchOptions {
  std::filesystem::path data;  // CSV with a header; required
  std::string label;           // required
  std::string task;            // binary, multiclass or regression; required
  std::string metric;          // empty: the task's default
  int trials = 30;
  uint64_t seed = 42;
  std::optional<double> latency_budget_us;  // batch-1 median, in process
  std::optional<double> max_size_mb;
  int64_t max_rounds = 500;  // the largest n_estimators drawn
  int64_t early_stopping = 20;
  int threads = 0;  // libxgboost's nthread; 0: one per core
  double latency_seconds = 0.2;
  std::filesystem::path save_to;                       // a model directory; empty: nothing written
  std::filesystem::path plot;                          // an .svg file; empty: no plot
  const backend::BackendRegistry* backends = nullptr;  // required, not owned
  std::function<void(int, int, const std::string&)> progress;
};

struct SearchTrial {
  int index = 0;  // 1-based
  std::map<std::string, double> params;
  int64_t rounds = 0;  // kept by early stopping
  double metric = 0;
  int64_t bytes = 0;
  double latency_us = 0;  // batch 1, median
  double train_seconds = 0;
  bool feasible = false;  // within the latency budget and the size limit
  bool pareto = false;
  std::string model_json;
};

struct SearchReport {
  std::string task, metric;
  int64_t train_rows = 0, valid_rows = 0, holdout_rows = 0;
  std::optional<double> latency_budget_us, max_size_mb;
  std::vector<SearchTrial> trials;
  std::optional<size_t> chosen;
  double seconds = 0;
  int64_t new_version = 0;
  std::filesystem::path new_dir;

  std::string ToText() const;
  std::string ToJson() const;
  // Metric against batch-1 latency: every trial, the Pareto front, the budget and the choice.
  std::string ParetoSvg() const;
};

// Errors: UNAVAILABLE without libxgboost; INVALID_ARGUMENT for bad options or data (labels that do
// not fit the task, naming the row), libxgboost's own messages.
base::StatusOr<SearchReport> Search(const SearchOptions& options);

}  // namespace inferd::tools
