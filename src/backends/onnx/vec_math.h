// exp and erf for FP32 written without branches, so that the loops calling them vectorize
// (under the AVX2 and AVX-512 clones of activation.cc). exp: within 2 ulp of the correctly
// rounded value, overflowing to +inf and underflowing through the subnormals to 0; erf: within
// 3e-7 absolute (Abramowitz and Stegun 7.1.26 from 0.5 on, a Taylor series below). NaN propagates.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

namespace inferd::backends::onnx {

inline float ExpApprox(float x) {
  // (NaN clamps to -104 here: std::max keeps its first argument when the comparison fails, so the
  // float-to-int conversion below never sees a NaN; the NaN is returned at the end.)
  const float c = std::min(std::max(-104.0f, x), 88.8f);
  // n = round(c / ln2), by the 1.5 * 2^23 trick (std::floor does not vectorize).
  const float n = (c * 1.44269504f + 12582912.0f) - 12582912.0f;
  // r = c - n ln2 in [-ln2/2, ln2/2], with ln2 split in two so that r keeps its low bits.
  const float r = (c - n * 0.693145752f) - n * 1.42860677e-6f;
  float p = 1.98412698e-4f;  // Taylor series of e^r to r^7
  p = p * r + 1.38888889e-3f;
  p = p * r + 8.33333333e-3f;
  p = p * r + 4.16666667e-2f;
  p = p * r + 1.66666667e-1f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  // 2^n as two normal powers of two (n from -150 to 128), so that the product can be subnormal
  // or infinite.
  const int32_t ni = static_cast<int32_t>(n);
  const int32_t h = ni >> 1;
  const float s1 = std::bit_cast<float>((h + 127) << 23);
  const float s2 = std::bit_cast<float>((ni - h + 127) << 23);
  const float y = p * s1 * s2;
  return x != x ? x : y;  // NaN
}

inline float ErfApprox(float x) {
  const float a = std::fabs(x);
  // Below 0.5: x (2/sqrt(pi)) (1 - x^2/3 + x^4/10 - x^6/42 + x^8/216 - x^10/1320).
  const float x2 = x * x;
  float s = -7.57575758e-4f;
  s = s * x2 + 4.62962963e-3f;
  s = s * x2 - 2.38095238e-2f;
  s = s * x2 + 0.1f;
  s = s * x2 - 0.333333333f;
  s = s * x2 + 1.0f;
  const float small = x * 1.12837917f * s;
  // From 0.5 on: 1 - t (a1 + t (a2 + ...)) e^(-x^2), t = 1 / (1 + p |x|).
  const float t = 1.0f / (1.0f + 0.3275911f * a);
  float q = 1.061405429f;
  q = q * t - 1.453152027f;
  q = q * t + 1.421413741f;
  q = q * t - 0.284496736f;
  q = q * t + 0.254829592f;
  const float big = 1.0f - q * t * ExpApprox(-x2);
  const float signed_big = x < 0.0f ? -big : big;
  return a < 0.5f ? small : signed_big;
}

}  // namespace inferd::backends::onnx
