// `inferd validate`: a release gate for one version of a model. It scores labelled held-out data
// with the version (tools/evaluate.h: the monitor's metric code), measures its latency in process
// at batch 1 and at its max batch, and checks the gates of a gates.yaml:
//
//   metrics:                  # bounds on the holdout metrics (tools/evaluate.h names them)
//     roc_auc: {min: 0.97}
//     log_loss: {max: 0.25}
//   max_drop:                 # against the version it replaces (--against): how much worse it
//     roc_auc: 0.005          # may be (a rise of an error metric is a drop)
//   latency:                  # p99 of one call, in microseconds, one thread
//     p99_us_batch_1: 300
//     p99_us_max_batch: 5000
//     max_batch: 256          # default: config.yaml max_batch_size
//   parity:                   # outputs equal to a reference (`inferd predict`'s CSV of the rows)
//     file: reference.csv     # relative to gates.yaml
//     tolerance: 1e-6         # |ours - reference| <= tolerance * max(1, |reference|)
//   schema:
//     max_rejected_share: 0   # rows the model's schema rejects, as a share of the rows
//
// Without a gates file: the schema gate (when the model has a schema) and, with a version to
// compare against, max_drop of the task's default metric 0.01.
// Thread-safety: reentrant.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "tools/evaluate.h"

namespace inferd::tools {

struct Gates {
  std::map<std::string, double> min, max;  // metric -> bound
  std::map<std::string, double> max_drop;  // metric -> largest allowed drop
  std::optional<double> p99_us_batch_1, p99_us_max_batch;
  int64_t max_batch = 0;              // 0: the model's max_batch_size
  std::filesystem::path parity_file;  // empty: no parity gate
  double parity_tolerance = 1e-6;
  std::optional<double> max_rejected_share;
};

// Parses a gates.yaml (relative paths against `base_dir`). Errors: INVALID_ARGUMENT naming the
// key (unknown keys too, so that a typo does not pass silently).
base::StatusOr<Gates> ParseGates(const std::string& yaml_text,
                                 const std::filesystem::path& base_dir);
base::StatusOr<Gates> LoadGates(const std::filesystem::path& path);

struct ValidateOptions {
  std::filesystem::path model_dir;  // <model>/ with version directories; required
  int64_t version = 0;              // required
  std::optional<int64_t> against;   // the version it replaces; none: no comparison
  std::string against_name;         // how it was named (e.g. "stable"), for the report
  std::filesystem::path data;       // labelled held-out CSV with a header; required
  std::string label;                // its label column; required
  std::optional<Gates> gates;       // none: the default gates
  const backend::BackendRegistry* backends = nullptr;  // required, not owned
  double latency_seconds = 0.5;                        // per latency measurement
  // Also write the version's outputs on the data here, as `inferd predict` writes them: the
  // reference of a later version's parity gate. Empty: not written.
  std::filesystem::path write_outputs;
  // Progress lines ("scoring version 3", ...); may be empty.
  std::function<void(const std::string&)> progress;
};

struct GateResult {
  std::string gate;  // "min roc_auc", "max_drop roc_auc", "p99 batch 1", "parity", "schema"
  bool passed = false;
  std::string detail;  // "0.9913 >= 0.97"
};

struct ValidationReport {
  std::string model;
  int64_t version = 0;
  std::string sha256;  // the version's digest (repository/version_files.h)
  std::string backend;
  std::string data;
  int64_t file_rows = 0, rows = 0, rejected_rows = 0;
  std::vector<std::string> rejections;
  std::string task;
  std::map<std::string, double> metrics;
  std::string metrics_json;
  std::optional<int64_t> against;
  std::string against_name;
  std::map<std::string, double> against_metrics;
  Latency batch_1, max_batch;
  std::optional<Latency> against_batch_1, against_max_batch;
  std::vector<GateResult> gates;
  bool passed = false;
  std::vector<std::string> failed;  // the gates that failed, with their details

  std::string ToJson() const;
  // The readable report: metrics (and the reference's), latency, one line per gate, the verdict.
  std::string ToText() const;
};

// Errors: the model's load errors, the data's read errors, and INVALID_ARGUMENT for gates that
// name metrics the task has not (a failing gate is not an error: see `passed`).
base::StatusOr<ValidationReport> Validate(const ValidateOptions& options);

}  // namespace inferd::tools
