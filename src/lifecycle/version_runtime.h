// What a loaded version needs before it takes traffic: its warmup (the configured requests run
// once, so that the first real request does not pay for plans, caches and page faults) and, when
// its config asks for dynamic batching, its DynamicBatcher.
// Thread-safety: functions of their arguments.
#pragma once

#include <memory>

#include "backend/backend.h"
#include "base/clock.h"
#include "base/status.h"
#include "batching/dynamic_batcher.h"
#include "config/model_config.h"

namespace inferd::lifecycle {

// Checks that config.schema (when set) fits the model: one input, FP32 or FP64, of shape
// [-1, F] with F the schema's feature count. Errors: INVALID_ARGUMENT saying what differs.
base::Status CheckSchema(const backend::LoadedModel& model, const config::ModelConfig& config);

// Runs the warmup requests of `config.warmup` on `model`: for each batch size (default 1 and
// max_batch_size) all-zero and random inputs of the signature's shapes. Errors: the first failing
// request's error, naming the batch size and the data.
base::Status WarmUp(const backend::LoadedModel& model, const config::ModelConfig& config);

// The batcher of a version whose config sets dynamic_batching; null otherwise. Errors:
// INVALID_ARGUMENT when the model cannot be batched (an output without the batch dimension
// first) or the settings are out of range.
base::StatusOr<std::shared_ptr<batching::DynamicBatcher>> MakeBatcher(
    std::shared_ptr<const backend::LoadedModel> model, const config::ModelConfig& config,
    const base::Clock* clock);

}  // namespace inferd::lifecycle
