// Convolution, pooling and batch normalization over NCHW tensors (2-D spatial).
#include <algorithm>
#include <cmath>

#include "backends/onnx/kernels.h"
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
    return NodeError(n, "strides and dilations >= 1");
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

}  // namespace

void AddConvOps(std::map<std::string, OpDef, std::less<>>* ops) {
  ops->insert({
      {"Conv", {ConvShape, ConvKernel}},
      {"MaxPool", {PoolShape, PoolKernel<true>}},
      {"AveragePool", {PoolShape, PoolKernel<false>}},
      {"GlobalMaxPool", {GlobalPoolShape, GlobalPoolKernel<true>}},
      {"GlobalAveragePool", {GlobalPoolShape, GlobalPoolKernel<false>}},
      {"BatchNormalization", {BatchNormShape, BatchNormKernel}},
  });
}

}  // namespace inferd::backends::onnx
