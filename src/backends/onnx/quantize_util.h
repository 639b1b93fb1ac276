// What the quantized kernels share (quant_ops.cc, conv_ops.cc): DynamicQuantizeLinear's
// arithmetic.
// Thread-safety: pure functions.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>

#include "backends/onnx/kernels.h"

namespace inferd::backends::onnx {

inline bool IsQuant8(tensor::DataType t) {
  return t == tensor::DataType::kUint8 || t == tensor::DataType::kInt8;
}

// Element i of an integer view as int32 (uint8, int8 or int32; 0 for other types).
inline int32_t IntAt(const TensorView& v, int64_t i) {
  switch (v.dtype) {
    case tensor::DataType::kUint8:
      return v.as<uint8_t>()[i];
    case tensor::DataType::kInt8:
      return v.as<int8_t>()[i];
    case tensor::DataType::kInt32:
      return v.as<int32_t>()[i];
    default:
      return 0;
  }
}

// v clamped to Q's range, as Q (NaN gives Q's minimum).
template <typename Q>
Q Saturate(float v) {
  constexpr float lo = static_cast<float>(std::numeric_limits<Q>::min());
  constexpr float hi = static_cast<float>(std::numeric_limits<Q>::max());
  return static_cast<Q>(std::min(hi, std::max(lo, v)));
}

// Whether every element of an integer view is 0 (an omitted one is).
inline bool AllZero(const TensorView& v) {
  if (!v.present) return true;
  if (v.data == nullptr) return false;
  for (int64_t i = 0; i < v.elements(); ++i) {
    if (IntAt(v, i) != 0) return false;
  }
  return true;
}

// Calls fn with out's elements as uint8_t* or int8_t*.
template <typename Fn>
void ForQuant8(const TensorView& out, Fn&& fn) {
  if (out.dtype == tensor::DataType::kUint8) {
    fn(out.as<uint8_t>());
  } else {
    fn(out.as<int8_t>());
  }
}

// The spec's scale and zero point for `x` (`count` values): the range widened to hold 0,
// scale = range / 255 (0 when x is all zeros), zero point = round(-min / scale), ties to even.
void DynamicRange(const float* x, int64_t count, float* scale, uint8_t* zp);
// y = saturate(round(x / scale) + zp) as uint8 (all zp when scale is 0).
void QuantizeU8(const float* x, int64_t count, float scale, uint8_t zp, uint8_t* y);

}  // namespace inferd::backends::onnx
