// Objective: what an XGBoost objective means at prediction time - how the stored base_score
// becomes the base margin, how margins become libxgboost's output, and which outputs inferd
// exposes for it. The arithmetic reproduces libxgboost 1.7.4 in float32 (logf, expf, the float
// order of operations), so results match it bit for bit or within an ulp.
// Thread-safety: immutable data and pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace inferd::backends::forest {

// base_score (stored in output space) -> base margin (libxgboost's ObjFunction::ProbToMargin).
enum class BaseLink {
  kIdentity,  // margin = base_score
  kLogit,     // margin = -logf(1.0f / base_score - 1.0f); base_score must be in (0, 1)
  kLog,       // margin = logf(base_score); base_score must be > 0
};

// margins -> libxgboost's prediction (ObjFunction::PredTransform).
enum class PredTransform {
  kIdentity,
  kSigmoid,  // 1.0f / (1.0f + expf(-x)), per value
  kExp,      // expf(x), per value
  kHinge,    // x > 0 ? 1 : 0, per value
  kSoftmax,  // per row over the classes: expf(x - max) / (float)(double sum of those floats)
  kArgmax,   // per row: index of the first largest margin, as a float
};

// The family of outputs inferd exposes (see forest_backend.h for the table).
enum class Task {
  kRegression,  // `prediction` = libxgboost's output (every non-classifier objective)
  kBinary,      // binary:logistic: `probabilities` [N,2] and `label`
  kHinge,       // binary:hinge: `label` and `prediction` (0/1)
  kMultiProb,   // multi:softprob: `probabilities` [N,C] and `label`
  kMultiIndex,  // multi:softmax: `label` and `probabilities` [N,C]
};

struct Objective {
  std::string name;  // as stored in the model, e.g. "binary:logistic"
  BaseLink link = BaseLink::kIdentity;
  PredTransform transform = PredTransform::kIdentity;
  Task task = Task::kRegression;
};

// The objective called `name` (every objective libxgboost 1.7 and 2.x/3.x can save for tree
// models). Errors: UNIMPLEMENTED "unknown objective 'foo'" for any other name.
base::StatusOr<Objective> FindObjective(std::string_view name);

// The base margin for `base_score` under `objective`, computed as libxgboost does (float).
// Errors: INVALID_ARGUMENT when base_score is outside the link's domain ((0,1) for logit, > 0
// for log) or not finite.
base::StatusOr<float> BaseScoreToMargin(const Objective& objective, float base_score);

// libxgboost's float sigmoid: 1.0f / (1.0f + expf(-x)).
float Sigmoid(float x);
// libxgboost's softmax over one row, in place (see PredTransform::kSoftmax).
void Softmax(std::span<float> row);
// Index of the first largest value (libxgboost's FindMaxIndex); 0 for an empty row. NaN never
// compares larger, so a NaN is picked only when it is the first value.
int64_t ArgMax(std::span<const float> row);

// Applies `transform` to `values`, a row-major [rows, groups] block of margins, in place. For
// kArgmax the result is [rows] (the first `rows` values of `values`; the rest is unspecified).
// Precondition: values.size() == rows * groups.
void ApplyTransform(PredTransform transform, int64_t rows, int64_t groups, std::span<float> values);

}  // namespace inferd::backends::forest
