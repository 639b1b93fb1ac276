#include "backends/onnx/onnx_graph.h"

#include <onnx/defs/schema.h>
#include <onnx/defs/shape_inference.h>
#include <onnx/onnx_pb.h>
#include <onnx/shape_inference/implementation.h>

#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::StatusOr;

namespace {

std::optional<tensor::DataType> DataTypeOf(int32_t elem_type) {
  using P = ::onnx::TensorProto_DataType;
  switch (elem_type) {
    case P::TensorProto_DataType_FLOAT:
      return tensor::DataType::kFp32;
    case P::TensorProto_DataType_DOUBLE:
      return tensor::DataType::kFp64;
    case P::TensorProto_DataType_INT64:
      return tensor::DataType::kInt64;
    case P::TensorProto_DataType_INT32:
      return tensor::DataType::kInt32;
    case P::TensorProto_DataType_INT16:
      return tensor::DataType::kInt16;
    case P::TensorProto_DataType_INT8:
      return tensor::DataType::kInt8;
    case P::TensorProto_DataType_UINT8:
      return tensor::DataType::kUint8;
    case P::TensorProto_DataType_BOOL:
      return tensor::DataType::kBool;
    default:
      return std::nullopt;
  }
}

// Copies typed repeated fields into the tensor's elements (converting to its element type).
template <typename To, typename Field>
void CopyField(const Field& field, tensor::Tensor* t) {
  auto out = t->data<To>();
  for (int i = 0; i < field.size() && static_cast<size_t>(i) < out.size(); ++i) {
    out[static_cast<size_t>(i)] = static_cast<To>(field.Get(i));
  }
}

}  // namespace

StatusOr<tensor::Tensor> ToTensor(const ::onnx::TensorProto& p) {
  const std::string what = "tensor '" + p.name() + "'";
  if (p.data_location() == ::onnx::TensorProto_DataLocation_EXTERNAL) {
    return InvalidArgument(what + " keeps its data in an external file, which is not supported");
  }
  auto dtype = DataTypeOf(p.data_type());
  if (!dtype) {
    return InvalidArgument(what + " has ONNX data type " + std::to_string(p.data_type()) +
                           ", which inferd cannot read");
  }
  tensor::Shape shape(p.dims().begin(), p.dims().end());
  const int64_t count = tensor::ElementCount(shape);
  if (count < 0 || count > (int64_t{1} << 31)) {
    return InvalidArgument(what + " has an invalid shape " + tensor::ShapeToString(shape));
  }
  tensor::Tensor t(p.name(), *dtype, shape);
  const size_t bytes = t.byte_size();
  if (p.has_raw_data()) {
    if (p.raw_data().size() != bytes) {
      return InvalidArgument(what + " has " + std::to_string(p.raw_data().size()) +
                             " bytes of data, its shape needs " + std::to_string(bytes));
    }
    if (bytes > 0) std::memcpy(t.bytes().data(), p.raw_data().data(), bytes);  // little-endian
    return t;
  }
  int64_t given = 0;
  switch (*dtype) {
    case tensor::DataType::kFp32:
      given = p.float_data_size();
      CopyField<float>(p.float_data(), &t);
      break;
    case tensor::DataType::kFp64:
      given = p.double_data_size();
      CopyField<double>(p.double_data(), &t);
      break;
    case tensor::DataType::kInt64:
      given = p.int64_data_size();
      CopyField<int64_t>(p.int64_data(), &t);
      break;
    case tensor::DataType::kInt32:
      given = p.int32_data_size();
      CopyField<int32_t>(p.int32_data(), &t);
      break;
    case tensor::DataType::kInt16:
      given = p.int32_data_size();
      CopyField<int16_t>(p.int32_data(), &t);
      break;
    case tensor::DataType::kInt8:
      given = p.int32_data_size();
      CopyField<int8_t>(p.int32_data(), &t);
      break;
    case tensor::DataType::kUint8:
      given = p.int32_data_size();
      CopyField<uint8_t>(p.int32_data(), &t);
      break;
    case tensor::DataType::kBool:
      given = p.int32_data_size();
      CopyField<uint8_t>(p.int32_data(), &t);
      break;
    default:
      break;
  }
  if (given != count) {
    return InvalidArgument(what + " has " + std::to_string(given) + " values, its shape needs " +
                           std::to_string(count));
  }
  return t;
}

namespace {

StatusOr<Attribute> ToAttribute(const ::onnx::AttributeProto& a, const std::string& node) {
  using A = ::onnx::AttributeProto;
  switch (a.type()) {
    case A::INT:
      return Attribute(static_cast<int64_t>(a.i()));
    case A::FLOAT:
      return Attribute(a.f());
    case A::STRING:
      return Attribute(a.s());
    case A::INTS:
      return Attribute(std::vector<int64_t>(a.ints().begin(), a.ints().end()));
    case A::FLOATS:
      return Attribute(std::vector<float>(a.floats().begin(), a.floats().end()));
    case A::STRINGS:
      return Attribute(std::vector<std::string>(a.strings().begin(), a.strings().end()));
    case A::TENSOR: {
      ASSIGN_OR_RETURN(auto t, ToTensor(a.t()));
      return Attribute(std::move(t));
    }
    default:
      return InvalidArgument("node '" + node + "': attribute '" + a.name() + "' has a type (" +
                             std::to_string(a.type()) + ") inferd cannot read");
  }
}

void SetTypeAndShape(const ::onnx::ValueInfoProto& info, OnnxValue* v) {
  if (!info.type().has_tensor_type()) return;
  const auto& t = info.type().tensor_type();
  if (auto d = DataTypeOf(t.elem_type())) v->dtype = *d;
  if (t.has_shape()) {
    v->has_shape = true;
    v->shape.clear();
    for (const auto& d : t.shape().dim()) {
      v->shape.push_back(d.has_dim_value() && d.dim_value() >= 0 ? d.dim_value() : -1);
    }
  }
}

// What GuardedSchemas refused during the InferShapes call on this thread (BuildOnnxGraph points
// it at its own string for the call): libonnx, in its default error mode, keeps the errors that
// inference functions throw to itself.
thread_local std::string* guard_refusal = nullptr;

// libonnx 1.12's shape inference for convolutions and poolings trusts that the input's rank, the
// weights' rank and the window attributes agree, and divides by the strides; when they do not
// agree (or a stride is 0), it reads past its vectors or divides by zero (found by onnx_fuzz: a
// SIGSEGV in convPoolShapeInference, a SIGFPE). This registry hands out those schemas with their
// inference function behind a check: a node that fails it is not inferred, and the refusal is
// recorded for BuildOnnxGraph to report.
class GuardedSchemas final : public ::onnx::ISchemaRegistry {
 public:
  const ::onnx::OpSchema* GetSchema(const std::string& key, const int max_version,
                                    const std::string& domain) const override {
    const ::onnx::OpSchema* schema = ::onnx::OpSchemaRegistry::Schema(key, max_version, domain);
    if (schema == nullptr || !domain.empty() || !Windowed(key)) return schema;
    std::lock_guard<std::mutex> lock(mu_);
    auto [it, added] = guarded_.try_emplace(key + "@" + std::to_string(schema->SinceVersion()));
    if (added) {
      it->second = std::make_unique<::onnx::OpSchema>(*schema);
      const auto inner = schema->GetTypeAndShapeInferenceFunction();
      const bool qlinear = key == "QLinearConv";
      const bool has_weights = key.find("Conv") != std::string::npos;
      it->second->TypeAndShapeInferenceFunction(
          [inner, qlinear, has_weights, key](::onnx::InferenceContext& ctx) {
            if (std::string why = Check(ctx, qlinear ? 3 : 1, has_weights); !why.empty()) {
              if (guard_refusal != nullptr && guard_refusal->empty()) {
                *guard_refusal = key + ": " + why;
              }
              throw ::onnx::InferenceError("[ShapeInferenceError] " + why);
            }
            if (inner) inner(ctx);
          });
    }
    return it->second.get();
  }

 private:
  static bool Windowed(const std::string& op) {
    return op == "Conv" || op == "ConvInteger" || op == "QLinearConv" || op == "ConvTranspose" ||
           op == "MaxPool" || op == "AveragePool" || op == "LpPool";
  }
  static int Rank(::onnx::InferenceContext& ctx, size_t i) {
    if (i >= ctx.getNumInputs()) return -1;
    const auto* t = ctx.getInputType(i);
    if (t == nullptr || !t->has_tensor_type() || !t->tensor_type().has_shape()) return -1;
    return t->tensor_type().shape().dim_size();
  }
  // Why the node may not be inferred; empty when it may.
  static std::string Check(::onnx::InferenceContext& ctx, size_t w_index, bool has_weights) {
    for (const char* name : {"strides", "dilations", "kernel_shape"}) {
      if (const auto* a = ctx.getAttribute(name)) {
        for (int64_t v : a->ints()) {
          if (v < 1) return std::string(name) + " must be >= 1";
        }
      }
    }
    const int rank = Rank(ctx, 0);
    if (rank < 0) return "";  // (inference stops there itself)
    if (rank < 3) return "the input needs a batch, a channel and spatial axes";
    const size_t spatial = static_cast<size_t>(rank - 2);
    const int w_rank = has_weights ? Rank(ctx, w_index) : -1;
    if (w_rank >= 0 && w_rank != rank) {
      return "the weights have rank " + std::to_string(w_rank) + ", the input " +
             std::to_string(rank);
    }
    for (const char* name : {"kernel_shape", "strides", "dilations", "pads", "output_padding"}) {
      const auto* a = ctx.getAttribute(name);
      if (a == nullptr) continue;
      const size_t want = std::string(name) == "pads" ? 2 * spatial : spatial;
      if (static_cast<size_t>(a->ints_size()) != want) {
        return std::string("attribute ") + name + " has " + std::to_string(a->ints_size()) +
               " values; " + std::to_string(want) + " expected";
      }
    }
    return "";
  }

  mutable std::mutex mu_;
  mutable std::map<std::string, std::unique_ptr<::onnx::OpSchema>> guarded_;
};

}  // namespace

StatusOr<OnnxGraph> BuildOnnxGraph(::onnx::ModelProto* model_proto) {
  ::onnx::ModelProto& model = *model_proto;
  // Fills value_info with the types and shapes of intermediate values where it can. The guard's
  // refusal comes first: it is why a later node's inference may fail too.
  static const GuardedSchemas schemas;
  std::string refusal, error;
  guard_refusal = &refusal;
  try {
    ::onnx::shape_inference::InferShapes(model, &schemas);
  } catch (const std::exception& e) {
    error = e.what();
  }
  guard_refusal = nullptr;
  if (!refusal.empty()) return InvalidArgument("ONNX shape inference fails: " + refusal);
  if (!error.empty()) return InvalidArgument("ONNX shape inference fails: " + error);
  OnnxGraph g;
  for (const auto& imp : model.opset_import()) {
    if (imp.domain().empty() || imp.domain() == "ai.onnx") g.opset = imp.version();
  }
  const auto& graph = model.graph();
  std::map<std::string, int, std::less<>> ids;
  auto value_id = [&](const std::string& name) {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    const int id = static_cast<int>(g.values.size());
    g.values.push_back(OnnxValue{name, std::nullopt, {}, false, std::nullopt});
    ids.emplace(name, id);
    return id;
  };
  for (const auto& init : graph.initializer()) {
    ASSIGN_OR_RETURN(tensor::Tensor t, ToTensor(init));
    OnnxValue& v = g.values[static_cast<size_t>(value_id(init.name()))];
    v.dtype = t.dtype();
    v.shape = t.shape();
    v.has_shape = true;
    v.constant = std::move(t);
  }
  for (const auto& in : graph.input()) {
    const int id = value_id(in.name());
    if (g.values[static_cast<size_t>(id)].constant) continue;
    SetTypeAndShape(in, &g.values[static_cast<size_t>(id)]);
    g.inputs.push_back(id);
  }
  // An input's or a constant's own type stands: value_info and graph outputs may not change it
  // (a graph output naming an input with another shape made the plan read past the request's
  // tensor; found by onnx_fuzz).
  std::vector<bool> given(g.values.size(), false);
  for (int id : g.inputs) given[static_cast<size_t>(id)] = true;
  for (size_t i = 0; i < g.values.size(); ++i) given[i] = given[i] || g.values[i].constant;
  auto fixed = [&](int id) { return static_cast<size_t>(id) < given.size() && given[id]; };
  for (const auto& info : graph.value_info()) {
    const int id = value_id(info.name());
    if (!fixed(id)) SetTypeAndShape(info, &g.values[static_cast<size_t>(id)]);
  }
  std::vector<bool> defined(g.values.size(), false);
  for (int id : g.inputs) defined[static_cast<size_t>(id)] = true;
  for (size_t i = 0; i < g.values.size(); ++i) defined[i] = defined[i] || g.values[i].constant;
  for (const auto& n : graph.node()) {
    OnnxNode node;
    node.op = n.op_type();
    node.opset = g.opset;
    node.name = n.name().empty() ? n.op_type() + "_" + std::to_string(g.nodes.size()) : n.name();
    for (const auto& in : n.input()) {
      if (in.empty()) {
        node.inputs.push_back(-1);
        continue;
      }
      const int id = value_id(in);
      defined.resize(g.values.size(), false);
      if (!defined[static_cast<size_t>(id)]) {
        return InvalidArgument("node '" + node.name + "' reads '" + in +
                               "', which no earlier node or input produces");
      }
      node.inputs.push_back(id);
    }
    for (const auto& out : n.output()) {
      if (out.empty()) {
        node.outputs.push_back(-1);
        continue;
      }
      const int id = value_id(out);
      defined.resize(g.values.size(), false);
      defined[static_cast<size_t>(id)] = true;
      node.outputs.push_back(id);
    }
    for (const auto& a : n.attribute()) {
      ASSIGN_OR_RETURN(Attribute attr, ToAttribute(a, node.name));
      node.attributes.emplace(a.name(), std::move(attr));
    }
    g.nodes.push_back(std::move(node));
  }
  for (const auto& out : graph.output()) {
    const int id = value_id(out.name());
    if (fixed(id)) {
      OnnxValue declared{out.name(), std::nullopt, {}, false, std::nullopt};
      SetTypeAndShape(out, &declared);
      const OnnxValue& v = g.values[static_cast<size_t>(id)];
      if ((declared.dtype && declared.dtype != v.dtype) ||
          (declared.has_shape && v.has_shape && declared.shape != v.shape)) {
        return InvalidArgument("output '" + out.name() + "' is an input or constant of type " +
                               tensor::ShapeToString(v.shape) + " but is declared as " +
                               tensor::ShapeToString(declared.shape));
      }
    } else {
      SetTypeAndShape(out, &g.values[static_cast<size_t>(id)]);
    }
    g.outputs.push_back(id);
  }
  return g;
}

}  // namespace inferd::backends::onnx
