#include "backends/forest/objective.h"

#include <array>
#include <cmath>
#include <cstdio>
#include <string>

namespace inferd::backends::forest {
namespace {

struct ObjectiveEntry {
  std::string_view name;
  BaseLink link;
  PredTransform transform;
  Task task;
};

// libxgboost 1.7.4 src/objective/*: ProbToMargin and PredTransform of each registered
// objective. binary:logitraw and binary:hinge keep base_score as the margin (identity), unlike
// binary:logistic; survival:aft uses log like survival:cox. reg:quantileerror and
// reg:expectileerror are 2.x/3.x additions (identity both ways).
constexpr std::array kObjectives = {
    ObjectiveEntry{"reg:squarederror", BaseLink::kIdentity, PredTransform::kIdentity,
                   Task::kRegression},
    ObjectiveEntry{"reg:linear", BaseLink::kIdentity, PredTransform::kIdentity, Task::kRegression},
    ObjectiveEntry{"reg:squaredlogerror", BaseLink::kIdentity, PredTransform::kIdentity,
                   Task::kRegression},
    ObjectiveEntry{"reg:pseudohubererror", BaseLink::kIdentity, PredTransform::kIdentity,
                   Task::kRegression},
    ObjectiveEntry{"reg:absoluteerror", BaseLink::kIdentity, PredTransform::kIdentity,
                   Task::kRegression},
    ObjectiveEntry{"reg:quantileerror", BaseLink::kIdentity, PredTransform::kIdentity,
                   Task::kRegression},
    ObjectiveEntry{"reg:expectileerror", BaseLink::kIdentity, PredTransform::kIdentity,
                   Task::kRegression},
    ObjectiveEntry{"reg:logistic", BaseLink::kLogit, PredTransform::kSigmoid, Task::kRegression},
    ObjectiveEntry{"binary:logistic", BaseLink::kLogit, PredTransform::kSigmoid, Task::kBinary},
    ObjectiveEntry{"binary:logitraw", BaseLink::kIdentity, PredTransform::kIdentity,
                   Task::kRegression},
    ObjectiveEntry{"binary:hinge", BaseLink::kIdentity, PredTransform::kHinge, Task::kHinge},
    ObjectiveEntry{"count:poisson", BaseLink::kLog, PredTransform::kExp, Task::kRegression},
    ObjectiveEntry{"reg:gamma", BaseLink::kLog, PredTransform::kExp, Task::kRegression},
    ObjectiveEntry{"reg:tweedie", BaseLink::kLog, PredTransform::kExp, Task::kRegression},
    ObjectiveEntry{"survival:cox", BaseLink::kLog, PredTransform::kExp, Task::kRegression},
    ObjectiveEntry{"survival:aft", BaseLink::kLog, PredTransform::kExp, Task::kRegression},
    ObjectiveEntry{"multi:softprob", BaseLink::kIdentity, PredTransform::kSoftmax,
                   Task::kMultiProb},
    ObjectiveEntry{"multi:softmax", BaseLink::kIdentity, PredTransform::kArgmax, Task::kMultiIndex},
    ObjectiveEntry{"rank:pairwise", BaseLink::kIdentity, PredTransform::kIdentity,
                   Task::kRegression},
    ObjectiveEntry{"rank:ndcg", BaseLink::kIdentity, PredTransform::kIdentity, Task::kRegression},
    ObjectiveEntry{"rank:map", BaseLink::kIdentity, PredTransform::kIdentity, Task::kRegression},
};

std::string FloatText(float v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(v));
  return buf;
}

}  // namespace

base::StatusOr<Objective> FindObjective(std::string_view name) {
  for (const ObjectiveEntry& e : kObjectives) {
    if (e.name == name) return Objective{std::string(e.name), e.link, e.transform, e.task};
  }
  return base::Unimplemented("unknown objective '" + std::string(name) + "'");
}

base::StatusOr<float> BaseScoreToMargin(const Objective& objective, float base_score) {
  if (!std::isfinite(base_score)) {
    return base::InvalidArgument("base_score " + FloatText(base_score) + " is not finite");
  }
  switch (objective.link) {
    case BaseLink::kIdentity:
      return base_score;
    case BaseLink::kLogit:
      if (!(base_score > 0.0f && base_score < 1.0f)) {
        return base::InvalidArgument("base_score " + FloatText(base_score) +
                                     " is outside (0, 1), as " + objective.name + " requires");
      }
      return -std::log(1.0f / base_score - 1.0f);
    case BaseLink::kLog:
      if (!(base_score > 0.0f)) {
        return base::InvalidArgument("base_score " + FloatText(base_score) + " is not > 0, as " +
                                     objective.name + " requires");
      }
      return std::log(base_score);
  }
  return base::Internal("unhandled base link");
}

float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

void Softmax(std::span<float> row) {
  if (row.empty()) return;
  float wmax = row[0];
  for (size_t i = 1; i < row.size(); ++i) wmax = std::fmax(row[i], wmax);
  double wsum = 0.0;
  for (float& v : row) {
    v = std::exp(v - wmax);
    wsum += v;
  }
  const float sum = static_cast<float>(wsum);
  for (float& v : row) v /= sum;
}

int64_t ArgMax(std::span<const float> row) {
  size_t best = 0;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] > row[best]) best = i;
  }
  return static_cast<int64_t>(best);
}

void ApplyTransform(PredTransform transform, int64_t rows, int64_t groups,
                    std::span<float> values) {
  switch (transform) {
    case PredTransform::kIdentity:
      return;
    case PredTransform::kSigmoid:
      for (float& v : values) v = Sigmoid(v);
      return;
    case PredTransform::kExp:
      for (float& v : values) v = std::exp(v);
      return;
    case PredTransform::kHinge:
      for (float& v : values) v = v > 0.0f ? 1.0f : 0.0f;
      return;
    case PredTransform::kSoftmax:
      for (int64_t r = 0; r < rows; ++r) Softmax(values.subspan(r * groups, groups));
      return;
    case PredTransform::kArgmax:
      // Row r's index is written to values[r] after row r has been read (r <= r * groups).
      for (int64_t r = 0; r < rows; ++r) {
        values[r] = static_cast<float>(ArgMax(values.subspan(r * groups, groups)));
      }
      return;
  }
}

}  // namespace inferd::backends::forest
