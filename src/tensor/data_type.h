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

}  // namespace inferd::tensor
