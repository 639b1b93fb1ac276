#include "backends/onnx/quantize.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::StatusOr;

namespace {

using ::onnx::NodeProto;
using ::onnx::TensorProto;

// A FP32 initializer's values; empty when it is not one.
std::vector<float> Floats(const TensorProto& t) {
  if (t.data_type() != TensorProto::FLOAT || t.data_location() == TensorProto::EXTERNAL) return {};
  int64_t count = 1;
  for (int64_t d : t.dims()) count *= d;
  std::vector<float> v(static_cast<size_t>(std::max<int64_t>(count, 0)));
  if (t.has_raw_data()) {
    if (t.raw_data().size() != v.size() * sizeof(float)) return {};
    std::memcpy(v.data(), t.raw_data().data(), t.raw_data().size());
  } else {
    if (t.float_data_size() != count) return {};
    std::copy(t.float_data().begin(), t.float_data().end(), v.begin());
  }
  return v;
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
      if (n.op_type() == "MatMul" || n.op_type() == "Gemm")
        result.skipped.push_back(label + ": " + why);
      nodes.push_back(n);
      continue;
    }
    if ((options.exclude_last && i == last) ||
        std::find(options.exclude.begin(), options.exclude.end(), label) != options.exclude.end()) {
      result.skipped.push_back(label + ": kept in FP32");
      nodes.push_back(n);
      continue;
    }
    if (n.op_type() == "Conv") {
      const TensorProto& wt = graph->initializer(init.at(n.input(1)));
      const std::vector<float> w = Floats(wt);
      if (w.empty()) {
        result.skipped.push_back(label + ": its weights could not be read");
        nodes.push_back(n);
        continue;
      }
      const int64_t m = wt.dims(0), per = static_cast<int64_t>(w.size()) / std::max<int64_t>(m, 1);
      const float qmax = options.reduce_range ? 63.0f : 127.0f;
      std::vector<float> scale(options.per_channel ? m : 1, 0.0f);
      for (int64_t oc = 0; oc < m; ++oc) {
        float& sc = scale[options.per_channel ? oc : 0];
        for (int64_t i = 0; i < per; ++i) sc = std::max(sc, std::fabs(w[oc * per + i]));
      }
      for (float& sc : scale) sc = sc > 0 ? sc / qmax : 1.0f;
      std::vector<int8_t> q(w.size());
      for (int64_t oc = 0; oc < m; ++oc) {
        for (int64_t i = 0; i < per; ++i) {
          const float v = std::nearbyint(w[oc * per + i] / scale[options.per_channel ? oc : 0]);
          q[oc * per + i] = static_cast<int8_t>(std::clamp(v, -qmax, qmax));
        }
      }
      const std::string out = n.output(0);
      const std::string w_q = unique(out + "_w_quantized"), w_zp = unique(out + "_w_zero_point"),
                        w_s = unique(out + "_w_scale");
      std::vector<int64_t> dims(wt.dims().begin(), wt.dims().end());
      const int8_t zero = 0;
      SetRaw(&added.emplace_back(), w_q, TensorProto::INT8, dims, q.data(), q.size());
      SetRaw(&added.emplace_back(), w_zp, TensorProto::INT8, {}, &zero, 1);
      // Per output channel on the channel axis of [N, M, H, W].
      std::vector<int64_t> sdims;
      if (options.per_channel) sdims = {m, 1, 1};
      SetRaw(&added.emplace_back(), w_s, TensorProto::FLOAT, sdims, scale.data(),
             scale.size() * sizeof(float));
      const std::string xq = unique(out + "_x_quantized"), xs = unique(out + "_x_scale"),
                        xz = unique(out + "_x_zero_point"), acc = unique(out + "_int32"),
                        accf = unique(out + "_float"), sc = unique(out + "_scale");
      nodes.push_back(
          Node("DynamicQuantizeLinear", label + "_quantize", {n.input(0)}, {xq, xs, xz}));
      NodeProto ci = Node("ConvInteger", label + "_conv_integer", {xq, w_q, xz, w_zp}, {acc});
      for (const auto& a : n.attribute()) *ci.add_attribute() = a;  // pads, strides, group...
      nodes.push_back(ci);
      NodeProto cast = Node("Cast", label + "_cast", {acc}, {accf});
      auto* to = cast.add_attribute();
      to->set_name("to");
      to->set_type(::onnx::AttributeProto::INT);
      to->set_i(TensorProto::FLOAT);
      nodes.push_back(cast);
      nodes.push_back(Node("Mul", label + "_scales", {xs, w_s}, {sc}));
      if (n.input_size() > 2 && !n.input(2).empty()) {
        const std::string y = unique(out + "_no_bias");
        nodes.push_back(Node("Mul", label + "_rescale", {accf, sc}, {y}));
        const std::vector<float> b = Floats(graph->initializer(init.at(n.input(2))));
        const std::string bias = unique(out + "_bias");
        SetRaw(&added.emplace_back(), bias, TensorProto::FLOAT,
               {static_cast<int64_t>(b.size()), 1, 1}, b.data(), b.size() * sizeof(float));
        nodes.push_back(Node("Add", label + "_bias", {y, bias}, {out}));
      } else {
        nodes.push_back(Node("Mul", label + "_rescale", {accf, sc}, {out}));
      }
      result.quantized.push_back(label);
      continue;
    }
    const TensorProto& wt = *weights_of(n);
    const std::vector<float> raw = Floats(wt);
    if (raw.empty()) {
      result.skipped.push_back(label + ": its weights could not be read");
      nodes.push_back(n);
      continue;
    }
    const bool gemm = n.op_type() == "Gemm";
    const bool trans_b = gemm && IntAttr(n, "transB", 0) != 0;
    const float alpha = gemm ? FloatAttr(n, "alpha", 1.0f) : 1.0f;
    const int64_t k = trans_b ? wt.dims(1) : wt.dims(0), cols = trans_b ? wt.dims(0) : wt.dims(1);
    // W as [K, N], scaled by alpha.
    std::vector<float> w(static_cast<size_t>(k * cols));
    for (int64_t r = 0; r < k; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        w[r * cols + c] = alpha * (trans_b ? raw[c * k + r] : raw[r * cols + c]);
      }
    }
    const float qmax = options.reduce_range ? 63.0f : 127.0f;
    std::vector<float> scale(options.per_channel ? cols : 1, 0.0f);
    for (int64_t r = 0; r < k; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        float& s = scale[options.per_channel ? c : 0];
        s = std::max(s, std::fabs(w[r * cols + c]));
      }
    }
    for (float& s : scale) s = s > 0 ? s / qmax : 1.0f;
    std::vector<int8_t> q(w.size());
    for (int64_t r = 0; r < k; ++r) {
      for (int64_t c = 0; c < cols; ++c) {
        const float v = std::nearbyint(w[r * cols + c] / scale[options.per_channel ? c : 0]);
        q[r * cols + c] = static_cast<int8_t>(std::clamp(v, -qmax, qmax));
      }
    }
    const std::string out = n.output(0);
    const std::string w_q = unique(out + "_w_quantized"), w_zp = unique(out + "_w_zero_point"),
                      w_s = unique(out + "_w_scale");
    std::vector<int8_t> zeros(scale.size(), 0);
    std::vector<int64_t> sdims;
    if (options.per_channel) sdims = {cols};
    SetRaw(&added.emplace_back(), w_q, TensorProto::INT8, {k, cols}, q.data(), q.size());
    SetRaw(&added.emplace_back(), w_zp, TensorProto::INT8, sdims, zeros.data(), zeros.size());
    SetRaw(&added.emplace_back(), w_s, TensorProto::FLOAT, sdims, scale.data(),
           scale.size() * sizeof(float));
    const std::string xq = unique(out + "_x_quantized"), xs = unique(out + "_x_scale"),
                      xz = unique(out + "_x_zero_point"), acc = unique(out + "_int32"),
                      accf = unique(out + "_float"), s = unique(out + "_scale");
    nodes.push_back(Node("DynamicQuantizeLinear", label + "_quantize", {n.input(0)}, {xq, xs, xz}));
    nodes.push_back(Node("MatMulInteger", label + "_matmul_integer", {xq, w_q, xz, w_zp}, {acc}));
    NodeProto cast = Node("Cast", label + "_cast", {acc}, {accf});
    auto* to = cast.add_attribute();
    to->set_name("to");
    to->set_type(::onnx::AttributeProto::INT);
    to->set_i(TensorProto::FLOAT);
    nodes.push_back(cast);
    nodes.push_back(Node("Mul", label + "_scales", {xs, w_s}, {s}));
    const bool has_c = gemm && n.input_size() > 2 && !n.input(2).empty();
    if (!has_c) {
      nodes.push_back(Node("Mul", label + "_rescale", {accf, s}, {out}));
    } else {
      const std::string y = unique(out + "_no_bias");
      nodes.push_back(Node("Mul", label + "_rescale", {accf, s}, {y}));
      std::string c = n.input(2);
      const float beta = FloatAttr(n, "beta", 1.0f);
      if (beta != 1.0f) {
        const TensorProto& ct = graph->initializer(init.at(c));
        std::vector<float> cv = Floats(ct);
        for (float& v : cv) v *= beta;
        c = unique(c + "_beta");
        std::vector<int64_t> dims(ct.dims().begin(), ct.dims().end());
        SetRaw(&added.emplace_back(), c, TensorProto::FLOAT, dims, cv.data(),
               cv.size() * sizeof(float));
      }
      nodes.push_back(Node("Add", label + "_bias", {y, c}, {out}));
    }
    result.quantized.push_back(label);
  }
  if (result.quantized.empty()) {
    return InvalidArgument(
        "nothing to quantize: no MatMul or Gemm with constant FP32 weights" +
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
