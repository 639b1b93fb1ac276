// Forest: a validated tree ensemble in a flat layout, and the margin computation over it.
// Every tree's nodes are contiguous in one array of 16-byte nodes (float threshold or leaf value,
// feature index with the default-direction bit, two child ids); there are no per-node heap
// objects. Margins are accumulated in float32 exactly as libxgboost 1.7 does: for each output
// group, base margin + tree 0 + tree 1 + ... in tree order (dart: + leaf * weight).
// Thread-safety: immutable after construction; concurrent const calls are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace inferd::backends::forest {

struct Node {
  static constexpr uint32_t kDefaultLeftBit = 0x80000000u;
  static constexpr uint32_t kFeatureMask = 0x7fffffffu;

  float value = 0.0f;    // split threshold (x < value goes left), or the leaf value
  uint32_t feature = 0;  // split feature index | kDefaultLeftBit when NaN goes left
  int32_t left = -1;     // child node ids within the tree; left < 0 marks a leaf
  int32_t right = -1;

  bool is_leaf() const { return left < 0; }
  uint32_t feature_index() const { return feature & kFeatureMask; }
  bool default_left() const { return (feature & kDefaultLeftBit) != 0; }
};
static_assert(sizeof(Node) == 16);

struct TreeInfo {
  size_t first_node = 0;  // index of the tree's node 0 (its root) in Forest::nodes
  size_t num_nodes = 0;
  int32_t group = 0;    // output group (class) the tree adds to
  float weight = 1.0f;  // dart weight_drop; 1 for gbtree
};

// Invariants (established by the loader, relied on by PredictMargin without checks): every node
// reachable from a tree's root has children inside the tree and a feature index below
// num_features; no node is reachable twice (no cycles); groups are below num_groups;
// base_margin has num_groups entries.
struct Forest {
  int64_t num_features = 0;
  int64_t num_groups = 1;
  bool weighted = false;           // dart: multiply each leaf by its tree's weight
  std::vector<float> base_margin;  // one per group, already through the objective's link
  std::vector<Node> nodes;
  std::vector<TreeInfo> trees;

  // The leaf value tree `t` gives the row `x` (num_features values; NaN = missing).
  float PredictTree(size_t t, const float* x) const;

  // Raw scores: `x` is row-major [rows, num_features], `out` is row-major [rows, num_groups].
  // Precondition: x.size() == rows * num_features, out.size() == rows * num_groups.
  void PredictMargin(std::span<const float> x, int64_t rows, std::span<float> out) const;
};

}  // namespace inferd::backends::forest
