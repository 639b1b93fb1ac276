// What the quantized kernels share (quant_ops.cc, conv_ops.cc): DynamicQuantizeLinear's
// arithmetic.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>

namespace inferd::backends::onnx {

// The spec's scale and zero point for `x` (`count` values): the range widened to hold 0,
// scale = range / 255 (0 when x is all zeros), zero point = round(-min / scale), ties to even.
void DynamicRange(const float* x, int64_t count, float* scale, uint8_t* zp);
// y = saturate(round(x / scale) + zp) as uint8 (all zp when scale is 0).
void QuantizeU8(const float* x, int64_t count, float scale, uint8_t zp, uint8_t* y);

}  // namespace inferd::backends::onnx
