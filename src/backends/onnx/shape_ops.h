// Registration of the data-movement operators (shape_ops.cc) into the operator table.
#pragma once

#include <map>
#include <string>

#include "backends/onnx/kernels.h"

namespace inferd::backends::onnx {

void AddShapeOps(std::map<std::string, OpDef, std::less<>>* ops);
// Comparison, selection, Slice, Expand, Tile, Range, Pad, LayerNormalization (more_ops.cc).
void AddMoreOps(std::map<std::string, OpDef, std::less<>>* ops);
// Conv, pooling and BatchNormalization (conv_ops.cc).
void AddConvOps(std::map<std::string, OpDef, std::less<>>* ops);
// quant_ops.cc: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
// QLinearMatMul, and inferd's QuantizedMatMul.
void AddQuantOps(std::map<std::string, OpDef, std::less<>>* ops);
// Gemm and MatMul (gemm_ops.cc).
void AddGemmOps(std::map<std::string, OpDef, std::less<>>* ops);

}  // namespace inferd::backends::onnx
