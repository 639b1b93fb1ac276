#include "tensor/tensor.h"

#include <cmath>
#include <limits>

namespace inferd::tensor {

int64_t ElementCount(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

std::string ShapeToString(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

Tensor::Tensor(std::string name, DataType dtype, Shape shape)
    : name_(std::move(name)), dtype_(dtype), shape_(std::move(shape)) {
  int64_t n = ElementCount(shape_);
  CHECK(n >= 0);
  CHECK(DataTypeSize(dtype_) > 0);
  bytes_.assign(static_cast<size_t>(n) * DataTypeSize(dtype_), 0);
}

void Tensor::Reshape(Shape shape) {
  CHECK(ElementCount(shape) == ElementCount(shape_));
  shape_ = std::move(shape);
}

namespace {

template <typename To, typename From>
bool ConvertOne(From v, To* out) {
  if constexpr (std::is_floating_point_v<To>) {
    *out = static_cast<To>(v);
    return true;
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (std::is_floating_point_v<From>) {
      if (std::isnan(v)) return false;
    }
    *out = v != From{};
    return true;
  } else if constexpr (std::is_floating_point_v<From>) {
    if (!std::isfinite(v)) return false;
    double t = std::trunc(static_cast<double>(v));
    if (t < static_cast<double>(std::numeric_limits<To>::lowest()) ||
        t > static_cast<double>(std::numeric_limits<To>::max())) {
      return false;
    }
    *out = static_cast<To>(t);
    return true;
  } else if constexpr (std::is_same_v<From, bool>) {
    *out = static_cast<To>(v ? 1 : 0);
    return true;
  } else {
    if (!std::in_range<To>(v)) return false;
    *out = static_cast<To>(v);
    return true;
  }
}

}  // namespace

base::StatusOr<Tensor> ConvertTo(const Tensor& in, DataType to) {
  if (in.dtype() == to) return in;
  Tensor out(in.name(), to, in.shape());
  base::Status status;
  bool handled = VisitNumericType(in.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    VisitNumericType(to, [&](auto to_tag) {
      using To = decltype(to_tag);
      auto src = in.data<From>();
      auto dst = out.data<To>();
      for (size_t i = 0; i < src.size(); ++i) {
        if (!ConvertOne<To, From>(src[i], &dst[i])) {
          status =
              base::InvalidArgument("tensor '" + in.name() + "': element " + std::to_string(i) +
                                    " does not fit in " + std::string(DataTypeName(to)));
          return;
        }
      }
    });
  });
  if (!handled || DataTypeSize(to) == 0 || to == DataType::kFp16) {
    return base::InvalidArgument("tensor '" + in.name() + "': cannot convert " +
                                 std::string(DataTypeName(in.dtype())) + " to " +
                                 std::string(DataTypeName(to)));
  }
  if (!status.ok()) return status;
  return out;
}

}  // namespace inferd::tensor
