// Profile: the training reference of a model — per feature, its type, missing share, range,
// quantiles, quantile-bin histogram, a bounded reservoir sample (for exact two-sample tests) or its
// category frequencies; the same for the label and the predictions; and a proposed schema (#8).
// `inferd profile` writes one (profile.json); placed at <model>/profile.json it is the reference
// the server measures drift against.
//
// FeatureProfiler builds one feature's profile from its values. A feature is categorical when told
// so, when a value is not a number, or when its values are integers with at most 10 distinct ones
// (Evidently's rule of thumb for numeric columns that are really categories); else numeric.
// Numbers become category names in their shortest form ("3", "0.5").
// Thread-safety: value types; FeatureProfiler is not synchronized.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace inferd::monitoring {

struct FeatureProfile {
  enum class Kind { kNumeric, kCategorical };
  std::string name;
  Kind kind = Kind::kNumeric;
  uint64_t count = 0;    // values, missing ones included
  uint64_t missing = 0;  // empty, NA, NaN ...
  // Numeric.
  double min = 0, max = 0, mean = 0, std = 0;  // std with ddof 0
  std::vector<std::pair<double, double>>
      quantiles;               // (q, value): 0.01 0.05 0.25 0.5 0.75 0.95 0.99
  std::vector<double> edges;   // inner edges of the quantile bins (deciles, deduplicated)
  std::vector<double> shares;  // the reference's share per bin (edges.size() + 1)
  std::vector<double> sample;  // reservoir sample, sorted
  // Categorical: category -> count, and its share.
  std::map<std::string, uint64_t> categories;

  double MissingShare() const { return count ? static_cast<double>(missing) / count : 0.0; }
};

struct ProfileOptions {
  int bins = 10;              // quantile bins
  size_t sample_size = 1000;  // reservoir
  uint64_t seed = 42;         // reservoir sampling is reproducible
  int max_categories = 10;    // integer columns with at most this many values are categorical
};

class FeatureProfiler {
 public:
  FeatureProfiler(std::string name, bool categorical, const ProfileOptions& options);
  void AddNumber(double v);          // NaN: missing
  void AddText(std::string_view v);  // not a number: a category (missing tokens: missing)
  void AddMissing() { ++count_, ++missing_; }
  FeatureProfile Finish() const;

 private:
  std::string name_;
  bool categorical_;
  ProfileOptions options_;
  uint64_t count_ = 0, missing_ = 0;
  std::vector<double> numbers_;
  std::map<std::string, uint64_t> texts_;
};

// The shortest decimal that reads back as `v` ("3", "0.5", "1e+20").
std::string CategoryName(double v);

struct Profile {
  std::vector<FeatureProfile> features;  // in the model's input column order
  std::optional<FeatureProfile> label, prediction, score;
  std::string source;  // what it was made from (a file name)
  uint64_t rows = 0;
  // With a label and a model: the model's quality on these rows (quality.h's MetricsJson).
  std::string quality_json;

  // profile.json, with a proposed `schema` (per feature: type, min/max or categories, nullable).
  std::string ToJson() const;
  // Errors: INVALID_ARGUMENT naming the field.
  static base::StatusOr<Profile> FromJson(std::string_view json);
  static base::StatusOr<Profile> Load(const std::filesystem::path& path);
};

}  // namespace inferd::monitoring
