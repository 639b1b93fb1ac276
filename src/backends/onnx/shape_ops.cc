// Operators that move, select or reshape data (any element type), compare and reduce.
#include "backends/onnx/shape_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "backends/onnx/kernels.h"

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;
using tensor::DataType;
using tensor::Shape;

namespace {

std::vector<int64_t> Strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

// ---- Constant, Shape, Cast, ConstantOfShape -------------------------------------------------

Status ConstantShape(const OnnxNode& n, std::span<const TensorView>, std::vector<TensorView>* out) {
  auto it = n.attributes.find("value");
  if (it == n.attributes.end()) return NodeError(n, "only the 'value' attribute is supported");
  const auto* t = std::get_if<tensor::Tensor>(&it->second);
  if (t == nullptr) return NodeError(n, "'value' is not a tensor");
  out->assign(1, TensorView{t->dtype(), t->shape(), nullptr});
  return Status::Ok();
}

Status ConstantKernel(const OnnxNode& n, std::span<const TensorView>,
                      std::span<const TensorView> out) {
  const auto& t = std::get<tensor::Tensor>(n.attributes.find("value")->second);
  if (t.byte_size() > 0) std::memcpy(out[0].data, t.bytes().data(), t.byte_size());
  return Status::Ok();
}

Status ShapeShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  if (in.size() != 1) return NodeError(n, "takes one input");
  out->assign(
      1, TensorView{DataType::kInt64, Shape{static_cast<int64_t>(in[0].shape.size())}, nullptr});
  return Status::Ok();
}

Status ShapeKernel(const OnnxNode&, std::span<const TensorView> in,
                   std::span<const TensorView> out) {
  std::copy(in[0].shape.begin(), in[0].shape.end(), out[0].as<int64_t>());
  return Status::Ok();
}

StatusOr<DataType> OnnxType(const OnnxNode& n, int64_t onnx_type) {
  switch (onnx_type) {
    case 1:
      return DataType::kFp32;
    case 11:
      return DataType::kFp64;
    case 7:
      return DataType::kInt64;
    case 6:
      return DataType::kInt32;
    case 9:
      return DataType::kBool;
    case 2:
      return DataType::kUint8;
    case 3:
      return DataType::kInt8;
    default:
      return NodeError(n, "cast to ONNX type " + std::to_string(onnx_type) + " is not supported");
  }
}

Status CastShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  if (in.size() != 1) return NodeError(n, "takes one input");
  ASSIGN_OR_RETURN(int64_t to, n.Get<int64_t>("to", 1));
  ASSIGN_OR_RETURN(DataType dt, OnnxType(n, to));
  out->assign(1, TensorView{dt, in[0].shape, nullptr});
  return Status::Ok();
}

template <typename To>
void CastInto(const TensorView& in, To* out) {
  tensor::VisitNumericType(in.dtype, [&](auto tag) {
    using From = decltype(tag);
    const From* x = in.as<From>();
    const int64_t n = in.elements();
    for (int64_t i = 0; i < n; ++i) {
      if constexpr (std::is_same_v<To, bool>) {
        out[i] = x[i] != From(0);
      } else {
        out[i] = static_cast<To>(x[i]);
      }
    }
  });
}

Status CastKernel(const OnnxNode& n, std::span<const TensorView> in,
                  std::span<const TensorView> out) {
  bool ok = tensor::VisitNumericType(out[0].dtype, [&](auto tag) {
    using To = decltype(tag);
    CastInto<To>(in[0], out[0].as<To>());
  });
  return ok ? Status::Ok() : NodeError(n, "unsupported cast");
}

Status ConstantOfShapeShape(const OnnxNode& n, std::span<const TensorView> in,
                            std::vector<TensorView>* out) {
  ASSIGN_OR_RETURN(auto dims, ConstInts(n, in[0], "the shape"));
  DataType dt = DataType::kFp32;
  if (auto it = n.attributes.find("value"); it != n.attributes.end()) {
    dt = std::get<tensor::Tensor>(it->second).dtype();
  }
  out->assign(1, TensorView{dt, Shape(dims.begin(), dims.end()), nullptr});
  return Status::Ok();
}

Status ConstantOfShapeKernel(const OnnxNode& n, std::span<const TensorView>,
                             std::span<const TensorView> out) {
  const size_t es = ElemSize(out[0]);
  std::vector<uint8_t> value(es, 0);
  if (auto it = n.attributes.find("value"); it != n.attributes.end()) {
    const auto& t = std::get<tensor::Tensor>(it->second);
    std::memcpy(value.data(), t.bytes().data(), std::min(es, t.byte_size()));
  }
  auto* p = static_cast<uint8_t*>(out[0].data);
  for (int64_t i = 0; i < out[0].elements(); ++i) std::memcpy(p + i * es, value.data(), es);
  return Status::Ok();
}

// ---- Reshape, Squeeze, Unsqueeze (shape changes, same bytes) ----------------------------------

Status ReshapeShape(const OnnxNode& n, std::span<const TensorView> in,
                    std::vector<TensorView>* out) {
  ASSIGN_OR_RETURN(auto dims, ConstInts(n, in[1], "the new shape"));
  ASSIGN_OR_RETURN(int64_t allowzero, n.Get<int64_t>("allowzero", 0));
  Shape s(dims.begin(), dims.end());
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == 0 && !allowzero) s[i] = i < in[0].shape.size() ? in[0].shape[i] : 0;
    if (s[i] == -1) {
      if (infer >= 0) return NodeError(n, "more than one -1 in the new shape");
      infer = static_cast<int64_t>(i);
    } else if (s[i] < 0 || __builtin_mul_overflow(known, s[i], &known)) {
      return NodeError(n, "the new shape " + tensor::ShapeToString(s) + " is invalid");
    }
  }
  if (infer >= 0) s[static_cast<size_t>(infer)] = known == 0 ? 0 : in[0].elements() / known;
  if (tensor::ElementCount(s) != in[0].elements()) {
    return NodeError(n, "cannot reshape " + tensor::ShapeToString(in[0].shape) + " to " +
                            tensor::ShapeToString(s));
  }
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

Status SqueezeShape(const OnnxNode& n, std::span<const TensorView> in,
                    std::vector<TensorView>* out) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  std::vector<int64_t> axes;
  if (in.size() > 1 && in[1].present) {
    ASSIGN_OR_RETURN(axes, ConstInts(n, in[1], "axes"));
  } else {
    ASSIGN_OR_RETURN(axes, n.Get<std::vector<int64_t>>("axes", {}));
  }
  std::vector<bool> drop(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(n, a, rank));
    if (in[0].shape[static_cast<size_t>(ax)] != 1) return NodeError(n, "squeezed axis is not 1");
    drop[static_cast<size_t>(ax)] = true;
  }
  Shape s;
  for (int64_t d = 0; d < rank; ++d) {
    const bool squeeze =
        axes.empty() ? in[0].shape[static_cast<size_t>(d)] == 1 : drop[static_cast<size_t>(d)];
    if (!squeeze) s.push_back(in[0].shape[static_cast<size_t>(d)]);
  }
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

Status UnsqueezeShape(const OnnxNode& n, std::span<const TensorView> in,
                      std::vector<TensorView>* out) {
  std::vector<int64_t> axes;
  if (in.size() > 1 && in[1].present) {
    ASSIGN_OR_RETURN(axes, ConstInts(n, in[1], "axes"));
  } else {
    ASSIGN_OR_RETURN(axes, n.Get<std::vector<int64_t>>("axes", {}));
  }
  const int64_t rank = static_cast<int64_t>(in[0].shape.size() + axes.size());
  std::vector<bool> added(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(n, a, rank));
    added[static_cast<size_t>(ax)] = true;
  }
  Shape s;
  size_t k = 0;
  for (int64_t d = 0; d < rank; ++d)
    s.push_back(added[static_cast<size_t>(d)] ? 1 : in[0].shape[k++]);
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

Status CopyBytes(const OnnxNode&, std::span<const TensorView> in, std::span<const TensorView> out) {
  std::memcpy(out[0].data, in[0].data, static_cast<size_t>(in[0].elements()) * ElemSize(in[0]));
  return Status::Ok();
}

// ---- Transpose, Concat, Gather ----------------------------------------------------------------

StatusOr<std::vector<int64_t>> Perm(const OnnxNode& n, size_t rank) {
  std::vector<int64_t> perm(rank);
  std::iota(perm.rbegin(), perm.rend(), 0);  // default: reverse
  ASSIGN_OR_RETURN(perm, n.Get<std::vector<int64_t>>("perm", perm));
  if (perm.size() != rank) return NodeError(n, "perm has the wrong length");
  return perm;
}

Status TransposeShape(const OnnxNode& n, std::span<const TensorView> in,
                      std::vector<TensorView>* out) {
  ASSIGN_OR_RETURN(auto perm, Perm(n, in[0].shape.size()));
  // A permutation of the input's axes: each once (a repeated axis would read past the input).
  if (perm.size() != in[0].shape.size()) {
    return NodeError(n, "perm has " + std::to_string(perm.size()) + " axes, the input " +
                            std::to_string(in[0].shape.size()));
  }
  std::vector<bool> used(perm.size(), false);
  Shape s;
  for (int64_t p : perm) {
    if (p < 0 || p >= static_cast<int64_t>(in[0].shape.size()) || used[static_cast<size_t>(p)]) {
      return NodeError(n, "perm is not a permutation of the input's axes");
    }
    used[static_cast<size_t>(p)] = true;
    s.push_back(in[0].shape[static_cast<size_t>(p)]);
  }
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

Status TransposeKernel(const OnnxNode& n, std::span<const TensorView> in,
                       std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(auto perm, Perm(n, in[0].shape.size()));
  if (perm.size() > static_cast<size_t>(kMaxRank)) return NodeError(n, "rank above 8");
  const auto in_strides = Strides(in[0].shape);
  std::vector<int64_t> strides(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) strides[d] = in_strides[static_cast<size_t>(perm[d])];
  StridedCopy(out[0].data, in[0].data, out[0].shape, strides, ElemSize(in[0]));
  return Status::Ok();
}

Status ConcatShape(const OnnxNode& n, std::span<const TensorView> in,
                   std::vector<TensorView>* out) {
  if (in.empty()) return NodeError(n, "needs inputs");
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 0));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  Shape s = in[0].shape;
  s[static_cast<size_t>(axis)] = 0;
  for (const auto& v : in) {
    if (v.shape.size() != static_cast<size_t>(rank) || v.dtype != in[0].dtype) {
      return NodeError(n, "inputs differ in rank or datatype");
    }
    for (int64_t d = 0; d < rank; ++d) {
      if (d != axis && v.shape[static_cast<size_t>(d)] != s[static_cast<size_t>(d)]) {
        return NodeError(n, "inputs differ outside the axis");
      }
    }
    if (__builtin_add_overflow(s[static_cast<size_t>(axis)], v.shape[static_cast<size_t>(axis)],
                               &s[static_cast<size_t>(axis)])) {
      return NodeError(n, "the concatenated axis overflows");
    }
  }
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

Status ConcatKernel(const OnnxNode& n, std::span<const TensorView> in,
                    std::span<const TensorView> out) {
  const int64_t rank = static_cast<int64_t>(out[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 0));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out[0].shape[static_cast<size_t>(d)];
  const size_t es = ElemSize(out[0]);
  auto* dst = static_cast<uint8_t*>(out[0].data);
  for (int64_t o = 0; o < outer; ++o) {
    for (const auto& v : in) {
      const size_t chunk = static_cast<size_t>(v.elements() / std::max<int64_t>(outer, 1)) * es;
      std::memcpy(dst, static_cast<const uint8_t*>(v.data) + static_cast<size_t>(o) * chunk, chunk);
      dst += chunk;
    }
  }
  return Status::Ok();
}

Status GatherShape(const OnnxNode& n, std::span<const TensorView> in,
                   std::vector<TensorView>* out) {
  if (in.size() != 2) return NodeError(n, "takes data and indices");
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 0));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  if (in[1].dtype != DataType::kInt64 && in[1].dtype != DataType::kInt32) {
    return NodeError(n, "indices must be INT64 or INT32");
  }
  Shape s(in[0].shape.begin(), in[0].shape.begin() + axis);
  s.insert(s.end(), in[1].shape.begin(), in[1].shape.end());
  s.insert(s.end(), in[0].shape.begin() + axis + 1, in[0].shape.end());
  out->assign(1, TensorView{in[0].dtype, s, nullptr});
  return Status::Ok();
}

Status GatherKernel(const OnnxNode& n, std::span<const TensorView> in,
                    std::span<const TensorView> out) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 0));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in[0].shape[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= in[0].shape[static_cast<size_t>(d)];
  const int64_t dim = in[0].shape[static_cast<size_t>(axis)];
  const int64_t count = in[1].elements();
  const size_t es = ElemSize(in[0]);
  const auto* src = static_cast<const uint8_t*>(in[0].data);
  auto* dst = static_cast<uint8_t*>(out[0].data);
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < count; ++i) {
      int64_t k = in[1].dtype == DataType::kInt64 ? in[1].as<int64_t>()[i] : in[1].as<int32_t>()[i];
      if (k < 0) k += dim;
      if (k < 0 || k >= dim) return NodeError(n, "index " + std::to_string(k) + " is out of range");
      std::memcpy(dst, src + static_cast<size_t>((o * dim + k) * inner) * es,
                  static_cast<size_t>(inner) * es);
      dst += static_cast<size_t>(inner) * es;
    }
  }
  return Status::Ok();
}

// ---- ReduceMean/Sum/Max, ArgMax, Split --------------------------------------------------------

// The reduced axes (all when none are given, unless noop_with_empty_axes), from the attribute
// (before opset 18, and ReduceSum before 13) or the second input.
StatusOr<std::vector<bool>> ReducedAxes(const OnnxNode& n, std::span<const TensorView> in) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  std::vector<int64_t> axes;
  if (in.size() > 1 && in[1].present) {
    ASSIGN_OR_RETURN(axes, ConstInts(n, in[1], "axes"));
  } else {
    ASSIGN_OR_RETURN(axes, n.Get<std::vector<int64_t>>("axes", {}));
  }
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  ASSIGN_OR_RETURN(int64_t noop, n.Get<int64_t>("noop_with_empty_axes", 0));
  if (axes.empty() && noop) reduced.assign(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int64_t ax, NormalizeAxis(n, a, rank));
    reduced[static_cast<size_t>(ax)] = true;
  }
  return reduced;
}

Status ReduceShape(const OnnxNode& n, std::span<const TensorView> in,
                   std::vector<TensorView>* out) {
  if (in[0].dtype != DataType::kFp32) return NodeError(n, "computes in FP32");
  ASSIGN_OR_RETURN(auto reduced, ReducedAxes(n, in));
  ASSIGN_OR_RETURN(int64_t keep, n.Get<int64_t>("keepdims", 1));
  Shape s;
  for (size_t d = 0; d < reduced.size(); ++d) {
    if (!reduced[d]) {
      s.push_back(in[0].shape[d]);
    } else if (keep) {
      s.push_back(1);
    }
  }
  out->assign(1, TensorView{DataType::kFp32, s, nullptr});
  return Status::Ok();
}

enum class Reduce { kMean, kSum, kMax };

template <Reduce R>
Status ReduceKernel(const OnnxNode& n, std::span<const TensorView> in,
                    std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(auto reduced, ReducedAxes(n, in));
  const Shape& s = in[0].shape;
  const size_t rank = s.size();
  // Output index of each input element: strides of the kept dimensions.
  std::vector<int64_t> out_stride(rank, 0);
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    if (!reduced[d]) {
      out_stride[d] = stride;
      stride *= s[d];
    }
  }
  const int64_t out_count = out[0].elements();
  float* y = out[0].as<float>();
  std::fill(y, y + out_count, R == Reduce::kMax ? -INFINITY : 0.0f);
  const float* x = in[0].as<float>();
  auto combine = [](float acc, float v) {
    if constexpr (R == Reduce::kMax) {
      return std::max(acc, v);
    } else {
      return acc + v;
    }
  };
  // Reduced axes that form one block: [outer, reduced, inner] with a contiguous inner loop.
  size_t first = rank, last = 0;
  for (size_t d = 0; d < rank; ++d) {
    if (reduced[d] && s[d] != 1) {
      first = std::min(first, d);
      last = d;
    }
  }
  bool block = true;
  for (size_t d = first; d <= last && d < rank; ++d) block = block && (reduced[d] || s[d] == 1);
  if (block && rank <= static_cast<size_t>(kMaxRank)) {
    int64_t outer = 1, red = 1, inner = 1;
    for (size_t d = 0; d < rank; ++d) (d < first ? outer : d <= last ? red : inner) *= s[d];
    if (first == rank) red = 1, outer = in[0].elements(), inner = 1;
    for (int64_t o = 0; o < outer; ++o) {
      float* yo = y + o * inner;
      for (int64_t r = 0; r < red; ++r) {
        const float* xr = x + (o * red + r) * inner;
        for (int64_t i = 0; i < inner; ++i) yo[i] = combine(yo[i], xr[i]);
      }
    }
    if constexpr (R == Reduce::kMean) {
      for (int64_t i = 0; i < out_count; ++i) y[i] /= static_cast<float>(red);
    }
    return Status::Ok();
  }
  std::vector<int64_t> idx(rank, 0);
  int64_t o = 0;
  const int64_t count = in[0].elements();
  for (int64_t i = 0; i < count; ++i) {
    if constexpr (R == Reduce::kMax) {
      y[o] = std::max(y[o], x[i]);
    } else {
      y[o] += x[i];
    }
    for (size_t d = rank; d-- > 0;) {
      ++idx[d];
      o += out_stride[d];
      if (idx[d] < s[d]) break;
      o -= out_stride[d] * idx[d];
      idx[d] = 0;
    }
  }
  if constexpr (R == Reduce::kMean) {
    const float per = static_cast<float>(count / std::max<int64_t>(out_count, 1));
    for (int64_t i = 0; i < out_count; ++i) y[i] /= per;
  }
  return Status::Ok();
}

Status ArgMaxShape(const OnnxNode& n, std::span<const TensorView> in,
                   std::vector<TensorView>* out) {
  if (in[0].dtype != DataType::kFp32) return NodeError(n, "computes in FP32");
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 0));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  ASSIGN_OR_RETURN(int64_t keep, n.Get<int64_t>("keepdims", 1));
  Shape s = in[0].shape;
  if (keep) {
    s[static_cast<size_t>(axis)] = 1;
  } else {
    s.erase(s.begin() + axis);
  }
  out->assign(1, TensorView{DataType::kInt64, s, nullptr});
  return Status::Ok();
}

Status ArgMaxKernel(const OnnxNode& n, std::span<const TensorView> in,
                    std::span<const TensorView> out) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 0));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  ASSIGN_OR_RETURN(int64_t last, n.Get<int64_t>("select_last_index", 0));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= in[0].shape[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank; ++d) inner *= in[0].shape[static_cast<size_t>(d)];
  const int64_t len = in[0].shape[static_cast<size_t>(axis)];
  const float* x = in[0].as<float>();
  int64_t* y = out[0].as<int64_t>();
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i) {
      int64_t best = 0;
      for (int64_t j = 1; j < len; ++j) {
        const float v = x[(o * len + j) * inner + i], b = x[(o * len + best) * inner + i];
        if (v > b || (last && v == b)) best = j;
      }
      y[o * inner + i] = best;
    }
  }
  return Status::Ok();
}

StatusOr<std::vector<int64_t>> SplitSizes(const OnnxNode& n, std::span<const TensorView> in,
                                          size_t outputs, int64_t dim) {
  std::vector<int64_t> sizes;
  if (in.size() > 1 && in[1].present) {
    ASSIGN_OR_RETURN(sizes, ConstInts(n, in[1], "split"));
  } else {
    ASSIGN_OR_RETURN(sizes, n.Get<std::vector<int64_t>>("split", {}));
  }
  if (sizes.empty()) {
    if (outputs == 0) return NodeError(n, "no outputs");
    const int64_t each = (dim + static_cast<int64_t>(outputs) - 1) / static_cast<int64_t>(outputs);
    for (size_t i = 0; i < outputs; ++i) {
      sizes.push_back(std::min(each, dim - each * static_cast<int64_t>(i)));
    }
  }
  int64_t total = 0;
  for (int64_t size : sizes) {
    if (size < 0 || __builtin_add_overflow(total, size, &total)) {
      return NodeError(n, "split sizes must be >= 0 and add up to the axis length");
    }
  }
  if (total != dim) return NodeError(n, "split sizes do not add up to the axis length");
  return sizes;
}

Status SplitShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 0));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  size_t outputs = 0;
  for (int id : n.outputs) outputs += id >= 0 ? 1 : 0;
  ASSIGN_OR_RETURN(auto sizes, SplitSizes(n, in, outputs, in[0].shape[static_cast<size_t>(axis)]));
  out->clear();
  for (int64_t sz : sizes) {
    Shape s = in[0].shape;
    s[static_cast<size_t>(axis)] = sz;
    out->push_back(TensorView{in[0].dtype, s, nullptr});
  }
  return Status::Ok();
}

Status SplitKernel(const OnnxNode& n, std::span<const TensorView> in,
                   std::span<const TensorView> out) {
  const int64_t rank = static_cast<int64_t>(in[0].shape.size());
  if (rank > kMaxRank) return NodeError(n, "rank above 8");
  ASSIGN_OR_RETURN(int64_t axis, n.Get<int64_t>("axis", 0));
  ASSIGN_OR_RETURN(axis, NormalizeAxis(n, axis, rank));
  // Each output is a strided view of the input, starting further along the axis.
  const auto strides = Strides(in[0].shape);
  const size_t es = ElemSize(in[0]);
  const auto* src = static_cast<const uint8_t*>(in[0].data);
  int64_t start = 0;
  for (const auto& v : out) {
    StridedCopy(v.data, src + start * strides[static_cast<size_t>(axis)] * es, v.shape, strides,
                es);
    start += v.shape[static_cast<size_t>(axis)];
  }
  return Status::Ok();
}

}  // namespace

void AddShapeOps(std::map<std::string, OpDef, std::less<>>* ops) {
  ops->insert({
      {"Constant", {ConstantShape, ConstantKernel}},
      {"Shape", {ShapeShape, ShapeKernel, /*shape_only=*/true}},
      {"Cast", {CastShape, CastKernel}},
      {"ConstantOfShape", {ConstantOfShapeShape, ConstantOfShapeKernel}},
      {"Reshape", {ReshapeShape, CopyBytes, false, /*alias=*/true}},
      {"Squeeze", {SqueezeShape, CopyBytes, false, /*alias=*/true}},
      {"Unsqueeze", {UnsqueezeShape, CopyBytes, false, /*alias=*/true}},
      {"Transpose", {TransposeShape, TransposeKernel}},
      {"Concat", {ConcatShape, ConcatKernel}},
      {"Gather", {GatherShape, GatherKernel}},
      {"ReduceMean", {ReduceShape, ReduceKernel<Reduce::kMean>}},
      {"ReduceSum", {ReduceShape, ReduceKernel<Reduce::kSum>}},
      {"ReduceMax", {ReduceShape, ReduceKernel<Reduce::kMax>}},
      {"ArgMax", {ArgMaxShape, ArgMaxKernel}},
      {"Split", {SplitShape, SplitKernel}},
  });
}

}  // namespace inferd::backends::onnx
