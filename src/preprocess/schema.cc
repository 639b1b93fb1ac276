#include "preprocess/schema.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace inferd::preprocess {

using base::InvalidArgument;
using FR = FeatureRule;

namespace {

const char* MissingName(FR::Missing m) {
  switch (m) {
    case FR::Missing::kPass:
      return "missing: pass";
    case FR::Missing::kReject:
      return "missing: reject";
    case FR::Missing::kMean:
      return "missing: impute mean";
    case FR::Missing::kMedian:
      return "missing: impute median";
    case FR::Missing::kMode:
      return "missing: impute mode";
    case FR::Missing::kConstant:
      return "missing: impute constant";
  }
  return "";
}

std::string Num(double v) { return monitoring::CategoryName(v); }

}  // namespace

base::StatusOr<Schema> Schema::Make(std::vector<FeatureRule> rules,
                                    const monitoring::Profile* profile) {
  std::set<std::string> names;
  for (auto& r : rules) {
    const std::string where = "schema: feature '" + r.name + "'";
    if (r.name.empty()) return InvalidArgument("schema: a feature has no name");
    if (!names.insert(r.name).second) return InvalidArgument(where + " appears twice");
    if (r.min && r.max && *r.min > *r.max) {
      return InvalidArgument(where + ": min " + Num(*r.min) + " is above max " + Num(*r.max));
    }
    if (r.type == FR::Type::kCategorical && r.categories.empty()) {
      return InvalidArgument(where + ": a categorical feature needs its categories");
    }
    if (r.type == FR::Type::kNumeric && !r.categories.empty()) {
      return InvalidArgument(where + ": categories are for categorical features");
    }
    if (r.missing == FR::Missing::kMean || r.missing == FR::Missing::kMedian ||
        r.missing == FR::Missing::kMode) {
      const monitoring::FeatureProfile* p = nullptr;
      if (profile != nullptr) {
        for (const auto& f : profile->features) {
          if (f.name == r.name) p = &f;
        }
      }
      if (p == nullptr) {
        return InvalidArgument(where + ": " + MissingName(r.missing) +
                               " needs the feature in profile.json");
      }
      if (r.missing == FR::Missing::kMode) {
        // The most frequent category, which must be a number (the model takes codes).
        std::string mode;
        uint64_t most = 0;
        for (const auto& [c, n] : p->categories) {
          if (n > most) most = n, mode = c;
        }
        char* end = nullptr;
        const double v = mode.empty() ? 0 : std::strtod(mode.c_str(), &end);
        if (mode.empty() || end == nullptr || *end != '\0') {
          return InvalidArgument(where + ": the mode '" + mode + "' is not a number to impute");
        }
        r.impute = v;
      } else if (p->kind != monitoring::FeatureProfile::Kind::kNumeric) {
        return InvalidArgument(where + ": mean and median are for numeric features");
      } else if (r.missing == FR::Missing::kMean) {
        r.impute = p->mean;
      } else {
        r.impute = p->mean;
        for (const auto& [q, v] : p->quantiles) {
          if (q == 0.5) r.impute = v;
        }
      }
    }
  }
  Schema s;
  s.rules_ = std::move(rules);
  return s;
}

std::vector<FeatureRule> Schema::Proposed(const monitoring::Profile& profile) {
  std::vector<FeatureRule> out;
  for (const auto& f : profile.features) {
    FeatureRule r;
    r.name = f.name;
    r.nullable = f.missing > 0;
    if (f.kind == monitoring::FeatureProfile::Kind::kNumeric) {
      r.type = FR::Type::kNumeric;
      r.min = f.min;
      r.max = f.max;
    } else {
      r.type = FR::Type::kCategorical;
      for (const auto& [c, _] : f.categories) r.categories.push_back(c);
    }
    out.push_back(std::move(r));
  }
  return out;
}

base::Status Schema::Apply(std::span<float> values, size_t rows, Actions* actions) const {
  const size_t width = rules_.size();
  if (width == 0) return base::Status::Ok();
  if (values.size() != rows * width) {
    return InvalidArgument("the schema has " + std::to_string(width) + " features; got " +
                           std::to_string(values.size()) + " values for " + std::to_string(rows) +
                           " rows");
  }
  if (actions != nullptr) actions->Resize(width);
  for (size_t row = 0; row < rows; ++row) {
    for (size_t f = 0; f < width; ++f) {
      const FeatureRule& r = rules_[f];
      float& v = values[row * width + f];
      auto reject = [&](const std::string& what) {
        return InvalidArgument("row " + std::to_string(row) + ", feature '" + r.name +
                               "': " + what);
      };
      if (!std::isnan(v) && r.type == FR::Type::kCategorical) {
        const std::string name = Num(v);
        if (!std::binary_search(r.categories.begin(), r.categories.end(), name) &&
            std::find(r.categories.begin(), r.categories.end(), name) == r.categories.end()) {
          if (r.unseen == FR::Unseen::kReject) {
            return reject("category " + name + " is not one of the schema's (unseen: reject)");
          }
          if (actions) ++actions->unseen[f];
          v = std::nanf("");  // then as missing
        }
      }
      if (std::isnan(v)) {
        switch (r.missing) {
          case FR::Missing::kPass:
            if (!r.nullable) return reject("a value is required (nullable: false)");
            break;
          case FR::Missing::kReject:
            return reject("the value is missing (missing: reject)");
          default:
            v = static_cast<float>(r.impute);
            if (actions) ++actions->imputed[f];
        }
        continue;
      }
      if (std::isinf(v)) return reject("the value is infinite");
      const bool low = r.min && v < *r.min, high = r.max && v > *r.max;
      if (low || high) {
        if (r.out_of_range == FR::OutOfRange::kReject) {
          return reject(
              Num(v) + " is " +
              (low ? "below the minimum " + Num(*r.min) : "above the maximum " + Num(*r.max)) +
              " (out_of_range: reject)");
        }
        if (r.out_of_range == FR::OutOfRange::kClip) {
          v = static_cast<float>(low ? *r.min : *r.max);
          if (actions) ++actions->clipped[f];
        }
      }
    }
  }
  return base::Status::Ok();
}

}  // namespace inferd::preprocess
