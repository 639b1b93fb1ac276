// Convolution, pooling and batch normalization over NCHW tensors (2-D spatial). Conv and pooling
// run as oneDNN primitives created when planning (weights reordered once into the layout oneDNN
// prefers, BatchNormalization, bias and activation folded in); the plain loops remain for what
// oneDNN does not take (weights computed while running, pooling shapes it refuses) and for
// constant folding.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <unordered_map>

#include "backends/onnx/dnnl_util.h"
#include "backends/onnx/kernels.h"
#include "backends/onnx/quantize_util.h"
#include "backends/onnx/shape_ops.h"

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;
using tensor::DataType;
using tensor::Shape;

namespace {

// Window geometry of a 2-D convolution or pooling.
struct Window {
  int64_t kh, kw, sh = 1, sw = 1, dh = 1, dw = 1;
  int64_t top = 0, left = 0, bottom = 0, right = 0;
  int64_t oh = 0, ow = 0;
};

StatusOr<Window> Geometry(const OnnxNode& n, int64_t h, int64_t w, int64_t kh, int64_t kw) {
  Window g{kh, kw};
  ASSIGN_OR_RETURN(auto strides, n.Get<std::vector<int64_t>>("strides", {1, 1}));
  ASSIGN_OR_RETURN(auto dil, n.Get<std::vector<int64_t>>("dilations", {1, 1}));
  ASSIGN_OR_RETURN(auto pads, n.Get<std::vector<int64_t>>("pads", {0, 0, 0, 0}));
  ASSIGN_OR_RETURN(std::string auto_pad, n.Get<std::string>("auto_pad", "NOTSET"));
  ASSIGN_OR_RETURN(int64_t ceil_mode, n.Get<int64_t>("ceil_mode", 0));
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4) {
    return NodeError(n, "only 2-D windows are supported so far");
  }
  g.sh = strides[0], g.sw = strides[1], g.dh = dil[0], g.dw = dil[1];
  if (g.sh < 1 || g.sw < 1 || g.dh < 1 || g.dw < 1)
    return NodeError(n, "strides and dilations must be >= 1");
  if (kh < 1 || kw < 1) return NodeError(n, "the kernel must be at least 1 x 1");
  if (*std::min_element(pads.begin(), pads.end()) < 0) return NodeError(n, "pads must be >= 0");
  const int64_t eh = g.dh * (kh - 1) + 1, ew = g.dw * (kw - 1) + 1;  // effective kernel
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    g.oh = (h + g.sh - 1) / g.sh;
    g.ow = (w + g.sw - 1) / g.sw;
    const int64_t ph = std::max<int64_t>(0, (g.oh - 1) * g.sh + eh - h);
    const int64_t pw = std::max<int64_t>(0, (g.ow - 1) * g.sw + ew - w);
    const bool upper = auto_pad == "SAME_UPPER";
    g.top = upper ? ph / 2 : ph - ph / 2;
    g.bottom = ph - g.top;
    g.left = upper ? pw / 2 : pw - pw / 2;
    g.right = pw - g.left;
    return g;
  }
  if (auto_pad == "NOTSET") {
    g.top = pads[0], g.left = pads[1], g.bottom = pads[2], g.right = pads[3];
  } else if (auto_pad != "VALID") {
    return NodeError(n, "auto_pad '" + auto_pad + "' is not supported");
  }
  auto out_dim = [&](int64_t in, int64_t b, int64_t e, int64_t k, int64_t s) {
    const int64_t span = in + b + e - k;
    if (span < 0) return int64_t{-1};
    int64_t o = ceil_mode ? (span + s - 1) / s + 1 : span / s + 1;
    if (ceil_mode && (o - 1) * s >= in + b) --o;  // the last window must start inside
    return o;
  };
  g.oh = out_dim(h, g.top, g.bottom, eh, g.sh);
  g.ow = out_dim(w, g.left, g.right, ew, g.sw);
  if (g.oh < 1 || g.ow < 1) return NodeError(n, "the window is larger than the padded input");
  return g;
}

Status Need4d(const OnnxNode& n, const TensorView& x) {
  if (x.shape.size() != 4 || x.dtype != DataType::kFp32) {
    return NodeError(n, "takes an FP32 [N, C, H, W] input (2-D only so far), got " +
                            tensor::ShapeToString(x.shape));
  }
  return Status::Ok();
}

// ---- Conv ---------------------------------------------------------------------------------------

Status ConvShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  RETURN_IF_ERROR(Need4d(n, in[0]));
  if (in.size() < 2 || in[1].shape.size() != 4)
    return NodeError(n, "W must be [M, C/group, kH, kW]");
  ASSIGN_OR_RETURN(int64_t group, n.Get<int64_t>("group", 1));
  const int64_t c = in[0].shape[1], m = in[1].shape[0];
  if (group < 1 || c % group != 0 || m % group != 0 || in[1].shape[1] != c / group) {
    return NodeError(n, "channels " + std::to_string(c) + " and weights " +
                            tensor::ShapeToString(in[1].shape) + " do not fit group " +
                            std::to_string(group));
  }
  if (in.size() > 2 && in[2].present && in[2].elements() != m)
    return NodeError(n, "B must have M values");
  ASSIGN_OR_RETURN(Window g,
                   Geometry(n, in[0].shape[2], in[0].shape[3], in[1].shape[2], in[1].shape[3]));
  out->assign(1, TensorView{DataType::kFp32, Shape{in[0].shape[0], m, g.oh, g.ow}, nullptr});
  return Status::Ok();
}

Status ConvKernel(const OnnxNode& n, std::span<const TensorView> in,
                  std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(int64_t group, n.Get<int64_t>("group", 1));
  const Shape& xs = in[0].shape;
  const int64_t batch = xs[0], c = xs[1], h = xs[2], w = xs[3];
  const int64_t m = in[1].shape[0], cg = c / group, mg = m / group;
  ASSIGN_OR_RETURN(Window g, Geometry(n, h, w, in[1].shape[2], in[1].shape[3]));
  const float* x = in[0].as<float>();
  const float* wt = in[1].as<float>();
  const float* bias = in.size() > 2 && in[2].present ? in[2].as<float>() : nullptr;
  float* y = out[0].as<float>();
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t oc = 0; oc < m; ++oc) {
      const int64_t grp = oc / mg;
      float* yo = y + (b * m + oc) * g.oh * g.ow;
      std::fill(yo, yo + g.oh * g.ow, bias ? bias[oc] : 0.0f);
      for (int64_t ic = 0; ic < cg; ++ic) {
        const float* xc = x + (b * c + grp * cg + ic) * h * w;
        const float* wk = wt + (oc * cg + ic) * g.kh * g.kw;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const float wv = wk[ki * g.kw + kj];
            for (int64_t oi = 0; oi < g.oh; ++oi) {
              const int64_t ii = oi * g.sh - g.top + ki * g.dh;
              if (ii < 0 || ii >= h) continue;
              for (int64_t oj = 0; oj < g.ow; ++oj) {
                const int64_t jj = oj * g.sw - g.left + kj * g.dw;
                if (jj < 0 || jj >= w) continue;
                yo[oi * g.ow + oj] += wv * xc[ii * w + jj];
              }
            }
          }
        }
      }
    }
  }
  return Status::Ok();
}

// ---- MaxPool, AveragePool, global pooling -----------------------------------------------------

Status PoolShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  RETURN_IF_ERROR(Need4d(n, in[0]));
  ASSIGN_OR_RETURN(auto k, n.Get<std::vector<int64_t>>("kernel_shape", {}));
  if (k.size() != 2) return NodeError(n, "kernel_shape must have 2 values");
  if (n.outputs.size() > 1 && n.outputs[1] >= 0) {
    return NodeError(n, "the Indices output is not supported");
  }
  ASSIGN_OR_RETURN(Window g, Geometry(n, in[0].shape[2], in[0].shape[3], k[0], k[1]));
  out->assign(
      1, TensorView{DataType::kFp32, Shape{in[0].shape[0], in[0].shape[1], g.oh, g.ow}, nullptr});
  return Status::Ok();
}

template <bool kMax>
Status PoolKernel(const OnnxNode& n, std::span<const TensorView> in,
                  std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(auto k, n.Get<std::vector<int64_t>>("kernel_shape", {}));
  ASSIGN_OR_RETURN(int64_t include_pad, n.Get<int64_t>("count_include_pad", 0));
  const Shape& xs = in[0].shape;
  const int64_t planes = xs[0] * xs[1], h = xs[2], w = xs[3];
  ASSIGN_OR_RETURN(Window g, Geometry(n, h, w, k[0], k[1]));
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  for (int64_t p = 0; p < planes; ++p) {
    const float* xp = x + p * h * w;
    for (int64_t oi = 0; oi < g.oh; ++oi) {
      for (int64_t oj = 0; oj < g.ow; ++oj) {
        float acc = kMax ? -INFINITY : 0.0f;
        int64_t count = 0, padded = 0;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
          const int64_t ii = oi * g.sh - g.top + ki * g.dh;
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const int64_t jj = oj * g.sw - g.left + kj * g.dw;
            const bool inside = ii >= 0 && ii < h && jj >= 0 && jj < w;
            // count_include_pad counts the explicit padding, not what lies past it.
            if (ii >= -g.top && ii < h + g.bottom && jj >= -g.left && jj < w + g.right) ++padded;
            if (!inside) continue;
            const float v = xp[ii * w + jj];
            if constexpr (kMax) {
              acc = std::max(acc, v);
            } else {
              acc += v;
            }
            ++count;
          }
        }
        if constexpr (!kMax)
          acc /= static_cast<float>(include_pad ? padded : std::max<int64_t>(count, 1));
        y[(p * g.oh + oi) * g.ow + oj] = acc;
      }
    }
  }
  return Status::Ok();
}

Status GlobalPoolShape(const OnnxNode& n, std::span<const TensorView> in,
                       std::vector<TensorView>* out) {
  if (in.empty() || in[0].shape.size() < 3 || in[0].dtype != DataType::kFp32) {
    return NodeError(n, "takes an FP32 [N, C, ...] input");
  }
  Shape s = in[0].shape;
  for (size_t d = 2; d < s.size(); ++d) s[d] = 1;
  out->assign(1, TensorView{DataType::kFp32, s, nullptr});
  return Status::Ok();
}

template <bool kMax>
Status GlobalPoolKernel(const OnnxNode&, std::span<const TensorView> in,
                        std::span<const TensorView> out) {
  const int64_t planes = in[0].shape[0] * in[0].shape[1];
  const int64_t len = in[0].elements() / std::max<int64_t>(planes, 1);
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  for (int64_t p = 0; p < planes; ++p) {
    float acc = kMax ? -INFINITY : 0.0f;
    for (int64_t i = 0; i < len; ++i)
      acc = kMax ? std::max(acc, x[p * len + i]) : acc + x[p * len + i];
    y[p] = kMax ? acc : acc / static_cast<float>(len);
  }
  return Status::Ok();
}

// ---- BatchNormalization (inference) -------------------------------------------------------------

Status BatchNormShape(const OnnxNode& n, std::span<const TensorView> in,
                      std::vector<TensorView>* out) {
  if (in.size() != 5 || in[0].shape.size() < 2 || in[0].dtype != DataType::kFp32) {
    return NodeError(n, "takes X [N, C, ...], scale, B, mean and var");
  }
  for (size_t i = 1; i < 5; ++i) {
    if (in[i].elements() != in[0].shape[1]) return NodeError(n, "parameters must have C values");
  }
  ASSIGN_OR_RETURN(int64_t training, n.Get<int64_t>("training_mode", 0));
  if (training) return NodeError(n, "training_mode is not supported");
  out->assign(1, TensorView{DataType::kFp32, in[0].shape, nullptr});
  return Status::Ok();
}

Status BatchNormKernel(const OnnxNode& n, std::span<const TensorView> in,
                       std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(float eps, n.Get<float>("epsilon", 1e-5f));
  const int64_t batch = in[0].shape[0], c = in[0].shape[1];
  const int64_t len = in[0].elements() / std::max<int64_t>(batch * c, 1);
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  for (int64_t ch = 0; ch < c; ++ch) {
    const float scale = in[1].as<float>()[ch] / std::sqrt(in[4].as<float>()[ch] + eps);
    const float shift = in[2].as<float>()[ch] - in[3].as<float>()[ch] * scale;
    for (int64_t b = 0; b < batch; ++b) {
      const int64_t base = (b * c + ch) * len;
      for (int64_t i = 0; i < len; ++i) y[base + i] = x[base + i] * scale + shift;
    }
  }
  return Status::Ok();
}

// ---- oneDNN primitives
// ----------------------------------------------------------------------------

using Desc = dnnl::memory::desc;
using Dims = dnnl::memory::dims;
using Tag = dnnl::memory::format_tag;
constexpr auto kF32 = dnnl::memory::data_type::f32;

Dims ToDims(const Shape& s) { return Dims(s.begin(), s.end()); }
Desc Plain(const Shape& s) { return Desc(ToDims(s), kF32, Tag::nchw); }

// A oneDNN memory format as a value's layout.
class DnnlLayout final : public BlockedLayout {
 public:
  explicit DnnlLayout(const Desc& md) : md(md) {}
  size_t bytes() const override { return md.get_size(); }
  const Desc md;
};

// How a value is laid out: its blocked format, or plain NCHW.
Desc DescOf(const TensorView& v) {
  if (const auto* l = dynamic_cast<const DnnlLayout*>(v.layout.get())) return l->md;
  return Plain(v.shape);
}

// A oneDNN primitive between the plan's buffers. Input 0 arrives in its producer's layout and is
// reordered (into the step's scratch) when the primitive chose another; the output keeps the
// primitive's layout when the planner allows a blocked one, else it is reordered to plain NCHW.
class DnnlStep : public PreparedKernel {
 public:
  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte* scratch) const override {
    try {
      auto& engine = CpuEngine();
      std::byte* pad = scratch + pad_offset_;
      dnnl::memory src(src_given_, engine, in[0].data);
      if (src_reorder_) {
        dnnl::memory tmp(src_used_, engine, scratch);
        Execute(*src_reorder_, src_reorder_pad_, pad, {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, tmp}});
        src = tmp;
      }
      dnnl::memory dst_out(dst_given_, engine, out[0].data);
      dnnl::memory dst = dst_out;
      if (dst_reorder_) dst = dnnl::memory(dst_used_, engine, scratch + dst_offset_);
      std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}};
      if (weights_) args.emplace(DNNL_ARG_WEIGHTS, *weights_);
      if (bias_) args.emplace(DNNL_ARG_BIAS, *bias_);
      Execute(prim_, prim_pad_, pad, std::move(args));
      if (dst_reorder_) {
        Execute(*dst_reorder_, dst_reorder_pad_, pad,
                {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, dst_out}});
      }
    } catch (const dnnl::error& e) {
      return NodeError(*node_, std::string("oneDNN failed: ") + e.what());
    }
    return Status::Ok();
  }

  size_t scratch_bytes() const override { return scratch_; }
  std::shared_ptr<const BlockedLayout> output_layout() const override { return layout_; }
  std::shared_ptr<const BlockedLayout> input_layout() const override {
    return src_reorder_ ? std::make_shared<DnnlLayout>(src_used_) : nullptr;
  }
  std::string implementation() const override {
    std::string s = "oneDNN " + impl_;
    if (src_reorder_) s += ", input reordered";
    if (layout_) s += ", blocked output";
    if (dst_reorder_) s += ", output reordered to NCHW";
    return s;
  }

 protected:
  // Connects a created primitive (made with UserScratchpad): `given` is input 0's layout,
  // `src`/`dst` the primitive's, `pad` its scratchpad. The scratch holds the reordered input,
  // the output before its reorder, and one scratchpad region the three primitives take in turn.
  void Wire(const OnnxNode& n, dnnl::primitive prim, const char* impl, const Desc& given,
            const Desc& src, const Desc& dst, const Desc& pad, const Shape& out_shape,
            bool blocked_ok) {
    node_ = &n;
    prim_ = std::move(prim);
    prim_pad_ = pad;
    impl_ = impl;
    src_given_ = given;
    src_used_ = src;
    if (given != src) {
      const auto pd = ReorderDesc(given, src);
      src_reorder_ = dnnl::reorder(pd);
      src_reorder_pad_ = pd.scratchpad_desc();
      scratch_ = Aligned64(src.get_size());
    }
    dst_used_ = dst;
    const Desc plain = Plain(out_shape);
    if (dst == plain) {
      dst_given_ = plain;
    } else if (blocked_ok) {
      dst_given_ = dst;
      layout_ = std::make_shared<DnnlLayout>(dst);
    } else {
      dst_given_ = plain;
      const auto pd = ReorderDesc(dst, plain);
      dst_reorder_ = dnnl::reorder(pd);
      dst_reorder_pad_ = pd.scratchpad_desc();
      dst_offset_ = scratch_;
      scratch_ += Aligned64(dst.get_size());
    }
    pad_offset_ = scratch_;
    scratch_ += Aligned64(
        std::max({prim_pad_.get_size(), src_reorder_pad_.get_size(), dst_reorder_pad_.get_size()}));
  }

  std::optional<dnnl::memory> weights_, bias_;

 private:
  const OnnxNode* node_ = nullptr;
  dnnl::primitive prim_;
  std::string impl_;
  Desc src_given_, src_used_, dst_given_, dst_used_;
  Desc prim_pad_, src_reorder_pad_, dst_reorder_pad_;
  std::optional<dnnl::reorder> src_reorder_, dst_reorder_;
  size_t scratch_ = 0, dst_offset_ = 0, pad_offset_ = 0;
  std::shared_ptr<const BlockedLayout> layout_;
};

// Conv with its folded epilogue, as one oneDNN convolution primitive.
class DnnlConv final : public DnnlStep {
 public:
  static StatusOr<std::unique_ptr<PreparedKernel>> Prepare(const OnnxNode& n,
                                                           std::span<const TensorView> in,
                                                           std::span<const TensorView> out,
                                                           const Epilogue& epi, bool blocked_ok);
};

// The weights and bias with the epilogue's scale and bias folded in:
// act(s * (W x + b) + t) = act((s W) x + (s b + t)).
void FoldConvEpilogue(std::span<const TensorView> in, const Epilogue& epi, int64_t m,
                      std::vector<float>* w, std::vector<float>* b) {
  const float* src_w = in[1].as<float>();
  w->assign(src_w, src_w + in[1].elements());
  b->assign(static_cast<size_t>(m), 0.0f);
  if (in.size() > 2 && in[2].present) std::copy_n(in[2].as<float>(), m, b->begin());
  const int64_t per_channel = in[1].elements() / std::max<int64_t>(m, 1);
  for (int64_t oc = 0; oc < m; ++oc) {
    const float s = epi.scale.empty() ? 1.0f : epi.scale[oc];
    if (!epi.scale.empty()) {
      for (int64_t i = 0; i < per_channel; ++i) (*w)[oc * per_channel + i] *= s;
    }
    (*b)[oc] = s * (*b)[oc] + (epi.bias.empty() ? 0.0f : epi.bias[oc]);
  }
}

StatusOr<std::unique_ptr<PreparedKernel>> DnnlConv::Prepare(const OnnxNode& n,
                                                            std::span<const TensorView> in,
                                                            std::span<const TensorView> out,
                                                            const Epilogue& epi, bool blocked_ok) {
  ASSIGN_OR_RETURN(int64_t group, n.Get<int64_t>("group", 1));
  const Shape& xs = in[0].shape;
  const Shape& ws = in[1].shape;
  ASSIGN_OR_RETURN(Window g, Geometry(n, xs[2], xs[3], ws[2], ws[3]));
  const int64_t m = ws[0];
  std::vector<float> w, b;
  FoldConvEpilogue(in, epi, m, &w, &b);
  auto conv = std::make_unique<DnnlConv>();
  try {
    auto& engine = CpuEngine();
    const Dims wdims = group > 1 ? Dims{group, m / group, ws[1], ws[2], ws[3]} : ToDims(ws);
    const Desc given = DescOf(in[0]);
    const Desc b_md({m}, kF32, Tag::a);
    dnnl::primitive_attr attr = UserScratchpad();
    attr.set_post_ops(PostOps(epi));
    const Desc any_dst(ToDims(out[0].shape), kF32, Tag::any);
    auto create = [&](const Desc& src, const Desc& dst) {
      const dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src,
          Desc(wdims, kF32, Tag::any), b_md, dst, {g.sh, g.sw}, {g.dh - 1, g.dw - 1},
          {g.top, g.left}, {g.bottom, g.right});
      return dnnl::convolution_forward::primitive_desc(desc, attr, engine);
    };
    auto slow = [](const auto& pd) {
      const std::string impl = pd.impl_info_str();
      return impl.find("ref") != std::string::npos || impl.find("gemm") != std::string::npos;
    };
    // The input as it comes, the output as its reader would like it; if oneDNN then falls back
    // to its reference or GEMM-based code, the layouts it prefers (the input reordered on the
    // way in).
    auto pd = create(given, any_dst);
    if (blocked_ok && out[0].layout) {
      try {
        auto wanted = create(given, DescOf(out[0]));
        if (!slow(wanted)) pd = wanted;
      } catch (const dnnl::error&) {  // not for that layout: as it chooses
      }
    }
    if (slow(pd)) {
      auto alt = create(Desc(ToDims(xs), kF32, Tag::any), any_dst);
      if (std::string(alt.impl_info_str()).find("ref") == std::string::npos) pd = alt;
    }
    conv->weights_ =
        Packed({wdims, kF32, group > 1 ? Tag::goihw : Tag::oihw}, w.data(), pd.weights_desc());
    conv->bias_ = FloatMemory(b_md, b);
    conv->Wire(n, dnnl::convolution_forward(pd), pd.impl_info_str(), given, pd.src_desc(),
               pd.dst_desc(), pd.scratchpad_desc(), out[0].shape, blocked_ok);
  } catch (const dnnl::error& e) {
    return NodeError(n, std::string("oneDNN cannot run this convolution: ") + e.what());
  }
  return std::unique_ptr<PreparedKernel>(std::move(conv));
}

// ---- ConvInteger, QLinearConv, QuantizedConv ------------------------------------------------

// The output shape of an integer convolution of x [N, C, H, W] (8-bit) by w [M, C/group, kH, kW].
StatusOr<Shape> IntConvShape(const OnnxNode& n, const TensorView& x, const TensorView& w) {
  if (x.shape.size() != 4 || w.shape.size() != 4) {
    return NodeError(n, "takes x [N, C, H, W] and w [M, C/group, kH, kW] (2-D only so far)");
  }
  ASSIGN_OR_RETURN(int64_t group, n.Get<int64_t>("group", 1));
  const int64_t c = x.shape[1], m = w.shape[0];
  if (group < 1 || c % group != 0 || m % group != 0 || w.shape[1] != c / group) {
    return NodeError(n, "channels " + std::to_string(c) + " and weights " +
                            tensor::ShapeToString(w.shape) + " do not fit group " +
                            std::to_string(group));
  }
  ASSIGN_OR_RETURN(Window g, Geometry(n, x.shape[2], x.shape[3], w.shape[2], w.shape[3]));
  return Shape{x.shape[0], m, g.oh, g.ow};
}

// acc = conv(x - xz, w - wz(m)) in int32 (wrapping), NCHW. `xz` a scalar; `wz` a scalar or one
// per output channel (either may be null).
Status IntegerConv(const OnnxNode& n, const TensorView& x, const TensorView& w,
                   const TensorView* xz, const TensorView* wz, int32_t* acc) {
  ASSIGN_OR_RETURN(int64_t group, n.Get<int64_t>("group", 1));
  const int64_t batch = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3];
  const int64_t m = w.shape[0], cg = c / group, mg = m / group;
  ASSIGN_OR_RETURN(Window g, Geometry(n, h, wd, w.shape[2], w.shape[3]));
  const int32_t x0 = xz == nullptr ? 0 : IntAt(*xz, 0);
  std::vector<int64_t> sum(static_cast<size_t>(g.oh * g.ow));
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t oc = 0; oc < m; ++oc) {
      const int64_t grp = oc / mg;
      const int32_t w0 = wz == nullptr ? 0 : IntAt(*wz, wz->elements() == 1 ? 0 : oc);
      std::fill(sum.begin(), sum.end(), 0);
      for (int64_t ic = 0; ic < cg; ++ic) {
        const int64_t xoff = (b * c + grp * cg + ic) * h * wd;
        const int64_t woff = (oc * cg + ic) * g.kh * g.kw;
        for (int64_t ki = 0; ki < g.kh; ++ki) {
          for (int64_t kj = 0; kj < g.kw; ++kj) {
            const int32_t wv = IntAt(w, woff + ki * g.kw + kj) - w0;
            if (wv == 0) continue;
            for (int64_t oi = 0; oi < g.oh; ++oi) {
              const int64_t ii = oi * g.sh - g.top + ki * g.dh;
              if (ii < 0 || ii >= h) continue;  // padding holds the zero point: x - xz = 0
              for (int64_t oj = 0; oj < g.ow; ++oj) {
                const int64_t jj = oj * g.sw - g.left + kj * g.dw;
                if (jj < 0 || jj >= wd) continue;
                sum[oi * g.ow + oj] += wv * (IntAt(x, xoff + ii * wd + jj) - x0);
              }
            }
          }
        }
      }
      int32_t* y = acc + (b * m + oc) * g.oh * g.ow;
      for (size_t i = 0; i < sum.size(); ++i) y[i] = static_cast<int32_t>(sum[i]);
    }
  }
  return Status::Ok();
}

Status ConvIntegerShape(const OnnxNode& n, std::span<const TensorView> in,
                        std::vector<TensorView>* out) {
  if (in.size() < 2 || in.size() > 4 || !IsQuant8(in[0].dtype) || !IsQuant8(in[1].dtype)) {
    return NodeError(n, "takes 8-bit x and w and their zero points");
  }
  ASSIGN_OR_RETURN(Shape shape, IntConvShape(n, in[0], in[1]));
  if (in.size() > 2 && in[2].present && (in[2].elements() != 1 || in[2].dtype != in[0].dtype)) {
    return NodeError(n, "x_zero_point must be a scalar of x's type");
  }
  if (in.size() > 3 && in[3].present &&
      (in[3].dtype != in[1].dtype || (in[3].elements() != 1 && in[3].elements() != shape[1]))) {
    return NodeError(n, "w_zero_point must be w's type, a scalar or one per output channel");
  }
  out->assign(1, TensorView{DataType::kInt32, shape, nullptr});
  return Status::Ok();
}

Status ConvIntegerKernel(const OnnxNode& n, std::span<const TensorView> in,
                         std::span<const TensorView> out) {
  return IntegerConv(n, in[0], in[1], in.size() > 2 && in[2].present ? &in[2] : nullptr,
                     in.size() > 3 && in[3].present ? &in[3] : nullptr, out[0].as<int32_t>());
}

Status QLinearConvShape(const OnnxNode& n, std::span<const TensorView> in,
                        std::vector<TensorView>* out) {
  if (in.size() < 8 || in.size() > 9 || !IsQuant8(in[0].dtype) || !IsQuant8(in[3].dtype) ||
      !IsQuant8(in[7].dtype)) {
    return NodeError(n,
                     "takes x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, "
                     "y_zero_point and B (8-bit x, w and y)");
  }
  ASSIGN_OR_RETURN(Shape shape, IntConvShape(n, in[0], in[3]));
  const int64_t m = shape[1];
  if (in[1].elements() != 1 || in[2].elements() != 1 || in[6].elements() != 1 ||
      in[7].elements() != 1) {
    return NodeError(n, "x and y are quantized per tensor");
  }
  if ((in[4].elements() != 1 && in[4].elements() != m) ||
      (in[5].elements() != 1 && in[5].elements() != m)) {
    return NodeError(n, "w_scale and w_zero_point are scalars or one per output channel");
  }
  if (in.size() == 9 && in[8].present &&
      (in[8].dtype != DataType::kInt32 || in[8].elements() != m)) {
    return NodeError(n, "B must be INT32 with one value per output channel");
  }
  out->assign(1, TensorView{in[7].dtype, shape, nullptr});
  return Status::Ok();
}

Status QLinearConvKernel(const OnnxNode& n, std::span<const TensorView> in,
                         std::span<const TensorView> out) {
  const Shape& shape = out[0].shape;
  const int64_t m = shape[1], plane = shape[2] * shape[3];
  std::vector<int32_t> acc(static_cast<size_t>(out[0].elements()));
  RETURN_IF_ERROR(IntegerConv(n, in[0], in[3], &in[2], &in[5], acc.data()));
  const float xs = in[1].as<float>()[0], ys = in[6].as<float>()[0];
  const float yz = static_cast<float>(IntAt(in[7], 0));
  const bool has_b = in.size() == 9 && in[8].present;
  auto run = [&](auto* y) {
    using Q = std::remove_pointer_t<decltype(y)>;
    for (int64_t i = 0; i < out[0].elements(); ++i) {
      const int64_t oc = (i / plane) % m;
      const float ws = in[4].as<float>()[in[4].elements() == 1 ? 0 : oc];
      const int64_t a = int64_t{acc[i]} + (has_b ? in[8].as<int32_t>()[oc] : 0);
      const float v = std::nearbyint(static_cast<float>(a) * (xs * ws / ys)) + yz;
      y[i] = Saturate<Q>(v);
    }
  };
  ForQuant8(out[0], run);
  return Status::Ok();
}

// inferd's own, from the graph rewrite of dynamic quantization's Conv chain:
//   DynamicQuantizeLinear(x) -> ConvInteger(xq, w, xz, wz) -> Cast -> Mul by x_scale * w_scale
// inputs: x FP32 [N, C, H, W], w int8 [M, C/g, kH, kW], w_zero_point, w_scale (M values or one);
// Conv's attributes.
Status QuantizedConvShape(const OnnxNode& n, std::span<const TensorView> in,
                          std::vector<TensorView>* out) {
  if (in.size() != 4 || in[0].dtype != DataType::kFp32 || !IsQuant8(in[1].dtype) ||
      in[3].dtype != DataType::kFp32) {
    return NodeError(n, "takes x FP32, w int8, w_zero_point, w_scale FP32");
  }
  TensorView qx = in[0];
  qx.dtype = DataType::kUint8;
  ASSIGN_OR_RETURN(Shape shape, IntConvShape(n, qx, in[1]));
  if ((in[3].elements() != 1 && in[3].elements() != shape[1]) ||
      (in[2].present && in[2].elements() != 1 && in[2].elements() != shape[1])) {
    return NodeError(n, "w_scale and w_zero_point are scalars or one per output channel");
  }
  out->assign(1, TensorView{DataType::kFp32, shape, nullptr});
  return Status::Ok();
}

// The chain op by op (the fallback; BatchNormalization scale, bias and activation after it).
class ReferenceQuantizedConv final : public PreparedKernel {
 public:
  ReferenceQuantizedConv(const OnnxNode& n, const Epilogue& epi) : node_(&n), epi_(epi) {}
  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte*) const override {
    const int64_t count = in[0].elements();
    float xs = 0;
    uint8_t xz = 0;
    DynamicRange(in[0].as<float>(), count, &xs, &xz);
    std::vector<uint8_t> xq(static_cast<size_t>(count));
    QuantizeU8(in[0].as<float>(), count, xs, xz, xq.data());
    std::vector<int32_t> acc(static_cast<size_t>(out[0].elements()));
    const TensorView qx{DataType::kUint8, in[0].shape, xq.data()};
    const TensorView zp{DataType::kUint8, {}, &xz};
    RETURN_IF_ERROR(
        IntegerConv(*node_, qx, in[1], &zp, in[2].present ? &in[2] : nullptr, acc.data()));
    const int64_t m = out[0].shape[1], plane = out[0].shape[2] * out[0].shape[3];
    float* y = out[0].as<float>();
    for (int64_t i = 0; i < out[0].elements(); ++i) {
      const int64_t oc = (i / plane) % m;
      float v =
          static_cast<float>(acc[i]) * (xs * in[3].as<float>()[in[3].elements() == 1 ? 0 : oc]);
      if (!epi_.scale.empty()) v *= epi_.scale[oc];
      if (!epi_.bias.empty()) v += epi_.bias[oc];
      y[i] = v;
    }
    if (epi_.act != Activation::kNone) {
      ApplyActivation(y, y, out[0].elements(), epi_.act, epi_.alpha, epi_.beta);
    }
    return Status::Ok();
  }
  std::string implementation() const override { return "reference int8"; }

 private:
  const OnnxNode* node_;
  Epilogue epi_;
};

// oneDNN's int8 convolution: u8 NHWC activations quantized per call, s8 weights packed once,
// per-channel weight scales as the output scales, x_scale, bias and activation as post-ops; the
// FP32 result is turned back into NCHW.
class DnnlQuantizedConv final : public PreparedKernel {
 public:
  static std::unique_ptr<PreparedKernel> Make(const OnnxNode& n, std::span<const TensorView> in,
                                              std::span<const TensorView> out,
                                              const Epilogue& epi) {
    const TensorView& w = in[1];
    if (w.dtype != DataType::kInt8 || w.data == nullptr || in[3].data == nullptr ||
        !AllZero(in[2])) {
      return nullptr;
    }
    auto group = n.Get<int64_t>("group", 1);
    const Shape& xs = in[0].shape;
    auto win = Geometry(n, xs[2], xs[3], w.shape[2], w.shape[3]);
    if (!group.ok() || !win.ok()) return nullptr;
    const Window& g = *win;
    auto q = std::make_unique<DnnlQuantizedConv>();
    q->node_ = &n;
    q->x_shape_ = xs;
    q->y_shape_ = out[0].shape;
    const int64_t m = w.shape[0];
    std::vector<float> scales(static_cast<size_t>(m));
    for (int64_t oc = 0; oc < m; ++oc) {
      scales[oc] = in[3].as<float>()[in[3].elements() == 1 ? 0 : oc] *
                   (epi.scale.empty() ? 1.0f : epi.scale[oc]);
    }
    try {
      auto& engine = CpuEngine();
      using Dt = dnnl::memory::data_type;
      const Dims wdims = *group > 1 ? Dims{*group, m / *group, w.shape[1], w.shape[2], w.shape[3]}
                                    : ToDims(w.shape);
      q->x_md_ = Desc(ToDims(xs), Dt::u8, Tag::nhwc);
      q->y_md_ = Desc(ToDims(out[0].shape), kF32, Tag::nhwc);
      dnnl::primitive_attr attr = UserScratchpad();
      attr.set_output_scales(1 << 1, scales);
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      dnnl::post_ops po;
      po.append_binary(dnnl::algorithm::binary_mul, Desc({1, 1, 1, 1}, kF32, Tag::nchw));
      const Desc b_md({1, m, 1, 1}, kF32, Tag::nchw);
      if (!epi.bias.empty()) po.append_binary(dnnl::algorithm::binary_add, b_md);
      AppendActivation(epi, &po);
      attr.set_post_ops(po);
      const dnnl::convolution_forward::desc desc(
          dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, q->x_md_,
          Desc(wdims, Dt::s8, Tag::any), q->y_md_, {g.sh, g.sw}, {g.dh - 1, g.dw - 1},
          {g.top, g.left}, {g.bottom, g.right});
      const dnnl::convolution_forward::primitive_desc pd(desc, attr, engine);
      if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return nullptr;
      q->weights_ =
          Packed({wdims, Dt::s8, *group > 1 ? Tag::goihw : Tag::oihw}, w.data, pd.weights_desc());
      if (!epi.bias.empty()) q->bias_ = FloatMemory(b_md, epi.bias);
      q->prim_ = dnnl::convolution_forward(pd);
      q->pad_ = pd.scratchpad_desc();
      q->impl_ = pd.impl_info_str();
    } catch (const dnnl::error&) {
      return nullptr;
    }
    return q;
  }

  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte* scratch) const override {
    const int64_t n = x_shape_[0], c = x_shape_[1], hw = x_shape_[2] * x_shape_[3];
    const int64_t count = n * c * hw;
    const int64_t m = y_shape_[1], ohw = y_shape_[2] * y_shape_[3];
    auto* plain = reinterpret_cast<uint8_t*>(scratch);
    auto* nhwc = plain + Aligned64(static_cast<size_t>(count));
    auto* y = reinterpret_cast<float*>(nhwc + Aligned64(static_cast<size_t>(count)));
    auto* misc = reinterpret_cast<std::byte*>(y) + Aligned64(static_cast<size_t>(n * m * ohw * 4));
    auto* xs_value = reinterpret_cast<float*>(misc);
    auto* zp_value = reinterpret_cast<int32_t*>(misc + 4);
    std::byte* pad = misc + 64;
    float xs = 0;
    uint8_t xz = 0;
    DynamicRange(in[0].as<float>(), count, &xs, &xz);
    QuantizeU8(in[0].as<float>(), count, xs, xz, plain);
    for (int64_t b = 0; b < n; ++b) {  // NCHW -> NHWC
      for (int64_t ch = 0; ch < c; ++ch) {
        const uint8_t* src = plain + (b * c + ch) * hw;
        uint8_t* dst = nhwc + b * hw * c + ch;
        for (int64_t i = 0; i < hw; ++i) dst[i * c] = src[i];
      }
    }
    *xs_value = xs;
    *zp_value = xz;
    try {
      auto& engine = CpuEngine();
      using Dt = dnnl::memory::data_type;
      dnnl::memory x(x_md_, engine, nhwc), ym(y_md_, engine, y);
      dnnl::memory s(Desc({1, 1, 1, 1}, kF32, Tag::nchw), engine, xs_value);
      dnnl::memory z({{1}, Dt::s32, Tag::a}, engine, zp_value);
      std::unordered_map<int, dnnl::memory> args = {
          {DNNL_ARG_SRC, x},
          {DNNL_ARG_WEIGHTS, weights_},
          {DNNL_ARG_DST, ym},
          {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, z},
          {DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, s}};
      if (bias_) args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(1) | DNNL_ARG_SRC_1, *bias_);
      Execute(prim_, pad_, pad, std::move(args));
    } catch (const dnnl::error& e) {
      return NodeError(*node_, std::string("oneDNN int8 convolution failed: ") + e.what());
    }
    float* dst = out[0].as<float>();
    for (int64_t b = 0; b < n; ++b) {  // NHWC -> NCHW
      for (int64_t i = 0; i < ohw; ++i) {
        const float* row = y + (b * ohw + i) * m;
        for (int64_t ch = 0; ch < m; ++ch) dst[(b * m + ch) * ohw + i] = row[ch];
      }
    }
    return Status::Ok();
  }

  size_t scratch_bytes() const override {
    const int64_t count = x_shape_[0] * x_shape_[1] * x_shape_[2] * x_shape_[3];
    const int64_t ycount = y_shape_[0] * y_shape_[1] * y_shape_[2] * y_shape_[3];
    return 2 * Aligned64(static_cast<size_t>(count)) + Aligned64(static_cast<size_t>(ycount) * 4) +
           64 + pad_.get_size();
  }
  std::string implementation() const override { return "oneDNN " + impl_ + ", u8 x s8 packed"; }

 private:
  const OnnxNode* node_ = nullptr;
  Shape x_shape_, y_shape_;
  Desc x_md_, y_md_, pad_;
  dnnl::memory weights_;
  std::optional<dnnl::memory> bias_;
  dnnl::convolution_forward prim_;
  std::string impl_;
};

StatusOr<std::unique_ptr<PreparedKernel>> PrepareQuantizedConv(const OnnxNode& n,
                                                               std::span<const TensorView> in,
                                                               std::span<const TensorView> out,
                                                               const Epilogue& epi, bool) {
  if (auto fast = DnnlQuantizedConv::Make(n, in, out, epi)) return fast;
  return std::unique_ptr<PreparedKernel>(new ReferenceQuantizedConv(n, epi));
}

// A loop kernel behind a prepared step: input 0, if blocked, is first reordered to plain NCHW.
class PlainLoop : public PreparedKernel {
 public:
  static StatusOr<std::unique_ptr<PreparedKernel>> Make(const OnnxNode& n, const TensorView& input,
                                                        KernelFn kernel, const Epilogue& epi) {
    auto loop = std::make_unique<PlainLoop>();
    loop->node_ = &n;
    loop->kernel_ = kernel;
    loop->epi_ = epi;
    if (input.layout) {
      try {
        loop->given_ = DescOf(input);
        loop->plain_ = Plain(input.shape);
        const auto pd = ReorderDesc(loop->given_, loop->plain_);
        loop->reorder_ = dnnl::reorder(pd);
        loop->pad_ = pd.scratchpad_desc();
      } catch (const dnnl::error& e) {
        return NodeError(n, std::string("oneDNN cannot reorder the input: ") + e.what());
      }
    }
    return std::unique_ptr<PreparedKernel>(std::move(loop));
  }

  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte* scratch) const override {
    if (reorder_) {
      std::vector<TensorView> inputs(in.begin(), in.end());
      try {
        dnnl::memory src(given_, CpuEngine(), in[0].data), dst(plain_, CpuEngine(), scratch);
        Execute(*reorder_, pad_, scratch + Aligned64(plain_.get_size()),
                {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}});
      } catch (const dnnl::error& e) {
        return NodeError(*node_, std::string("oneDNN reorder failed: ") + e.what());
      }
      inputs[0].data = scratch;
      inputs[0].layout = nullptr;
      RETURN_IF_ERROR(kernel_(*node_, inputs, out));
    } else {
      RETURN_IF_ERROR(kernel_(*node_, in, out));
    }
    if (epi_.empty()) return Status::Ok();
    // The epilogue per channel (Conv: a folded BatchNormalization, bias, activation).
    const int64_t batch = out[0].shape[0], m = out[0].shape[1];
    const int64_t plane = out[0].elements() / std::max<int64_t>(batch * m, 1);
    float* y = out[0].as<float>();
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t c = 0; c < m; ++c) {
        float* p = y + (b * m + c) * plane;
        const float s = epi_.scale.empty() ? 1.0f : epi_.scale[c];
        const float t = epi_.bias.empty() ? 0.0f : epi_.bias[c];
        for (int64_t i = 0; i < plane; ++i) p[i] = s * p[i] + t;
        ApplyActivation(p, p, plane, epi_.act, epi_.alpha, epi_.beta);
      }
    }
    return Status::Ok();
  }

  size_t scratch_bytes() const override {
    return reorder_ ? Aligned64(plain_.get_size()) + Aligned64(pad_.get_size()) : 0;
  }

 private:
  const OnnxNode* node_ = nullptr;
  KernelFn kernel_ = nullptr;
  Epilogue epi_;
  Desc given_, plain_, pad_;
  std::optional<dnnl::reorder> reorder_;
};

StatusOr<std::unique_ptr<PreparedKernel>> PrepareConv(const OnnxNode& n,
                                                      std::span<const TensorView> in,
                                                      std::span<const TensorView> out,
                                                      const Epilogue& epi, bool blocked_ok) {
  const bool constant_params =
      in[1].data != nullptr && (in.size() < 3 || !in[2].present || in[2].data != nullptr);
  if (!constant_params) {  // weights computed while running
    return PlainLoop::Make(n, in[0], ConvKernel, epi);
  }
  return DnnlConv::Prepare(n, in, out, epi, blocked_ok);
}

// Where element (n, c, h, w) of a 4-D layout with channels in blocks of `block` lies:
// n sn + (c / block) sc + h sh + w sw + c % block (plain NCHW: block 1).
struct ChannelBlocks {
  int64_t block, sn, sc, sh, sw;
};

std::optional<ChannelBlocks> AsChannelBlocks(const Desc& md) {
  const auto& d = md.data;
  if (d.format_kind != dnnl_blocked || d.ndims != 4 || d.offset0 != 0) return std::nullopt;
  const auto& b = d.format_desc.blocking;
  const auto& st = b.strides;
  if (b.inner_nblks == 0) return ChannelBlocks{1, st[0], st[1], st[2], st[3]};
  if (b.inner_nblks == 1 && b.inner_idxs[0] == 1) {
    return ChannelBlocks{b.inner_blks[0], st[0], st[1], st[2], st[3]};
  }
  return std::nullopt;
}

// Pooling over channel-blocked input, one vector of kB channels at a time (GCC vector types:
// one AVX-512 register for 16 channels), with the window rules of PoolKernel
// (count_include_pad counts the explicit padding only). Writes the same blocking (padded
// channels zero) or plain NCHW.
template <int kB>
struct VecOf;
template <>
struct VecOf<1> {
  typedef float type __attribute__((vector_size(4)));
};
template <>
struct VecOf<4> {
  typedef float type __attribute__((vector_size(16)));
};
template <>
struct VecOf<8> {
  typedef float type __attribute__((vector_size(32)));
};
template <>
struct VecOf<16> {
  typedef float type __attribute__((vector_size(64)));
};

template <bool kMax, int kB>
[[gnu::always_inline]] inline void PoolBlocks(const float* x, float* y, const ChannelBlocks& xb,
                                              const ChannelBlocks& yb, const Shape& xs,
                                              const Window& g, bool include_pad) {
  using Vec = typename VecOf<kB>::type;
  const int64_t batch = xs[0], c = xs[1], h = xs[2], w = xs[3];
  const int64_t blocks = (c + kB - 1) / kB;
  // The output is written in runs of `run` channels that are contiguous in both blockings.
  const int64_t run = yb.block == 1 ? 1 : std::min<int64_t>(kB, yb.block);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t cb = 0; cb < blocks; ++cb) {
      const float* xc = x + b * xb.sn + cb * xb.sc;
      const bool partial = (cb + 1) * kB > c;
      for (int64_t oi = 0; oi < g.oh; ++oi) {
        const int64_t i0 = oi * g.sh - g.top;
        const bool rows_inside = i0 >= 0 && i0 + (g.kh - 1) * g.dh < h;
        for (int64_t oj = 0; oj < g.ow; ++oj) {
          const int64_t j0 = oj * g.sw - g.left;
          Vec acc;
          if (rows_inside && j0 >= 0 && j0 + (g.kw - 1) * g.dw < w) {
            // The window lies inside the input: no bounds to check, every element counts.
            const float* p = xc + i0 * xb.sh + j0 * xb.sw;
            if constexpr (kMax) {
              std::memcpy(&acc, p, sizeof(Vec));
            } else {
              acc = Vec{};
            }
            for (int64_t ki = 0; ki < g.kh; ++ki) {
              for (int64_t kj = 0; kj < g.kw; ++kj) {
                Vec v;
                std::memcpy(&v, p + ki * g.dh * xb.sh + kj * g.dw * xb.sw, sizeof(Vec));
                if constexpr (kMax) {
                  acc = acc > v ? acc : v;
                } else {
                  acc += v;
                }
              }
            }
            if constexpr (!kMax) acc /= static_cast<float>(g.kh * g.kw);
          } else {
            for (int l = 0; l < kB; ++l) acc[l] = kMax ? -INFINITY : 0.0f;
            int64_t count = 0, padded = 0;
            for (int64_t ki = 0; ki < g.kh; ++ki) {
              const int64_t ii = i0 + ki * g.dh;
              for (int64_t kj = 0; kj < g.kw; ++kj) {
                const int64_t jj = j0 + kj * g.dw;
                if (ii >= -g.top && ii < h + g.bottom && jj >= -g.left && jj < w + g.right) {
                  ++padded;
                }
                if (ii < 0 || ii >= h || jj < 0 || jj >= w) continue;
                Vec v;
                std::memcpy(&v, xc + ii * xb.sh + jj * xb.sw, sizeof(Vec));
                if constexpr (kMax) {
                  acc = acc > v ? acc : v;
                } else {
                  acc += v;
                }
                ++count;
              }
            }
            if constexpr (!kMax) {
              acc /= static_cast<float>(include_pad ? padded : std::max<int64_t>(count, 1));
            }
          }
          if (partial) {  // channels past C are padding: zero
            for (int l = 0; l < kB; ++l) acc[l] = cb * kB + l < c ? acc[l] : 0.0f;
          }
          float* yo = y + b * yb.sn + oi * yb.sh + oj * yb.sw;
          if (yb.block == kB) {
            std::memcpy(yo + cb * yb.sc, &acc, sizeof(Vec));
            continue;
          }
          const float* lanes = reinterpret_cast<const float*>(&acc);
          for (int64_t l = 0; l < kB && cb * kB + l < c; l += run) {
            const int64_t ch = cb * kB + l;
            std::memcpy(yo + ch / yb.block * yb.sc + ch % yb.block, lanes + l,
                        static_cast<size_t>(run) * sizeof(float));
          }
        }
      }
    }
  }
}

// PoolBlocks compiled for AVX-512 and AVX2 (where the vectors are registers) and baseline x86-64.
#define INFERD_POOL_BLOCKS(kMax, kB)                                                               \
  __attribute__((target_clones("avx512f", "avx2", "default"))) void PoolBlocks##kMax##kB(          \
      const float* x, float* y, const ChannelBlocks& xb, const ChannelBlocks& yb, const Shape& xs, \
      const Window& g, bool include_pad) {                                                         \
    PoolBlocks<kMax, kB>(x, y, xb, yb, xs, g, include_pad);                                        \
  }
INFERD_POOL_BLOCKS(true, 1)
INFERD_POOL_BLOCKS(false, 1)
INFERD_POOL_BLOCKS(true, 4)
INFERD_POOL_BLOCKS(true, 8)
INFERD_POOL_BLOCKS(true, 16)
INFERD_POOL_BLOCKS(false, 4)
INFERD_POOL_BLOCKS(false, 8)
INFERD_POOL_BLOCKS(false, 16)
#undef INFERD_POOL_BLOCKS

// Global pooling of a channels-last input (NHWC) into contiguous channels: one pass over the
// positions, vectorized along the channels.
__attribute__((target_clones("avx512f", "avx2", "default"))) void GlobalPoolChannelsLast(
    bool max, const float* x, float* y, const ChannelBlocks& xb, int64_t y_batch_stride,
    const Shape& xs) {
  const int64_t batch = xs[0], c = xs[1], h = xs[2], w = xs[3];
  for (int64_t b = 0; b < batch; ++b) {
    float* out = y + b * y_batch_stride;
    for (int64_t ch = 0; ch < c; ++ch) out[ch] = max ? -INFINITY : 0.0f;
    for (int64_t i = 0; i < h; ++i) {
      for (int64_t j = 0; j < w; ++j) {
        const float* p = x + b * xb.sn + i * xb.sh + j * xb.sw;
        if (max) {
          for (int64_t ch = 0; ch < c; ++ch) out[ch] = out[ch] > p[ch] ? out[ch] : p[ch];
        } else {
          for (int64_t ch = 0; ch < c; ++ch) out[ch] += p[ch];
        }
      }
    }
    if (!max) {
      const float inv = 1.0f / static_cast<float>(h * w);
      for (int64_t ch = 0; ch < c; ++ch) out[ch] *= inv;
    }
  }
}

// Pooling of a value in blocks of 4, 8 or 16 channels (from a convolution): oneDNN's per-call
// cost is larger than the work at small batches, and it has only reference code for some of
// these layouts.
template <bool kMax, bool kGlobal>
class BlockedPool final : public PreparedKernel {
 public:
  static std::unique_ptr<PreparedKernel> Make(const TensorView& in, const TensorView& out,
                                              const Window& g, bool include_pad, bool blocked_ok) {
    // (Global pooling also reads any other channel-strided layout, NHWC...: one lane.)
    const auto xb = AsChannelBlocks(DescOf(in));
    if (!xb || (xb->block != 4 && xb->block != 8 && xb->block != 16 &&
                !(kGlobal && xb->block == 1 && in.layout))) {
      return nullptr;
    }
    auto pool = std::make_unique<BlockedPool>();
    pool->xb_ = *xb;
    pool->xs_ = in.shape;
    pool->g_ = g;
    pool->include_pad_ = include_pad;
    const Shape& ys = out.shape;
    const auto wanted = out.layout ? AsChannelBlocks(DescOf(out)) : std::nullopt;
    if (blocked_ok && wanted) {
      pool->yb_ = *wanted;
      pool->layout_ = out.layout;
    } else if (blocked_ok && xb->block > 1) {
      const Tag tag = xb->block == 4 ? Tag::nChw4c : xb->block == 8 ? Tag::nChw8c : Tag::nChw16c;
      const Desc md(ToDims(ys), kF32, tag);
      pool->yb_ = *AsChannelBlocks(md);
      pool->layout_ = std::make_shared<DnnlLayout>(md);
    } else {
      pool->yb_ = ChannelBlocks{1, ys[1] * ys[2] * ys[3], ys[2] * ys[3], ys[3], 1};
    }
    return pool;
  }

  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte*) const override {
    const float* x = in[0].as<float>();
    float* y = out[0].as<float>();
    if (layout_ && yb_.block != xb_.block && xs_[1] % yb_.block != 0) {
      std::memset(y, 0, layout_->bytes());  // the padded channels of another blocking
    }
    if (kGlobal && xb_.block == 1 && xb_.sc == 1 && yb_.block == 1 && yb_.sc == 1) {
      GlobalPoolChannelsLast(kMax, x, y, xb_, yb_.sn, xs_);
      return Status::Ok();
    }
    auto* pool = xb_.block == 1   ? (kMax ? PoolBlockstrue1 : PoolBlocksfalse1)
                 : xb_.block == 4 ? (kMax ? PoolBlockstrue4 : PoolBlocksfalse4)
                 : xb_.block == 8 ? (kMax ? PoolBlockstrue8 : PoolBlocksfalse8)
                                  : (kMax ? PoolBlockstrue16 : PoolBlocksfalse16);
    pool(x, y, xb_, yb_, xs_, g_, include_pad_);
    return Status::Ok();
  }

  std::shared_ptr<const BlockedLayout> output_layout() const override { return layout_; }
  std::string implementation() const override {
    return "inferd, channel blocks of " + std::to_string(xb_.block) +
           (layout_ ? ", blocked output" : ", NCHW output");
  }

 private:
  ChannelBlocks xb_{}, yb_{};
  Shape xs_;
  Window g_{};
  bool include_pad_ = false;
  std::shared_ptr<const BlockedLayout> layout_;
};

// MaxPool, AveragePool and the global poolings as a oneDNN pooling primitive.
template <bool kMax, bool kGlobal>
class DnnlPool final : public DnnlStep {
 public:
  static StatusOr<std::unique_ptr<PreparedKernel>> Prepare(const OnnxNode& n,
                                                           std::span<const TensorView> in,
                                                           std::span<const TensorView> out,
                                                           const Epilogue&, bool blocked_ok) {
    const Shape& xs = in[0].shape;
    constexpr KernelFn kLoop = kGlobal ? GlobalPoolKernel<kMax> : PoolKernel<kMax>;
    auto loop = [&] { return PlainLoop::Make(n, in[0], kLoop, Epilogue{}); };
    if (xs.size() != 4) return loop();
    Window g{xs[2], xs[3]};
    g.oh = g.ow = 1;
    int64_t include_pad = 0;
    if constexpr (!kGlobal) {
      ASSIGN_OR_RETURN(auto k, n.Get<std::vector<int64_t>>("kernel_shape", {}));
      ASSIGN_OR_RETURN(include_pad, n.Get<int64_t>("count_include_pad", 0));
      ASSIGN_OR_RETURN(g, Geometry(n, xs[2], xs[3], k[0], k[1]));
    }
    // Channel-blocked input: inferd's loops for small outputs (a oneDNN call costs more than
    // the work) and for layouts oneDNN has only reference code for; oneDNN's JIT otherwise.
    auto own = BlockedPool<kMax, kGlobal>::Make(in[0], out[0], g, include_pad != 0, blocked_ok);
    if (own && in[0].elements() <= 65536) return own;
    if (kGlobal && !in[0].layout) return loop();  // a plain reduction per plane
    // oneDNN's output size is floor((in + pads - window) / stride) + 1: a ceil_mode window that
    // overhangs gets the missing padding on the right; average pooling counting padding would
    // then count it too, so that case keeps the loops.
    const int64_t eh = g.dh * (g.kh - 1) + 1, ew = g.dw * (g.kw - 1) + 1;
    int64_t bottom = g.bottom, right = g.right;
    if ((xs[2] + g.top + bottom - eh) / g.sh + 1 != g.oh) {
      bottom = (g.oh - 1) * g.sh + eh - xs[2] - g.top;
    }
    if ((xs[3] + g.left + right - ew) / g.sw + 1 != g.ow) {
      right = (g.ow - 1) * g.sw + ew - xs[3] - g.left;
    }
    const bool widened = bottom != g.bottom || right != g.right;
    if (bottom < 0 || right < 0 || (!kMax && include_pad && widened)) {
      if (own) return std::unique_ptr<PreparedKernel>(std::move(own));
      return loop();
    }
    auto pool = std::make_unique<DnnlPool>();
    try {
      const Desc given = DescOf(in[0]);
      const auto alg = kMax ? dnnl::algorithm::pooling_max
                            : (include_pad ? dnnl::algorithm::pooling_avg_include_padding
                                           : dnnl::algorithm::pooling_avg_exclude_padding);
      auto create_with = [&](const Desc& src, const Desc& dst) {
        const dnnl::pooling_v2_forward::desc desc(dnnl::prop_kind::forward_inference, alg, src, dst,
                                                  {g.sh, g.sw}, {g.kh, g.kw}, {g.dh - 1, g.dw - 1},
                                                  {g.top, g.left}, {bottom, right});
        return dnnl::pooling_v2_forward::primitive_desc(desc, UserScratchpad(), CpuEngine());
      };
      auto is_ref = [](const auto& pd) {
        return std::string(pd.impl_info_str()).find("ref") != std::string::npos;
      };
      // The output takes the layout its reader would like when oneDNN has fast code for that.
      const Desc any_dst(ToDims(out[0].shape), kF32, Tag::any);
      auto create = [&](const Desc& src) {
        if (blocked_ok && out[0].layout) {
          try {
            auto wanted = create_with(src, DescOf(out[0]));
            if (!is_ref(wanted)) return wanted;
          } catch (const dnnl::error&) {
          }
        }
        return create_with(src, any_dst);
      };
      // Pooling takes its input's layout; where oneDNN has only reference code for that one,
      // the input is reordered to channel blocks of 16, or to plain NCHW.
      auto pd = create(given);
      if (own && is_ref(pd)) return own;
      for (Tag tag : {Tag::nChw16c, Tag::nchw}) {
        if (!is_ref(pd)) break;
        pd = create(Desc(ToDims(xs), kF32, tag));
      }
      pool->Wire(n, dnnl::pooling_v2_forward(pd), pd.impl_info_str(), given, pd.src_desc(),
                 pd.dst_desc(), pd.scratchpad_desc(), out[0].shape, blocked_ok);
    } catch (const dnnl::error&) {
      if (own) return std::unique_ptr<PreparedKernel>(std::move(own));
      return loop();
    }
    return std::unique_ptr<PreparedKernel>(std::move(pool));
  }
};

}  // namespace

void AddConvOps(std::map<std::string, OpDef, std::less<>>* ops) {
  OpDef conv{ConvShape, ConvKernel};
  conv.prepare = PrepareConv;
  conv.fuses_bias_act = conv.fuses_batchnorm = true;
  conv.accepts_blocked = true;
  auto pool = [](ShapeFn shape, KernelFn kernel, PrepareFn prepare) {
    OpDef op{shape, kernel};
    op.prepare = prepare;
    op.accepts_blocked = true;
    return op;
  };
  const OpDef max_pool = pool(PoolShape, PoolKernel<true>, DnnlPool<true, false>::Prepare);
  const OpDef avg_pool = pool(PoolShape, PoolKernel<false>, DnnlPool<false, false>::Prepare);
  const OpDef global_max =
      pool(GlobalPoolShape, GlobalPoolKernel<true>, DnnlPool<true, true>::Prepare);
  const OpDef global_avg =
      pool(GlobalPoolShape, GlobalPoolKernel<false>, DnnlPool<false, true>::Prepare);
  ops->insert({
      {"Conv", conv},
      {"MaxPool", max_pool},
      {"AveragePool", avg_pool},
      {"GlobalMaxPool", global_max},
      {"GlobalAveragePool", global_avg},
      {"BatchNormalization", {BatchNormShape, BatchNormKernel}},
      {"ConvInteger", {ConvIntegerShape, ConvIntegerKernel}},
      {"QLinearConv", {QLinearConvShape, QLinearConvKernel}},
  });
  OpDef qconv{QuantizedConvShape, RunOnce<PrepareQuantizedConv>};
  qconv.prepare = PrepareQuantizedConv;
  qconv.fuses_bias_act = qconv.fuses_batchnorm = true;
  ops->insert({"QuantizedConv", qconv});
}

}  // namespace inferd::backends::onnx
