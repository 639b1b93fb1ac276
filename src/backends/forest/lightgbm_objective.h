// LightgbmObjective: what the `objective=` line of a LightGBM text model means at prediction
// time - how LightGBM v4 turns raw scores into its output (ObjectiveFunction::ConvertOutput), in
// double, with the same operations so results match LightGBM's to the last bit or so, and which
// outputs inferd exposes for it.
// Thread-safety: immutable data and pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "base/status.h"

namespace inferd::backends::forest {

// The family of outputs inferd exposes for a LightGBM model (see lightgbm_loaded.h).
enum class LightgbmTask {
  kRegression,  // `prediction`
  kBinary,      // `probabilities` [N,2] + `label`
  kMulticlass,  // `probabilities` [N,C] + `label` (multiclass and multiclassova)
};

// Raw score -> LightGBM's output.
enum class LightgbmTransform {
  kIdentity,      // regression, regression_l1, huber, fair, quantile, mape, lambdarank, ...
  kSignedSquare,  // the L2 family with `sqrt` (reg_sqrt): sign(x) * x * x
  kSigmoid,       // per value: 1 / (1 + exp(-sigmoid * x)) (binary, multiclassova, cross_entropy)
  kSoftmax,       // per row: exp(x - max) / sum (multiclass)
  kLog1pExp,      // log1p(exp(x)) (cross_entropy_lambda)
  kExp,           // exp(x) (poisson, gamma, tweedie)
};

struct LightgbmObjective {
  std::string name = "none";  // canonical name, e.g. "binary"; "none" without an objective line
  std::string text;           // the objective line as stored, e.g. "binary sigmoid:1"
  LightgbmTask task = LightgbmTask::kRegression;
  LightgbmTransform transform = LightgbmTransform::kIdentity;
  double sigmoid = 1.0;   // kSigmoid: the scale
  int64_t num_class = 0;  // the `num_class:` parameter (multiclass, multiclassova), else 0
};

// Parses the value of an `objective=` line: a name and parameters (`sigmoid:2`, `num_class:10`,
// `sqrt`; others are ignored). Accepts every objective LightGBM v4 writes (and the aliases
// xentropy, xentlambda), plus "custom"/"none" (raw scores).
// Errors: UNIMPLEMENTED "unknown LightGBM objective 'foo'"; INVALID_ARGUMENT for a malformed or
// missing parameter (binary and multiclassova need sigmoid > 0, multiclass and multiclassova
// need num_class >= 1).
base::StatusOr<LightgbmObjective> ParseLightgbmObjective(std::string_view text);

// Applies `objective`'s transform to `values`, a row-major [rows, groups] block of raw scores,
// in place. Precondition: values.size() == rows * groups.
void ApplyLightgbmTransform(const LightgbmObjective& objective, int64_t rows, int64_t groups,
                            std::span<double> values);

}  // namespace inferd::backends::forest
