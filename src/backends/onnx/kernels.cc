#include "backends/onnx/kernels.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>

#include "backends/onnx/shape_ops.h"

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::Status;
using tensor::DataType;
using tensor::Shape;

namespace {

Status NeedInputs(const OnnxNode& n, std::span<const TensorView> in, size_t min, size_t max) {
  if (in.size() < min || in.size() > max) {
    return NodeError(n, "takes " + std::to_string(min) + "-" + std::to_string(max) +
                            " inputs, got " + std::to_string(in.size()));
  }
  return Status::Ok();
}

Status NeedFloat(const OnnxNode& n, const TensorView& v) {
  if (v.dtype != DataType::kFp32) {
    return NodeError(n, "computes in FP32, got " + std::string(tensor::DataTypeName(v.dtype)));
  }
  return Status::Ok();
}

// ---- unary element-wise ------------------------------------------------------------------

Status SameShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  RETURN_IF_ERROR(NeedInputs(n, in, 1, 3));  // Dropout may carry ratio and training_mode
  out->assign(1, TensorView{in[0].dtype, in[0].shape, nullptr});
  return Status::Ok();
}

Status CopyKernel(const OnnxNode&, std::span<const TensorView> in,
                  std::span<const TensorView> out) {
  if (in[0].data != out[0].data && in[0].elements() > 0) {
    std::memcpy(out[0].data, in[0].data,
                static_cast<size_t>(in[0].elements()) * tensor::DataTypeSize(in[0].dtype));
  }
  return Status::Ok();
}

template <float (*F)(float)>
Status UnaryKernel(const OnnxNode& n, std::span<const TensorView> in,
                   std::span<const TensorView> out) {
  RETURN_IF_ERROR(NeedFloat(n, in[0]));
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  const int64_t count = in[0].elements();
  for (int64_t i = 0; i < count; ++i) y[i] = F(x[i]);
  return Status::Ok();
}

// The unary functions with vectorized loops (activation.cc).
template <Activation kAct>
Status VectorKernel(const OnnxNode& n, std::span<const TensorView> in,
                    std::span<const TensorView> out) {
  RETURN_IF_ERROR(NeedFloat(n, in[0]));
  ApplyActivation(in[0].as<float>(), out[0].as<float>(), in[0].elements(), kAct, 0.0f, 0.0f);
  return Status::Ok();
}

float Tanh(float x) { return std::tanh(x); }
float Neg(float x) { return -x; }
float Abs(float x) { return std::fabs(x); }
float Sqrt(float x) { return std::sqrt(x); }
float Log(float x) { return std::log(x); }

// Element-wise with float attributes: `F(x, a, b)` with a and b read from the node (defaults per
// the ONNX spec).
template <float (*F)(float, float, float)>
Status ParamKernel(const OnnxNode& n, std::span<const TensorView> in,
                   std::span<const TensorView> out, float a, float b) {
  RETURN_IF_ERROR(NeedFloat(n, in[0]));
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  const int64_t count = in[0].elements();
  for (int64_t i = 0; i < count; ++i) y[i] = F(x[i], a, b);
  return Status::Ok();
}

float LeakyRelu(float x, float alpha, float) { return x >= 0.0f ? x : alpha * x; }
float Elu(float x, float alpha, float) { return x >= 0.0f ? x : alpha * (std::exp(x) - 1.0f); }
float HardSigmoid(float x, float alpha, float beta) {
  return std::max(0.0f, std::min(1.0f, alpha * x + beta));
}

Status LeakyReluKernel(const OnnxNode& n, std::span<const TensorView> in,
                       std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(float alpha, n.Get<float>("alpha", 0.01f));
  return ParamKernel<LeakyRelu>(n, in, out, alpha, 0.0f);
}
Status EluKernel(const OnnxNode& n, std::span<const TensorView> in,
                 std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(float alpha, n.Get<float>("alpha", 1.0f));
  return ParamKernel<Elu>(n, in, out, alpha, 0.0f);
}
Status HardSigmoidKernel(const OnnxNode& n, std::span<const TensorView> in,
                         std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(float alpha, n.Get<float>("alpha", 0.2f));
  ASSIGN_OR_RETURN(float beta, n.Get<float>("beta", 0.5f));
  return ParamKernel<HardSigmoid>(n, in, out, alpha, beta);
}

// Clip: bounds from the optional inputs (opset 11+) or the min/max attributes (before).
Status ClipKernel(const OnnxNode& n, std::span<const TensorView> in,
                  std::span<const TensorView> out) {
  RETURN_IF_ERROR(NeedFloat(n, in[0]));
  float lo = -INFINITY, hi = INFINITY;
  if (n.opset < 11) {
    ASSIGN_OR_RETURN(lo, n.Get<float>("min", lo));
    ASSIGN_OR_RETURN(hi, n.Get<float>("max", hi));
  } else {
    if (in.size() > 1 && in[1].present) {
      if (in[1].elements() != 1) return NodeError(n, "min must be a scalar");
      lo = *in[1].as<float>();
    }
    if (in.size() > 2 && in[2].present) {
      if (in[2].elements() != 1) return NodeError(n, "max must be a scalar");
      hi = *in[2].as<float>();
    }
  }
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  const int64_t count = in[0].elements();
  for (int64_t i = 0; i < count; ++i) y[i] = std::min(std::max(x[i], lo), hi);
  return Status::Ok();
}

// ---- binary element-wise with broadcasting -------------------------------------------------

Status BinaryShape(const OnnxNode& n, std::span<const TensorView> in,
                   std::vector<TensorView>* out) {
  RETURN_IF_ERROR(NeedInputs(n, in, 2, 2));
  if (in[0].dtype != in[1].dtype) return NodeError(n, "inputs have different datatypes");
  ASSIGN_OR_RETURN(Shape s, BroadcastShapes(n, in[0].shape, in[1].shape));
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

// Strides of `s` aligned to `rank` dimensions, 0 where the dimension is broadcast.
std::array<int64_t, kMaxRank> BroadcastStrides(const Shape& s, size_t rank) {
  std::array<int64_t, kMaxRank> st{};
  int64_t stride = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t d = s.size() - 1 - i;
    st[rank - 1 - i] = s[d] == 1 ? 0 : stride;
    stride *= s[d];
  }
  return st;
}

// Runs `op` along one row of the output: a and b advance by their strides (1, or 0 when
// broadcast), specialized so that each case vectorizes.
template <typename T, typename Op>
inline void BinaryRow(const T* pa, int64_t sa, const T* pb, int64_t sb, T* py, int64_t n, Op op) {
  if (sa == 1 && sb == 1) {
    for (int64_t i = 0; i < n; ++i) py[i] = op(pa[i], pb[i]);
  } else if (sa == 1 && sb == 0) {
    const T b = pb[0];
    for (int64_t i = 0; i < n; ++i) py[i] = op(pa[i], b);
  } else if (sa == 0 && sb == 1) {
    const T a = pa[0];
    for (int64_t i = 0; i < n; ++i) py[i] = op(a, pb[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) py[i] = op(pa[i * sa], pb[i * sb]);
  }
}

template <typename T, typename Op>
void BinaryLoop(const TensorView& a, const TensorView& b, const TensorView& y, Op op) {
  const T* pa = a.as<T>();
  const T* pb = b.as<T>();
  T* py = y.as<T>();
  const int64_t count = y.elements();
  if (count == 0) return;
  if (a.shape == y.shape && b.shape == y.shape) {
    BinaryRow(pa, 1, pb, 1, py, count, op);
    return;
  }
  if ((b.elements() == 1 && a.elements() == count) ||
      (a.elements() == 1 && b.elements() == count)) {
    BinaryRow(pa, a.elements() == 1 ? 0 : 1, pb, b.elements() == 1 ? 0 : 1, py, count, op);
    return;
  }
  const size_t rank = y.shape.size();
  auto sa = BroadcastStrides(a.shape, rank), sb = BroadcastStrides(b.shape, rank);
  // Rows along the last dimension, and an odometer over the others.
  const int64_t n = y.shape[rank - 1];
  const int64_t ra = sa[rank - 1], rb = sb[rank - 1];
  std::array<int64_t, kMaxRank> idx{};
  int64_t ia = 0, ib = 0;
  for (int64_t row = 0; row < count / n; ++row) {
    BinaryRow(pa + ia, ra, pb + ib, rb, py + row * n, n, op);
    for (size_t d = rank - 1; d-- > 0;) {
      ++idx[d];
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < y.shape[d]) break;
      ia -= sa[d] * idx[d];
      ib -= sb[d] * idx[d];
      idx[d] = 0;
    }
  }
}

template <typename Op>
Status BinaryKernel(const OnnxNode& n, std::span<const TensorView> in,
                    std::span<const TensorView> out) {
  if (out[0].shape.size() > static_cast<size_t>(kMaxRank)) return NodeError(n, "rank above 8");
  switch (in[0].dtype) {
    case DataType::kFp32:
      BinaryLoop<float>(in[0], in[1], out[0], Op());
      return Status::Ok();
    case DataType::kInt64:
      BinaryLoop<int64_t>(in[0], in[1], out[0], Op());
      return Status::Ok();
    default:
      return NodeError(n, "datatype " + std::string(tensor::DataTypeName(in[0].dtype)));
  }
}

struct AddOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a + b;
  }
};
struct SubOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a - b;
  }
};
struct MulOp {
  template <typename T>
  T operator()(T a, T b) const {
    return a * b;
  }
};
struct DivOp {
  template <typename T>
  T operator()(T a, T b) const {
    return b == T(0) && std::is_integral_v<T> ? T(0) : a / b;
  }
};
struct PowOp {
  template <typename T>
  T operator()(T a, T b) const {
    return static_cast<T>(std::pow(static_cast<double>(a), static_cast<double>(b)));
  }
};

// Pow with a scalar exponent of 1, 2 or 3 (the squares of a decomposed LayerNorm...) as
// multiplications; else the general loop.
Status PowKernel(const OnnxNode& n, std::span<const TensorView> in,
                 std::span<const TensorView> out) {
  if (in[0].dtype == DataType::kFp32 && in[1].dtype == DataType::kFp32 && in[1].elements() == 1 &&
      in[0].shape == out[0].shape) {
    const float e = *in[1].as<float>();
    const float* x = in[0].as<float>();
    float* y = out[0].as<float>();
    const int64_t count = out[0].elements();
    if (e == 2.0f) {
      for (int64_t i = 0; i < count; ++i) y[i] = x[i] * x[i];
      return Status::Ok();
    }
    if (e == 3.0f) {
      for (int64_t i = 0; i < count; ++i) y[i] = x[i] * x[i] * x[i];
      return Status::Ok();
    }
    if (e == 1.0f) {
      std::memcpy(y, x, static_cast<size_t>(count) * sizeof(float));
      return Status::Ok();
    }
  }
  return BinaryKernel<PowOp>(n, in, out);
}

// ---- Softmax, Flatten -------------------------------------------------------------------------

template <bool kLog>
Status SoftmaxKernel(const OnnxNode& n, std::span<const TensorView> in,
                     std::span<const TensorView> out) {
  RETURN_IF_ERROR(NeedFloat(n, in[0]));
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", n.opset >= 13 ? -1 : 1));
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= std::max<int64_t>(rank, 1)) return NodeError(n, "axis out of range");
  // Opset 13+: along `axis`; before: over the flattened dimensions from `axis` on.
  int64_t outer = 1, len = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis) {
      outer *= in[0].shape[static_cast<size_t>(d)];
    } else if (d == axis || n.opset < 13) {
      len *= in[0].shape[static_cast<size_t>(d)];
    } else {
      inner *= in[0].shape[static_cast<size_t>(d)];
    }
  }
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  // y = x - max along the axis; y = exp(y) over the whole tensor in one vectorized pass; then
  // each slice divided by its sum (or, for LogSoftmax, x - max - log(sum)).
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      float mx = -INFINITY;
      for (int64_t j = 0; j < len; ++j) mx = std::max(mx, x[base + j * inner]);
      for (int64_t j = 0; j < len; ++j) y[base + j * inner] = x[base + j * inner] - mx;
    }
  }
  ApplyActivation(y, y, in[0].elements(), Activation::kExp, 0.0f, 0.0f);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      float sum = 0.0f;
      for (int64_t j = 0; j < len; ++j) sum += y[base + j * inner];
      if constexpr (kLog) {
        float mx = -INFINITY;
        for (int64_t j = 0; j < len; ++j) mx = std::max(mx, x[base + j * inner]);
        const float log_sum = std::log(sum);
        for (int64_t j = 0; j < len; ++j) {
          y[base + j * inner] = x[base + j * inner] - mx - log_sum;
        }
      } else {
        const float inv = 1.0f / sum;
        for (int64_t j = 0; j < len; ++j) y[base + j * inner] *= inv;
      }
    }
  }
  return Status::Ok();
}

Status FlattenShape(const OnnxNode& n, std::span<const TensorView> in,
                    std::vector<TensorView>* out) {
  RETURN_IF_ERROR(NeedInputs(n, in, 1, 1));
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 1));
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) return NodeError(n, "axis out of range");
  int64_t a = 1, b = 1;
  for (int64_t d = 0; d < rank; ++d) (d < axis ? a : b) *= in[0].shape[static_cast<size_t>(d)];
  out->assign(1, TensorView{in[0].dtype, Shape{a, b}, nullptr});
  return Status::Ok();
}

}  // namespace

Status NodeError(const OnnxNode& n, const std::string& what) {
  return InvalidArgument("node '" + n.name + "' (" + n.op + "): " + what);
}

size_t ElemSize(const TensorView& v) { return tensor::DataTypeSize(v.dtype); }

namespace {

template <typename T>
void StridedRows(T* dst, const T* src, std::span<const int64_t> shape,
                 std::span<const int64_t> strides) {
  const size_t rank = shape.size();
  const int64_t n = shape[rank - 1], s = strides[rank - 1];
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < rank; ++d) rows *= shape[d];
  std::array<int64_t, kMaxRank> idx{};
  int64_t off = 0;
  for (int64_t r = 0; r < rows; ++r, dst += n) {
    const T* p = src + off;
    if (s == 1 && n * sizeof(T) >= 256) {
      std::memcpy(dst, p, static_cast<size_t>(n) * sizeof(T));
    } else if (s == 1) {
      for (int64_t i = 0; i < n; ++i) dst[i] = p[i];
    } else {
      for (int64_t i = 0; i < n; ++i) dst[i] = p[i * s];
    }
    for (size_t d = rank - 1; d-- > 0;) {
      off += strides[d];
      if (++idx[d] < shape[d]) break;
      off -= strides[d] * idx[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

void StridedCopy(void* dst, const void* src, const Shape& shape, std::span<const int64_t> strides,
                 size_t elem_size) {
  // Drop dimensions of 1 and merge dimensions that are contiguous in the source.
  std::array<int64_t, kMaxRank> dims{}, st{};
  size_t rank = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0) return;
    if (shape[d] == 1) continue;
    if (rank > 0 && st[rank - 1] == strides[d] * shape[d]) {
      dims[rank - 1] *= shape[d];
      st[rank - 1] = strides[d];
      continue;
    }
    dims[rank] = shape[d];
    st[rank] = strides[d];
    ++rank;
  }
  if (rank == 0) {
    std::memcpy(dst, src, elem_size);
    return;
  }
  const std::span<const int64_t> ds(dims.data(), rank), ss(st.data(), rank);
  switch (elem_size) {
    case 1:
      StridedRows(static_cast<uint8_t*>(dst), static_cast<const uint8_t*>(src), ds, ss);
      return;
    case 2:
      StridedRows(static_cast<uint16_t*>(dst), static_cast<const uint16_t*>(src), ds, ss);
      return;
    case 4:
      StridedRows(static_cast<uint32_t*>(dst), static_cast<const uint32_t*>(src), ds, ss);
      return;
    default:
      StridedRows(static_cast<uint64_t*>(dst), static_cast<const uint64_t*>(src), ds, ss);
      return;
  }
}

void BroadcastScaled(const TensorView& src, const TensorView& dst, float scale) {
  float zero = 0.0f;
  TensorView z{DataType::kFp32, Shape{1}, &zero};
  BinaryLoop<float>(z, src, dst, [scale](float, float c) { return scale * c; });
}

base::StatusOr<Shape> BroadcastShapes(const OnnxNode& n, const Shape& a, const Shape& b) {
  const size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    const int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    const int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1) {
      return NodeError(n, "shapes " + tensor::ShapeToString(a) + " and " +
                              tensor::ShapeToString(b) + " do not broadcast");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

base::StatusOr<std::vector<int64_t>> ConstInts(const OnnxNode& n, const TensorView& v,
                                               const char* what) {
  if (!v.present) return std::vector<int64_t>{};
  if (v.data == nullptr) {
    return NodeError(n, std::string(what) + " must be known when planning (a constant or a shape)");
  }
  if (v.dtype != DataType::kInt64 && v.dtype != DataType::kInt32) {
    return NodeError(n, std::string(what) + " must be INT64");
  }
  std::vector<int64_t> out(static_cast<size_t>(v.elements()));
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = v.dtype == DataType::kInt64 ? v.as<int64_t>()[i] : v.as<int32_t>()[i];
  }
  return out;
}

base::StatusOr<int64_t> NormalizeAxis(const OnnxNode& n, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    return NodeError(
        n, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  }
  return axis < 0 ? axis + rank : axis;
}

const OpDef* FindOp(std::string_view op) {
  static const std::map<std::string, OpDef, std::less<>> ops = [] {
    std::map<std::string, OpDef, std::less<>> m = {
        {"Identity", {SameShape, CopyKernel, false, /*alias=*/true}},
        {"Dropout", {SameShape, CopyKernel, false, /*alias=*/true}},  // inference: the identity
        {"Flatten", {FlattenShape, CopyKernel, false, /*alias=*/true}},
        {"Relu", {SameShape, VectorKernel<Activation::kRelu>}},
        {"Sigmoid", {SameShape, VectorKernel<Activation::kSigmoid>}},
        {"Gelu", {SameShape, VectorKernel<Activation::kGelu>}},  // from the graph rewrite
        {"Tanh", {SameShape, UnaryKernel<Tanh>}},
        {"Add", {BinaryShape, BinaryKernel<AddOp>}},
        {"Sub", {BinaryShape, BinaryKernel<SubOp>}},
        {"Mul", {BinaryShape, BinaryKernel<MulOp>}},
        {"Div", {BinaryShape, BinaryKernel<DivOp>}},
        {"Softmax", {SameShape, SoftmaxKernel<false>}},
        {"LogSoftmax", {SameShape, SoftmaxKernel<true>}},
        {"Neg", {SameShape, UnaryKernel<Neg>}},
        {"Abs", {SameShape, UnaryKernel<Abs>}},
        {"Sqrt", {SameShape, UnaryKernel<Sqrt>}},
        {"Exp", {SameShape, VectorKernel<Activation::kExp>}},
        {"Log", {SameShape, UnaryKernel<Log>}},
        {"Erf", {SameShape, VectorKernel<Activation::kErf>}},
        {"Pow", {BinaryShape, PowKernel}},
        {"LeakyRelu", {SameShape, LeakyReluKernel}},
        {"Elu", {SameShape, EluKernel}},
        {"HardSigmoid", {SameShape, HardSigmoidKernel}},
        {"Clip", {SameShape, ClipKernel}},
    };
    AddShapeOps(&m);
    AddMoreOps(&m);
    AddConvOps(&m);
    AddGemmOps(&m);
    AddQuantOps(&m);
    return m;
  }();
  auto it = ops.find(op);
  return it == ops.end() ? nullptr : &it->second;
}

}  // namespace inferd::backends::onnx
