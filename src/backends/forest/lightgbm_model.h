// LightgbmModel: a LightGBM model read from the text format that LightGBM (v2 to v4) saves as
// model.txt, turned into a TreeEnsemble evaluated in double, fully validated so that a corrupt
// file is refused with a message naming the tree and field and never crashes or hangs
// prediction.
//
// The format: a header of `key=value` lines after a first line `tree` (version, num_class,
// num_tree_per_iteration, label_index, max_feature_idx, objective, feature_names,
// feature_infos, tree_sizes, and a bare `average_output` line for random forests), then one
// `Tree=<i>` block per tree, then `end of trees`; what follows (feature importances,
// parameters, pandas_categorical) is ignored. A tree with L leaves has L - 1 split nodes, whose
// arrays (split_feature, threshold, decision_type, left_child, right_child) have L - 1 entries,
// and L leaf_value entries; a child id c >= 0 is split node c, c < 0 is leaf ~c. decision_type
// bits: 1 = categorical, 2 = default left, bits 2-3 = missing type (0 None, 1 Zero, 2 NaN).
// A categorical split's threshold is an index k into cat_boundaries; its categories are the
// bitset cat_threshold[cat_boundaries[k] .. cat_boundaries[k + 1]). Tree i adds to class
// i % num_tree_per_iteration; the first trees hold the init score, so base margins are 0.
//
// Decision rules (LightGBM's Tree::NumericalDecision / CategoricalDecision), as TreeEnsemble
// states them: x goes left when x <= threshold; missing type NaN: NaN follows default_left;
// Zero: NaN and |x| <= 1e-35 follow default_left; None: NaN is compared as 0.0. Categorical: the
// category is (int)x, truncated toward zero; a category in the bitset goes left; NaN, negative
// categories (x <= -1), values beyond int and categories outside the bitset go right. Values in
// (-1, 0) are category 0 for LightGBM but invalid for TreeEnsemble, so they must be rewritten
// to 0.0 in categorical columns before evaluation: see LightgbmInputs.
//
// Refused with UNIMPLEMENTED: linear trees (is_linear=1), unknown objectives.
// Thread-safety: value type; the functions are pure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "backends/forest/lightgbm_objective.h"
#include "backends/forest/tree_ensemble.h"
#include "base/status.h"

namespace inferd::backends::forest {

struct LightgbmModel {
  // Precision kFloat64, Comparison kLessEqual, num_groups = num_tree_per_iteration, base
  // margins 0, leaf values and thresholds exactly as written.
  TreeEnsemble ensemble;
  LightgbmObjective objective;
  std::string version;    // the header's `version`, e.g. "v4" ("" when absent)
  int64_t num_class = 1;  // header num_class
  int64_t num_tree_per_iteration = 1;
  int64_t num_iterations = 0;              // trees / num_tree_per_iteration
  bool average_output = false;             // rf: predictions are the sums divided by num_iterations
  std::vector<std::string> feature_names;  // empty when the header has none
  // Features that categorical splits test, ascending. A feature is never split both ways
  // (LightGBM cannot write that; such files are refused).
  std::vector<uint32_t> categorical_features;
};

// Largest num_leaves accepted in one tree (LightGBM allows 131072).
inline constexpr int64_t kLightgbmMaxLeaves = int64_t{1} << 20;

// Parses and validates a model text. Errors (messages do not name the file):
// INVALID_ARGUMENT for text that is not a consistent LightGBM model, naming the place, e.g.
// "line 1: expected 'tree' (not a LightGBM text model)", "missing header field
// 'max_feature_idx'", "Tree=3: threshold has 13 entries, expected 14 (num_leaves 15)",
// "Tree=0: left_child[2] is 20, outside [-15, 13]", "Tree=2: node 4 is reached twice (a
// cycle)", "Tree=1: decision_type[0] is 12: missing type 3 is not None, Zero or NaN",
// "Tree=5: split_feature[3] is 40, but max_feature_idx is 29";
// DATA_LOSS for a truncated file (no `end of trees` line, fewer trees than tree_sizes lists);
// UNIMPLEMENTED for linear trees and unknown objectives.
base::StatusOr<LightgbmModel> ParseLightgbmModel(std::string_view text);

// The rows to evaluate the ensemble on, as LightGBM sees them: `x` itself (row-major
// [rows, num_features]) unless a value needs rewriting; then a copy in `scratch` where values with
// |x| <= kZeroThreshold are 0.0 (LightGBM drops them when it builds a row) and, in categorical
// columns, values in (-1, 0) are 0.0 (LightGBM takes them as category 0).
const double* LightgbmInputs(const std::vector<uint32_t>& categorical_features,
                             int64_t num_features, const double* x, int64_t rows,
                             std::vector<double>* scratch);

// Reads `path` and parses it; every error message starts with the path. Errors: NOT_FOUND when
// the file does not exist, RESOURCE_EXHAUSTED when it is larger than `max_bytes`, INTERNAL on
// read errors, else as ParseLightgbmModel.
base::StatusOr<LightgbmModel> ReadLightgbmModel(const std::filesystem::path& path,
                                                int64_t max_bytes);

}  // namespace inferd::backends::forest
