// Evaluating a model offline on labelled data — the common ground of `inferd validate`,
// `optimize` and `search`: reading a labelled CSV (through the model's schema, as `serve` reads
// requests), scoring it with the same quality code the monitor uses (monitoring/quality.h),
// comparing metrics by name and direction, and measuring the model's latency in process.
// Thread-safety: reentrant; the values are not synchronized.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "config/model_config.h"
#include "monitoring/quality.h"
#include "preprocess/schema.h"
#include "tools/local_model.h"

namespace inferd::tools {

// Rows of a CSV file with a header, as the model takes them, and their labels.
struct LabelledData {
  std::vector<std::string> features;  // the model's input columns, in order
  int64_t rows = 0;                   // rows kept (in `x`)
  std::vector<float> x;               // rows x features, row-major; NaN is missing
  std::vector<double> labels;         // per kept row; NaN when the label is missing
  int64_t file_rows = 0;              // data rows in the file
  // With a schema: the rows it rejected (left out of `x`) and the first few reasons.
  int64_t rejected_rows = 0;
  std::vector<std::string> rejections;
};

struct ReadLabelledOptions {
  std::filesystem::path path;  // CSV with a header; required
  std::string label;           // the label column; required
  // The model's input columns, in order, are the schema's features, else `config_features`, else
  // every column but the label in file order.
  std::vector<std::string> config_features;    // config.yaml `features`
  const preprocess::Schema* schema = nullptr;  // may be null
  // Class names (config.yaml monitoring.classes or the label file): a label may name a class
  // instead of giving its index.
  std::vector<std::string> classes;
  int64_t width = 0;  // the model's input width; > 0 checks the column count
};

// Errors: NOT_FOUND (the file), INVALID_ARGUMENT naming the line and column (field count, a
// number expected, an unknown class name, a missing column), or "no data rows".
base::StatusOr<LabelledData> ReadLabelledCsv(const ReadLabelledOptions& options);
// ReadLabelledCsv as `model` takes its rows: its config's features, schema and classes, and its
// input width.
base::StatusOr<LabelledData> ReadLabelledFor(const LocalModel& model,
                                             const std::filesystem::path& path,
                                             const std::string& label);

// The quality of a model on labelled data.
struct Evaluation {
  std::string task;  // binary, multiclass or regression
  int classes = 0;
  int64_t rows = 0;                       // rows scored with a label
  std::map<std::string, double> metrics;  // the defined ones, by name (see MetricNames)
  std::string metrics_json;               // monitoring::MetricsJson of the whole set
  // Every default output of the model, concatenated over the rows (for parity checks).
  std::map<std::string, std::vector<double>> outputs;
  std::map<std::string, int64_t> output_width;  // values per row of each output
};

// Scores `data` with `model` (one FP32 or FP64 [-1, F] input), in batches of `batch` rows. The
// task and the outputs' roles come from the signature and config.yaml's monitoring section, as
// the monitor takes them (monitoring::RolesOf). Errors: INVALID_ARGUMENT (model input, labels
// that are not classes), and Execute's errors.
base::StatusOr<Evaluation> Evaluate(const backend::LoadedModel& model,
                                    const config::ModelConfig& config, const LabelledData& data,
                                    int64_t batch = 1024);

// The metrics of MetricNames from the monitor's computations.
std::map<std::string, double> MetricMap(const monitoring::ClassificationMetrics& m, int classes);
std::map<std::string, double> MetricMap(const monitoring::RegressionMetrics& m);

// Metric names: accuracy, roc_auc, log_loss, precision, recall, f1 (binary: of class 1; else the
// macro average), precision_macro, recall_macro, f1_macro, f1_micro, f1_weighted; regression: mae,
// rmse, mape, r2, mean_error.
std::vector<std::string> MetricNames(std::string_view task);
bool IsMetric(std::string_view task, std::string_view metric);
// False for the errors (log_loss, mae, rmse, mape, mean_error: |mean error|).
bool HigherIsBetter(std::string_view metric);
// binary: roc_auc, multiclass: accuracy, regression: rmse.
std::string DefaultMetric(std::string_view task);
// How much worse `candidate` is than `reference` on `metric` (a rise of an error is a drop);
// negative when it is better.
double MetricDrop(std::string_view metric, double reference, double candidate);

// Latency of LoadedModel::Execute in process, one call at a time, on rows cycled from `data`.
struct Latency {
  int64_t batch = 0;
  int64_t calls = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, mean_us = 0;
  double rows_per_s = 0;
};

// Runs warm-up calls, then at least `min_calls` calls and at least `min_seconds`.
base::StatusOr<Latency> MeasureLatency(const backend::LoadedModel& model, const LabelledData& data,
                                       int64_t batch, double min_seconds = 0.5,
                                       int64_t min_calls = 200);

}  // namespace inferd::tools
