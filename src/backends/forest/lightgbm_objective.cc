#include "backends/forest/lightgbm_objective.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

namespace inferd::backends::forest {

using base::InvalidArgument;
using base::StatusOr;

namespace {

std::vector<std::string_view> SplitSpaces(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

struct Family {
  std::string_view name;
  std::string_view canonical;
  LightgbmTask task;
  LightgbmTransform transform;
};

// Every objective LightGBM v4 writes (ObjectiveFunction::ToString), with the ConvertOutput of
// each. The L2 family turns into kSignedSquare with the `sqrt` parameter.
constexpr Family kFamilies[] = {
    {"regression", "regression", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"regression_l1", "regression_l1", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"huber", "huber", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"fair", "fair", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"quantile", "quantile", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"mape", "mape", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"poisson", "poisson", LightgbmTask::kRegression, LightgbmTransform::kExp},
    {"gamma", "gamma", LightgbmTask::kRegression, LightgbmTransform::kExp},
    {"tweedie", "tweedie", LightgbmTask::kRegression, LightgbmTransform::kExp},
    {"binary", "binary", LightgbmTask::kBinary, LightgbmTransform::kSigmoid},
    {"multiclass", "multiclass", LightgbmTask::kMulticlass, LightgbmTransform::kSoftmax},
    {"multiclassova", "multiclassova", LightgbmTask::kMulticlass, LightgbmTransform::kSigmoid},
    {"cross_entropy", "cross_entropy", LightgbmTask::kRegression, LightgbmTransform::kSigmoid},
    {"xentropy", "cross_entropy", LightgbmTask::kRegression, LightgbmTransform::kSigmoid},
    {"cross_entropy_lambda", "cross_entropy_lambda", LightgbmTask::kRegression,
     LightgbmTransform::kLog1pExp},
    {"xentlambda", "cross_entropy_lambda", LightgbmTask::kRegression, LightgbmTransform::kLog1pExp},
    {"lambdarank", "lambdarank", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"rank_xendcg", "rank_xendcg", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"custom", "custom", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
    {"none", "none", LightgbmTask::kRegression, LightgbmTransform::kIdentity},
};

bool IsL2Family(std::string_view canonical) {
  return canonical == "regression" || canonical == "regression_l1" || canonical == "huber" ||
         canonical == "fair" || canonical == "quantile" || canonical == "mape";
}

}  // namespace

StatusOr<LightgbmObjective> ParseLightgbmObjective(std::string_view text) {
  const std::vector<std::string_view> tokens = SplitSpaces(text);
  if (tokens.empty()) return InvalidArgument("the objective line is empty");
  const Family* family = nullptr;
  for (const Family& f : kFamilies) {
    if (f.name == tokens[0]) family = &f;
  }
  if (family == nullptr) {
    return base::Unimplemented("unknown LightGBM objective '" +
                               std::string(tokens[0].substr(0, 64)) + "'");
  }
  LightgbmObjective objective;
  objective.name = std::string(family->canonical);
  objective.text = std::string(text);
  objective.task = family->task;
  objective.transform = family->transform;
  bool has_sigmoid = false;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const std::string_view token = tokens[i];
    if (token == "sqrt") {
      if (IsL2Family(objective.name)) objective.transform = LightgbmTransform::kSignedSquare;
      continue;
    }
    const size_t colon = token.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view key = token.substr(0, colon);
    const std::string_view value = token.substr(colon + 1);
    const char* end = value.data() + value.size();
    if (key == "sigmoid") {
      double s = 0;
      auto r = std::from_chars(value.data(), end, s);
      if (r.ec != std::errc() || r.ptr != end || !std::isfinite(s) || s <= 0) {
        return InvalidArgument("objective '" + objective.name + "': sigmoid '" +
                               std::string(value.substr(0, 64)) + "' is not a positive number");
      }
      objective.sigmoid = s;
      has_sigmoid = true;
    } else if (key == "num_class") {
      int64_t n = 0;
      auto r = std::from_chars(value.data(), end, n);
      if (r.ec != std::errc() || r.ptr != end || n < 1) {
        return InvalidArgument("objective '" + objective.name + "': num_class '" +
                               std::string(value.substr(0, 64)) + "' is not a positive integer");
      }
      objective.num_class = n;
    }
  }
  const bool needs_sigmoid = objective.name == "binary" || objective.name == "multiclassova";
  if (needs_sigmoid && !has_sigmoid) {
    return InvalidArgument("objective '" + objective.name + "' has no sigmoid parameter");
  }
  const bool needs_classes = objective.name == "multiclass" || objective.name == "multiclassova";
  if (needs_classes && objective.num_class == 0) {
    return InvalidArgument("objective '" + objective.name + "' has no num_class parameter");
  }
  return objective;
}

void ApplyLightgbmTransform(const LightgbmObjective& objective, int64_t rows, int64_t groups,
                            std::span<double> values) {
  switch (objective.transform) {
    case LightgbmTransform::kIdentity:
      return;
    case LightgbmTransform::kSignedSquare:
      for (double& v : values) v = std::copysign(v * v, v);
      return;
    case LightgbmTransform::kSigmoid: {
      const double s = objective.sigmoid;
      for (double& v : values) v = 1.0 / (1.0 + std::exp(-s * v));
      return;
    }
    case LightgbmTransform::kLog1pExp:
      for (double& v : values) v = std::log1p(std::exp(v));
      return;
    case LightgbmTransform::kExp:
      for (double& v : values) v = std::exp(v);
      return;
    case LightgbmTransform::kSoftmax:
      for (int64_t r = 0; r < rows; ++r) {
        std::span<double> row =
            values.subspan(static_cast<size_t>(r * groups), static_cast<size_t>(groups));
        if (row.empty()) continue;
        double max = row[0];
        for (double v : row) max = std::max(v, max);
        double sum = 0;
        for (double& v : row) {
          v = std::exp(v - max);
          sum += v;
        }
        for (double& v : row) v /= sum;
      }
      return;
  }
}

}  // namespace inferd::backends::forest
