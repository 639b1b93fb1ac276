// TreeEnsemble: a tree ensemble as the model loaders (XGBoost JSON/UBJSON, LightGBM text) produce
// it and the compiler (compiled_forest.h) consumes it. It states every decision rule the formats
// need (comparison, missing values, categorical sets) in one representation, with values in
// double so that both float32 (XGBoost) and float64 (LightGBM) models are held exactly.
// Thread-safety: a value type; the functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/status.h"

namespace inferd::backends::forest {

// What the model computes in: XGBoost in float32, LightGBM in float64.
enum class Precision : uint8_t { kFloat32, kFloat64 };

// A numeric split sends x left when x < threshold (XGBoost) or x <= threshold (LightGBM).
enum class Comparison : uint8_t { kLess, kLessEqual };

// How a numeric split treats missing values.
enum class MissingKind : uint8_t {
  kNaN,   // NaN follows default_left (XGBoost; LightGBM missing type NaN)
  kZero,  // NaN and |x| <= kZeroThreshold follow default_left (LightGBM missing type Zero)
  kNone,  // NaN is taken as 0.0 and compared like any value (LightGBM missing type None)
};
// LightGBM's kZeroThreshold: a float constant (1e-35f), not the double 1e-35.
inline constexpr double kZeroThreshold = static_cast<double>(1e-35f);
inline constexpr int64_t kMaxFeatures = int64_t{1} << 28;  // feature ids fit in 28 bits

// The categories of a categorical split. A value x is category (int32)trunc(x).
struct CategorySet {
  std::vector<uint32_t> bits;    // category c is in the set when bits[c / 32] >> (c % 32) & 1
  bool in_set_goes_left = true;  // where categories in the set go; the others go the other way
  // Where a value goes that is not a valid category: negative, or not representable as int32.
  // (NaN follows the node's default_left.)
  bool invalid_goes_left = false;
};

struct TreeNode {
  int32_t left = -1;  // child ids within the tree; left < 0 marks a leaf
  int32_t right = -1;
  uint32_t feature = 0;
  double value = 0;  // the threshold of a numeric split, or the leaf value
  bool default_left = false;
  MissingKind missing = MissingKind::kNaN;
  int32_t category_set = -1;  // >= 0: a categorical split, index into category_sets

  bool is_leaf() const { return left < 0; }
  bool is_categorical() const { return category_set >= 0; }
};

struct TreeInfo {
  size_t first_node = 0;  // index of the tree's root in TreeEnsemble::nodes
  size_t num_nodes = 0;
  int32_t group = 0;    // the output group (class) the tree adds to
  double weight = 1.0;  // dart: leaves are multiplied by it (when `weighted`)
};

// Margins are base_margin[g] plus, for each tree of group g in order, its leaf (times its weight
// when `weighted`), accumulated in `precision`.
struct TreeEnsemble {
  Precision precision = Precision::kFloat32;
  Comparison comparison = Comparison::kLess;
  int64_t num_features = 0;
  int64_t num_groups = 1;
  bool weighted = false;
  std::vector<double> base_margin;  // one per group
  std::vector<TreeNode> nodes;      // every tree's nodes, contiguous per tree
  std::vector<TreeInfo> trees;
  std::vector<CategorySet> category_sets;

  // True when any split is categorical or treats missing values other than kNaN.
  bool HasSpecialSplits() const;
};

// Checks what the compiler and the evaluators rely on: every node reachable from a root has its
// children inside its tree and is reached once (no cycles, no sharing), features below
// num_features, valid category sets; groups below num_groups; base_margin has num_groups
// entries; values finite where a float32 model needs them representable. Unreachable nodes are
// allowed (pruned trees keep them). Errors: INVALID_ARGUMENT naming the tree and node.
base::Status Validate(const TreeEnsemble& ensemble);

// Depth (edges from the root to the deepest leaf) of tree `t`. Precondition: Validate(ensemble)
// is OK (the walk ends).
int32_t TreeDepth(const TreeEnsemble& ensemble, size_t t);

// Straightforward evaluation, one row and one tree at a time, in T (float or double) with the
// same summation order as the compiled engine: the reference the fast engine is tested against.
// x: row-major [rows, num_features]; out: row-major [rows, num_groups].
// Precondition: Validate(ensemble) is OK.
template <typename T>
void ReferencePredictMargin(const TreeEnsemble& ensemble, const T* x, int64_t rows, T* out);

// The leaf that tree `t` gives row `x`, in T. Precondition: as ReferencePredictMargin.
template <typename T>
T ReferencePredictTree(const TreeEnsemble& ensemble, size_t t, const T* x);

// Whether `x` goes left at `node` (numeric or categorical), in T.
template <typename T>
bool GoesLeft(const TreeEnsemble& ensemble, const TreeNode& node, T x);

}  // namespace inferd::backends::forest
