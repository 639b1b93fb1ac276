#include "backends/forest/tree_ensemble.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace inferd::backends::forest {

using base::InvalidArgument;
using base::Status;

bool TreeEnsemble::HasSpecialSplits() const {
  for (const auto& n : nodes) {
    if (!n.is_leaf() && (n.is_categorical() || n.missing != MissingKind::kNaN)) return true;
  }
  return false;
}

Status Validate(const TreeEnsemble& e) {
  if (e.num_features < 0 || e.num_features > kMaxFeatures) {
    return InvalidArgument("num_features " + std::to_string(e.num_features) + " is out of range");
  }
  if (e.num_groups < 1) return InvalidArgument("the model has no output group");
  if (static_cast<int64_t>(e.base_margin.size()) != e.num_groups) {
    return InvalidArgument("base margin has " + std::to_string(e.base_margin.size()) +
                           " entries, expected " + std::to_string(e.num_groups));
  }
  for (const auto& cs : e.category_sets) {
    if (cs.bits.size() > (size_t{1} << 26)) return InvalidArgument("a category set is too large");
  }
  std::vector<uint8_t> seen;
  std::vector<int32_t> pending;
  for (size_t t = 0; t < e.trees.size(); ++t) {
    const TreeInfo& info = e.trees[t];
    // (Names are built only for an error: most nodes never need them.)
    auto tree = [t] { return "tree " + std::to_string(t); };
    if (info.num_nodes < 1 || info.first_node + info.num_nodes > e.nodes.size() ||
        info.num_nodes > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      return InvalidArgument(tree() + ": nodes outside the model");
    }
    if (info.group < 0 || info.group >= e.num_groups) {
      return InvalidArgument(tree() + ": output group " + std::to_string(info.group) +
                             ", but the model has " + std::to_string(e.num_groups));
    }
    const TreeNode* nodes = e.nodes.data() + info.first_node;
    const int32_t n = static_cast<int32_t>(info.num_nodes);
    seen.assign(info.num_nodes, 0);
    pending.assign(1, 0);
    seen[0] = 1;
    while (!pending.empty()) {
      const int32_t id = pending.back();
      pending.pop_back();
      const TreeNode& node = nodes[id];
      auto where = [&tree, id] { return tree() + ": node " + std::to_string(id); };
      if (node.is_leaf()) continue;
      for (int32_t child : {node.left, node.right}) {
        if (child < 0 || child >= n) {
          return InvalidArgument(where() + " has child " + std::to_string(child) +
                                 ", outside [0, " + std::to_string(n) + ")");
        }
        if (seen[child]) {
          return InvalidArgument(tree() + ": node " + std::to_string(child) +
                                 " is reached twice (a cycle or a shared child)");
        }
        seen[child] = 1;
        pending.push_back(child);
      }
      if (static_cast<int64_t>(node.feature) >= e.num_features) {
        return InvalidArgument(where() + " splits on feature " + std::to_string(node.feature) +
                               ", but the model has " + std::to_string(e.num_features));
      }
      if (node.is_categorical() &&
          static_cast<size_t>(node.category_set) >= e.category_sets.size()) {
        return InvalidArgument(where() + " refers to a missing category set");
      }
    }
  }
  return Status::Ok();
}

template <typename T>
bool GoesLeft(const TreeEnsemble& e, const TreeNode& node, T x) {
  if (node.is_categorical()) {
    if (std::isnan(x)) return node.default_left;
    const CategorySet& cs = e.category_sets[static_cast<size_t>(node.category_set)];
    if (!(x >= T(0)) || !(x < T(2147483648.0))) return cs.invalid_goes_left;
    const uint64_t c = static_cast<uint64_t>(static_cast<int32_t>(x));
    const bool in_set = c / 32 < cs.bits.size() && ((cs.bits[c / 32] >> (c % 32)) & 1u);
    return in_set == cs.in_set_goes_left;
  }
  switch (node.missing) {
    case MissingKind::kNaN:
      if (std::isnan(x)) return node.default_left;
      break;
    case MissingKind::kZero:
      if (std::isnan(x) || std::fabs(static_cast<double>(x)) <= kZeroThreshold) {
        return node.default_left;
      }
      break;
    case MissingKind::kNone:
      if (std::isnan(x)) x = T(0);
      break;
  }
  const T threshold = static_cast<T>(node.value);
  return e.comparison == Comparison::kLess ? x < threshold : x <= threshold;
}

template <typename T>
T ReferencePredictTree(const TreeEnsemble& e, size_t t, const T* x) {
  const TreeNode* nodes = e.nodes.data() + e.trees[t].first_node;
  const TreeNode* node = nodes;
  while (!node->is_leaf())
    node = nodes + (GoesLeft(e, *node, x[node->feature]) ? node->left : node->right);
  return static_cast<T>(node->value);
}

template <typename T>
void ReferencePredictMargin(const TreeEnsemble& e, const T* x, int64_t rows, T* out) {
  const int64_t g = e.num_groups;
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x + r * e.num_features;
    T* o = out + r * g;
    for (int64_t k = 0; k < g; ++k) o[k] = static_cast<T>(e.base_margin[static_cast<size_t>(k)]);
    for (size_t t = 0; t < e.trees.size(); ++t) {
      const T leaf = ReferencePredictTree(e, t, row);
      if (e.weighted) {
        o[e.trees[t].group] += leaf * static_cast<T>(e.trees[t].weight);
      } else {
        o[e.trees[t].group] += leaf;
      }
    }
  }
}

template bool GoesLeft<float>(const TreeEnsemble&, const TreeNode&, float);
template bool GoesLeft<double>(const TreeEnsemble&, const TreeNode&, double);
template float ReferencePredictTree<float>(const TreeEnsemble&, size_t, const float*);
template double ReferencePredictTree<double>(const TreeEnsemble&, size_t, const double*);
template void ReferencePredictMargin<float>(const TreeEnsemble&, const float*, int64_t, float*);
template void ReferencePredictMargin<double>(const TreeEnsemble&, const double*, int64_t, double*);

int32_t TreeDepth(const TreeEnsemble& ensemble, size_t t) {
  const TreeNode* nodes = ensemble.nodes.data() + ensemble.trees[t].first_node;
  int32_t best = 0;
  std::vector<std::pair<int32_t, int32_t>> stack = {{0, 0}};
  while (!stack.empty()) {
    auto [n, d] = stack.back();
    stack.pop_back();
    best = std::max(best, d);
    if (!nodes[n].is_leaf()) {
      stack.push_back({nodes[n].left, d + 1});
      stack.push_back({nodes[n].right, d + 1});
    }
  }
  return best;
}

}  // namespace inferd::backends::forest
