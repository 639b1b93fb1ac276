// DataType: the tensor element types of the Open Inference Protocol, with their wire names.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace inferd::tensor {

enum class DataType : uint8_t {
  kBool,
  kUint8,
  kUint16,
  kUint32,
  kUint64,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kFp16,
  kFp32,
  kFp64,
  kBytes,
};

// "FP32", "INT64", ... as the protocol spells them.
std::string_view DataTypeName(DataType t);
// Parses a protocol name; nullopt when it names no type.
std::optional<DataType> DataTypeFromName(std::string_view name);
// Bytes per element; 0 for BYTES (variable length).
size_t DataTypeSize(DataType t);
bool IsFloating(DataType t);
bool IsInteger(DataType t);

// Calls fn(T{}) with the C++ element type of `t` (bool for BOOL) and returns true; returns false
// for FP16 and BYTES, which have no numeric C++ type here.
template <typename Fn>
bool VisitNumericType(DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kBool:
      fn(bool{});
      return true;
    case DataType::kUint8:
      fn(uint8_t{});
      return true;
    case DataType::kUint16:
      fn(uint16_t{});
      return true;
    case DataType::kUint32:
      fn(uint32_t{});
      return true;
    case DataType::kUint64:
      fn(uint64_t{});
      return true;
    case DataType::kInt8:
      fn(int8_t{});
      return true;
    case DataType::kInt16:
      fn(int16_t{});
      return true;
    case DataType::kInt32:
      fn(int32_t{});
      return true;
    case DataType::kInt64:
      fn(int64_t{});
      return true;
    case DataType::kFp32:
      fn(float{});
      return true;
    case DataType::kFp64:
      fn(double{});
      return true;
    default:
      return false;
  }
}

}  // namespace inferd::tensor
