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

ParserScope::~ParserScope() {
  auto& parser = ThreadParser();
  if (parser.capacity() > kParserKeepBytes) {
    auto err = parser.allocate(1 << 16, kMaxJsonDepth);
    if (err) std::abort();  // shrinking cannot fail short of memory corruption
  }
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
    case DataType::kBytes: {
      // A string; null is an empty (missing) element; a number or boolean is taken as its text.
      std::string_view sv;
      if (e.get_string().get(sv) == simdjson::SUCCESS) {
        tensor::AppendBytesElement(sv, out);
      } else if (e.is_null()) {
        tensor::AppendBytesElement({}, out);
      } else if (e.is_number() || e.is_bool()) {
        tensor::AppendBytesElement(simdjson::to_string(e), out);
      } else {
        return InvalidArgument("tensor '" + what + "': expected a string, got " +
                               std::string(simdjson::to_string(e).substr(0, 40)));
      }
      return Status::Ok();
    }
    default:
      return InvalidArgument("tensor '" + what + "': datatype " +
                             std::string(tensor::DataTypeName(dtype)) +
                             " is not supported in JSON requests");
  }
}

}  // namespace

namespace {

Status AppendNested(dom::element e, tensor::DataType dtype, const std::string& what,
                    const tensor::Shape& shape, size_t level, std::vector<uint8_t>* out) {
  dom::array arr;
  bool is_array = e.get_array().get(arr) == simdjson::SUCCESS;
  if (level == shape.size()) {
    if (is_array) {
      return InvalidArgument("tensor '" + what + "': data is nested deeper than its shape " +
                             tensor::ShapeToString(shape));
    }
    return PutOne(e, dtype, what, out);
  }
  if (!is_array) {
    return InvalidArgument("tensor '" + what + "': data nesting does not match shape " +
                           tensor::ShapeToString(shape) + ": found a value where level " +
                           std::to_string(level) + " needs a list of " +
                           std::to_string(shape[level]));
  }
  if (static_cast<int64_t>(arr.size()) != shape[level]) {
    return InvalidArgument("tensor '" + what + "': data nesting does not match shape " +
                           tensor::ShapeToString(shape) + ": a list at level " +
                           std::to_string(level) + " has " + std::to_string(arr.size()) +
                           " values, expected " + std::to_string(shape[level]));
  }
  for (dom::element child : arr) {
    RETURN_IF_ERROR(AppendNested(child, dtype, what, shape, level + 1, out));
  }
  return Status::Ok();
}

}  // namespace

Status AppendJsonTensorData(dom::element data, tensor::DataType dtype, const std::string& what,
                            const tensor::Shape& shape, std::vector<uint8_t>* out) {
  dom::array arr;
  if (data.get_array().get(arr) != simdjson::SUCCESS) {
    if (shape.empty()) return PutOne(data, dtype, what, out);  // a scalar
    return InvalidArgument("tensor '" + what + "': data must be a list");
  }
  const int64_t expected = tensor::ElementCount(shape);
  bool nested = arr.size() > 0 && arr.at(0).is_array();
  if (nested && shape.size() > 1) return AppendNested(data, dtype, what, shape, 0, out);
  // The common case, a flat list of numbers for a floating tensor, in one pass; anything
  // unexpected goes to the general path below, which names the problem.
  const bool fp32 = dtype == tensor::DataType::kFp32;
  if (!nested && (fp32 || dtype == tensor::DataType::kFp64) &&
      static_cast<int64_t>(arr.size()) == expected) {
    const size_t at = out->size();
    out->resize(at + static_cast<size_t>(expected) * (fp32 ? sizeof(float) : sizeof(double)));
    uint8_t* dst = out->data() + at;
    bool ok = true;
    for (dom::element e : arr) {
      double d;
      if (e.get_double().get(d) != simdjson::SUCCESS) {
        if (!e.is_null()) {
          ok = false;
          break;
        }
        d = std::numeric_limits<double>::quiet_NaN();
      }
      if (fp32) {
        const float f = static_cast<float>(d);
        std::memcpy(dst, &f, sizeof f);
        dst += sizeof f;
      } else {
        std::memcpy(dst, &d, sizeof d);
        dst += sizeof d;
      }
    }
    if (ok) return Status::Ok();
    out->resize(at);
  }
  size_t count = 0;
  for (dom::element e : arr) {
    if (e.is_array()) {
      return InvalidArgument("tensor '" + what + "': data mixes lists and values (shape " +
                             tensor::ShapeToString(shape) + ")");
    }
    if (static_cast<int64_t>(++count) > expected) break;
    RETURN_IF_ERROR(PutOne(e, dtype, what, out));
  }
  if (static_cast<int64_t>(arr.size()) != expected) {
    return InvalidArgument("tensor '" + what + "': shape " + tensor::ShapeToString(shape) +
                           " needs " + std::to_string(expected) + " elements, data has " +
                           std::to_string(arr.size()));
  }
  return Status::Ok();
}

}  // namespace inferd::api::http
