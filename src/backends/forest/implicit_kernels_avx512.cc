// GCC 12 reports -Wmaybe-uninitialized inside its own AVX-512 intrinsics (their "undefined"
// pass-through operands); the code here never reads an undefined lane.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <immintrin.h>

#include "backends/forest/implicit_kernels.h"

// Only plain code and intrinsics here: a template or inline function from a shared header,
// compiled with AVX-512 enabled, could be picked by the linker for callers on any CPU.
#define INFERD_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

namespace inferd::backends::forest {
namespace {

constexpr uint32_t kDefaultLeftBit = 1u << 31;
constexpr uint32_t kFeatureMaskBits = (1u << 28) - 1;

// One level of 16 walks: idx (positions in the perfect tree) moves to the chosen children.
INFERD_AVX512 inline __m512i Step(__m512i idx, __m512 threshold, __m512i feature, __m512 value) {
  const __mmask16 less = _mm512_cmp_ps_mask(value, threshold, _CMP_LT_OQ);
  const __mmask16 nan = _mm512_cmp_ps_mask(value, value, _CMP_UNORD_Q);
  const __mmask16 default_left =
      _mm512_test_epi32_mask(feature, _mm512_set1_epi32(static_cast<int>(kDefaultLeftBit)));
  const __mmask16 left = less | (nan & default_left);
  // Children of i are 2i+1 (left) and 2i+2 (right).
  const __m512i right = _mm512_add_epi32(_mm512_slli_epi32(idx, 1), _mm512_set1_epi32(2));
  return _mm512_mask_sub_epi32(right, left, right, _mm512_set1_epi32(1));
}

// Gathers 16 packed splits (threshold bits | feature << 32) at `at` (int32 indices) with two
// 8-lane 64-bit gathers, half the element loads of separate threshold and feature gathers.
INFERD_AVX512 inline void GatherSplits(const uint64_t* packed, __m512i at, __mmask16 active,
                                       __m512* threshold, __m512i* feature) {
  const __m512i lo = _mm512_mask_i32gather_epi64(
      _mm512_setzero_si512(), static_cast<__mmask8>(active), _mm512_castsi512_si256(at), packed, 8);
  const __m512i hi =
      _mm512_mask_i32gather_epi64(_mm512_setzero_si512(), static_cast<__mmask8>(active >> 8),
                                  _mm512_extracti64x4_epi64(at, 1), packed, 8);
  // Even 32-bit words are thresholds, odd ones features.
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  *threshold = _mm512_castsi512_ps(_mm512_permutex2var_epi32(lo, even, hi));
  *feature = _mm512_permutex2var_epi32(lo, odd, hi);
}

}  // namespace

bool HaveAvx512() {
  static const bool have = __builtin_cpu_supports("avx512f") &&
                           __builtin_cpu_supports("avx512bw") &&
                           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  return have;
}

// Walks are latency-bound (each level's loads depend on the previous level), so kUnroll groups
// of 16 independent walks are interleaved to keep several loads in flight.
constexpr int kUnroll = 4;
// One row: more walks at once (its feature values sit in registers, so there is room).
constexpr int kTreeUnroll = 8;

INFERD_AVX512 void Avx512AddLeavesRows(const ImplicitView& v, const float* x, int64_t rows,
                                       float* out) {
  const int64_t internal = (int64_t{1} << v.depth) - 1;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i row_offset =
      _mm512_mullo_epi32(lane, _mm512_set1_epi32(static_cast<int>(v.num_features)));
  const __m512i feature_mask = _mm512_set1_epi32(static_cast<int>(kFeatureMaskBits));
  constexpr int64_t kBlock = 16 * kUnroll;
  alignas(64) float leaf[kBlock];
  for (int64_t r0 = 0; r0 < rows; r0 += kBlock) {
    const int64_t n = rows - r0 < kBlock ? rows - r0 : kBlock;
    __mmask16 active[kUnroll];
    const float* xb[kUnroll];
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t m = n - 16 * u;
      active[u] =
          m >= 16 ? static_cast<__mmask16>(0xFFFF)
                  : (m <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << m) - 1));
      xb[u] = x + (r0 + (m > 0 ? 16 * u : 0)) * v.num_features;
    }
    for (int64_t t = 0; t < v.num_trees; ++t) {
      const float* thr = v.threshold + t * internal;
      const int32_t* feat = reinterpret_cast<const int32_t*>(v.feature + t * internal);
      __m512i idx[kUnroll];
      for (int u = 0; u < kUnroll; ++u) idx[u] = _mm512_setzero_si512();
      for (int32_t level = 0; level < v.depth; ++level) {
        const int32_t first = (1 << level) - 1;  // the level's nodes are [first, 2 * first + 1)
        const __m512i first_v = _mm512_set1_epi32(first);
        __m512 lo_t, hi_t;
        __m512i lo_f, hi_f;
        if (level <= 5) {  // up to 32 nodes: pick from registers instead of gathering
          lo_t = _mm512_loadu_ps(thr + first);
          hi_t = _mm512_loadu_ps(thr + first + 16);
          lo_f = _mm512_loadu_si512(feat + first);
          hi_f = _mm512_loadu_si512(feat + first + 16);
        }
        for (int u = 0; u < kUnroll; ++u) {
          __m512 threshold;
          __m512i feature;
          if (level <= 5) {
            const __m512i in_level = _mm512_sub_epi32(idx[u], first_v);
            threshold = _mm512_permutex2var_ps(lo_t, in_level, hi_t);
            feature = _mm512_permutex2var_epi32(lo_f, in_level, hi_f);
          } else {  // (two 32-bit gathers beat the packed 64-bit one here)
            threshold = _mm512_i32gather_ps(idx[u], thr, 4);
            feature = _mm512_i32gather_epi32(idx[u], feat, 4);
          }
          const __m512i at = _mm512_add_epi32(row_offset, _mm512_and_si512(feature, feature_mask));
          // Inactive lanes read nothing; their walks are dropped.
          const __m512 value =
              _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active[u], at, xb[u], 4);
          idx[u] = Step(idx[u], threshold, feature, value);
        }
      }
      const float* leaves = v.leaves + t * (internal + 1);
      const __m512i internal_v = _mm512_set1_epi32(static_cast<int>(internal));
      const int32_t group = v.group[t];
      for (int u = 0; u < kUnroll; ++u) {
        if (active[u] == 0) continue;
        __m512 l = _mm512_i32gather_ps(_mm512_sub_epi32(idx[u], internal_v), leaves, 4);
        if (v.weight) l = _mm512_mul_ps(l, _mm512_set1_ps(v.weight[t]));
        if (v.num_groups == 1) {
          float* o = out + r0 + 16 * u;
          _mm512_mask_storeu_ps(o, active[u],
                                _mm512_add_ps(_mm512_maskz_loadu_ps(active[u], o), l));
        } else {
          _mm512_store_ps(leaf + 16 * u, l);
        }
      }
      if (v.num_groups != 1) {
        for (int64_t r = 0; r < n; ++r) out[(r0 + r) * v.num_groups + group] += leaf[r];
      }
    }
  }
}

INFERD_AVX512 void Avx512AddLeavesOneRow(const ImplicitView& v, const float* row, float* out) {
  const int64_t internal = (int64_t{1} << v.depth) - 1;
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i feature_mask = _mm512_set1_epi32(static_cast<int>(kFeatureMaskBits));
  const __m512i internal_v = _mm512_set1_epi32(static_cast<int>(internal));
  constexpr int64_t kBlock = 16 * kTreeUnroll;
  alignas(64) float leaf[kBlock];
  const bool narrow = v.num_features <= 32;
  const __m512 row_lo = _mm512_maskz_loadu_ps(
      static_cast<__mmask16>(v.num_features >= 16 ? 0xFFFF : (1u << v.num_features) - 1), row);
  const __m512 row_hi = _mm512_maskz_loadu_ps(
      static_cast<__mmask16>(v.num_features >= 32   ? 0xFFFF
                             : v.num_features <= 16 ? 0
                                                    : (1u << (v.num_features - 16)) - 1),
      row + 16);
  for (int64_t t0 = 0; t0 < v.num_trees; t0 += kBlock) {
    const int64_t n = v.num_trees - t0 < kBlock ? v.num_trees - t0 : kBlock;
    __mmask16 active[kTreeUnroll];
    __m512i tree[kTreeUnroll], idx[kTreeUnroll];
    for (int u = 0; u < kTreeUnroll; ++u) {
      const int64_t m = n - 16 * u;
      active[u] =
          m >= 16 ? static_cast<__mmask16>(0xFFFF)
                  : (m <= 0 ? static_cast<__mmask16>(0) : static_cast<__mmask16>((1u << m) - 1));
      tree[u] = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(t0 + 16 * u)));
      idx[u] = _mm512_setzero_si512();
    }
    for (int32_t level = 0; level < v.depth; ++level) {
      for (int u = 0; u < kTreeUnroll; ++u) {
        if (active[u] == 0) continue;
        __m512 threshold;
        __m512i feature;
        if (level < kTopLevels) {
          // The level's 2^level nodes of these 16 trees, one vector each; pick per lane.
          const int first = (1 << level) - 1;
          const int64_t at = t0 + 16 * u;
          const __m512i in_level = _mm512_sub_epi32(idx[u], _mm512_set1_epi32(first));
          threshold = _mm512_loadu_ps(v.top_threshold + first * v.top_stride + at);
          feature = _mm512_loadu_si512(v.top_feature + first * v.top_stride + at);
          for (int p = 1; p < (1 << level); ++p) {
            const __mmask16 here = _mm512_cmpeq_epi32_mask(in_level, _mm512_set1_epi32(p));
            threshold = _mm512_mask_loadu_ps(threshold, here,
                                             v.top_threshold + (first + p) * v.top_stride + at);
            feature = _mm512_mask_loadu_epi32(feature, here,
                                              v.top_feature + (first + p) * v.top_stride + at);
          }
        } else {
          // Tree k's splits start at k * internal.
          const __m512i at = _mm512_add_epi32(_mm512_mullo_epi32(tree[u], internal_v), idx[u]);
          GatherSplits(v.packed, at, active[u], &threshold, &feature);
        }
        const __m512i f = _mm512_and_si512(feature, feature_mask);
        // A row of up to 32 features sits in two registers: pick instead of gathering.
        const __m512 value =
            narrow ? _mm512_permutex2var_ps(row_lo, f, row_hi)
                   : _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active[u], f, row, 4);
        idx[u] = Step(idx[u], threshold, feature, value);
      }
    }
    for (int u = 0; u < kTreeUnroll; ++u) {
      const __m512i leaf_at = _mm512_add_epi32(
          _mm512_mullo_epi32(tree[u], _mm512_add_epi32(internal_v, _mm512_set1_epi32(1))),
          _mm512_sub_epi32(idx[u], internal_v));
      _mm512_store_ps(leaf + 16 * u, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), active[u],
                                                              leaf_at, v.leaves, 4));
    }
    for (int64_t k = 0; k < n; ++k) {
      const int64_t t = t0 + k;
      out[v.group[t]] += v.weight ? leaf[k] * v.weight[t] : leaf[k];
    }
  }
}

}  // namespace inferd::backends::forest
