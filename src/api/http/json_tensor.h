// Decoding of JSON tensor data (flat or nested arrays of numbers) into typed tensors, shared by the
// Open Inference Protocol and TF Serving codecs. `null` in a floating tensor is a missing value
// (NaN); everywhere else it is an error.
// Thread-safety: pure functions.
#pragma once

#include <simdjson.h>

#include <string>

#include "base/status.h"
#include "tensor/tensor.h"

namespace inferd::api::http {

// Appends the elements of `value` (a number, or arrays nested to any depth) to `out` as `dtype`.
// `what` names the tensor in errors. Stops with INVALID_ARGUMENT once more than `limit` elements
// are seen, or at the first element that is not a number of a kind `dtype` accepts.
base::Status AppendJsonElements(simdjson::dom::element value, tensor::DataType dtype,
                                const std::string& what, size_t limit, std::vector<uint8_t>* out,
                                size_t* count);

// The simdjson parser of this thread, with a bounded nesting depth (kMaxJsonDepth).
simdjson::dom::parser& ThreadParser();
inline constexpr size_t kMaxJsonDepth = 64;

// A readable message for a simdjson parse error.
base::Status JsonParseError(simdjson::error_code code);

}  // namespace inferd::api::http
