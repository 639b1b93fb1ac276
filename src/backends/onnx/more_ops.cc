// Comparison and selection (Equal, Greater, Less, Not, Where), Slice, Expand, Tile, Range, Pad
// and LayerNormalization.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/onnx/kernels.h"
#include "backends/onnx/shape_ops.h"

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;
using tensor::DataType;
using tensor::Shape;

namespace {

// Offset into `s` (aligned right to `rank` dims, broadcast dims read index 0) of output index.
int64_t BroadcastOffset(const Shape& s, const std::vector<int64_t>& idx) {
  const size_t rank = idx.size();
  int64_t off = 0, stride = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    const size_t d = s.size() - 1 - i;
    const int64_t dim = s[d];
    const int64_t at = dim == 1 ? 0 : idx[rank - 1 - i];
    off += at * stride;
    stride *= dim;
  }
  return off;
}

void NextIndex(std::vector<int64_t>& idx, const Shape& shape) {
  for (size_t d = idx.size(); d-- > 0;) {
    if (++idx[d] < shape[d]) return;
    idx[d] = 0;
  }
}

// ---- Equal, Greater, Less, Not, Where ---------------------------------------------------------

Status CompareShape(const OnnxNode& n, std::span<const TensorView> in,
                    std::vector<TensorView>* out) {
  if (in.size() != 2 || in[0].dtype != in[1].dtype)
    return NodeError(n, "takes two inputs of one type");
  ASSIGN_OR_RETURN(Shape s, BroadcastShapes(n, in[0].shape, in[1].shape));
  out->assign(1, TensorView{DataType::kBool, s, nullptr});
  return Status::Ok();
}

template <typename Cmp>
Status CompareKernel(const OnnxNode& n, std::span<const TensorView> in,
                     std::span<const TensorView> out) {
  std::vector<int64_t> idx(out[0].shape.size(), 0);
  uint8_t* y = out[0].as<uint8_t>();
  const int64_t count = out[0].elements();
  bool ok = tensor::VisitNumericType(in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T* a = in[0].as<T>();
    const T* b = in[1].as<T>();
    for (int64_t i = 0; i < count; ++i, NextIndex(idx, out[0].shape)) {
      y[i] = Cmp()(a[BroadcastOffset(in[0].shape, idx)], b[BroadcastOffset(in[1].shape, idx)]);
    }
  });
  return ok ? Status::Ok() : NodeError(n, "unsupported datatype");
}

struct EqualCmp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a == b;
  }
};
struct GreaterCmp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a > b;
  }
};
struct LessCmp {
  template <typename T>
  bool operator()(T a, T b) const {
    return a < b;
  }
};

Status NotShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  if (in.size() != 1 || in[0].dtype != DataType::kBool) return NodeError(n, "takes one BOOL input");
  out->assign(1, TensorView{DataType::kBool, in[0].shape, nullptr});
  return Status::Ok();
}

Status NotKernel(const OnnxNode&, std::span<const TensorView> in, std::span<const TensorView> out) {
  for (int64_t i = 0; i < in[0].elements(); ++i) out[0].as<uint8_t>()[i] = !in[0].as<uint8_t>()[i];
  return Status::Ok();
}

Status WhereShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  if (in.size() != 3 || in[0].dtype != DataType::kBool || in[1].dtype != in[2].dtype) {
    return NodeError(n, "takes a BOOL condition and two inputs of one type");
  }
  ASSIGN_OR_RETURN(Shape s, BroadcastShapes(n, in[0].shape, in[1].shape));
  ASSIGN_OR_RETURN(s, BroadcastShapes(n, s, in[2].shape));
  out->assign(1, TensorView{in[1].dtype, s, nullptr});
  return Status::Ok();
}

Status WhereKernel(const OnnxNode&, std::span<const TensorView> in,
                   std::span<const TensorView> out) {
  std::vector<int64_t> idx(out[0].shape.size(), 0);
  const size_t es = ElemSize(out[0]);
  auto* y = static_cast<uint8_t*>(out[0].data);
  const int64_t count = out[0].elements();
  for (int64_t i = 0; i < count; ++i, NextIndex(idx, out[0].shape)) {
    const bool c = in[0].as<uint8_t>()[BroadcastOffset(in[0].shape, idx)];
    const TensorView& src = c ? in[1] : in[2];
    std::memcpy(y + static_cast<size_t>(i) * es,
                static_cast<const uint8_t*>(src.data) +
                    static_cast<size_t>(BroadcastOffset(src.shape, idx)) * es,
                es);
  }
  return Status::Ok();
}

// ---- Expand, Tile -------------------------------------------------------------------------------

Status ExpandShape(const OnnxNode& n, std::span<const TensorView> in,
                   std::vector<TensorView>* out) {
  ASSIGN_OR_RETURN(auto dims, ConstInts(n, in[1], "the shape"));
  ASSIGN_OR_RETURN(Shape s, BroadcastShapes(n, in[0].shape, Shape(dims.begin(), dims.end())));
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

Status BroadcastCopyKernel(const OnnxNode&, std::span<const TensorView> in,
                           std::span<const TensorView> out) {
  std::vector<int64_t> idx(out[0].shape.size(), 0);
  const size_t es = ElemSize(out[0]);
  auto* y = static_cast<uint8_t*>(out[0].data);
  for (int64_t i = 0; i < out[0].elements(); ++i, NextIndex(idx, out[0].shape)) {
    std::memcpy(y + static_cast<size_t>(i) * es,
                static_cast<const uint8_t*>(in[0].data) +
                    static_cast<size_t>(BroadcastOffset(in[0].shape, idx)) * es,
                es);
  }
  return Status::Ok();
}

Status TileShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  ASSIGN_OR_RETURN(auto reps, ConstInts(n, in[1], "repeats"));
  if (reps.size() != in[0].shape.size())
    return NodeError(n, "repeats must have one entry per axis");
  Shape s = in[0].shape;
  for (size_t d = 0; d < s.size(); ++d) {
    if (reps[d] < 0) return NodeError(n, "negative repeat");
    if (__builtin_mul_overflow(s[d], reps[d], &s[d])) return NodeError(n, "repeats overflow");
  }
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

Status TileKernel(const OnnxNode&, std::span<const TensorView> in,
                  std::span<const TensorView> out) {
  std::vector<int64_t> idx(out[0].shape.size(), 0), src_idx(idx.size());
  const size_t es = ElemSize(out[0]);
  auto* y = static_cast<uint8_t*>(out[0].data);
  for (int64_t i = 0; i < out[0].elements(); ++i, NextIndex(idx, out[0].shape)) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) off = off * in[0].shape[d] + idx[d] % in[0].shape[d];
    std::memcpy(y + static_cast<size_t>(i) * es,
                static_cast<const uint8_t*>(in[0].data) + static_cast<size_t>(off) * es, es);
  }
  return Status::Ok();
}

// ---- Slice ------------------------------------------------------------------------------------

struct SliceSpec {
  std::vector<int64_t> start, step;  // per axis of the input
  Shape shape;
};

StatusOr<SliceSpec> Slicing(const OnnxNode& n, std::span<const TensorView> in) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  std::vector<int64_t> starts, ends, axes, steps;
  if (n.opset >= 10) {
    ASSIGN_OR_RETURN(starts, ConstInts(n, in[1], "starts"));
    ASSIGN_OR_RETURN(ends, ConstInts(n, in[2], "ends"));
    if (in.size() > 3) {
      ASSIGN_OR_RETURN(axes, ConstInts(n, in[3], "axes"));
    }
    if (in.size() > 4) {
      ASSIGN_OR_RETURN(steps, ConstInts(n, in[4], "steps"));
    }
  }
  if (axes.empty()) {
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  }
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size()) {
    return NodeError(n, "starts, ends, axes and steps differ in length");
  }
  SliceSpec spec;
  spec.start.assign(static_cast<size_t>(rank), 0);
  spec.step.assign(static_cast<size_t>(rank), 1);
  spec.shape = in[0].shape;
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t ax = axes[i] < 0 ? axes[i] + rank : axes[i];
    if (ax < 0 || ax >= rank) return NodeError(n, "axis out of range");
    const int64_t dim = in[0].shape[static_cast<size_t>(ax)];
    const int64_t step = steps[i];
    if (step == 0) return NodeError(n, "step 0");
    auto clamp = [&](int64_t v, int64_t lo, int64_t hi) { return std::min(std::max(v, lo), hi); };
    int64_t s = starts[i] < 0 ? starts[i] + dim : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
    if (step > 0) {
      s = clamp(s, 0, dim);
      e = clamp(e, 0, dim);
    } else {
      s = clamp(s, -1, dim - 1);
      e = clamp(e, -1, dim - 1);
    }
    const int64_t len = step > 0 ? std::max<int64_t>(0, (e - s + step - 1) / step)
                                 : std::max<int64_t>(0, (s - e + (-step) - 1) / (-step));
    spec.start[static_cast<size_t>(ax)] = s;
    spec.step[static_cast<size_t>(ax)] = step;
    spec.shape[static_cast<size_t>(ax)] = len;
  }
  return spec;
}

Status SliceShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  ASSIGN_OR_RETURN(SliceSpec spec, Slicing(n, in));
  out->assign(1, TensorView{in[0].dtype, spec.shape, nullptr});
  return Status::Ok();
}

Status SliceKernel(const OnnxNode& n, std::span<const TensorView> in,
                   std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(SliceSpec spec, Slicing(n, in));
  std::vector<int64_t> idx(spec.shape.size(), 0);
  const size_t es = ElemSize(out[0]);
  auto* y = static_cast<uint8_t*>(out[0].data);
  for (int64_t i = 0; i < out[0].elements(); ++i, NextIndex(idx, spec.shape)) {
    int64_t off = 0;
    for (size_t d = 0; d < idx.size(); ++d) {
      off = off * in[0].shape[d] + spec.start[d] + idx[d] * spec.step[d];
    }
    std::memcpy(y + static_cast<size_t>(i) * es,
                static_cast<const uint8_t*>(in[0].data) + static_cast<size_t>(off) * es, es);
  }
  return Status::Ok();
}

// ---- Range --------------------------------------------------------------------------------------

Status RangeShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  if (in.size() != 3) return NodeError(n, "takes start, limit and delta");
  for (const auto& v : in) {
    if (v.data == nullptr)
      return NodeError(n, "start, limit and delta must be known when planning");
  }
  double start = 0, limit = 0, delta = 1;
  tensor::VisitNumericType(in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    start = static_cast<double>(*in[0].as<T>());
    limit = static_cast<double>(*in[1].as<T>());
    delta = static_cast<double>(*in[2].as<T>());
  });
  if (delta == 0) return NodeError(n, "delta is 0");
  const double steps = std::ceil((limit - start) / delta);
  // (NaN and counts beyond any memory are refused before the conversion to an integer.)
  if (std::isnan(steps) || steps >= 9.0e15) {
    return NodeError(n, "start, limit and delta give no finite count");
  }
  const int64_t count = steps > 0 ? static_cast<int64_t>(steps) : 0;
  out->assign(1, TensorView{in[0].dtype, Shape{count}, nullptr});
  return Status::Ok();
}

Status RangeKernel(const OnnxNode& n, std::span<const TensorView> in,
                   std::span<const TensorView> out) {
  bool ok = tensor::VisitNumericType(in[0].dtype, [&](auto tag) {
    using T = decltype(tag);
    const T start = *in[0].as<T>(), delta = *in[2].as<T>();
    T* y = out[0].as<T>();
    for (int64_t i = 0; i < out[0].elements(); ++i)
      y[i] = static_cast<T>(start + static_cast<T>(i) * delta);
  });
  return ok ? Status::Ok() : NodeError(n, "unsupported datatype");
}

// ---- Pad (constant, reflect, edge) --------------------------------------------------------------

Status PadShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  ASSIGN_OR_RETURN(auto pads, ConstInts(n, in[1], "pads"));
  const size_t rank = in[0].shape.size();
  if (pads.size() != 2 * rank) return NodeError(n, "pads must have 2 entries per axis");
  Shape s = in[0].shape;
  for (size_t d = 0; d < rank; ++d) {
    int64_t grown = 0;
    if (__builtin_add_overflow(s[d], pads[d], &grown) ||
        __builtin_add_overflow(grown, pads[d + rank], &s[d]) || s[d] < 0) {
      return NodeError(n, "pads make axis " + std::to_string(d) + " negative or too large");
    }
  }
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

bool PadIsIdentity(const OnnxNode& n, std::span<const TensorView> in) {
  auto pads = ConstInts(n, in[1], "pads");
  return pads.ok() && std::all_of(pads->begin(), pads->end(), [](int64_t p) { return p == 0; });
}

Status PadKernel(const OnnxNode& n, std::span<const TensorView> in,
                 std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(auto pads, ConstInts(n, in[1], "pads"));
  ASSIGN_OR_RETURN(std::string mode, n.Get<std::string>("mode", "constant"));
  const size_t rank = in[0].shape.size(), es = ElemSize(out[0]);
  std::vector<uint8_t> fill(es, 0);
  if (in.size() > 2 && in[2].present && in[2].data != nullptr)
    std::memcpy(fill.data(), in[2].data, es);
  std::vector<int64_t> idx(rank, 0);
  auto* y = static_cast<uint8_t*>(out[0].data);
  for (int64_t i = 0; i < out[0].elements(); ++i, NextIndex(idx, out[0].shape)) {
    int64_t off = 0;
    bool outside = false;
    for (size_t d = 0; d < rank; ++d) {
      const int64_t dim = in[0].shape[d];
      int64_t at = idx[d] - pads[d];
      if (at < 0 || at >= dim) {
        if (mode == "constant") {
          outside = true;
          break;
        } else if (mode == "edge") {
          at = std::min(std::max<int64_t>(at, 0), dim - 1);
        } else if (mode == "reflect") {
          if (dim == 1) {
            at = 0;
          } else {
            const int64_t period = 2 * (dim - 1);
            at = ((at % period) + period) % period;
            if (at >= dim) at = period - at;
          }
        } else {
          return NodeError(n, "mode '" + mode + "' is not supported");
        }
      }
      off = off * dim + at;
    }
    std::memcpy(y + static_cast<size_t>(i) * es,
                outside ? fill.data()
                        : static_cast<const uint8_t*>(in[0].data) + static_cast<size_t>(off) * es,
                es);
  }
  return Status::Ok();
}

// ---- LayerNormalization (opset 17) ------------------------------------------------------------

Status LayerNormShape(const OnnxNode& n, std::span<const TensorView> in,
                      std::vector<TensorView>* out) {
  if (in.size() < 2 || in[0].dtype != DataType::kFp32)
    return NodeError(n, "takes FP32 X and scale");
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", -1));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  int64_t len = 1;
  for (int64_t d = axis; d < rank; ++d) len *= in[0].shape[static_cast<size_t>(d)];
  for (size_t i = 1; i < in.size() && i < 3; ++i) {
    if (!in[i].present) continue;
    const int64_t k = in[i].elements();
    if (in[i].dtype != DataType::kFp32 || k < 1 || len % k != 0) {
      return NodeError(
          n, std::string(i == 1 ? "scale" : "bias") + " " + tensor::ShapeToString(in[i].shape) +
                 " does not broadcast over the normalized " + std::to_string(len) + " values");
    }
  }
  out->assign(1, TensorView{DataType::kFp32, in[0].shape, nullptr});
  return Status::Ok();
}

Status LayerNormKernel(const OnnxNode& n, std::span<const TensorView> in,
                       std::span<const TensorView> out) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", -1));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  ASSIGN_OR_RETURN(float eps, n.Get<float>("epsilon", 1e-5f));
  int64_t outer = 1, len = 1;
  for (int64_t d = 0; d < rank; ++d)
    (d < axis ? outer : len) *= in[0].shape[static_cast<size_t>(d)];
  const bool has_bias = in.size() > 2 && in[2].present;
  const float* x = in[0].as<float>();
  float* y = out[0].as<float>();
  // Scale and bias broadcast over the normalized dimensions (their elements repeat cyclically):
  // expanded once to `len` values so that the row loop is plain.
  const int64_t ns = in[1].elements(), nb = has_bias ? in[2].elements() : 0;
  const float* scale = in[1].as<float>();
  const float* bias = has_bias ? in[2].as<float>() : nullptr;
  std::vector<float> expanded;
  if (ns != len || (has_bias && nb != len)) {
    expanded.resize(static_cast<size_t>(2 * len));
    for (int64_t j = 0; j < len; ++j) {
      expanded[static_cast<size_t>(j)] = scale[j % ns];
      expanded[static_cast<size_t>(len + j)] = has_bias ? bias[j % nb] : 0.0f;
    }
    scale = expanded.data();
    bias = expanded.data() + len;
  }
  for (int64_t o = 0; o < outer; ++o) {
    const float* xr = x + o * len;
    float* yr = y + o * len;
    float mean = 0;
    for (int64_t j = 0; j < len; ++j) mean += xr[j];
    mean /= static_cast<float>(len);
    float var = 0;
    for (int64_t j = 0; j < len; ++j) var += (xr[j] - mean) * (xr[j] - mean);
    var /= static_cast<float>(len);
    const float inv = 1.0f / std::sqrt(var + eps);
    if (bias != nullptr) {
      for (int64_t j = 0; j < len; ++j) yr[j] = (xr[j] - mean) * inv * scale[j] + bias[j];
    } else {
      for (int64_t j = 0; j < len; ++j) yr[j] = (xr[j] - mean) * inv * scale[j];
    }
  }
  return Status::Ok();
}

}  // namespace

void AddMoreOps(std::map<std::string, OpDef, std::less<>>* ops) {
  ops->insert({
      {"Equal", {CompareShape, CompareKernel<EqualCmp>}},
      {"Greater", {CompareShape, CompareKernel<GreaterCmp>}},
      {"Less", {CompareShape, CompareKernel<LessCmp>}},
      {"Not", {NotShape, NotKernel}},
      {"Where", {WhereShape, WhereKernel}},
      {"Expand", {ExpandShape, BroadcastCopyKernel}},
      {"Tile", {TileShape, TileKernel}},
      {"Slice", {SliceShape, SliceKernel}},
      {"Range", {RangeShape, RangeKernel}},
      {"Pad", {PadShape, PadKernel, false, false, PadIsIdentity}},
      {"LayerNormalization", {LayerNormShape, LayerNormKernel}},
  });
}

}  // namespace inferd::backends::onnx
