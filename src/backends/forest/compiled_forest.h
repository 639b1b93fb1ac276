// CompiledForest: a TreeEnsemble turned into a layout built for traversal, and the margin
// computation over it, in T = float (XGBoost) or double (LightGBM).
//
// Layouts. When every tree is at most kMaxImplicitDepth deep (the usual case: XGBoost's
// max_depth), each tree is stored as a perfect binary tree of the model's depth D in breadth-first
// order: node i has children 2i+1 and 2i+2, so a step is one 8-byte node load (threshold, feature
// id with the decision flags in its top bits), one feature load and `i = 2i + 1 + went_right`.
// A leaf above depth D is pushed down: the nodes below it may go either way and every leaf below
// holds its value, so the result does not depend on the padding. Leaf values sit in their own
// array. Deeper models (LightGBM's leaf-wise trees) use a pointer layout: nodes with explicit
// children, a leaf pointing to itself so that walks of fixed length need no leaf test.
//
// Walks. Rows of a batch are walked tree by tree in blocks of rows; a single row walks many trees
// at once. Either way many independent walks are in flight, and each step is branch-free (the
// next node is computed, not branched to), so mispredicted split directions cost nothing. Leaves
// are then added per row in tree order, so sums are bit-for-bit those of a one-tree-at-a-time
// walk (libxgboost's, LightGBM's). Large batches are split over a ThreadPool.
//
// Thread-safety: immutable after Compile; PredictMargin is const and may run concurrently.
#pragma once

#include <cstdint>
#include <vector>

#include "backends/forest/tree_ensemble.h"
#include "base/status.h"
#include "base/thread_pool.h"

namespace inferd::backends::forest {

template <typename T>
class CompiledForest {
 public:
  struct Options {
    // Use the AVX-512 kernels when the CPU has them (float models with XGBoost's split rule).
    // Off only to test the portable code on machines that have them.
    bool allow_simd = true;
  };
  // Validates `ensemble` (see Validate) and compiles it. Errors: INVALID_ARGUMENT as Validate,
  // or for a tree deeper than 2^15 levels.
  static base::StatusOr<CompiledForest> Compile(const TreeEnsemble& ensemble,
                                                const Options& options);
  static base::StatusOr<CompiledForest> Compile(const TreeEnsemble& ensemble) {
    return Compile(ensemble, Options());
  }

  int64_t num_features() const { return num_features_; }
  int64_t num_groups() const { return num_groups_; }
  size_t num_trees() const { return trees_.size(); }
  bool implicit_layout() const { return implicit_; }

  // Raw scores. x: row-major [rows, num_features] (NaN = missing); out: row-major
  // [rows, num_groups]. Runs on the calling thread; with a pool and at least kParallelMinRows
  // rows, the rows are split over the pool's threads and the caller.
  void PredictMargin(const T* x, int64_t rows, T* out, base::ThreadPool* pool = nullptr) const;

  static constexpr int64_t kParallelMinRows = 1024;
  static constexpr int kMaxImplicitDepth = 10;

  // Decision flags in the top bits of a node's feature id.
  static constexpr uint32_t kDefaultLeft = 1u << 31;
  static constexpr uint32_t kCategorical = 1u << 30;
  static constexpr uint32_t kMissingZero = 1u << 29;
  static constexpr uint32_t kMissingNone = 1u << 28;
  static constexpr uint32_t kFeatureMask = (1u << 28) - 1;

  struct Split {
    T value;           // threshold; for a categorical split, the category set's index (bits)
    uint32_t feature;  // feature id | flags
  };
  static constexpr size_t kPadding = 32;  // elements after the split arrays, for vector loads
  struct Node {                           // pointer layout
    Split split;                          // a leaf holds its value in split.value
    int32_t left, right;                  // a leaf has left == right == itself
  };

 private:
  struct Tree {
    int64_t first;  // first node (pointer layout) or first split (implicit layout)
    int32_t depth;  // pointer layout: this tree's depth; implicit: the model's
    int32_t group;
    T weight;
  };
  struct CategoryRef {
    uint32_t offset;  // into category_bits_
    uint32_t words;
    bool in_set_goes_left;
    bool invalid_goes_left;
  };

  template <bool kLessEqual, bool kSpecial>
  void PredictRows(const T* x, int64_t begin, int64_t end, T* out) const;
  template <bool kLessEqual, bool kSpecial>
  void ImplicitRows(const T* x, int64_t begin, int64_t end, T* out) const;
  template <bool kLessEqual, bool kSpecial>
  void ImplicitOneRow(const T* row, T* out) const;

  template <bool kLessEqual, bool kSpecial>
  void PointerRows(const T* x, int64_t begin, int64_t end, T* out) const;
  template <bool kLessEqual, bool kSpecial>
  bool GoesLeft(const Split& s, T v) const;
  void AddLeaf(T* out_row, const Tree& tree, T leaf) const {
    out_row[tree.group] += weighted_ ? leaf * tree.weight : leaf;
  }

  int64_t num_features_ = 0;
  int64_t num_groups_ = 1;
  bool less_equal_ = false;
  bool special_ = false;  // categorical splits or non-NaN missing kinds present
  bool weighted_ = false;
  bool implicit_ = false;
  bool simd_ = false;  // the AVX-512 kernels apply and may be used
  int32_t depth_ = 0;  // implicit layout: every tree's depth
  std::vector<T> base_margin_;
  std::vector<Tree> trees_;
  // Implicit layout, per tree breadth-first (2^depth - 1 splits, 2^depth leaves), in separate
  // arrays so that vector code can pick a level's values; padded at the end for vector loads.
  std::vector<T> split_value_;
  std::vector<uint32_t> split_feature_;
  std::vector<uint64_t> split_packed_;  // float models: value bits | feature << 32, for gathers
  std::vector<T> top_value_;  // float models: the top splits node-major (see ImplicitView)
  std::vector<uint32_t> top_feature_;
  int64_t top_stride_ = 0;
  std::vector<T> leaves_;
  std::vector<int32_t> tree_group_;  // per tree, for the vector kernels
  std::vector<T> tree_weight_;
  std::vector<Node> nodes_;  // pointer layout
  std::vector<uint32_t> category_bits_;
  std::vector<CategoryRef> categories_;
};

extern template class CompiledForest<float>;
extern template class CompiledForest<double>;

}  // namespace inferd::backends::forest
