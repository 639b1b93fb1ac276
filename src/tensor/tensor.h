// Tensor: a named, typed, shaped block of elements in row-major order, owning its bytes.
// Thread-safety: a value type; concurrent const access is safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tensor/data_type.h"

namespace inferd::tensor {

using Shape = std::vector<int64_t>;

// Product of the dimensions; -1 when a dimension is negative or the product overflows int64.
int64_t ElementCount(const Shape& shape);
// "[1,30]".
std::string ShapeToString(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor. Precondition: fixed-size dtype, non-negative dims.
  Tensor(std::string name, DataType dtype, Shape shape);
  // A BYTES tensor: `serialized` holds each element as a 4-byte little-endian length and its
  // bytes (the Open Inference Protocol's binary form). Errors: INVALID_ARGUMENT when the framing
  // does not hold exactly ElementCount(shape) elements.
  static base::StatusOr<Tensor> Bytes(std::string name, Shape shape,
                                      std::vector<uint8_t> serialized);

  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }
  DataType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  // Changes the shape keeping the elements. Precondition: same element count.
  void Reshape(Shape shape);
  int64_t element_count() const { return ElementCount(shape_); }
  size_t byte_size() const { return bytes_.size(); }

  template <typename T>
  std::span<T> data() {
    return {reinterpret_cast<T*>(bytes_.data()), bytes_.size() / sizeof(T)};
  }
  template <typename T>
  std::span<const T> data() const {
    return {reinterpret_cast<const T*>(bytes_.data()), bytes_.size() / sizeof(T)};
  }
  std::span<uint8_t> bytes() { return bytes_; }
  std::span<const uint8_t> bytes() const { return bytes_; }

 private:
  std::string name_;
  DataType dtype_ = DataType::kFp32;
  Shape shape_;
  std::vector<uint8_t> bytes_;
};

// Appends one BYTES element (length prefix and bytes) to `out`.
void AppendBytesElement(std::string_view element, std::vector<uint8_t>* out);
// The elements of a BYTES tensor (views into its bytes). Precondition: dtype kBytes.
std::vector<std::string_view> BytesElements(const Tensor& t);

// Batch helpers for the dynamic batcher. ConcatRows joins tensors along dimension 0; they must
// have the same dtype and the same other dimensions (INVALID_ARGUMENT otherwise). The result is
// named `name`.
base::StatusOr<Tensor> ConcatRows(const std::vector<const Tensor*>& parts, std::string name);
// SplitRows cuts `t` along dimension 0 into parts of `rows[i]` rows each (they must add up to
// dimension 0: INVALID_ARGUMENT otherwise); each part keeps t's name.
base::StatusOr<std::vector<Tensor>> SplitRows(const Tensor& t, const std::vector<int64_t>& rows);

// Converts every element of `in` to `to` (numeric types and BOOL). Floating to integer truncates
// toward zero and fails on NaN or out-of-range values; integers to FP32 round to nearest.
base::StatusOr<Tensor> ConvertTo(const Tensor& in, DataType to);

}  // namespace inferd::tensor
