// The compiled engine against the reference evaluator on random ensembles of every shape: both
// layouts (implicit and pointer), the AVX-512 and the portable kernels, one-row and row-block
// paths with their tails, the thread pool, every split rule. Sums must be bit-identical.
#include "backends/forest/compiled_forest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace inferd::backends::forest {
namespace {

struct Shape {
  int features, groups, trees, max_depth;
  Precision precision;
  Comparison comparison;
  bool special;  // categorical splits and LightGBM missing kinds
  bool weighted;
};

// Values drawn from a small set (so x == threshold happens), plus NaN and fractions.
double RandomValue(std::mt19937& rng) {
  static const double kValues[] = {-3, -1, -0.5, 0, 0.25, 1, 1.5, 2, 3, 7, 40};
  std::uniform_int_distribution<int> pick(0, 13);
  int i = pick(rng);
  if (i == 11) return NAN;
  if (i == 12) return std::uniform_real_distribution<double>(-5, 5)(rng);
  if (i == 13) return static_cast<double>(static_cast<float>(std::ldexp(1.0, -130)));  // tiny
  return kValues[i];
}

void AddTree(TreeEnsemble& e, const Shape& s, std::mt19937& rng, int group) {
  TreeInfo info;
  info.first_node = e.nodes.size();
  info.group = group;
  info.weight = s.weighted ? std::uniform_real_distribution<double>(0.1, 1.0)(rng) : 1.0;
  if (s.precision == Precision::kFloat32) info.weight = static_cast<float>(info.weight);
  std::vector<TreeNode> nodes(1);
  std::vector<std::pair<int, int>> pending = {{0, 0}};  // (node, depth)
  std::uniform_real_distribution<double> u(0, 1);
  while (!pending.empty()) {
    auto [id, depth] = pending.back();
    pending.pop_back();
    TreeNode n;
    if (depth >= s.max_depth || u(rng) < 0.15 + 0.05 * depth) {
      n.value = std::uniform_real_distribution<double>(-1, 1)(rng);
      if (s.precision == Precision::kFloat32) n.value = static_cast<float>(n.value);
      nodes[static_cast<size_t>(id)] = n;
      continue;
    }
    n.feature = static_cast<uint32_t>(std::uniform_int_distribution<int>(0, s.features - 1)(rng));
    n.default_left = u(rng) < 0.5;
    double t = RandomValue(rng);
    n.value = std::isnan(t) ? 0.5 : t;
    if (s.special) {
      const double r = u(rng);
      if (r < 0.25) {
        CategorySet cs;
        cs.bits.assign(2, 0);
        for (int c = 0; c < 64; ++c) {
          if (u(rng) < 0.4) cs.bits[static_cast<size_t>(c / 32)] |= 1u << (c % 32);
        }
        cs.in_set_goes_left = u(rng) < 0.5;
        cs.invalid_goes_left = u(rng) < 0.5;
        n.category_set = static_cast<int32_t>(e.category_sets.size());
        e.category_sets.push_back(cs);
      } else if (r < 0.45) {
        n.missing = MissingKind::kZero;
      } else if (r < 0.65) {
        n.missing = MissingKind::kNone;
      }
    }
    n.left = static_cast<int32_t>(nodes.size());
    n.right = n.left + 1;
    nodes.resize(nodes.size() + 2);
    nodes[static_cast<size_t>(id)] = n;
    pending.push_back({n.left, depth + 1});
    pending.push_back({n.right, depth + 1});
  }
  info.num_nodes = nodes.size();
  e.nodes.insert(e.nodes.end(), nodes.begin(), nodes.end());
  e.trees.push_back(info);
}

TreeEnsemble RandomEnsemble(const Shape& s, uint32_t seed) {
  std::mt19937 rng(seed);
  TreeEnsemble e;
  e.precision = s.precision;
  e.comparison = s.comparison;
  e.num_features = s.features;
  e.num_groups = s.groups;
  e.weighted = s.weighted;
  for (int g = 0; g < s.groups; ++g) {
    double b = std::uniform_real_distribution<double>(-0.5, 0.5)(rng);
    e.base_margin.push_back(s.precision == Precision::kFloat32 ? static_cast<float>(b) : b);
  }
  for (int t = 0; t < s.trees; ++t) AddTree(e, s, rng, t % s.groups);
  return e;
}

template <typename T>
void Check(const TreeEnsemble& e, const std::string& what, base::ThreadPool* pool) {
  std::mt19937 rng(99);
  for (bool simd : {true, false}) {
    typename CompiledForest<T>::Options options;
    options.allow_simd = simd;
    auto compiled = CompiledForest<T>::Compile(e, options);
    ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
    for (int64_t rows : {1, 2, 7, 8, 9, 16, 17, 63, 64, 65, 130, 1500}) {
      std::vector<T> x(static_cast<size_t>(rows * e.num_features));
      for (auto& v : x) v = static_cast<T>(RandomValue(rng));
      std::vector<T> want(static_cast<size_t>(rows * e.num_groups));
      std::vector<T> got(want.size(), T(-999));
      ReferencePredictMargin<T>(e, x.data(), rows, want.data());
      compiled->PredictMargin(x.data(), rows, got.data(), rows > 1000 ? pool : nullptr);
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_EQ(got[i], want[i]) << what << " simd=" << simd << " rows=" << rows
                                   << " implicit=" << compiled->implicit_layout() << " at " << i;
      }
    }
  }
}

TEST(CompiledForestTest, MatchesTheReferenceOnRandomEnsembles) {
  base::ThreadPool pool(2);
  const Shape shapes[] = {
      {30, 1, 100, 6, Precision::kFloat32, Comparison::kLess, false, false},
      {5, 3, 90, 4, Precision::kFloat32, Comparison::kLess, false, false},
      {12, 1, 40, 8, Precision::kFloat32, Comparison::kLess, false, true},
      {7, 2, 37, 1, Precision::kFloat32, Comparison::kLess, false, false},
      {3, 1, 5, 0, Precision::kFloat32, Comparison::kLess, false, false},    // single leaves
      {9, 1, 20, 14, Precision::kFloat32, Comparison::kLess, false, false},  // pointer layout
      {9, 2, 60, 6, Precision::kFloat32, Comparison::kLess, true, false},    // categorical
      {11, 1, 50, 7, Precision::kFloat64, Comparison::kLessEqual, true, false},
      {11, 3, 45, 16, Precision::kFloat64, Comparison::kLessEqual, true, true},
      {4, 1, 70, 5, Precision::kFloat64, Comparison::kLessEqual, false, false},
      // Over 32 features (one row gathers its values) and over 128 trees (several blocks).
      {45, 1, 300, 6, Precision::kFloat32, Comparison::kLess, false, false},
      {40, 4, 260, 5, Precision::kFloat32, Comparison::kLess, false, true},
  };
  uint32_t seed = 1;
  for (const Shape& s : shapes) {
    for (int rep = 0; rep < 3; ++rep) {
      TreeEnsemble e = RandomEnsemble(s, seed++);
      const std::string what = "shape features=" + std::to_string(s.features) +
                               " depth<=" + std::to_string(s.max_depth) + " seed " +
                               std::to_string(seed - 1);
      if (s.precision == Precision::kFloat32) {
        Check<float>(e, what, &pool);
      } else {
        Check<double>(e, what, &pool);
      }
    }
  }
}

TEST(CompiledForestTest, RefusesInvalidEnsembles) {
  TreeEnsemble e;
  e.num_features = 2;
  e.base_margin = {0};
  e.nodes.resize(3);
  e.nodes[0].left = 1;
  e.nodes[0].right = 5;  // outside the tree
  e.trees.push_back({0, 3, 0, 1.0});
  auto c = CompiledForest<float>::Compile(e);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("outside"), std::string::npos) << c.status().message();
}

TEST(CompiledForestTest, LightgbmZeroThresholdIsTheFloatConstant) {
  // LightGBM's kZeroThreshold is 1e-35f; a value between it and the double 1e-35 is zero for it.
  TreeEnsemble e;
  e.precision = Precision::kFloat64;
  e.comparison = Comparison::kLessEqual;
  e.num_features = 1;
  e.base_margin = {0};
  e.nodes.resize(3);
  e.nodes[0].left = 1;
  e.nodes[0].right = 2;
  e.nodes[0].value = 1.0;
  e.nodes[0].missing = MissingKind::kZero;
  e.nodes[0].default_left = false;
  e.nodes[1].value = 10;
  e.nodes[2].value = 20;
  e.trees.push_back({0, 3, 0, 1.0});
  auto c = CompiledForest<double>::Compile(e);
  ASSERT_TRUE(c.ok());
  const double x = 1.00000001e-35;  // > 1e-35, <= 1e-35f
  ASSERT_GT(x, 1e-35);
  double out = 0;
  c->PredictMargin(&x, 1, &out);
  EXPECT_EQ(out, 20);  // treated as zero: the default (right) direction
}

}  // namespace
}  // namespace inferd::backends::forest
