// `inferd optimize`: smaller, faster versions of a model within a metric budget. The candidates
// (forest_optimize.h for XGBoost forests; int8 dynamic quantization for ONNX models, through the
// ONNX plugin) are each loaded as inferd would serve them and measured on labelled data: file
// size, latency at batch 1 and at a large batch (in process, one thread), and the metric. Among
// those whose metric dropped by at most `max_drop` from the source's, the best by `objective`
// becomes a new version of the model, with metadata.yaml naming its source (lineage).
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "tools/evaluate.h"

namespace inferd::tools {

struct OptimizeOptions {
  std::filesystem::path model_dir;  // <model>/ with version directories; required
  int64_t version = 0;              // the source; required
  std::filesystem::path data;       // labelled CSV with a header; required
  std::string label;                // required
  std::string metric;               // empty: the task's default (evaluate.h)
  double max_drop = 0;              // >= 0
  bool write = true;                // false: report only
  int64_t large_batch = 256;
  double latency_seconds = 0.3;                        // per latency measurement
  const backend::BackendRegistry* backends = nullptr;  // required, not owned
  // What "best" means: balanced (the geometric mean of the speed-ups at batch 1 and at the large
  // batch), batch1, large, or size.
  std::string objective = "balanced";
  // Quantizes an ONNX model file into another (server::QuantizeOnnxFile); returns its summary.
  // Unset: ONNX models have no optimizer.
  std::function<base::StatusOr<std::string>(const std::filesystem::path& in,
                                            const std::filesystem::path& out, bool per_channel,
                                            bool exclude_last)>
      quantize_onnx;
  // Called before each candidate is measured: (done, total, its name).
  std::function<void(int, int, const std::string&)> progress;
};

struct OptimizeCandidate {
  std::string name;
  int64_t bytes = 0;
  double metric = 0, drop = 0;
  Latency batch_1, large;
  bool within = false;  // drop <= max_drop
  std::string detail;   // trees, nodes, depth
};

struct OptimizeReport {
  std::string model;
  int64_t version = 0;
  std::string task, metric, objective;
  double max_drop = 0;
  OptimizeCandidate source;
  std::vector<OptimizeCandidate> candidates;
  std::optional<size_t> chosen;  // index into candidates
  int64_t new_version = 0;       // 0: nothing written
  std::filesystem::path new_dir;

  std::string ToJson() const;
  std::string ToText() const;  // the table, the choice, where it went
};

// Errors: the model's and the data's; UNIMPLEMENTED for a model kind with no optimizer;
// INVALID_ARGUMENT for a metric the task has not.
base::StatusOr<OptimizeReport> Optimize(const OptimizeOptions& options);

}  // namespace inferd::tools
