// OnnxGraph: a checked ONNX graph in inferd's own terms, independent of protobuf — values (graph
// inputs, initializers, node results) with their datatypes and declared shapes, nodes with typed
// attributes, and initializers as tensors. The planner and the kernels work on this, never on
// the ModelProto.
// Thread-safety: a value type; immutable once built.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"
#include "tensor/tensor.h"

namespace onnx {
class ModelProto;
class TensorProto;
}  // namespace onnx

namespace inferd::backends::onnx {

// An attribute value: int, float, string, ints, floats, strings or a tensor.
using Attribute = std::variant<int64_t, float, std::string, std::vector<int64_t>,
                               std::vector<float>, std::vector<std::string>, tensor::Tensor>;

struct OnnxNode {
  std::string op;
  std::string name;
  int64_t opset = 0;         // of the graph: some operators changed meaning across opsets
  std::vector<int> inputs;   // value ids; -1 for an omitted optional input
  std::vector<int> outputs;  // value ids; -1 for an omitted optional output
  std::map<std::string, Attribute, std::less<>> attributes;

  // The attribute `key` as T, or `fallback` when absent. Errors: INVALID_ARGUMENT when present
  // with another type.
  template <typename T>
  base::StatusOr<T> Get(std::string_view key, T fallback) const {
    auto it = attributes.find(key);
    if (it == attributes.end()) return fallback;
    if (const T* v = std::get_if<T>(&it->second)) return *v;
    return base::InvalidArgument("node '" + name + "' (" + op + "): attribute '" +
                                 std::string(key) + "' has the wrong type");
  }
};

struct OnnxValue {
  std::string name;
  std::optional<tensor::DataType> dtype;  // unknown for intermediates without type information
  tensor::Shape shape;                    // declared shape; -1 = unknown or symbolic
  bool has_shape = false;
  std::optional<tensor::Tensor> constant;  // initializers
};

struct OnnxGraph {
  int64_t opset = 0;
  std::vector<OnnxValue> values;
  std::vector<OnnxNode> nodes;  // in the file's (topological) order
  std::vector<int> inputs;      // graph inputs that are not initializers
  std::vector<int> outputs;
};

// Builds the graph from a ModelProto that passed the ONNX checker (InspectOnnxModel calls it; it
// fills the model's value_info by shape inference). Errors: INVALID_ARGUMENT for initializers or
// attributes inferd cannot read (external data, unknown tensor types), naming them; for node
// inputs that nothing produces.
base::StatusOr<OnnxGraph> BuildOnnxGraph(::onnx::ModelProto* model);

// An initializer or tensor attribute as a tensor. Errors: INVALID_ARGUMENT (external data, a type
// inferd cannot read, an invalid shape, data that does not fill it).
base::StatusOr<tensor::Tensor> ToTensor(const ::onnx::TensorProto& p);

}  // namespace inferd::backends::onnx
