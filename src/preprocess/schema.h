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
#include "tensor/tensor.h"

namespace inferd::preprocess {

struct FeatureRule {
  enum class Type { kNumeric, kCategorical };
  enum class Missing { kPass, kReject, kMean, kMedian, kMode, kConstant };
  enum class OutOfRange { kPass, kClip, kReject };
  enum class Unseen { kMissing, kReject };

  std::string name;
  Type type = Type::kNumeric;
  std::optional<double> min, max;  // numeric
  // Categorical: the known categories by name, and the model's code of each (same order). Codes
  // left empty are derived when the schema is made: the names' numbers when every name is one
  // ("0", "3"), else their positions 0, 1, ...
  std::vector<std::string> categories;
  std::vector<double> codes;
  bool nullable = true;  // false: a missing value is rejected unless imputed
  Missing missing = Missing::kPass;
  double impute = 0;  // the value imputed (kMean/kMedian/kMode resolved when the schema is made)
  OutOfRange out_of_range = OutOfRange::kPass;
  Unseen unseen = Unseen::kMissing;
};

// What Apply did, per feature (indexes as the rules).
struct Actions {
  std::vector<uint64_t> imputed, clipped, unseen, rejected;
  void Resize(size_t n) {
    imputed.resize(n);
    clipped.resize(n);
    unseen.resize(n);
    rejected.resize(n);
  }
};

// How Apply names a row in its errors: "<word> <first + index>" ("row 3", "line 12").
struct RowNaming {
  std::string_view word = "row";
  int64_t first = 0;
};

class Schema {
 public:
  // Checks the rules: names unique and not empty, min <= max, categories (unique names and codes)
  // for categorical features and only they. mean/median/mode need `profile` (the feature of the
  // same name). Errors: INVALID_ARGUMENT naming the feature and the problem.
  static base::StatusOr<Schema> Make(std::vector<FeatureRule> rules,
                                     const monitoring::Profile* profile = nullptr);
  // The rules a profile proposes: types, ranges, categories and nullability as the training data
  // had them, every policy `pass`.
  static std::vector<FeatureRule> Proposed(const monitoring::Profile& profile);

  const std::vector<FeatureRule>& rules() const { return rules_; }

  size_t width() const { return rules_.size(); }
  // "age, color, ...".
  std::string FeatureList() const;

  // The model input (named `input`, of `dtype` FP32 or FP64, [rows, width()]) that a request's
  // tensors make. A request sends either
  //  - the model input itself: numbers [rows, width()] (or [width()]: one row), or BYTES text of
  //    that shape, parsed per feature (a number; a category's name or code; "" is missing); or
  //  - named columns, one tensor per feature named as the feature, [rows] or [rows, 1], numbers
  //    or BYTES; a feature not sent is missing in every row.
  // Categorical text is mapped to its category's code; text naming no category is unseen (its
  // policy: missing, or a rejection). Text that is not a number for a numeric feature is a wrong
  // type and rejected. Errors: INVALID_ARGUMENT naming the row, feature or tensor.
  base::StatusOr<tensor::Tensor> Assemble(std::vector<tensor::Tensor> inputs,
                                          const std::string& input, tensor::DataType dtype,
                                          Actions* actions = nullptr) const;

  // Checks and fixes `rows` rows of width() values each (row-major; NaN is missing) in place.
  // Categorical values are the model's codes and must be known ones. The first rejection stops
  // it: INVALID_ARGUMENT "row R, feature 'f': ... (<policy>)". `actions` (optional) counts what
  // was imputed, clipped, unseen or rejected.
  base::Status Apply(std::span<float> values, size_t rows, Actions* actions = nullptr,
                     RowNaming naming = {}) const {
    return ApplyT(values, rows, actions, naming);
  }
  base::Status Apply(std::span<double> values, size_t rows, Actions* actions = nullptr,
                     RowNaming naming = {}) const {
    return ApplyT(values, rows, actions, naming);
  }
  // The same over a FP32 or FP64 tensor of [rows, width()].
  base::Status Apply(tensor::Tensor& t, Actions* actions = nullptr) const;

  // The value of one text field of feature `f` (as Assemble reads text): a number for a numeric
  // feature, the category's code for a categorical one, NaN when missing or an unseen category
  // whose policy is `missing`. Errors: INVALID_ARGUMENT "feature 'f': ..." (wrong type, unseen:
  // reject), which the caller prefixes with the row.
  base::StatusOr<double> TextValue(size_t f, std::string_view text, Actions* actions) const;

 private:
  // The category of `text` for categorical feature f: its code, or nullopt when unseen.
  std::optional<double> CodeOf(size_t f, std::string_view text) const;
  template <typename T>
  base::Status ApplyT(std::span<T> values, size_t rows, Actions* actions, RowNaming naming) const;
  template <typename T>
  base::Status AssembleInto(std::vector<tensor::Tensor>& inputs, const std::string& input,
                            std::span<T> out, size_t rows, Actions* actions) const;

  std::vector<FeatureRule> rules_;
  std::vector<std::vector<double>> sorted_codes_;  // per feature, for the code check
};

}  // namespace inferd::preprocess
