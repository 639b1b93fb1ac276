// Schema: what a model's inputs may hold, feature by feature, and what to do when a row breaks
// it — the data-consistency step between decoding and the model (issue #8). A rule per feature:
// its type (numeric or categorical), allowed range, categories, whether it may be missing, and the
// policies for a missing value (pass NaN to the model, reject, or impute the mean, median, mode or
// a constant), a value out of range (pass, clip, reject) and a category the schema does not know
// (treat as missing, reject). Rules come from config.yaml's `schema` or from a profile.json's
// (monitoring/profile.h), which also gives the mean, median and mode to impute.
// Thread-safety: a Schema is immutable; Apply may run on many threads at once.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "monitoring/profile.h"

namespace inferd::preprocess {

struct FeatureRule {
  enum class Type { kNumeric, kCategorical };
  enum class Missing { kPass, kReject, kMean, kMedian, kMode, kConstant };
  enum class OutOfRange { kPass, kClip, kReject };
  enum class Unseen { kMissing, kReject };

  std::string name;
  Type type = Type::kNumeric;
  std::optional<double> min, max;       // numeric
  std::vector<std::string> categories;  // categorical: the known categories (their names)
  bool nullable = true;                 // false: a missing value is rejected unless imputed
  Missing missing = Missing::kPass;
  double impute = 0;  // the value imputed (kMean/kMedian/kMode resolved when the schema is made)
  OutOfRange out_of_range = OutOfRange::kPass;
  Unseen unseen = Unseen::kMissing;
};

// What Apply did, per feature (indexes as the rules).
struct Actions {
  std::vector<uint64_t> imputed, clipped, unseen;
  void Resize(size_t n) {
    imputed.resize(n);
    clipped.resize(n);
    unseen.resize(n);
  }
};

class Schema {
 public:
  // Checks the rules: names unique and not empty, min <= max, categories for categorical features
  // and only they, a constant only with kConstant. mean/median/mode need `profile` (the feature
  // of the same name). Errors: INVALID_ARGUMENT naming the feature and the problem.
  static base::StatusOr<Schema> Make(std::vector<FeatureRule> rules,
                                     const monitoring::Profile* profile = nullptr);
  // The rules a profile proposes: types, ranges, categories and nullability as the training data
  // had them, every policy `pass`.
  static std::vector<FeatureRule> Proposed(const monitoring::Profile& profile);

  const std::vector<FeatureRule>& rules() const { return rules_; }

  // Checks and fixes `rows` rows of rules().size() values each (row-major; NaN is missing) in
  // place. Categorical values are the model's codes: their names (shortest form, "3") must be
  // known categories. The first rejection stops it: INVALID_ARGUMENT "row R, feature 'f': ...
  // (<policy>)". `actions` (optional) counts what was imputed, clipped or unseen.
  base::Status Apply(std::span<float> values, size_t rows, Actions* actions = nullptr) const;

 private:
  std::vector<FeatureRule> rules_;
};

}  // namespace inferd::preprocess
