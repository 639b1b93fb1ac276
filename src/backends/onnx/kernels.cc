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
  if (in[0].data != out[0].data) {
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

float Relu(float x) { return x > 0.0f ? x : 0.0f; }
float Sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
float Tanh(float x) { return std::tanh(x); }
float Neg(float x) { return -x; }
float Abs(float x) { return std::fabs(x); }
float Sqrt(float x) { return std::sqrt(x); }
float Exp(float x) { return std::exp(x); }
float Log(float x) { return std::log(x); }
float Erf(float x) { return std::erf(x); }

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

template <typename T, typename Op>
void BinaryLoop(const TensorView& a, const TensorView& b, const TensorView& y, Op op) {
  const T* pa = a.as<T>();
  const T* pb = b.as<T>();
  T* py = y.as<T>();
  const int64_t count = y.elements();
  if (a.shape == y.shape && b.shape == y.shape) {
    for (int64_t i = 0; i < count; ++i) py[i] = op(pa[i], pb[i]);
    return;
  }
  if (a.shape == y.shape && b.elements() == 1) {
    for (int64_t i = 0; i < count; ++i) py[i] = op(pa[i], pb[0]);
    return;
  }
  const size_t rank = y.shape.size();
  const auto sa = BroadcastStrides(a.shape, rank), sb = BroadcastStrides(b.shape, rank);
  std::array<int64_t, kMaxRank> idx{};
  int64_t ia = 0, ib = 0;
  for (int64_t i = 0; i < count; ++i) {
    py[i] = op(pa[ia], pb[ib]);
    for (size_t d = rank; d-- > 0;) {  // odometer over the output dimensions
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
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * len * inner + i;
      float mx = -INFINITY;
      for (int64_t j = 0; j < len; ++j) mx = std::max(mx, x[base + j * inner]);
      float sum = 0.0f;
      for (int64_t j = 0; j < len; ++j) {
        const float e = std::exp(x[base + j * inner] - mx);
        y[base + j * inner] = e;
        sum += e;
      }
      if constexpr (kLog) {
        const float log_sum = std::log(sum);
        for (int64_t j = 0; j < len; ++j) {
          y[base + j * inner] = x[base + j * inner] - mx - log_sum;
        }
      } else {
        for (int64_t j = 0; j < len; ++j) y[base + j * inner] /= sum;
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
        {"Relu", {SameShape, UnaryKernel<Relu>}},
        {"Sigmoid", {SameShape, UnaryKernel<Sigmoid>}},
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
        {"Exp", {SameShape, UnaryKernel<Exp>}},
        {"Log", {SameShape, UnaryKernel<Log>}},
        {"Erf", {SameShape, UnaryKernel<Erf>}},
        {"Pow", {BinaryShape, BinaryKernel<PowOp>}},
        {"LeakyRelu", {SameShape, LeakyReluKernel}},
        {"Elu", {SameShape, EluKernel}},
        {"HardSigmoid", {SameShape, HardSigmoidKernel}},
        {"Clip", {SameShape, ClipKernel}},
    };
    AddShapeOps(&m);
    AddMoreOps(&m);
    AddConvOps(&m);
    AddGemmOps(&m);
    return m;
  }();
  auto it = ops.find(op);
  return it == ops.end() ? nullptr : &it->second;
}

}  // namespace inferd::backends::onnx
