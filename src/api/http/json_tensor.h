// Decoding of JSON tensor data (flat or nested arrays of numbers) into typed tensors, shared by the
// Open Inference Protocol and TF Serving codecs. `null` in a floating tensor is a missing value
// (NaN); everywhere else it is an error. BYTES elements are strings (null: an empty element).
// Thread-safety: pure functions.
#pragma once

#include <simdjson.h>

#include <string>

#include "base/status.h"
#include "tensor/tensor.h"

namespace inferd::api::http {

// Appends the elements of `data` to `out` as `dtype`. `data` is either a flat array of
// ElementCount(shape) values, or arrays nested exactly as `shape` (a ragged or mis-nested array is
// an error; `shape` has no negative dimensions). `what` names the tensor in errors. Errors are
// INVALID_ARGUMENT naming the tensor and the problem (count, nesting, a value of the wrong kind).
base::Status AppendJsonTensorData(simdjson::dom::element data, tensor::DataType dtype,
                                  const std::string& what, const tensor::Shape& shape,
                                  std::vector<uint8_t>* out);

// The simdjson parser of this thread, with a bounded nesting depth (kMaxJsonDepth).
simdjson::dom::parser& ThreadParser();
inline constexpr size_t kMaxJsonDepth = 64;

// Scope of one use of ThreadParser(): on exit, a parser that grew past kParserKeepBytes for a large
// body gives that memory back, so one big request does not pin memory per thread for good.
// Nothing parsed may be used after the scope ends.
class ParserScope {
 public:
  ParserScope() = default;
  ~ParserScope();
  ParserScope(const ParserScope&) = delete;
  ParserScope& operator=(const ParserScope&) = delete;
};
inline constexpr size_t kParserKeepBytes = 1 << 20;

// A readable message for a simdjson parse error.
base::Status JsonParseError(simdjson::error_code code);

}  // namespace inferd::api::http
