#include "backends/onnx/onnx_model.h"

#include <onnx/checker.h>
#include <onnx/onnx_pb.h>

#include <set>

#include "backends/onnx/kernels.h"

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::StatusOr;

namespace {

StatusOr<tensor::DataType> ToDataType(int32_t elem_type, const std::string& what) {
  using ::onnx::TensorProto_DataType;
  switch (elem_type) {
    case TensorProto_DataType::TensorProto_DataType_FLOAT:
      return tensor::DataType::kFp32;
    case TensorProto_DataType::TensorProto_DataType_DOUBLE:
      return tensor::DataType::kFp64;
    case TensorProto_DataType::TensorProto_DataType_INT64:
      return tensor::DataType::kInt64;
    case TensorProto_DataType::TensorProto_DataType_INT32:
      return tensor::DataType::kInt32;
    case TensorProto_DataType::TensorProto_DataType_INT16:
      return tensor::DataType::kInt16;
    case TensorProto_DataType::TensorProto_DataType_INT8:
      return tensor::DataType::kInt8;
    case TensorProto_DataType::TensorProto_DataType_UINT8:
      return tensor::DataType::kUint8;
    case TensorProto_DataType::TensorProto_DataType_BOOL:
      return tensor::DataType::kBool;
    default:
      return InvalidArgument(what + " has ONNX element type " + std::to_string(elem_type) +
                             ", which inferd does not serve");
  }
}

StatusOr<config::TensorSpec> ToSpec(const ::onnx::ValueInfoProto& v, const std::string& kind) {
  const std::string what = kind + " '" + v.name() + "'";
  if (!v.type().has_tensor_type()) return InvalidArgument(what + " is not a tensor");
  const auto& t = v.type().tensor_type();
  config::TensorSpec spec;
  spec.name = v.name();
  ASSIGN_OR_RETURN(spec.dtype, ToDataType(t.elem_type(), what));
  if (t.has_shape()) {
    for (const auto& d : t.shape().dim()) {
      spec.shape.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
    }
  }
  return spec;
}

}  // namespace

bool IsSupportedOp(std::string_view op) { return FindOp(op) != nullptr; }

std::string DescribeUnsupported(const std::map<std::string, std::vector<std::string>>& ops) {
  std::string s = "unsupported operators: ";
  bool first = true;
  for (const auto& [op, nodes] : ops) {
    if (!first) s += ", ";
    first = false;
    s += op + (nodes.size() == 1 ? " (node " : " (nodes ");
    for (size_t i = 0; i < nodes.size() && i < 5; ++i) s += (i ? ", " : "") + nodes[i];
    if (nodes.size() > 5) s += " and " + std::to_string(nodes.size() - 5) + " more";
    s += ")";
  }
  return s;
}

StatusOr<OnnxModelInfo> InspectOnnxModel(std::string_view bytes) {
  ::onnx::ModelProto model;
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return InvalidArgument("not an ONNX model (the protobuf does not parse)");
  }
  OnnxModelInfo info;
  info.ir_version = model.ir_version();
  if (info.ir_version < kMinIrVersion) {
    return InvalidArgument("IR version " + std::to_string(info.ir_version) +
                           " is too old; inferd needs " + std::to_string(kMinIrVersion) +
                           " or later");
  }
  for (const auto& imp : model.opset_import()) {
    if (imp.domain().empty() || imp.domain() == "ai.onnx") {
      info.opset = imp.version();
    } else if (imp.domain() != "ai.onnx.ml") {
      return InvalidArgument("operators from domain '" + imp.domain() +
                             "' are not supported (only the default ONNX domain)");
    }
  }
  if (info.opset < kMinOpset || info.opset > kMaxOpset) {
    return InvalidArgument("opset " + std::to_string(info.opset) + " is outside the supported " +
                           std::to_string(kMinOpset) + "-" + std::to_string(kMaxOpset));
  }
  try {
    ::onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("the ONNX checker refuses the model: ") + e.what());
  }
  const auto& graph = model.graph();
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  for (const auto& in : graph.input()) {
    if (initializers.count(in.name())) continue;  // a weight listed as an input (IR < 4 style)
    ASSIGN_OR_RETURN(auto spec, ToSpec(in, "input"));
    info.signature.inputs.push_back(std::move(spec));
  }
  for (const auto& out : graph.output()) {
    ASSIGN_OR_RETURN(auto spec, ToSpec(out, "output"));
    info.signature.outputs.push_back(std::move(spec));
  }
  info.num_nodes = static_cast<size_t>(graph.node_size());
  for (const auto& node : graph.node()) {
    if (!node.domain().empty() && node.domain() != "ai.onnx") {
      return InvalidArgument("node '" + node.name() + "' uses operator " + node.op_type() +
                             " from domain '" + node.domain() + "', which is not supported");
    }
    if (!IsSupportedOp(node.op_type())) {
      info.unsupported[node.op_type()].push_back(node.name().empty() ? "(unnamed)" : node.name());
    }
  }
  if (info.unsupported.empty()) {
    ASSIGN_OR_RETURN(info.graph, BuildOnnxGraph(&model));
  }
  info.signature.platform = "onnx";
  info.signature.properties = {{"ir_version", std::to_string(info.ir_version)},
                               {"opset", std::to_string(info.opset)},
                               {"num_nodes", std::to_string(info.num_nodes)}};
  return info;
}

}  // namespace inferd::backends::onnx
