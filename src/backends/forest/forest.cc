#include "backends/forest/forest.h"

#include <algorithm>
#include <cmath>

#include "base/status.h"

namespace inferd::backends::forest {
namespace {

// Rows handled together per pass over the trees (libxgboost uses blocks of 64 as well); the
// order of additions into one output does not depend on it.
constexpr int64_t kBlockRows = 64;

}  // namespace

float Forest::PredictTree(size_t t, const float* x) const {
  const Node* tree = nodes.data() + trees[t].first_node;
  const Node* node = tree;
  while (!node->is_leaf()) {
    const float v = x[node->feature_index()];
    const bool go_left = std::isnan(v) ? node->default_left() : v < node->value;
    node = tree + (go_left ? node->left : node->right);
  }
  return node->value;
}

void Forest::PredictMargin(std::span<const float> x, int64_t rows, std::span<float> out) const {
  CHECK(static_cast<int64_t>(x.size()) == rows * num_features);
  CHECK(static_cast<int64_t>(out.size()) == rows * num_groups);
  CHECK(static_cast<int64_t>(base_margin.size()) == num_groups);
  for (int64_t r = 0; r < rows; ++r) {
    std::copy(base_margin.begin(), base_margin.end(), out.begin() + r * num_groups);
  }
  for (int64_t begin = 0; begin < rows; begin += kBlockRows) {
    const int64_t end = std::min(rows, begin + kBlockRows);
    for (size_t t = 0; t < trees.size(); ++t) {
      const int32_t group = trees[t].group;
      if (weighted) {
        const float w = trees[t].weight;
        for (int64_t r = begin; r < end; ++r) {
          const float leaf = PredictTree(t, x.data() + r * num_features);
          out[r * num_groups + group] += leaf * w;
        }
      } else {
        for (int64_t r = begin; r < end; ++r) {
          out[r * num_groups + group] += PredictTree(t, x.data() + r * num_features);
        }
      }
    }
  }
}

}  // namespace inferd::backends::forest
