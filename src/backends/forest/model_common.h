// What the XGBoost and LightGBM models share outside the engine: applying config.yaml's input and
// outputs to a signature, and choosing the outputs a request gets.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "backend/model_file.h"
#include "base/status.h"
#include "config/model_config.h"

namespace inferd::backends::forest {

// Applies config.yaml's inputs and outputs to a one-input signature: a single configured input
// must have `dtype` and `num_features` columns (its name replaces the default); configured output
// names must be outputs of the model. `family` names the model kind in errors ("forest",
// "LightGBM"). Errors: INVALID_ARGUMENT, not naming the file.
base::Status ApplyConfig(const config::ModelConfig& config, tensor::DataType dtype,
                         int64_t num_features, std::string_view family,
                         backend::ModelSignature* signature);

// The outputs a request gets, as indices into signature.outputs: `defaults` when it names none,
// else the named ones in its order. Errors: INVALID_ARGUMENT for an unknown name.
base::StatusOr<std::vector<size_t>> SelectOutputs(const backend::ModelSignature& signature,
                                                  std::span<const std::string> requested);

// Indices of the outputs a request that names none gets.
std::vector<size_t> DefaultOutputs(const backend::ModelSignature& signature);

}  // namespace inferd::backends::forest
