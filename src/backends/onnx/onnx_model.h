// OnnxModelInfo: what inferd reads from a `model.onnx` before planning it — the checked graph's
// inputs and outputs as a signature (a symbolic dimension is -1), its opset, and the operators it
// uses that the engine does not implement.
// Thread-safety: pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "backends/onnx/onnx_graph.h"
#include "base/status.h"

namespace inferd::backends::onnx {

struct OnnxModelInfo {
  int64_t ir_version = 0;
  int64_t opset = 0;  // of the default ("" / "ai.onnx") domain
  backend::ModelSignature signature;
  // Operator -> the names of the nodes that use it, for every operator the engine lacks.
  std::map<std::string, std::vector<std::string>> unsupported;
  size_t num_nodes = 0;
  // The graph, built when no operator is missing (else empty).
  OnnxGraph graph;
};

// Oldest IR version and the opset range inferd accepts.
inline constexpr int64_t kMinIrVersion = 7;
inline constexpr int64_t kMinOpset = 11;
inline constexpr int64_t kMaxOpset = 17;

// Parses and checks a serialized ModelProto (the ONNX checker included) and, when the engine has
// every operator it uses, builds its graph (BuildOnnxGraph), parsing the bytes once. Errors:
// INVALID_ARGUMENT for bytes that are not an ONNX model or fail the checker (its message kept),
// an IR version below kMinIrVersion, an opset outside [kMinOpset, kMaxOpset], operators from
// other domains, or tensor types inferd cannot serve; as BuildOnnxGraph.
base::StatusOr<OnnxModelInfo> InspectOnnxModel(std::string_view bytes);

// Whether the engine implements `op` of the default domain.
bool IsSupportedOp(std::string_view op);

// "unsupported operators: Gemm (nodes fc1, fc2), Relu (node relu1)"; at most 5 node names per
// operator.
std::string DescribeUnsupported(const std::map<std::string, std::vector<std::string>>& ops);

}  // namespace inferd::backends::onnx
