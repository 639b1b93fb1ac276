#include "api/http/json_tensor.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace inferd::api::http {

using base::InvalidArgument;
using base::Status;
namespace dom = simdjson::dom;

simdjson::dom::parser& ThreadParser() {
  thread_local dom::parser parser = [] {
    dom::parser p;
    auto err = p.allocate(1 << 16, kMaxJsonDepth);
    if (err) std::abort();  // out of memory at thread start
    return p;
  }();
  return parser;
}

Status JsonParseError(simdjson::error_code code) {
  if (code == simdjson::DEPTH_ERROR) {
    return InvalidArgument("request JSON is nested deeper than " + std::to_string(kMaxJsonDepth) +
                           " levels");
  }
  if (code == simdjson::EMPTY) return InvalidArgument("request body is empty (expected JSON)");
  return InvalidArgument(std::string("malformed JSON: ") + simdjson::error_message(code));
}

namespace {

template <typename T>
void Put(std::vector<uint8_t>* out, T v) {
  size_t at = out->size();
  out->resize(at + sizeof(T));
  std::memcpy(out->data() + at, &v, sizeof(T));
}

template <typename T>
Status PutInteger(dom::element e, const std::string& what, std::vector<uint8_t>* out) {
  int64_t i;
  uint64_t u;
  if (e.get_int64().get(i) == simdjson::SUCCESS) {
    if (!std::in_range<T>(i)) {
      return InvalidArgument("tensor '" + what + "': value " + std::to_string(i) +
                             " is out of range for its datatype");
    }
    Put(out, static_cast<T>(i));
    return Status::Ok();
  }
  if (e.get_uint64().get(u) == simdjson::SUCCESS) {
    if (!std::in_range<T>(u)) {
      return InvalidArgument("tensor '" + what + "': value " + std::to_string(u) +
                             " is out of range for its datatype");
    }
    Put(out, static_cast<T>(u));
    return Status::Ok();
  }
  return InvalidArgument("tensor '" + what + "': expected an integer, got " +
                         (e.is_double() ? std::string("a fractional number")
                          : e.is_null() ? std::string("null")
                                        : std::string(simdjson::to_string(e).substr(0, 40))));
}

Status PutOne(dom::element e, tensor::DataType dtype, const std::string& what,
              std::vector<uint8_t>* out) {
  using tensor::DataType;
  switch (dtype) {
    case DataType::kFp32:
    case DataType::kFp64: {
      double d;
      if (e.is_null()) {
        d = std::numeric_limits<double>::quiet_NaN();
      } else if (e.get_double().get(d) != simdjson::SUCCESS) {
        // get_double() also accepts integers.
        return InvalidArgument("tensor '" + what + "': expected a number or null, got " +
                               std::string(simdjson::to_string(e).substr(0, 40)));
      }
      if (dtype == DataType::kFp32) {
        Put(out, static_cast<float>(d));
      } else {
        Put(out, d);
      }
      return Status::Ok();
    }
    case DataType::kBool: {
      bool b;
      if (e.get_bool().get(b) != simdjson::SUCCESS) {
        return InvalidArgument("tensor '" + what + "': expected true or false");
      }
      Put(out, static_cast<uint8_t>(b));
      return Status::Ok();
    }
    case DataType::kUint8:
      return PutInteger<uint8_t>(e, what, out);
    case DataType::kUint16:
      return PutInteger<uint16_t>(e, what, out);
    case DataType::kUint32:
      return PutInteger<uint32_t>(e, what, out);
    case DataType::kUint64:
      return PutInteger<uint64_t>(e, what, out);
    case DataType::kInt8:
      return PutInteger<int8_t>(e, what, out);
    case DataType::kInt16:
      return PutInteger<int16_t>(e, what, out);
    case DataType::kInt32:
      return PutInteger<int32_t>(e, what, out);
    case DataType::kInt64:
      return PutInteger<int64_t>(e, what, out);
    default:
      return InvalidArgument("tensor '" + what + "': datatype " +
                             std::string(tensor::DataTypeName(dtype)) +
                             " is not supported in JSON requests");
  }
}

}  // namespace

Status AppendJsonElements(dom::element value, tensor::DataType dtype, const std::string& what,
                          size_t limit, std::vector<uint8_t>* out, size_t* count) {
  dom::array arr;
  if (value.get_array().get(arr) == simdjson::SUCCESS) {
    for (dom::element child : arr) {
      RETURN_IF_ERROR(AppendJsonElements(child, dtype, what, limit, out, count));
    }
    return Status::Ok();
  }
  if (++*count > limit) {
    return InvalidArgument("tensor '" + what + "': data has more elements than its shape allows (" +
                           std::to_string(limit) + ")");
  }
  return PutOne(value, dtype, what, out);
}

}  // namespace inferd::api::http
