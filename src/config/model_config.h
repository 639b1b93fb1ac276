// ModelConfig: the per-model configuration read from `<repo>/<model>/config.yaml`; every field is
// optional and auto-filled from the model file by the backend when absent.
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "preprocess/schema.h"
#include "rollout/auto_rollback.h"
#include "rollout/routing.h"
#include "tensor/data_type.h"
#include "tensor/tensor.h"

namespace inferd::config {

// One input or output of a model. A -1 dimension is variable (the batch dimension).
struct TensorSpec {
  std::string name;
  tensor::DataType dtype = tensor::DataType::kFp32;
  tensor::Shape shape;
  // Outputs only: false when the output is returned only if a request names it (e.g. `margin`).
  bool default_output = true;
  // Config outputs only: the model output this one renames (a Triton config names a FIL forest's
  // one output `output__0`); empty when the name is the model's own.
  std::string source;
  // Outputs only (Triton's label_filename): a file in the model directory with one class label
  // per line, read with the config into `labels`; classification answers name the class.
  std::string label_filename;
  std::vector<std::string> labels;

  static TensorSpec Make(std::string name, tensor::DataType dtype, tensor::Shape shape,
                         bool default_output = true) {
    TensorSpec s;
    s.name = std::move(name);
    s.dtype = dtype;
    s.shape = std::move(shape);
    s.default_output = default_output;
    return s;
  }
};

// Which versions on disk should be served (TF Serving / Triton version_policy).
struct VersionPolicy {
  enum class Kind { kLatest, kAll, kSpecific };
  Kind kind = Kind::kLatest;
  int latest = 1;                 // kLatest: how many of the highest versions
  std::vector<int64_t> specific;  // kSpecific: exactly these versions

  // The versions to serve out of `available` (any order); result ascending.
  std::vector<int64_t> Select(std::vector<int64_t> available) const;
  std::string ToString() const;
};

// Triton's dynamic batcher settings (see batching/batch_queue.h for the rules).
struct DynamicBatching {
  int64_t max_queue_delay_us = 0;  // 0: a lone request never waits
  std::vector<int64_t> preferred_batch_sizes;
  int64_t max_queue_size = 0;  // requests waiting; 0 = no limit (full: 503 with Retry-After)
  int priority_levels = 0;     // 0: requests' priorities are ignored
  int default_priority_level = 0;
  int64_t default_timeout_us = 0;  // 0: requests wait as long as it takes unless they say
};

// The requests a version runs before it reports ready.
struct Warmup {
  std::vector<int64_t> batch_sizes;  // empty with `enabled`: 1 and max_batch_size
  bool zero_data = true;             // all-zero inputs
  bool random_data = true;           // random inputs (uniform in [0, 1), ids in range)
  bool enabled = true;
};

// monitoring: what inferd watches of a model in production (monitoring/model_monitor.h).
struct MonitoringConfig {
  bool enabled = false;
  double log_sample_rate = 0.1;     // share of predictions whose inputs are logged (0-1)
  bool log_inputs = true;           // false: a logged prediction keeps the inputs' SHA-256 only
  int64_t retention_s = 7 * 86400;  // prediction records older than this are dropped
  int64_t max_records = 1000000;    // and all but the newest this many
  int64_t bucket_s = 60;            // aggregation granularity
  std::vector<int64_t> windows_s = {300, 3600, 86400};  // the sliding windows reported
  std::string task = "auto";                            // auto | binary | multiclass | regression
  std::vector<std::string> classes;  // class names (feedback may name them), by index
  struct Drift {
    bool enabled = true;
    int64_t window_s = 3600;  // the window compared with the profile
    int64_t min_rows = 100;   // fewer rows: no verdict
    // auto: p-value tests on windows of up to 1,000 rows (KS; chi-squared or Z for categories),
    // distances above (normalized Wasserstein; Jensen–Shannon), as Evidently chooses.
    std::string numeric_method = "auto";      // auto | ks | wasserstein | psi | jensenshannon
    std::string categorical_method = "auto";  // auto | chisquare | z | jensenshannon
    double p_value = 0.05;                    // tests: drift when p < this (after correction)
    std::optional<double> threshold;          // distances: drift when >= this (default per method)
    std::string correction = "none";          // none | bonferroni | fdr
    double dataset_share = 0.5;               // dataset drift: share of drifted features >= this
  } drift;
  // Alerts: a rule fires when its metric has been beyond its bound for `for_s`, and resolves when
  // it is back; events go to the log, a gauge, and `webhook` (HTTP POST, JSON) when set.
  struct AlertRule {
    std::string name;
    // accuracy, f1_macro, roc_auc, log_loss, precision_macro, recall_macro, mae, rmse, mape, r2
    // (over window_s), dataset_drift_share, drift_statistic (of `feature`).
    std::string metric;
    std::string feature;
    int64_t window_s = 0;  // quality metrics: the window (one of windows_s); 0: the first
    std::optional<double> above, below;
    int64_t for_s = 0;
  };
  std::vector<AlertRule> alerts;
  std::string webhook;  // http://host:port/path
};

struct ModelConfig {
  std::string name;
  std::string backend = "auto";  // auto | forest | (later) onnx
  // 0 = never batched. A request of more rows is refused (400) when the configuration states it
  // (or a dynamic batcher is on); the default only sizes the batcher and the warmup.
  int64_t max_batch_size = 256;
  bool max_batch_size_set = false;  // stated in config.yaml / config.pbtxt
  VersionPolicy version_policy;
  std::vector<TensorSpec> inputs;     // empty = auto-fill from the model
  std::vector<TensorSpec> outputs;    // empty = auto-fill from the model
  std::vector<std::string> features;  // optional feature names, in input column order
  // Requests are queued and merged into batches when set (max_batch_size must be > 0).
  std::optional<DynamicBatching> dynamic_batching;
  int instances = 1;  // executions at once of a version that batches dynamically (>= 1)
  Warmup warmup;
  // rollout: labels ([a-z0-9_]+ -> version, e.g. stable: 2, canary: 3; requests may name a label
  // instead of a version) and weights over labels or versions for requests that name neither.
  // The initial policy: one set through the API takes precedence (rollout/routing.h).
  rollout::Policy rollout;
  // rollout.auto_rollback: the canary's weight goes to 0 when it does worse than stable.
  rollout::AutoRollbackConfig auto_rollback;
  MonitoringConfig monitoring;
  // schema: the rules each row of the model's one [-1, F] input must follow, and what to do when
  // it does not (preprocess/schema.h); null when config.yaml has none. Requests may then also
  // send named feature columns and category names (BYTES).
  std::shared_ptr<const preprocess::Schema> schema;
  // Free-form backend parameters (string values), e.g. forest `threads`.
  std::map<std::string, std::string> parameters;
};

// Parses YAML text. `name` becomes the model name (the directory name wins over a `name:` key that
// disagrees: that is an error). Unknown keys are errors, so typos do not pass silently.
// `model_dir` is where files the config names are read from (schema.profile's profile.json);
// empty: such a config is an error.
base::StatusOr<ModelConfig> ParseModelConfig(std::string_view yaml_text, const std::string& name,
                                             const std::filesystem::path& model_dir = {});
// Reads `path` and parses it (a `.pbtxt` file as Triton's config, see triton_config.h; its
// warnings are logged); errors name the file.
base::StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& path,
                                            const std::string& name);

}  // namespace inferd::config
