#include "backends/forest/compiled_forest.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "backends/forest/implicit_kernels.h"

namespace inferd::backends::forest {
namespace {

// Rows per pass over the trees: their feature values stay in the first-level cache.
constexpr int64_t kRowBlock = 64;
// Below this many rows, each row walks many trees at once instead.
constexpr int64_t kMinRowsForRowBlocks = 8;
// Trees a single row walks at once.
constexpr int kTreeLanes = 32;
// The implicit layout is used only while it takes at most this much memory.
constexpr size_t kMaxImplicitBytes = size_t{256} << 20;

// The child chosen with arithmetic rather than a branch: split directions depend on the data and
// would be mispredicted about half the time.
inline int32_t Select(bool go_left, int32_t left, int32_t right) {
  const int32_t mask = -static_cast<int32_t>(go_left);
  return right + ((left - right) & mask);
}

}  // namespace

template <typename T>
base::StatusOr<CompiledForest<T>> CompiledForest<T>::Compile(const TreeEnsemble& e,
                                                             const Options& options) {
  RETURN_IF_ERROR(Validate(e));
  CompiledForest f;
  f.num_features_ = e.num_features;
  f.num_groups_ = e.num_groups;
  f.less_equal_ = e.comparison == Comparison::kLessEqual;
  f.special_ = e.HasSpecialSplits();
  f.weighted_ = e.weighted;
  for (double b : e.base_margin) f.base_margin_.push_back(static_cast<T>(b));
  for (const auto& cs : e.category_sets) {
    f.categories_.push_back({static_cast<uint32_t>(f.category_bits_.size()),
                             static_cast<uint32_t>(cs.bits.size()), cs.in_set_goes_left,
                             cs.invalid_goes_left});
    f.category_bits_.insert(f.category_bits_.end(), cs.bits.begin(), cs.bits.end());
  }
  auto split_of = [](const TreeNode& n) {
    Split s{};
    s.feature = n.feature;
    if (n.default_left) s.feature |= kDefaultLeft;
    if (n.is_categorical()) {
      s.feature |= kCategorical;
      const uint32_t index = static_cast<uint32_t>(n.category_set);
      static_assert(sizeof(T) >= sizeof(uint32_t));
      std::memcpy(&s.value, &index, sizeof(index));  // the set's index, not a number
    } else {
      s.value = static_cast<T>(n.value);
      if (n.missing == MissingKind::kZero) s.feature |= kMissingZero;
      if (n.missing == MissingKind::kNone) s.feature |= kMissingNone;
    }
    return s;
  };

  std::vector<int32_t> depths;
  int32_t max_depth = 0;
  for (size_t t = 0; t < e.trees.size(); ++t) {
    depths.push_back(TreeDepth(e, t));
    if (depths.back() > (1 << 15)) return base::InvalidArgument("a tree is deeper than 2^15");
    max_depth = std::max(max_depth, depths.back());
  }
  const size_t per_tree = size_t{1} << std::min(max_depth, 30);
  // (The cap also keeps every index of the layout within int32, as the vector kernels need.)
  // Per node slot: threshold, feature, leaf, and for float models the packed copy.
  const size_t slot_bytes =
      2 * sizeof(T) + sizeof(uint32_t) + (std::is_same_v<T, float> ? sizeof(uint64_t) : 0);
  f.implicit_ = max_depth <= kMaxImplicitDepth &&
                e.trees.size() * per_tree * slot_bytes <= kMaxImplicitBytes &&
                e.num_features * 16 < (int64_t{1} << 31);

  if (f.implicit_) {
    f.depth_ = max_depth;
    f.simd_ = options.allow_simd && std::is_same_v<T, float> && !f.less_equal_ && !f.special_ &&
              HaveAvx512();
    const size_t internal = per_tree - 1;
    f.split_value_.resize(e.trees.size() * internal + kPadding);
    f.split_feature_.resize(e.trees.size() * internal + kPadding);
    f.leaves_.resize(e.trees.size() * per_tree);
    for (size_t t = 0; t < e.trees.size(); ++t) {
      const TreeNode* src = e.nodes.data() + e.trees[t].first_node;
      T* values = f.split_value_.data() + t * internal;
      uint32_t* features = f.split_feature_.data() + t * internal;
      T* leaves = f.leaves_.data() + t * per_tree;
      // (source node, position in the perfect tree, level)
      std::vector<std::tuple<int32_t, size_t, int32_t>> stack = {{0, 0, 0}};
      while (!stack.empty()) {
        auto [id, pos, level] = stack.back();
        stack.pop_back();
        const TreeNode& n = src[id];
        if (level == max_depth) {
          leaves[pos - internal] = static_cast<T>(n.value);  // a leaf: the depth is the max
          continue;
        }
        if (n.is_leaf()) {
          // Padding (feature 0, threshold 0): either way leads to copies of this leaf.
          values[pos] = T(0);
          features[pos] = 0;
          stack.push_back({id, 2 * pos + 1, level + 1});
          stack.push_back({id, 2 * pos + 2, level + 1});
        } else {
          const Split sp = split_of(n);
          values[pos] = sp.value;
          features[pos] = sp.feature;
          stack.push_back({n.left, 2 * pos + 1, level + 1});
          stack.push_back({n.right, 2 * pos + 2, level + 1});
        }
      }
      f.trees_.push_back({static_cast<int64_t>(t), max_depth, e.trees[t].group,
                          static_cast<T>(e.trees[t].weight)});
      if constexpr (std::is_same_v<T, float>) {
        for (size_t i = 0; i < internal; ++i) {
          uint32_t bits;
          std::memcpy(&bits, &values[i], sizeof(bits));
          f.split_packed_.push_back(bits | (uint64_t{features[i]} << 32));
        }
      }
      f.tree_group_.push_back(e.trees[t].group);
      f.tree_weight_.push_back(static_cast<T>(e.trees[t].weight));
    }
    if constexpr (std::is_same_v<T, float>) {
      f.top_stride_ = (static_cast<int64_t>(e.trees.size()) + 63) / 64 * 64;
      f.top_value_.assign(static_cast<size_t>(kTopNodes * f.top_stride_), 0.0f);
      f.top_feature_.assign(f.top_value_.size(), 0);
      for (size_t t = 0; t < e.trees.size(); ++t) {
        for (size_t i = 0; i < static_cast<size_t>(kTopNodes) && i < internal; ++i) {
          f.top_value_[i * static_cast<size_t>(f.top_stride_) + t] =
              f.split_value_[t * internal + i];
          f.top_feature_[i * static_cast<size_t>(f.top_stride_) + t] =
              f.split_feature_[t * internal + i];
        }
      }
    }
    return f;
  }

  f.nodes_.reserve(e.nodes.size());
  for (size_t t = 0; t < e.trees.size(); ++t) {
    const auto& info = e.trees[t];
    const TreeNode* src = e.nodes.data() + info.first_node;
    const int64_t first = static_cast<int64_t>(f.nodes_.size());
    for (size_t i = 0; i < info.num_nodes; ++i) {
      const TreeNode& n = src[i];
      const int32_t self = static_cast<int32_t>(i);
      if (n.is_leaf()) {
        f.nodes_.push_back(Node{Split{static_cast<T>(n.value), 0}, self, self});
      } else {
        f.nodes_.push_back(Node{split_of(n), n.left, n.right});
      }
    }
    f.trees_.push_back({first, depths[t], info.group, static_cast<T>(info.weight)});
  }
  return f;
}

template <typename T>
template <bool kLessEqual, bool kSpecial>
inline bool CompiledForest<T>::GoesLeft(const Split& s, T v) const {
  if constexpr (kSpecial) {
    const bool default_left = (s.feature & kDefaultLeft) != 0;
    if (s.feature & kCategorical) {
      if (std::isnan(v)) return default_left;
      uint32_t index;
      std::memcpy(&index, &s.value, sizeof(index));
      const CategoryRef& c = categories_[index];
      if (!(v >= T(0)) || !(v < T(2147483648.0))) return c.invalid_goes_left;
      const uint32_t cat = static_cast<uint32_t>(static_cast<int32_t>(v));
      const bool in_set =
          cat / 32 < c.words && ((category_bits_[c.offset + cat / 32] >> (cat % 32)) & 1u);
      return in_set == c.in_set_goes_left;
    }
    if (s.feature & kMissingZero) {
      if (std::isnan(v) || std::fabs(static_cast<double>(v)) <= kZeroThreshold) {
        return default_left;
      }
    } else if (s.feature & kMissingNone) {
      if (std::isnan(v)) v = T(0);
    }
  }
  // NaN compares false: it goes left only when that is its default direction. Integer operations
  // keep the compiler from turning this into branches.
  const uint32_t less = static_cast<uint32_t>(kLessEqual ? v <= s.value : v < s.value);
  const uint32_t nan = static_cast<uint32_t>(v != v);
  return (less | (nan & (s.feature >> 31))) != 0;
}

template <typename T>
template <bool kLessEqual, bool kSpecial>
void CompiledForest<T>::ImplicitRows(const T* x, int64_t begin, int64_t end, T* out) const {
  const int64_t groups = num_groups_;
  const int64_t features = num_features_;
  const size_t internal = (size_t{1} << depth_) - 1;
  uint32_t idx[kRowBlock];
  for (int64_t rb = begin; rb < end; rb += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, end - rb);
    const T* xb = x + rb * features;
    for (const Tree& tree : trees_) {
      const T* values = split_value_.data() + static_cast<size_t>(tree.first) * internal;
      const uint32_t* features_of =
          split_feature_.data() + static_cast<size_t>(tree.first) * internal;
      const T* leaves = leaves_.data() + static_cast<size_t>(tree.first) * (internal + 1);
      for (int64_t r = 0; r < rows; ++r) idx[r] = 0;
      for (int32_t level = 0; level < depth_; ++level) {
        for (int64_t r = 0; r < rows; ++r) {
          const Split s{values[idx[r]], features_of[idx[r]]};
          const T v = xb[r * features + (s.feature & kFeatureMask)];
          idx[r] = 2 * idx[r] + 2 - static_cast<uint32_t>(GoesLeft<kLessEqual, kSpecial>(s, v));
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        AddLeaf(out + (rb + r) * groups, tree, leaves[idx[r] - internal]);
      }
    }
  }
}

template <typename T>
template <bool kLessEqual, bool kSpecial>
void CompiledForest<T>::ImplicitOneRow(const T* row, T* out) const {
  const size_t internal = (size_t{1} << depth_) - 1;
  uint32_t idx[kTreeLanes];
  for (size_t t0 = 0; t0 < trees_.size(); t0 += kTreeLanes) {
    const int lanes = static_cast<int>(std::min<size_t>(kTreeLanes, trees_.size() - t0));
    const T* values = split_value_.data() + t0 * internal;
    const uint32_t* features_of = split_feature_.data() + t0 * internal;
    for (int k = 0; k < lanes; ++k) idx[k] = 0;
    for (int32_t level = 0; level < depth_; ++level) {
      for (int k = 0; k < lanes; ++k) {
        const size_t at = static_cast<size_t>(k) * internal + idx[k];
        const Split s{values[at], features_of[at]};
        const T v = row[s.feature & kFeatureMask];
        idx[k] = 2 * idx[k] + 2 - static_cast<uint32_t>(GoesLeft<kLessEqual, kSpecial>(s, v));
      }
    }
    const T* leaves = leaves_.data() + t0 * (internal + 1);
    for (int k = 0; k < lanes; ++k) {
      AddLeaf(out, trees_[t0 + static_cast<size_t>(k)],
              leaves[static_cast<size_t>(k) * (internal + 1) + idx[k] - internal]);
    }
  }
}

template <typename T>
template <bool kLessEqual, bool kSpecial>
void CompiledForest<T>::PointerRows(const T* x, int64_t begin, int64_t end, T* out) const {
  const int64_t groups = num_groups_;
  const int64_t features = num_features_;
  int32_t idx[kRowBlock];
  for (int64_t rb = begin; rb < end; rb += kRowBlock) {
    const int64_t rows = std::min(kRowBlock, end - rb);
    const T* xb = x + rb * features;
    for (const Tree& tree : trees_) {
      const Node* nodes = nodes_.data() + tree.first;
      for (int64_t r = 0; r < rows; ++r) idx[r] = 0;
      for (int32_t s = 0; s < tree.depth; ++s) {
        for (int64_t r = 0; r < rows; ++r) {
          const Node& n = nodes[idx[r]];
          const T v = xb[r * features + (n.split.feature & kFeatureMask)];
          idx[r] = Select(GoesLeft<kLessEqual, kSpecial>(n.split, v), n.left, n.right);
        }
        // Deep, unbalanced trees: stop once every walk has reached its leaf.
        if ((s & 7) == 7) {
          bool all_leaves = true;
          for (int64_t r = 0; r < rows; ++r) all_leaves &= nodes[idx[r]].left == idx[r];
          if (all_leaves) break;
        }
      }
      for (int64_t r = 0; r < rows; ++r) {
        AddLeaf(out + (rb + r) * groups, tree, nodes[idx[r]].split.value);
      }
    }
  }
}

template <typename T>
template <bool kLessEqual, bool kSpecial>
void CompiledForest<T>::PredictRows(const T* x, int64_t begin, int64_t end, T* out) const {
  if (!implicit_) return PointerRows<kLessEqual, kSpecial>(x, begin, end, out);
  if constexpr (std::is_same_v<T, float> && !kLessEqual && !kSpecial) {
    if (simd_) {
      const ImplicitView view{split_value_.data(),
                              split_feature_.data(),
                              split_packed_.data(),
                              leaves_.data(),
                              top_value_.data(),
                              top_feature_.data(),
                              top_stride_,
                              tree_group_.data(),
                              weighted_ ? tree_weight_.data() : nullptr,
                              static_cast<int64_t>(trees_.size()),
                              depth_,
                              num_features_,
                              num_groups_};
      if (end - begin >= kMinRowsForRowBlocks) {
        Avx512AddLeavesRows(view, x + begin * num_features_, end - begin,
                            out + begin * num_groups_);
      } else {
        for (int64_t r = begin; r < end; ++r) {
          Avx512AddLeavesOneRow(view, x + r * num_features_, out + r * num_groups_);
        }
      }
      return;
    }
  }
  if (end - begin >= kMinRowsForRowBlocks) {
    return ImplicitRows<kLessEqual, kSpecial>(x, begin, end, out);
  }
  for (int64_t r = begin; r < end; ++r) {
    ImplicitOneRow<kLessEqual, kSpecial>(x + r * num_features_, out + r * num_groups_);
  }
}

template <typename T>
void CompiledForest<T>::PredictMargin(const T* x, int64_t rows, T* out,
                                      base::ThreadPool* pool) const {
  auto run = [&](int64_t begin, int64_t end) {
    // Every walk adds leaves onto the base margins.
    for (int64_t r = begin; r < end; ++r) {
      std::copy(base_margin_.begin(), base_margin_.end(), out + r * num_groups_);
    }
    if (less_equal_) {
      special_ ? PredictRows<true, true>(x, begin, end, out)
               : PredictRows<true, false>(x, begin, end, out);
    } else {
      special_ ? PredictRows<false, true>(x, begin, end, out)
               : PredictRows<false, false>(x, begin, end, out);
    }
  };
  if (pool == nullptr || pool->threads() == 0 || rows < kParallelMinRows) {
    run(0, rows);
    return;
  }
  // A few chunks per thread so that a slow thread does not hold the others up.
  const int64_t chunks = std::min<int64_t>(rows / 256, 4 * (pool->threads() + 1));
  const int64_t per = (rows + chunks - 1) / chunks;
  pool->ParallelFor(chunks, [&](int64_t c) {
    const int64_t begin = c * per;
    const int64_t end = std::min(rows, begin + per);
    if (begin < end) run(begin, end);
  });
}

template class CompiledForest<float>;
template class CompiledForest<double>;

}  // namespace inferd::backends::forest
