// ForestBackend: the "forest" engine - serves XGBoost tree models (model.json / model.ubj) with
// results equal to libxgboost 1.7's (float32, same summation order).
//
// Signature of a loaded model:
//   input: one FP32 tensor [-1, num_feature], named `input` unless config.yaml names its single
//     input; NaN is a missing value (follows the split's default direction).
//   outputs, by objective (FP32 unless noted; libxgboost's own output comes first):
//     binary:logistic  `probabilities` [N,2] (column 1 = libxgboost's p, column 0 = 1 - p),
//                      `label` INT64 [N] = argmax of the two columns, ties to 0 (i.e. p > 0.5)
//     multi:softprob   `probabilities` [N,C] (libxgboost's), `label` INT64 [N] = argmax of the
//                      probabilities, ties to the lowest class
//     multi:softmax    `label` INT64 [N] (libxgboost's class index: first largest margin),
//                      `probabilities` [N,C] = softmax of the margins (libxgboost's recipe)
//     binary:hinge     `label` INT64 [N] (libxgboost's 0/1), `prediction` [N] (the same 0/1)
//     any other        `prediction` [N] (or [N,T] for multi-target) = libxgboost's output
//   plus `margin` [N] or [N,C] (raw scores), returned only when a request names it
//   (default_output = false).
// Properties: objective, num_features, num_classes (C for multi-class, 2 for binary:logistic and
// binary:hinge, else 0), num_trees, base_score (as stored), format_version, booster.
//
// Thread-safety: Load may run concurrently; a loaded model is immutable and Execute is const and
// thread-safe (outputs are allocated per call; large batches are split over the backend's pool).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

#include "backend/backend.h"
#include "base/status.h"
#include "base/thread_pool.h"

namespace inferd::backends::forest {

struct ForestBackendOptions {
  // Threads one Execute call uses for the rows of a large batch (at least
  // CompiledForest::kParallelMinRows rows), the calling thread included; smaller batches run on
  // the calling thread alone. 0 = one per core. Must be >= 0.
  int threads = 0;
  // Largest model file Load accepts, in bytes (the parsed document takes several times this in
  // memory). Default 1 GiB. Must be > 0.
  int64_t max_model_file_bytes = int64_t{1} << 30;
  // Use the AVX-512 kernels where the CPU has them. Off only to measure or test the portable
  // kernels on such a CPU (bench/forest_bench --portable).
  bool allow_simd = true;
};

class ForestBackend final : public backend::Backend {
 public:
  // Errors: INVALID_ARGUMENT for an option out of range.
  static base::StatusOr<std::unique_ptr<ForestBackend>> Create(const ForestBackendOptions& options);

  std::string_view name() const override { return "forest"; }

  // `version_dir`/model.json if it is a regular file, else `version_dir`/model.ubj, else nullopt.
  std::optional<std::filesystem::path> FindModelFile(
      const std::filesystem::path& version_dir) const override;

  // model.json, model.ubj and model.txt.
  bool LoadsFileName(std::string_view file_name) const override;

  // Reads request.model_file (UBJSON when it ends in .ubj, JSON otherwise) and checks it
  // against request.config: a single configured input must be FP32 with num_feature columns
  // (its name replaces `input`); configured output names must be outputs of the model.
  // Errors: as ReadXgboostModel (xgboost_model.h), every message starting with the file path;
  // INVALID_ARGUMENT when the config does not fit the model.
  base::StatusOr<std::unique_ptr<backend::LoadedModel>> Load(
      const backend::LoadRequest& request) const override;

 private:
  ForestBackend(const ForestBackendOptions& options, std::shared_ptr<base::ThreadPool> pool)
      : options_(options), pool_(std::move(pool)) {}

  ForestBackendOptions options_;
  std::shared_ptr<base::ThreadPool> pool_;  // for the rows of large batches, shared by models
};

}  // namespace inferd::backends::forest
