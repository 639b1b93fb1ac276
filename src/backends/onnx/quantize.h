// Dynamic int8 quantization of an ONNX model, written as standard ONNX (ONNX Runtime runs it as
// well as inferd): every MatMul and Gemm whose weights are a constant 2-D FP32 initializer
// becomes
//   xq, xs, xz = DynamicQuantizeLinear(x)                 (u8 activations, range per call)
//   acc = MatMulInteger(xq, w_q, xz, w_zero_point)        (s8 weights, zero points 0)
//   y = Mul(Cast<float>(acc), Mul(xs, w_scale))           (+ Add of Gemm's C)
// with the weights quantized symmetrically per output column (per channel) or per tensor. A Conv
// with constant 4-D weights becomes the same with ConvInteger (its attributes kept; the scale
// per output channel shaped [M, 1, 1]; the bias added after).
// `reduce_range` keeps weights in [-63, 63] (7 bits): int8 kernels without VNNI add pairs of u8 x
// s8 products in 16 bits, which full-range weights can saturate.
// inferd's graph rewrite turns each such chain back into one int8 matmul (quant_ops.cc).
// Thread-safety: a function of its arguments.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace inferd::backends::onnx {

struct QuantizeOptions {
  bool per_channel = true;
  bool reduce_range = true;
  bool exclude_last = false;         // keep the last quantizable node (often the head) in FP32
  std::vector<std::string> exclude;  // node names kept in FP32
};

struct QuantizeResult {
  std::string model;                   // the serialized ModelProto
  std::vector<std::string> quantized;  // node names
  std::vector<std::string> skipped;    // "name: why"
};

// Errors: INVALID_ARGUMENT for bytes that are not an ONNX model, an opset below 11, or nothing
// to quantize.
base::StatusOr<QuantizeResult> QuantizeOnnxModel(const std::string& bytes,
                                                 const QuantizeOptions& options);

}  // namespace inferd::backends::onnx
