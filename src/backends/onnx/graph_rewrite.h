// Graph rewrites made once when a model loads, independent of the batch size. Exporters before
// opset 17 write LayerNorm out as ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div (then Mul and
// Add for scale and bias), and GELU as Div by sqrt(2), Erf, Add 1, Mul, Mul by 0.5: each such
// chain becomes one node (LayerNormalization; Gelu, an op of inferd's own that the planner fuses
// into the MatMul or Gemm before it). A chain is rewritten only when nothing outside it reads its
// intermediate values and its constants are the ones the pattern needs.
// Thread-safety: a function of its argument.
#pragma once

#include <string>
#include <vector>

#include "backends/onnx/onnx_graph.h"

namespace inferd::backends::onnx {

// Rewrites `graph` in place; returns one line per rewrite (for logs and tests).
std::vector<std::string> RewriteGraph(OnnxGraph* graph);

}  // namespace inferd::backends::onnx
