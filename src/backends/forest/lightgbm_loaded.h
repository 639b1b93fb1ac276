// LoadLightgbmModel: a LightGBM text model (model.txt, see lightgbm_model.h) as a LoadedModel of
// the forest backend, computed in double as LightGBM does: results equal LightGBM's predict
// (within an ulp or so of its exp).
//
// Signature (platform "lightgbm_text"):
//   input: one FP64 tensor [-1, max_feature_idx + 1], named `input` unless config.yaml names
//     its single input (which must then be FP64); NaN is a missing value. FP32 requests are
//     widened by the serving core before they get here.
//   outputs, by objective (FP64 unless noted):
//     binary          `probabilities` [N,2] (column 1 = LightGBM's p, column 0 = 1 - p),
//                     `label` INT64 [N] (1 when p > 1 - p)
//     multiclass,     `probabilities` [N,C] (LightGBM's softmax / one-vs-all sigmoids),
//     multiclassova   `label` INT64 [N] = the first largest probability
//     any other       `prediction` [N] (or [N,K] with K trees per iteration) = LightGBM's output
//   plus `margin` [N] or [N,K] = LightGBM's raw score (predict_raw_score: the sum of the trees,
//   not averaged for rf), returned only when a request names it (default_output = false).
//   average_output (rf): predictions are computed from the sums divided by the number of
//   iterations, as LightGBM does.
// Properties: objective (its name, e.g. "binary"), num_features, num_classes (2 for binary, C for
// multiclass, else 0), num_trees, format_version (the header's version, e.g. "v4").
//
// Thread-safety: LoadLightgbmModel may run concurrently; the model is immutable and Execute is
// const and thread-safe (outputs are allocated per call; large batches are split over the pool).
#pragma once

#include <cstdint>
#include <memory>

#include "backend/backend.h"
#include "base/status.h"
#include "base/thread_pool.h"

namespace inferd::backends::forest {

// Reads request.model_file (see ReadLightgbmModel) and checks it against request.config: a
// single configured input must be FP64 with num_features columns (its name replaces `input`);
// configured output names must be outputs of the model. `pool` (may be null: every batch then
// runs on the calling thread) is kept alive by the model.
// Errors: as ReadLightgbmModel, every message starting with the file path; INVALID_ARGUMENT
// when the config does not fit the model.
base::StatusOr<std::unique_ptr<backend::LoadedModel>> LoadLightgbmModel(
    const backend::LoadRequest& request, int64_t max_model_file_bytes,
    std::shared_ptr<base::ThreadPool> pool);

}  // namespace inferd::backends::forest
