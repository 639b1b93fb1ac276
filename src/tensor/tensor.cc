#include "tensor/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstring>
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

base::StatusOr<Tensor> Tensor::Bytes(std::string name, Shape shape,
                                     std::vector<uint8_t> serialized) {
  const int64_t n = ElementCount(shape);
  if (n < 0) return base::InvalidArgument("tensor '" + name + "': invalid shape");
  size_t at = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (serialized.size() - at < 4) {
      return base::InvalidArgument("tensor '" + name + "': BYTES data ends after " +
                                   std::to_string(i) + " of " + std::to_string(n) +
                                   " elements (each is a 4-byte length and its bytes)");
    }
    uint32_t len;
    std::memcpy(&len, serialized.data() + at, 4);
    at += 4;
    if (serialized.size() - at < len) {
      return base::InvalidArgument("tensor '" + name + "': BYTES element " + std::to_string(i) +
                                   " claims " + std::to_string(len) + " bytes, " +
                                   std::to_string(serialized.size() - at) + " are left");
    }
    at += len;
  }
  if (at != serialized.size()) {
    return base::InvalidArgument("tensor '" + name + "': BYTES data has " +
                                 std::to_string(serialized.size() - at) + " bytes after its " +
                                 std::to_string(n) + " elements");
  }
  Tensor t;
  t.name_ = std::move(name);
  t.dtype_ = DataType::kBytes;
  t.shape_ = std::move(shape);
  t.bytes_ = std::move(serialized);
  return t;
}

void AppendBytesElement(std::string_view element, std::vector<uint8_t>* out) {
  const auto len = static_cast<uint32_t>(element.size());
  const size_t at = out->size();
  out->resize(at + 4 + element.size());
  std::memcpy(out->data() + at, &len, 4);
  if (!element.empty()) std::memcpy(out->data() + at + 4, element.data(), element.size());
}

std::vector<std::string_view> BytesElements(const Tensor& t) {
  CHECK(t.dtype() == DataType::kBytes);
  std::vector<std::string_view> out;
  const auto b = t.bytes();
  size_t at = 0;
  while (b.size() - at >= 4) {
    uint32_t len;
    std::memcpy(&len, b.data() + at, 4);
    at += 4;
    out.emplace_back(reinterpret_cast<const char*>(b.data() + at), len);
    at += len;
  }
  return out;
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

base::StatusOr<Tensor> ConcatRows(const std::vector<const Tensor*>& parts, std::string name) {
  if (parts.empty()) return base::InvalidArgument("nothing to concatenate");
  const Tensor& first = *parts[0];
  if (first.shape().empty()) return base::InvalidArgument("a scalar has no rows to concatenate");
  if (DataTypeSize(first.dtype()) == 0) {
    return base::InvalidArgument("cannot concatenate " + std::string(DataTypeName(first.dtype())) +
                                 " tensors");
  }
  Shape shape = first.shape();
  shape[0] = 0;
  for (const Tensor* p : parts) {
    if (p->dtype() != first.dtype() || p->shape().size() != shape.size() ||
        !std::equal(p->shape().begin() + 1, p->shape().end(), shape.begin() + 1)) {
      return base::InvalidArgument("cannot concatenate " + ShapeToString(p->shape()) + " " +
                                   std::string(DataTypeName(p->dtype())) + " to " +
                                   ShapeToString(first.shape()) + " " +
                                   std::string(DataTypeName(first.dtype())));
    }
    shape[0] += p->shape()[0];
  }
  Tensor out(std::move(name), first.dtype(), std::move(shape));
  size_t at = 0;
  for (const Tensor* p : parts) {
    if (p->byte_size() > 0) std::memcpy(out.bytes().data() + at, p->bytes().data(), p->byte_size());
    at += p->byte_size();
  }
  return out;
}

base::StatusOr<std::vector<Tensor>> SplitRows(const Tensor& t, const std::vector<int64_t>& rows) {
  if (t.shape().empty()) return base::InvalidArgument("a scalar has no rows to split");
  int64_t total = 0;
  for (int64_t r : rows) {
    if (r < 0) return base::InvalidArgument("negative row count");
    total += r;
  }
  if (total != t.shape()[0]) {
    return base::InvalidArgument("tensor '" + t.name() + "' has " + std::to_string(t.shape()[0]) +
                                 " rows, not " + std::to_string(total));
  }
  std::vector<Tensor> out;
  size_t at = 0;
  for (int64_t r : rows) {
    Shape s = t.shape();
    s[0] = r;
    Tensor part(t.name(), t.dtype(), std::move(s));
    if (part.byte_size() > 0) {
      std::memcpy(part.bytes().data(), t.bytes().data() + at, part.byte_size());
    }
    at += part.byte_size();
    out.push_back(std::move(part));
  }
  return out;
}

}  // namespace inferd::tensor
