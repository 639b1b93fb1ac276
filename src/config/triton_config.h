// Triton's `config.pbtxt` (protobuf text format) read into a ModelConfig, for repositories that
// come from Triton. The subset that matters here is read: name, backend / platform,
// max_batch_size, input, output, dynamic_batching, instance_group count, version_policy, and
// parameters (among them the FIL forest backend's model_type, output_class, predict_proba). A
// field inferd does not use is named in a warning; one whose meaning inferd cannot honour
// (GPU instances, sequence batching, ensembles, an unsupported backend) is an error.
// The text format is parsed here (no protobuf library on the start-up path), following the
// protobuf text format: `name: value`, `name { ... }` or `name: { ... }`, lists in `[ ]`, `#`
// comments, quoted strings with C escapes, enum identifiers.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/model_config.h"

namespace inferd::config {

// Parses `text` as the config.pbtxt of model `name`; `warnings` (may be null) receives one line
// per field that is read but not used. Errors: INVALID_ARGUMENT naming the line and the problem.
base::StatusOr<ModelConfig> ParseTritonConfig(std::string_view text, const std::string& name,
                                              std::vector<std::string>* warnings = nullptr);

}  // namespace inferd::config
