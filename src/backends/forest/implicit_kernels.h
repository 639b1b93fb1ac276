// Kernels for CompiledForest's implicit layout in float32 with XGBoost's split rule (go left when
// x < threshold, NaN follows the default direction), with AVX-512 versions chosen at run time.
// The AVX-512 code lives in implicit_kernels_avx512.cc, compiled for that instruction set only
// in functions that are called after a CPU check, so the binary runs on any x86-64.
// Thread-safety: pure functions over read-only data.
#pragma once

#include <cstdint>

namespace inferd::backends::forest {

// A read-only view of an implicit-layout forest in float32.
struct ImplicitView {
  const float* threshold;   // [trees * internal], breadth-first per tree; padded by 32 at the end
  const uint32_t* feature;  // [trees * internal], feature id | kDefaultLeft bit; same padding
  const uint64_t* packed;   // [trees * internal]: threshold bits | (feature << 32), for gathers
  const float* leaves;      // [trees * (internal + 1)]
  // The first kTopNodes splits of every tree, node-major: node i of tree t at [i * top_stride + t]
  // (top_stride >= trees, a multiple of 64, zero-padded), so the top levels of 16 trees load
  // with plain vector loads instead of gathers.
  const float* top_threshold;
  const uint32_t* top_feature;
  int64_t top_stride;
  const int32_t* group;  // [trees]
  const float* weight;   // [trees], or null when leaves are not weighted
  int64_t num_trees;
  int32_t depth;  // internal = 2^depth - 1
  int64_t num_features;
  int64_t num_groups;
};

inline constexpr int kTopLevels = 3;
inline constexpr int kTopNodes = (1 << kTopLevels) - 1;

// True when this CPU runs the AVX-512 kernels (AVX512F, BW, VL, DQ).
bool HaveAvx512();

// Adds every tree's leaf to `out` ([rows, num_groups], already holding the base margins) for
// `rows` rows of `x` ([rows, num_features]), tree by tree, so each row's sum is in tree order.
// Precondition: HaveAvx512(); num_features * 16 < 2^31.
void Avx512AddLeavesRows(const ImplicitView& v, const float* x, int64_t rows, float* out);

// The same for one row: 16 trees walked at once.
void Avx512AddLeavesOneRow(const ImplicitView& v, const float* row, float* out);

}  // namespace inferd::backends::forest
