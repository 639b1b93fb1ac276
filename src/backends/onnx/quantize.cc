#include "backends/onnx/quantize.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <set>

#include "backends/onnx/onnx_graph.h"

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::StatusOr;

namespace {

using ::onnx::NodeProto;
using ::onnx::TensorProto;

// A FP32 initializer's values; empty when it is not one (or cannot be read).
std::vector<float> Floats(const TensorProto& t) {
  if (t.data_type() != TensorProto::FLOAT) return {};
  auto tensor = ToTensor(t);
  if (!tensor.ok()) return {};
  const auto values = tensor->data<float>();
  return std::vector<float>(values.begin(), values.end());
}

void SetRaw(TensorProto* t, const std::string& name, int32_t type, std::vector<int64_t> dims,
            const void* data, size_t bytes) {
  t->Clear();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(static_cast<const char*>(data), bytes));
}

int64_t IntAttr(const NodeProto& n, const std::string& name, int64_t fallback) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name && a.type() == ::onnx::AttributeProto::INT) return a.i();
  }
  return fallback;
}

float FloatAttr(const NodeProto& n, const std::string& name, float fallback) {
  for (const auto& a : n.attribute()) {
    if (a.name() == name && a.type() == ::onnx::AttributeProto::FLOAT) return a.f();
  }
  return fallback;
}

NodeProto Node(const std::string& op, const std::string& name, std::vector<std::string> inputs,
               std::vector<std::string> outputs) {
  NodeProto n;
  n.set_op_type(op);
  n.set_name(name);
  for (auto& i : inputs) n.add_input(i);
  for (auto& o : outputs) n.add_output(o);
  return n;
}

}  // namespace

StatusOr<QuantizeResult> QuantizeOnnxModel(const std::string& bytes,
                                           const QuantizeOptions& options) {
  ::onnx::ModelProto model;
  if (!model.ParseFromString(bytes)) return InvalidArgument("the file is not an ONNX model");
  int64_t opset = 0;
  for (const auto& o : model.opset_import()) {
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  }
  if (opset < 11) {
    return InvalidArgument("dynamic quantization needs opset 11 or later; the model has " +
                           std::to_string(opset));
  }
  auto* graph = model.mutable_graph();
  std::map<std::string, int> init;
  std::set<std::string> names;
  for (int i = 0; i < graph->initializer_size(); ++i) {
    init[graph->initializer(i).name()] = i;
    names.insert(graph->initializer(i).name());
  }
  for (const auto& n : graph->node()) {
    for (const auto& o : n.output()) names.insert(o);
  }
  auto unique = [&](const std::string& base) {
    std::string name = base;
    for (int k = 1; names.contains(name); ++k) name = base + "_" + std::to_string(k);
    names.insert(name);
    return name;
  };
  auto weights_of = [&](const NodeProto& n) -> const TensorProto* {
    if (n.input_size() < 2) return nullptr;
    auto it = init.find(n.input(1));
    if (it == init.end()) return nullptr;
    const TensorProto& t = graph->initializer(it->second);
    return t.data_type() == TensorProto::FLOAT && t.dims_size() == 2 ? &t : nullptr;
  };
  auto quantizable = [&](const NodeProto& n, std::string* why) {
    if (n.op_type() == "Conv") {
      auto it = n.input_size() >= 2 ? init.find(n.input(1)) : init.end();
      if (it == init.end() || graph->initializer(it->second).data_type() != TensorProto::FLOAT ||
          graph->initializer(it->second).dims_size() != 4) {
        *why = "its weights are not a constant 4-D FP32 initializer";
        return false;
      }
      if (n.input_size() > 2 && !n.input(2).empty() && !init.contains(n.input(2))) {
        *why = "Conv's B is not a constant";
        return false;
      }
      return true;
    }
    if (n.op_type() != "MatMul" && n.op_type() != "Gemm") return false;
    if (weights_of(n) == nullptr) {
      *why = "its weights are not a constant 2-D FP32 initializer";
      return false;
    }
    if (n.op_type() == "Gemm") {
      if (IntAttr(n, "transA", 0) != 0) {
        *why = "Gemm with transA";
        return false;
      }
      if (n.input_size() > 2 && !n.input(2).empty() && !init.contains(n.input(2))) {
        *why = "Gemm's C is not a constant";
        return false;
      }
    }
    return true;
  };
  int last = -1;
  for (int i = 0; i < graph->node_size(); ++i) {
    std::string why;
    if (quantizable(graph->node(i), &why)) last = i;
  }
  QuantizeResult result;
  std::vector<NodeProto> nodes;
  std::vector<TensorProto> added;
  for (int i = 0; i < graph->node_size(); ++i) {
    const NodeProto& n = graph->node(i);
    const std::string label = n.name().empty() ? n.output(0) : n.name();
    std::string why;
    if (!quantizable(n, &why)) {
      if (n.op_type() == "MatMul" || n.op_type() == "Gemm" || n.op_type() == "Conv") {
        result.skipped.push_back(label + ": " + why);
      }
      nodes.push_back(n);
      continue;
    }
    if ((options.exclude_last && i == last) ||
        std::find(options.exclude.begin(), options.exclude.end(), label) != options.exclude.end()) {
      result.skipped.push_back(label + ": kept in FP32");
      nodes.push_back(n);
      continue;
    }
    // The weights as [rows, cols] with the output channel along `per_row` (Conv: rows are output
    // channels) or down the columns (MatMul, Gemm: W as [K, N]).
    const bool conv = n.op_type() == "Conv";
    const TensorProto& wt = graph->initializer(init.at(n.input(1)));
    const std::vector<float> raw = Floats(wt);
    if (raw.empty()) {
      result.skipped.push_back(label + ": its weights could not be read");
      nodes.push_back(n);
      continue;
    }
    std::vector<float> w;
    std::vector<int64_t> w_dims, s_dims;
    int64_t channels = 0;
    std::function<int64_t(size_t)> channel_of;
    std::optional<std::vector<float>> bias;  // the bias to add after, shaped per channel
    std::vector<int64_t> bias_dims;
    std::string bias_name = conv || n.input_size() <= 2 ? "" : n.input(2);
    if (conv) {
      w = raw;
      w_dims.assign(wt.dims().begin(), wt.dims().end());
      channels = wt.dims(0);
      const int64_t per = static_cast<int64_t>(w.size()) / std::max<int64_t>(channels, 1);
      channel_of = [per](size_t i) { return static_cast<int64_t>(i) / per; };
      s_dims = {channels, 1, 1};  // on the channel axis of [N, M, H, W]
      if (n.input_size() > 2 && !n.input(2).empty()) {
        bias = Floats(graph->initializer(init.at(n.input(2))));
        bias_dims = {static_cast<int64_t>(bias->size()), 1, 1};
      }
    } else {
      const bool gemm = n.op_type() == "Gemm";
      const bool trans_b = gemm && IntAttr(n, "transB", 0) != 0;
      const float alpha = gemm ? FloatAttr(n, "alpha", 1.0f) : 1.0f;
      const int64_t k = trans_b ? wt.dims(1) : wt.dims(0);
      channels = trans_b ? wt.dims(0) : wt.dims(1);
      w.resize(static_cast<size_t>(k * channels));  // W as [K, N], scaled by alpha
      for (int64_t r = 0; r < k; ++r) {
        for (int64_t c = 0; c < channels; ++c) {
          w[r * channels + c] = alpha * (trans_b ? raw[c * k + r] : raw[r * channels + c]);
        }
      }
      w_dims = {k, channels};
      channel_of = [channels](size_t i) { return static_cast<int64_t>(i) % channels; };
      s_dims = {channels};
      const float beta = FloatAttr(n, "beta", 1.0f);
      if (gemm && !bias_name.empty() && beta != 1.0f) {
        const TensorProto& ct = graph->initializer(init.at(bias_name));
        bias = Floats(ct);
        for (float& v : *bias) v *= beta;
        bias_dims.assign(ct.dims().begin(), ct.dims().end());
      }
      if (!gemm) bias_name.clear();
    }
    // Symmetric int8, one scale per output channel (or one for all).
    const float qmax = options.reduce_range ? 63.0f : 127.0f;
    std::vector<float> scale(options.per_channel ? channels : 1, 0.0f);
    auto scale_of = [&](size_t i) -> float& {
      return scale[options.per_channel ? channel_of(i) : 0];
    };
    for (size_t i = 0; i < w.size(); ++i) scale_of(i) = std::max(scale_of(i), std::fabs(w[i]));
    for (float& sc : scale) sc = sc > 0 ? sc / qmax : 1.0f;
    std::vector<int8_t> q(w.size());
    for (size_t i = 0; i < w.size(); ++i) {
      q[i] = static_cast<int8_t>(std::clamp(std::nearbyint(w[i] / scale_of(i)), -qmax, qmax));
    }
    if (!options.per_channel) s_dims.clear();
    const std::string out = n.output(0);
    const std::string w_q = unique(out + "_w_quantized"), w_zp = unique(out + "_w_zero_point"),
                      w_s = unique(out + "_w_scale");
    // Zero points: one per column for MatMulInteger; a scalar for ConvInteger (ONNX Runtime's).
    const std::vector<int8_t> zeros(conv ? 1 : scale.size(), 0);
    SetRaw(&added.emplace_back(), w_q, TensorProto::INT8, w_dims, q.data(), q.size());
    SetRaw(&added.emplace_back(), w_zp, TensorProto::INT8, conv ? std::vector<int64_t>{} : s_dims,
           zeros.data(), zeros.size());
    SetRaw(&added.emplace_back(), w_s, TensorProto::FLOAT, s_dims, scale.data(),
           scale.size() * sizeof(float));
    if (bias) {
      bias_name = unique(out + (conv ? "_bias" : "_c_beta"));
      SetRaw(&added.emplace_back(), bias_name, TensorProto::FLOAT, bias_dims, bias->data(),
             bias->size() * sizeof(float));
    }
    // DynamicQuantizeLinear -> MatMulInteger / ConvInteger -> Cast -> Mul by x_scale * w_scale
    // [-> Add bias].
    const std::string xq = unique(out + "_x_quantized"), xs = unique(out + "_x_scale"),
                      xz = unique(out + "_x_zero_point"), acc = unique(out + "_int32"),
                      accf = unique(out + "_float"), sc = unique(out + "_scale");
    nodes.push_back(Node("DynamicQuantizeLinear", label + "_quantize", {n.input(0)}, {xq, xs, xz}));
    NodeProto integer =
        Node(conv ? "ConvInteger" : "MatMulInteger",
             label + (conv ? "_conv_integer" : "_matmul_integer"), {xq, w_q, xz, w_zp}, {acc});
    if (conv) {
      for (const auto& a : n.attribute()) *integer.add_attribute() = a;  // pads, strides...
    }
    nodes.push_back(integer);
    NodeProto cast = Node("Cast", label + "_cast", {acc}, {accf});
    auto* to = cast.add_attribute();
    to->set_name("to");
    to->set_type(::onnx::AttributeProto::INT);
    to->set_i(TensorProto::FLOAT);
    nodes.push_back(cast);
    nodes.push_back(Node("Mul", label + "_scales", {xs, w_s}, {sc}));
    if (bias_name.empty()) {
      nodes.push_back(Node("Mul", label + "_rescale", {accf, sc}, {out}));
    } else {
      const std::string y = unique(out + "_no_bias");
      nodes.push_back(Node("Mul", label + "_rescale", {accf, sc}, {y}));
      nodes.push_back(Node("Add", label + "_bias", {y, bias_name}, {out}));
    }
    result.quantized.push_back(label);
  }
  if (result.quantized.empty()) {
    return InvalidArgument(
        "nothing to quantize: no MatMul, Gemm or Conv with constant FP32 weights" +
        std::string(result.skipped.empty() ? "" : " (" + result.skipped[0] + ")"));
  }
  graph->clear_node();
  for (auto& n : nodes) *graph->add_node() = std::move(n);
  for (auto& t : added) *graph->add_initializer() = std::move(t);
  // Initializers nothing reads any more (the FP32 weights) go.
  std::set<std::string> used;
  for (const auto& n : graph->node()) {
    for (const auto& i : n.input()) used.insert(i);
  }
  for (const auto& o : graph->output()) used.insert(o.name());
  auto* inits = graph->mutable_initializer();
  inits->erase(std::remove_if(inits->begin(), inits->end(),
                              [&](const TensorProto& t) { return !used.contains(t.name()); }),
               inits->end());
  // Graph inputs that named removed initializers (IR < 4 style) go too.
  std::set<std::string> kept;
  for (const auto& t : graph->initializer()) kept.insert(t.name());
  auto* inputs = graph->mutable_input();
  inputs->erase(std::remove_if(inputs->begin(), inputs->end(),
                               [&](const ::onnx::ValueInfoProto& v) {
                                 return init.contains(v.name()) && !kept.contains(v.name());
                               }),
                inputs->end());
  result.model = model.SerializeAsString();
  return result;
}

}  // namespace inferd::backends::onnx
