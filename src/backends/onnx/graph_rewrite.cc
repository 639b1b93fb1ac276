#include "backends/onnx/graph_rewrite.h"

#include <cmath>
#include <optional>

namespace inferd::backends::onnx {

namespace {

class Rewriter {
 public:
  explicit Rewriter(OnnxGraph* g) : g_(*g) {
    producer_.assign(g_.values.size(), -1);
    readers_.assign(g_.values.size(), {});
    output_.assign(g_.values.size(), false);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      for (int id : g_.nodes[i].outputs) {
        if (id >= 0) producer_[static_cast<size_t>(id)] = static_cast<int>(i);
      }
      for (int id : g_.nodes[i].inputs) {
        if (id >= 0) readers_[static_cast<size_t>(id)].push_back(static_cast<int>(i));
      }
    }
    for (int id : g_.outputs) output_[static_cast<size_t>(id)] = true;
    removed_.assign(g_.nodes.size(), false);
  }

  std::vector<std::string> Run() {
    std::vector<std::string> done;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (removed_[i]) continue;
      if (g_.nodes[i].op == "ReduceMean") {
        if (auto s = LayerNorm(i)) done.push_back(*s);
      } else if (g_.nodes[i].op == "Div" || g_.nodes[i].op == "Mul") {
        if (auto s = Gelu(i)) done.push_back(*s);
      } else if (g_.nodes[i].op == "DynamicQuantizeLinear") {
        if (auto s = QuantizedMatMul(i)) done.push_back(*s);
      }
    }
    std::vector<OnnxNode> kept;
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (!removed_[i]) kept.push_back(std::move(g_.nodes[i]));
    }
    g_.nodes = std::move(kept);
    return done;
  }

 private:
  // The one node reading `id` (which is no graph output), or null.
  OnnxNode* Only(int id) {
    if (id < 0 || output_[static_cast<size_t>(id)]) return nullptr;
    const auto& r = readers_[static_cast<size_t>(id)];
    if (r.size() != 1 || removed_[static_cast<size_t>(r[0])]) return nullptr;
    return &g_.nodes[static_cast<size_t>(r[0])];
  }
  OnnxNode* Only(int id, const char* op) {
    OnnxNode* n = Only(id);
    return n != nullptr && n->op == op ? n : nullptr;
  }
  size_t Index(const OnnxNode* n) const { return static_cast<size_t>(n - g_.nodes.data()); }
  int Out(const OnnxNode& n) const { return n.outputs.size() == 1 ? n.outputs[0] : -1; }

  // An initializer, the value of a Constant node, or either through Identity nodes (exporters
  // share equal weights that way).
  const tensor::Tensor* ConstantOf(int id) const {
    if (id < 0) return nullptr;
    const OnnxValue& v = g_.values[static_cast<size_t>(id)];
    if (v.constant) return &*v.constant;
    const int p = producer_[static_cast<size_t>(id)];
    if (p < 0) return nullptr;
    const OnnxNode& node = g_.nodes[static_cast<size_t>(p)];
    if (node.op == "Identity" && node.inputs.size() == 1) return ConstantOf(node.inputs[0]);
    if (node.op != "Constant") return nullptr;
    auto it = node.attributes.find("value");
    return it == node.attributes.end() ? nullptr : std::get_if<tensor::Tensor>(&it->second);
  }
  std::optional<float> Scalar(int id) const {
    const tensor::Tensor* t = ConstantOf(id);
    if (t == nullptr || t->element_count() != 1) return std::nullopt;
    if (t->dtype() == tensor::DataType::kFp32) return t->data<float>()[0];
    if (t->dtype() == tensor::DataType::kFp64) return static_cast<float>(t->data<double>()[0]);
    return std::nullopt;
  }
  // The input of a two-input node that is not `id`.
  static int Other(const OnnxNode& n, int id) {
    if (n.inputs.size() != 2) return -1;
    if (n.inputs[0] == id && n.inputs[1] != id) return n.inputs[1];
    if (n.inputs[1] == id && n.inputs[0] != id) return n.inputs[0];
    return -1;
  }
  // A ReduceMean over the last axis only, keeping it.
  bool MeanOverLast(const OnnxNode& n) const {
    if (n.op != "ReduceMean" || n.inputs.size() != 1) return false;
    auto axes = n.Get<std::vector<int64_t>>("axes", {});
    auto keep = n.Get<int64_t>("keepdims", 1);
    if (!axes.ok() || !keep.ok() || *keep != 1 || axes->size() != 1) return false;
    const OnnxValue& x = g_.values[static_cast<size_t>(n.inputs[0])];
    const int64_t a = (*axes)[0];
    return a == -1 || (x.has_shape && a == static_cast<int64_t>(x.shape.size()) - 1);
  }
  // A constant of one dimension whose length fits the normalized axis of `x`, known before node
  // `at` (where the rewritten node will read it).
  bool Affine(int id, int x, size_t at) const {
    const tensor::Tensor* c = ConstantOf(id);
    if (c == nullptr || producer_[static_cast<size_t>(id)] >= static_cast<int>(at)) return false;
    const tensor::Tensor& t = *c;
    if (t.dtype() != tensor::DataType::kFp32 || t.shape().size() != 1) return false;
    const OnnxValue& xv = g_.values[static_cast<size_t>(x)];
    if (!xv.has_shape || xv.shape.empty() || xv.shape.back() < 0) return t.shape()[0] > 0;
    return t.shape()[0] == xv.shape.back() || t.shape()[0] == 1;
  }

  void Remove(std::initializer_list<OnnxNode*> nodes) {
    for (OnnxNode* n : nodes) removed_[Index(n)] = true;
  }

  // mean = ReduceMean(x); d = x - mean; v = ReduceMean(d^2); y = d / sqrt(v + eps)
  // [* scale] [+ bias]  ->  LayerNormalization(x, scale, bias), axis -1.
  std::optional<std::string> LayerNorm(size_t at) {
    OnnxNode& mean = g_.nodes[at];
    if (!MeanOverLast(mean)) return std::nullopt;
    const int x = mean.inputs[0];
    OnnxNode* sub = Only(Out(mean), "Sub");
    if (sub == nullptr || sub->inputs.size() != 2 || sub->inputs[0] != x) return std::nullopt;
    const int d = Out(*sub);
    if (d < 0 || output_[static_cast<size_t>(d)] || readers_[static_cast<size_t>(d)].size() != 2)
      return std::nullopt;
    OnnxNode* pow = nullptr;
    OnnxNode* div = nullptr;
    for (int r : readers_[static_cast<size_t>(d)]) {
      OnnxNode& n = g_.nodes[static_cast<size_t>(r)];
      if (n.op == "Pow" && n.inputs.size() == 2 && n.inputs[0] == d) pow = &n;
      if (n.op == "Div" && n.inputs.size() == 2 && n.inputs[0] == d) div = &n;
    }
    if (pow == nullptr || div == nullptr || Scalar(pow->inputs[1]) != 2.0f) return std::nullopt;
    OnnxNode* var = Only(Out(*pow));
    if (var == nullptr || !MeanOverLast(*var)) return std::nullopt;
    OnnxNode* add = Only(Out(*var), "Add");
    if (add == nullptr) return std::nullopt;
    const std::optional<float> eps = Scalar(Other(*add, Out(*var)));
    OnnxNode* sqrt = Only(Out(*add), "Sqrt");
    if (!eps || sqrt == nullptr || Only(Out(*sqrt)) != div || div->inputs[1] != Out(*sqrt))
      return std::nullopt;
    int y = Out(*div);
    int scale = -1, bias = -1;
    std::vector<OnnxNode*> tail;
    if (OnnxNode* mul = Only(y, "Mul"); mul != nullptr && Affine(Other(*mul, y), x, at)) {
      scale = Other(*mul, y);
      y = Out(*mul);
      tail.push_back(mul);
      if (OnnxNode* ab = Only(y, "Add"); ab != nullptr && Affine(Other(*ab, y), x, at)) {
        bias = Other(*ab, y);
        y = Out(*ab);
        tail.push_back(ab);
      }
    }
    if (scale < 0 || y < 0) return std::nullopt;  // (without a scale, the ones it needs)
    const std::string name = mean.name;
    Remove({sub, pow, var, add, sqrt, div});
    for (OnnxNode* n : tail) Remove({n});
    OnnxNode ln;
    ln.op = "LayerNormalization";
    ln.name = name + "/LayerNormalization";
    ln.opset = mean.opset;
    ln.inputs = {x, scale, bias};
    ln.outputs = {y};
    ln.attributes["axis"] = int64_t{-1};
    ln.attributes["epsilon"] = *eps;
    mean = std::move(ln);
    return "LayerNorm from '" + name + "' (" + std::to_string(7 + tail.size()) + " nodes)";
  }

  // h = 0.5 * (x * (1 + erf(x / sqrt(2))))  ->  Gelu(x). The division may be a multiplication
  // by 1/sqrt(2).
  std::optional<std::string> Gelu(size_t at) {
    OnnxNode& scale = g_.nodes[at];
    if (scale.inputs.size() != 2) return std::nullopt;
    const bool swapped = scale.op == "Mul" && Scalar(scale.inputs[0]).has_value();
    const int x = scale.inputs[swapped ? 1 : 0];
    const std::optional<float> c = Scalar(scale.inputs[swapped ? 0 : 1]);
    const bool ok = c && (scale.op == "Div" ? std::fabs(*c - 1.41421356f) < 1e-4f
                                            : std::fabs(*c - 0.707106781f) < 1e-4f);
    if (!ok) return std::nullopt;
    OnnxNode* erf = Only(Out(scale), "Erf");
    OnnxNode* one = erf ? Only(Out(*erf), "Add") : nullptr;
    if (one == nullptr || Scalar(Other(*one, Out(*erf))) != 1.0f) return std::nullopt;
    OnnxNode* mul = Only(Out(*one), "Mul");
    if (mul == nullptr || Other(*mul, Out(*one)) != x) return std::nullopt;
    OnnxNode* half = Only(Out(*mul), "Mul");
    if (half == nullptr || Scalar(Other(*half, Out(*mul))) != 0.5f || Out(*half) < 0)
      return std::nullopt;
    const std::string name = scale.name;
    const int y = Out(*half);
    Remove({erf, one, mul, half});
    OnnxNode gelu;
    gelu.op = "Gelu";
    gelu.name = name + "/Gelu";
    gelu.opset = scale.opset;
    gelu.inputs = {x};
    gelu.outputs = {y};
    scale = std::move(gelu);
    return "GELU from '" + name + "' (5 nodes)";
  }

  // Dynamic quantization of a MatMul (or Conv), as quantizers write it:
  //   xq, xs, xz = DynamicQuantizeLinear(x); acc = MatMulInteger(xq, w, xz, wz);
  //   s = Mul(xs, w_scale); y = Mul(Cast<float>(acc), s)   ->  QuantizedMatMul(x, w, wz, w_scale)
  // (ConvInteger: QuantizedConv, with its attributes; w_scale per output channel on the channel
  // axis). w, wz and w_scale are constants known before the DynamicQuantizeLinear.
  std::optional<std::string> QuantizedMatMul(size_t at) {
    OnnxNode& dql = g_.nodes[at];
    if (dql.inputs.size() != 1 || dql.outputs.size() != 3) return std::nullopt;
    const int xq = dql.outputs[0], xs = dql.outputs[1], xz = dql.outputs[2];
    if (xq < 0 || xs < 0 || xz < 0) return std::nullopt;
    OnnxNode* mm = Only(xq);
    if (mm == nullptr || (mm->op != "MatMulInteger" && mm->op != "ConvInteger")) {
      return std::nullopt;
    }
    const bool conv = mm->op == "ConvInteger";
    if (mm->inputs.size() < 3 || mm->inputs[0] != xq || mm->inputs[2] != xz || Only(xz) != mm ||
        Out(*mm) < 0) {
      return std::nullopt;
    }
    auto known_before = [&](int id) {
      return id < 0 || (ConstantOf(id) != nullptr &&
                        producer_[static_cast<size_t>(id)] < static_cast<int>(at));
    };
    const int w = mm->inputs[1];
    const int wz = mm->inputs.size() > 3 ? mm->inputs[3] : -1;
    if (!known_before(w) || w < 0 || !known_before(wz)) return std::nullopt;
    OnnxNode* scale = Only(xs, "Mul");
    const int w_scale = scale ? Other(*scale, xs) : -1;
    if (w_scale < 0 || !known_before(w_scale) || Out(*scale) < 0) return std::nullopt;
    const tensor::Tensor* ws = ConstantOf(w_scale);
    if (ws->dtype() != tensor::DataType::kFp32) return std::nullopt;
    if (!conv && ws->shape().size() > 1) return std::nullopt;
    if (conv && ws->element_count() != 1) {
      // Per output channel, on the channel axis of [N, M, H, W]: [M, 1, 1] or [1, M, 1, 1].
      const auto& d = ws->shape();
      const bool channel = (d.size() == 3 && d[1] == 1 && d[2] == 1) ||
                           (d.size() == 4 && d[0] == 1 && d[2] == 1 && d[3] == 1);
      if (!channel) return std::nullopt;
    }
    OnnxNode* cast = Only(Out(*mm), "Cast");
    if (cast == nullptr) return std::nullopt;
    if (auto to = cast->Get<int64_t>("to", 0); !to.ok() || *to != 1) return std::nullopt;
    OnnxNode* mul = Only(Out(*cast), "Mul");
    if (mul == nullptr || Other(*mul, Out(*cast)) != Out(*scale) || Only(Out(*scale)) != mul ||
        Out(*mul) < 0) {
      return std::nullopt;
    }
    const std::string name = mm->name;
    const int x = dql.inputs[0], y = Out(*mul);
    Remove({mm, scale, cast, mul});
    OnnxNode q;
    q.op = conv ? "QuantizedConv" : "QuantizedMatMul";
    q.name = name + "/" + q.op;
    q.opset = dql.opset;
    q.inputs = {x, w, wz, w_scale};
    q.outputs = {y};
    if (conv) q.attributes = mm->attributes;  // pads, strides, dilations, group, auto_pad
    dql = std::move(q);
    return dql.op + " from '" + name + "' (5 nodes)";
  }

  OnnxGraph& g_;
  std::vector<int> producer_;
  std::vector<std::vector<int>> readers_;
  std::vector<bool> output_, removed_;
};

}  // namespace

std::vector<std::string> RewriteGraph(OnnxGraph* graph) { return Rewriter(graph).Run(); }

}  // namespace inferd::backends::onnx
