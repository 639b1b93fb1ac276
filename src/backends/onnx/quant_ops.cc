// Quantized operators: QuantizeLinear, DequantizeLinear (per tensor and per axis),
// DynamicQuantizeLinear, MatMulInteger and QLinearMatMul as ONNX defines them, and
// QuantizedMatMul, inferd's own: the graph rewrite makes it of the chain dynamic quantization
// writes for a MatMul (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul by x_scale *
// w_scale), and it runs as one oneDNN int8 matmul — the activations quantized to u8 per call, the
// s8 weights packed once, per-column output scales, the bias and activation as post-ops.
// Rounding is to nearest, ties to even (the spec's), via the FPU's default mode.
#include <immintrin.h>
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "backends/onnx/dnnl_util.h"
#include "backends/onnx/kernels.h"
#include "backends/onnx/quantize_util.h"
#include "backends/onnx/shape_ops.h"

namespace inferd::backends::onnx {

using base::Status;
using base::StatusOr;
using tensor::DataType;
using tensor::Shape;

namespace {

// The spec's scale and zero point for `x` (`count` values): the range widened to hold 0.
__attribute__((target("avx2"))) void MinMaxAvx2(const float* x, int64_t count, float* lo,
                                                float* hi) {
  __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    vlo = _mm256_min_ps(vlo, v);
    vhi = _mm256_max_ps(vhi, v);
  }
  alignas(32) float l[8], h[8];
  _mm256_store_ps(l, vlo);
  _mm256_store_ps(h, vhi);
  for (int j = 0; j < 8; ++j) {
    *lo = std::min(*lo, l[j]);
    *hi = std::max(*hi, h[j]);
  }
  for (; i < count; ++i) {
    *lo = std::min(*lo, x[i]);
    *hi = std::max(*hi, x[i]);
  }
}

// y = saturate(round(x / scale) + zp), rounding by the MXCSR's default: to nearest, ties to even.
__attribute__((target("avx2"))) void QuantizeU8Avx2(const float* x, int64_t count, float scale,
                                                    uint8_t zp, uint8_t* y) {
  const __m256 vs = _mm256_set1_ps(scale);
  const __m256i vz = _mm256_set1_epi32(zp);
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    __m256i q[4];
    for (int j = 0; j < 4; ++j) {
      q[j] = _mm256_add_epi32(_mm256_cvtps_epi32(_mm256_div_ps(_mm256_loadu_ps(x + i + 8 * j), vs)),
                              vz);
    }
    // int32 -> int16 -> uint8 with saturation, then undo the lane interleaving of the packs.
    const __m256i p16a = _mm256_packs_epi32(q[0], q[1]);
    const __m256i p16b = _mm256_packs_epi32(q[2], q[3]);
    const __m256i p8 = _mm256_packus_epi16(p16a, p16b);
    const __m256i ordered =
        _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), ordered);
  }
  const float z = zp;
  for (; i < count; ++i) {
    y[i] = Saturate<uint8_t>(std::nearbyint(x[i] / scale) + z);
  }
}

bool HasAvx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}

}  // namespace

void DynamicRange(const float* x, int64_t count, float* scale, uint8_t* zp) {
  float lo = 0.0f, hi = 0.0f;
  if (HasAvx2()) {
    MinMaxAvx2(x, count, &lo, &hi);
  } else {
    for (int64_t i = 0; i < count; ++i) {
      lo = std::min(lo, x[i]);
      hi = std::max(hi, x[i]);
    }
  }
  *scale = (hi - lo) / 255.0f;
  *zp = *scale == 0.0f ? 0 : Saturate<uint8_t>(std::nearbyint(0.0f - lo / *scale));
}

void QuantizeU8(const float* x, int64_t count, float scale, uint8_t zp, uint8_t* y) {
  if (scale == 0.0f) {
    std::memset(y, zp, static_cast<size_t>(count));
    return;
  }
  if (HasAvx2()) {
    QuantizeU8Avx2(x, count, scale, zp, y);
    return;
  }
  const float z = zp;
  for (int64_t i = 0; i < count; ++i) {
    y[i] = Saturate<uint8_t>(std::nearbyint(x[i] / scale) + z);
  }
}

namespace {

// The per-element parameter index of a scale or zero point of `count` values (1: per tensor) along
// `axis` of `shape`, for element i.
struct AxisIndex {
  int64_t count = 1, inner = 1;
  int64_t operator()(int64_t i) const { return count == 1 ? 0 : (i / inner) % count; }
};

StatusOr<AxisIndex> QuantAxis(const OnnxNode& n, const Shape& shape, const TensorView& scale,
                              const TensorView* zp) {
  AxisIndex a;
  if (scale.shape.size() > 1) return NodeError(n, "the scale must be a scalar or 1-D");
  a.count = scale.elements();
  if (zp != nullptr && zp->present && zp->elements() != a.count) {
    return NodeError(n, "the zero point must have as many values as the scale");
  }
  if (a.count == 1) return a;
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 1));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, static_cast<int64_t>(shape.size())));
  if (shape[axis] != a.count) {
    return NodeError(n, "per-axis scale has " + std::to_string(a.count) + " values; axis " +
                            std::to_string(axis) + " has " + std::to_string(shape[axis]));
  }
  for (size_t d = static_cast<size_t>(axis) + 1; d < shape.size(); ++d) a.inner *= shape[d];
  return a;
}

// ---- QuantizeLinear, DequantizeLinear ----------------------------------------------------------

Status QuantizeShape(const OnnxNode& n, std::span<const TensorView> in,
                     std::vector<TensorView>* out) {
  if (in.size() < 2 || in.size() > 3) return NodeError(n, "takes x, y_scale and y_zero_point");
  if (in[0].dtype != DataType::kFp32 || in[1].dtype != DataType::kFp32) {
    return NodeError(n, "quantizes FP32 with an FP32 scale");
  }
  DataType dt = DataType::kUint8;
  if (in.size() == 3 && in[2].present) {
    if (!IsQuant8(in[2].dtype)) return NodeError(n, "quantizes to uint8 or int8");
    dt = in[2].dtype;
  }
  RETURN_IF_ERROR(QuantAxis(n, in[0].shape, in[1], in.size() == 3 ? &in[2] : nullptr).status());
  out->assign(1, TensorView{dt, in[0].shape, nullptr});
  return Status::Ok();
}

Status QuantizeKernel(const OnnxNode& n, std::span<const TensorView> in,
                      std::span<const TensorView> out) {
  const TensorView* zp = in.size() == 3 && in[2].present ? &in[2] : nullptr;
  ASSIGN_OR_RETURN(AxisIndex ax, QuantAxis(n, in[0].shape, in[1], zp));
  const float* x = in[0].as<float>();
  const float* s = in[1].as<float>();
  const int64_t count = in[0].elements();
  auto run = [&](auto* y) {
    using Q = std::remove_pointer_t<decltype(y)>;
    for (int64_t i = 0; i < count; ++i) {
      const int64_t p = ax(i);
      const float z = zp ? static_cast<float>(IntAt(*zp, p)) : 0.0f;
      y[i] = Saturate<Q>(std::nearbyint(x[i] / s[p]) + z);
    }
  };
  ForQuant8(out[0], run);
  return Status::Ok();
}

Status DequantizeShape(const OnnxNode& n, std::span<const TensorView> in,
                       std::vector<TensorView>* out) {
  if (in.size() < 2 || in.size() > 3) return NodeError(n, "takes x, x_scale and x_zero_point");
  if (!IsQuant8(in[0].dtype) && in[0].dtype != DataType::kInt32) {
    return NodeError(n, "dequantizes uint8, int8 or int32");
  }
  if (in[1].dtype != DataType::kFp32) return NodeError(n, "the scale must be FP32");
  if (in.size() == 3 && in[2].present && in[2].dtype != in[0].dtype) {
    return NodeError(n, "the zero point must have x's type");
  }
  RETURN_IF_ERROR(QuantAxis(n, in[0].shape, in[1], in.size() == 3 ? &in[2] : nullptr).status());
  out->assign(1, TensorView{DataType::kFp32, in[0].shape, nullptr});
  return Status::Ok();
}

Status DequantizeKernel(const OnnxNode& n, std::span<const TensorView> in,
                        std::span<const TensorView> out) {
  const TensorView* zp = in.size() == 3 && in[2].present ? &in[2] : nullptr;
  ASSIGN_OR_RETURN(AxisIndex ax, QuantAxis(n, in[0].shape, in[1], zp));
  const float* s = in[1].as<float>();
  float* y = out[0].as<float>();
  const int64_t count = in[0].elements();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t p = ax(i);
    const int64_t z = zp ? IntAt(*zp, p) : 0;
    y[i] = static_cast<float>(int64_t{IntAt(in[0], i)} - z) * s[p];
  }
  return Status::Ok();
}

// ---- DynamicQuantizeLinear -----------------------------------------------------------------

Status DynamicQuantizeShape(const OnnxNode& n, std::span<const TensorView> in,
                            std::vector<TensorView>* out) {
  if (in.size() != 1 || in[0].dtype != DataType::kFp32) return NodeError(n, "takes one FP32 x");
  out->clear();
  out->push_back(TensorView{DataType::kUint8, in[0].shape, nullptr});
  out->push_back(TensorView{DataType::kFp32, {}, nullptr});
  out->push_back(TensorView{DataType::kUint8, {}, nullptr});
  return Status::Ok();
}

Status DynamicQuantizeKernel(const OnnxNode&, std::span<const TensorView> in,
                             std::span<const TensorView> out) {
  const int64_t count = in[0].elements();
  float scale = 0;
  uint8_t zp = 0;
  DynamicRange(in[0].as<float>(), count, &scale, &zp);
  QuantizeU8(in[0].as<float>(), count, scale, zp, out[0].as<uint8_t>());
  if (out.size() > 1 && out[1].data) *out[1].as<float>() = scale;
  if (out.size() > 2 && out[2].data) *out[2].as<uint8_t>() = zp;
  return Status::Ok();
}

// ---- MatMulInteger, QLinearMatMul --------------------------------------------------------------

// A [..., M, K] times B [K, N] (integers), for the integer matmuls.
struct IntMatMulShape {
  int64_t rows = 0, k = 0, n = 0, m = 0;  // rows: every row of A (product of its leading dims)
};

StatusOr<IntMatMulShape> IntShapes(const OnnxNode& n, const TensorView& a, const TensorView& b) {
  if (!IsQuant8(a.dtype) || !IsQuant8(b.dtype)) return NodeError(n, "multiplies uint8 or int8");
  if (a.shape.size() < 2 || b.shape.size() != 2) {
    return NodeError(n, "needs A of rank >= 2 and a 2-D B");
  }
  IntMatMulShape s;
  s.k = a.shape.back();
  s.m = a.shape[a.shape.size() - 2];
  s.n = b.shape[1];
  if (b.shape[0] != s.k) {
    return NodeError(
        n, "A has " + std::to_string(s.k) + " columns, B " + std::to_string(b.shape[0]) + " rows");
  }
  s.rows = a.elements() / std::max<int64_t>(1, s.k);
  return s;
}

// B [K, N] with its zero points (bzp: scalar or one per column; null: 0) subtracted, as int32.
std::vector<int32_t> CenteredB(const TensorView& b, const TensorView* bzp, int64_t k_dim,
                               int64_t n_dim) {
  std::vector<int32_t> bcol(static_cast<size_t>(k_dim * n_dim));
  for (int64_t k = 0; k < k_dim; ++k) {
    for (int64_t c = 0; c < n_dim; ++c) {
      const int32_t z = bzp == nullptr ? 0 : IntAt(*bzp, bzp->elements() == 1 ? 0 : c);
      bcol[k * n_dim + c] = IntAt(b, k * n_dim + c) - z;
    }
  }
  return bcol;
}

// acc[r][c] = sum_k (A[r][k] - azp(r)) * bcol[k][c] (CenteredB), in int32 (wrapping, as int32
// accumulators do, when a huge K overflows them).
void IntegerProduct(const TensorView& a, const TensorView* azp, const int32_t* bcol,
                    const IntMatMulShape& s, int32_t* acc) {
  std::vector<int64_t> row(static_cast<size_t>(s.n));
  for (int64_t r = 0; r < s.rows; ++r) {
    const int32_t z = azp == nullptr ? 0 : IntAt(*azp, azp->elements() == 1 ? 0 : (r % s.m));
    std::fill(row.begin(), row.end(), 0);
    for (int64_t k = 0; k < s.k; ++k) {
      const int32_t av = IntAt(a, r * s.k + k) - z;
      if (av == 0) continue;
      const int32_t* bk = bcol + k * s.n;
      for (int64_t c = 0; c < s.n; ++c) row[c] += av * bk[c];
    }
    for (int64_t c = 0; c < s.n; ++c) acc[r * s.n + c] = static_cast<int32_t>(row[c]);
  }
}

Status MatMulIntegerShape(const OnnxNode& n, std::span<const TensorView> in,
                          std::vector<TensorView>* out) {
  if (in.size() < 2 || in.size() > 4) return NodeError(n, "takes A, B and their zero points");
  ASSIGN_OR_RETURN(auto s, IntShapes(n, in[0], in[1]));
  if (in.size() > 2 && in[2].present &&
      (in[2].dtype != in[0].dtype || (in[2].elements() != 1 && in[2].elements() != s.m))) {
    return NodeError(n, "a_zero_point must be A's type, a scalar or one per row");
  }
  if (in.size() > 3 && in[3].present &&
      (in[3].dtype != in[1].dtype || (in[3].elements() != 1 && in[3].elements() != s.n))) {
    return NodeError(n, "b_zero_point must be B's type, a scalar or one per column");
  }
  Shape shape = in[0].shape;
  shape.back() = s.n;
  out->assign(1, TensorView{DataType::kInt32, shape, nullptr});
  return Status::Ok();
}

Status MatMulIntegerKernel(const OnnxNode& n, std::span<const TensorView> in,
                           std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(auto s, IntShapes(n, in[0], in[1]));
  const auto bcol = CenteredB(in[1], in.size() > 3 && in[3].present ? &in[3] : nullptr, s.k, s.n);
  IntegerProduct(in[0], in.size() > 2 && in[2].present ? &in[2] : nullptr, bcol.data(), s,
                 out[0].as<int32_t>());
  return Status::Ok();
}

Status QLinearMatMulShape(const OnnxNode& n, std::span<const TensorView> in,
                          std::vector<TensorView>* out) {
  if (in.size() != 8) {
    return NodeError(n,
                     "takes a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, "
                     "y_zero_point");
  }
  ASSIGN_OR_RETURN(auto s, IntShapes(n, in[0], in[3]));
  if (in[1].elements() != 1 || in[6].elements() != 1 || in[7].elements() != 1) {
    return NodeError(n, "a and y are quantized per tensor (scalar scales and zero points)");
  }
  if (in[4].elements() != 1 && in[4].elements() != s.n) {
    return NodeError(n, "b_scale must be a scalar or one per column");
  }
  if (!IsQuant8(in[7].dtype)) return NodeError(n, "y is uint8 or int8");
  Shape shape = in[0].shape;
  shape.back() = s.n;
  out->assign(1, TensorView{in[7].dtype, shape, nullptr});
  return Status::Ok();
}

Status QLinearMatMulKernel(const OnnxNode& n, std::span<const TensorView> in,
                           std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(auto s, IntShapes(n, in[0], in[3]));
  std::vector<int32_t> acc(static_cast<size_t>(s.rows * s.n));
  IntegerProduct(in[0], &in[2], CenteredB(in[3], &in[5], s.k, s.n).data(), s, acc.data());
  const float as = in[1].as<float>()[0], ys = in[6].as<float>()[0];
  const float yz = static_cast<float>(IntAt(in[7], 0));
  const float* bs = in[4].as<float>();
  auto run = [&](auto* y) {
    using Q = std::remove_pointer_t<decltype(y)>;
    for (int64_t r = 0; r < s.rows; ++r) {
      for (int64_t c = 0; c < s.n; ++c) {
        const float scale = as * bs[in[4].elements() == 1 ? 0 : c] / ys;
        y[r * s.n + c] =
            Saturate<Q>(std::nearbyint(static_cast<float>(acc[r * s.n + c]) * scale) + yz);
      }
    }
  };
  ForQuant8(out[0], run);
  return Status::Ok();
}

// ---- QuantizedMatMul: the rewritten dynamic-quantization chain ------------------------------
// inputs: x FP32 [..., K], w (u)int8 [K, N], w_zero_point (scalar or [N], may be omitted),
// w_scale FP32 (scalar or [N]); output FP32 [..., N] =
//   (DynamicQuantizeLinear(x) x w, in int32, zero points subtracted) * (x_scale * w_scale).

Status QuantizedMatMulShape(const OnnxNode& n, std::span<const TensorView> in,
                            std::vector<TensorView>* out) {
  if (in.size() != 4 || in[0].dtype != DataType::kFp32 || !IsQuant8(in[1].dtype) ||
      in[3].dtype != DataType::kFp32 || in[0].shape.empty() || in[1].shape.size() != 2) {
    return NodeError(n, "takes x FP32 [..., K], w int8 [K, N], w_zero_point, w_scale FP32");
  }
  const int64_t k = in[0].shape.back(), cols = in[1].shape[1];
  if (in[1].shape[0] != k)
    return NodeError(
        n, "x has " + std::to_string(k) + " columns, w rows " + std::to_string(in[1].shape[0]));
  if ((in[3].elements() != 1 && in[3].elements() != cols) ||
      (in[2].present && in[2].elements() != 1 && in[2].elements() != cols)) {
    return NodeError(n, "w_scale and w_zero_point are scalars or one per column");
  }
  Shape shape = in[0].shape;
  shape.back() = cols;
  out->assign(1, TensorView{DataType::kFp32, shape, nullptr});
  return Status::Ok();
}

// The chain as the ops compute it one by one (any weights; the fallback, and the reference). The
// weights, centred on their zero points, are made once when they are constants (as the graph
// rewrite makes them).
class ReferenceQuantizedMatMul final : public PreparedKernel {
 public:
  ReferenceQuantizedMatMul(std::span<const TensorView> in, const Epilogue& epi) : epi_(epi) {
    k_ = in[0].shape.back();
    cols_ = in[1].shape[1];
    rows_ = in[0].elements() / std::max<int64_t>(1, k_);
    if (in[1].data != nullptr && (!in[2].present || in[2].data != nullptr)) {
      bcol_ = CenteredB(in[1], in[2].present ? &in[2] : nullptr, k_, cols_);
    }
  }
  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte* scratch) const override {
    const int64_t count = rows_ * k_;
    auto* xq = reinterpret_cast<uint8_t*>(scratch);
    auto* acc = reinterpret_cast<int32_t*>(scratch + Aligned64(count));
    float xs = 0;
    uint8_t xz = 0;
    DynamicRange(in[0].as<float>(), count, &xs, &xz);
    QuantizeU8(in[0].as<float>(), count, xs, xz, xq);
    const TensorView qa{DataType::kUint8, {rows_, k_}, xq};
    const TensorView azp{DataType::kUint8, {}, &xz};
    const int32_t* bcol = bcol_.data();
    std::vector<int32_t> per_call;
    if (bcol_.empty()) {
      per_call = CenteredB(in[1], in[2].present ? &in[2] : nullptr, k_, cols_);
      bcol = per_call.data();
    }
    IntegerProduct(qa, &azp, bcol, {rows_, k_, cols_, rows_}, acc);
    const float* ws = in[3].as<float>();
    float* y = out[0].as<float>();
    for (int64_t r = 0; r < rows_; ++r) {
      for (int64_t c = 0; c < cols_; ++c) {
        const float scale = xs * ws[in[3].elements() == 1 ? 0 : c];
        y[r * cols_ + c] = static_cast<float>(acc[r * cols_ + c]) * scale;
      }
    }
    if (!epi_.bias.empty() || epi_.act != Activation::kNone) {
      ApplyBiasActivation(y, rows_, cols_, epi_.bias.empty() ? nullptr : epi_.bias.data(), epi_.act,
                          epi_.alpha, epi_.beta);
    }
    return Status::Ok();
  }
  size_t scratch_bytes() const override {
    return Aligned64(rows_ * k_) + static_cast<size_t>(rows_ * cols_) * sizeof(int32_t);
  }
  std::string implementation() const override { return "reference int8"; }

 private:
  Epilogue epi_;
  int64_t rows_ = 0, k_ = 0, cols_ = 0;
  std::vector<int32_t> bcol_;  // empty when the weights are not constants
};

// oneDNN's u8 x s8 matmul with the weights packed once.
class DnnlQuantizedMatMul final : public PreparedKernel {
 public:
  static std::unique_ptr<PreparedKernel> Make(const OnnxNode& n, std::span<const TensorView> in,
                                              const Epilogue& epi) {
    const TensorView& w = in[1];
    // oneDNN takes symmetric constant weights only.
    if (w.dtype != DataType::kInt8 || w.data == nullptr || in[3].data == nullptr ||
        !AllZero(in[2])) {
      return nullptr;
    }
    auto q = std::make_unique<DnnlQuantizedMatMul>();
    q->node_ = &n;
    q->k_ = in[0].shape.back();
    q->n_ = w.shape[1];
    q->rows_ = in[0].elements() / std::max<int64_t>(1, q->k_);
    const float* ws = in[3].as<float>();
    q->w_scale_.assign(static_cast<size_t>(q->n_), 0.0f);
    for (int64_t c = 0; c < q->n_; ++c) q->w_scale_[c] = ws[in[3].elements() == 1 ? 0 : c];
    try {
      auto& engine = CpuEngine();
      using Tag = dnnl::memory::format_tag;
      using Dt = dnnl::memory::data_type;
      q->x_md_ = dnnl::memory::desc({q->rows_, q->k_}, Dt::u8, Tag::ab);
      q->y_md_ = dnnl::memory::desc({q->rows_, q->n_}, Dt::f32, Tag::ab);
      const dnnl::memory::desc w_any({q->k_, q->n_}, Dt::s8, Tag::any);
      const dnnl::memory::desc b_md({1, q->n_}, Dt::f32, Tag::ab);
      dnnl::primitive_attr attr = UserScratchpad();
      attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
      attr.set_zero_points(DNNL_ARG_SRC, 0, {DNNL_RUNTIME_S32_VAL});
      dnnl::post_ops po;
      if (!epi.bias.empty()) po.append_binary(dnnl::algorithm::binary_add, b_md);
      AppendActivation(epi, &po);
      attr.set_post_ops(po);
      const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(q->x_md_, w_any, q->y_md_), attr,
                                            engine);
      if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return nullptr;
      q->weights_ = Packed({{q->k_, q->n_}, Dt::s8, Tag::ab}, w.data, pd.weights_desc());
      if (!epi.bias.empty()) q->bias_ = FloatMemory(b_md, epi.bias);
      q->prim_ = dnnl::matmul(pd);
      q->pad_ = pd.scratchpad_desc();
      q->impl_ = pd.impl_info_str();
    } catch (const dnnl::error&) {
      return nullptr;
    }
    return q;
  }

  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte* scratch) const override {
    // Scratch: the quantized x, the per-column scales, the zero point, then oneDNN's.
    const int64_t count = rows_ * k_;
    auto* xq = reinterpret_cast<uint8_t*>(scratch);
    auto* scales = reinterpret_cast<float*>(scratch + Aligned64(count));
    auto* zp = reinterpret_cast<int32_t*>(scratch + Aligned64(count) + Aligned64(n_ * 4));
    std::byte* pad = scratch + Aligned64(count) + Aligned64(n_ * 4) + 64;
    float xs = 0;
    uint8_t xz = 0;
    DynamicRange(in[0].as<float>(), count, &xs, &xz);
    QuantizeU8(in[0].as<float>(), count, xs, xz, xq);
    for (int64_t c = 0; c < n_; ++c) scales[c] = xs * w_scale_[c];
    *zp = xz;
    try {
      auto& engine = CpuEngine();
      using Dt = dnnl::memory::data_type;
      using Tag = dnnl::memory::format_tag;
      dnnl::memory x(x_md_, engine, xq), y(y_md_, engine, out[0].data);
      dnnl::memory s({{n_}, Dt::f32, Tag::a}, engine, scales);
      dnnl::memory z({{1}, Dt::s32, Tag::a}, engine, zp);
      std::unordered_map<int, dnnl::memory> args = {{DNNL_ARG_SRC, x},
                                                    {DNNL_ARG_WEIGHTS, weights_},
                                                    {DNNL_ARG_DST, y},
                                                    {DNNL_ARG_ATTR_OUTPUT_SCALES, s},
                                                    {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, z}};
      if (bias_) args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, *bias_);
      Execute(prim_, pad_, pad, std::move(args));
    } catch (const dnnl::error& e) {
      return NodeError(*node_, std::string("oneDNN int8 matmul failed: ") + e.what());
    }
    return Status::Ok();
  }

  size_t scratch_bytes() const override {
    return Aligned64(rows_ * k_) + Aligned64(n_ * 4) + 64 + pad_.get_size();
  }
  std::string implementation() const override { return "oneDNN " + impl_ + ", u8 x s8 packed"; }

 private:
  const OnnxNode* node_ = nullptr;
  int64_t rows_ = 0, k_ = 0, n_ = 0;
  std::vector<float> w_scale_;
  dnnl::memory::desc x_md_, y_md_, pad_;
  dnnl::memory weights_;
  std::optional<dnnl::memory> bias_;
  dnnl::matmul prim_;
  std::string impl_;
};

StatusOr<std::unique_ptr<PreparedKernel>> PrepareQuantizedMatMul(const OnnxNode& n,
                                                                 std::span<const TensorView> in,
                                                                 std::span<const TensorView>,
                                                                 const Epilogue& epi, bool) {
  if (auto fast = DnnlQuantizedMatMul::Make(n, in, epi)) return fast;
  return std::unique_ptr<PreparedKernel>(new ReferenceQuantizedMatMul(in, epi));
}

}  // namespace

void AddQuantOps(std::map<std::string, OpDef, std::less<>>* ops) {
  OpDef qmm{QuantizedMatMulShape, RunOnce<PrepareQuantizedMatMul>};
  qmm.prepare = PrepareQuantizedMatMul;
  qmm.fuses_bias_act = true;
  ops->insert({{"QuantizeLinear", {QuantizeShape, QuantizeKernel}},
               {"DequantizeLinear", {DequantizeShape, DequantizeKernel}},
               {"DynamicQuantizeLinear", {DynamicQuantizeShape, DynamicQuantizeKernel}},
               {"MatMulInteger", {MatMulIntegerShape, MatMulIntegerKernel}},
               {"QLinearMatMul", {QLinearMatMulShape, QLinearMatMulKernel}},
               {"QuantizedMatMul", qmm}});
}

}  // namespace inferd::backends::onnx
