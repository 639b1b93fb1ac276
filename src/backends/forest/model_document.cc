#include "backends/forest/model_document.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <utility>

namespace inferd::backends::forest {
namespace {

// XGBoost's JSON writer prints non-finite floats as the bare tokens NaN, Infinity and -Infinity
// (a categorical split's split_conditions entry is NaN), which JSON does not allow. Before
// parsing, each such token outside strings is replaced by a number literal that cannot occur in
// the input: "0e", more zeros than the longest run of zeros in the input, then 1 (NaN),
// 2 (Infinity) or 3 (-Infinity); DomBuilder turns these literals back into the values.
struct NonFiniteMarkers {
  std::string nan, inf, negative_inf;  // empty: the input has no such token
};

bool IsDelimiter(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ':' || c == '[' ||
         c == ']' || c == '{' || c == '}';
}

// Whether `in` holds the whole token `token` at `i` (delimiters or the ends around it).
bool At(std::span<const uint8_t> in, size_t i, std::string_view token) {
  return in.size() - i >= token.size() &&
         std::equal(token.begin(), token.end(), in.begin() + static_cast<std::ptrdiff_t>(i)) &&
         (i == 0 || IsDelimiter(in[i - 1])) &&
         (i + token.size() == in.size() || IsDelimiter(in[i + token.size()]));
}

// Copies `in` to `*out` with the non-finite tokens replaced, or returns false (and leaves `*out`
// alone) when there is none. Error positions reported for the copy are shifted by the
// replacements before them.
bool ReplaceNonFiniteTokens(std::span<const uint8_t> in, std::vector<uint8_t>* out,
                            NonFiniteMarkers* markers) {
  size_t longest_zeros = 0;
  size_t zeros = 0;
  bool found = false;
  bool in_string = false;
  bool escaped = false;
  for (const uint8_t c : in) {
    zeros = c == '0' ? zeros + 1 : 0;
    longest_zeros = std::max(longest_zeros, zeros);
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == 'N' || c == 'I') {  // outside strings only NaN and Infinity hold capitals
      found = true;
    }
  }
  if (!found) return false;
  const std::string prefix = "0e" + std::string(longest_zeros + 1, '0');
  markers->nan = prefix + "1";
  markers->inf = prefix + "2";
  markers->negative_inf = prefix + "3";
  out->clear();
  out->reserve(in.size() + 64);
  in_string = false;
  escaped = false;
  for (size_t i = 0; i < in.size();) {
    const uint8_t c = in[i];
    const std::string* replacement = nullptr;
    size_t length = 0;
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (At(in, i, "NaN")) {
      replacement = &markers->nan;
      length = 3;
    } else if (At(in, i, "Infinity")) {
      replacement = &markers->inf;
      length = 8;
    } else if (At(in, i, "-Infinity")) {
      replacement = &markers->negative_inf;
      length = 9;
    }
    if (replacement != nullptr) {
      out->insert(out->end(), replacement->begin(), replacement->end());
      i += length;
    } else {
      out->push_back(c);
      ++i;
    }
  }
  return true;
}

// A SAX handler that builds a ModelJson tree (like nlohmann's own DOM parser) and refuses
// input past the limits. Returning false stops the parser; nothing throws.
class DomBuilder {
 public:
  using number_integer_t = ModelJson::number_integer_t;
  using number_unsigned_t = ModelJson::number_unsigned_t;
  using number_float_t = ModelJson::number_float_t;
  using string_t = ModelJson::string_t;
  using binary_t = ModelJson::binary_t;

  DomBuilder(size_t input_size, const NonFiniteMarkers* markers)
      : input_size_(input_size), markers_(markers) {}

  bool null() { return Put(ModelJson(nullptr)) != nullptr; }
  bool boolean(bool v) { return Put(ModelJson(v)) != nullptr; }
  bool number_integer(number_integer_t v) { return Put(ModelJson(v)) != nullptr; }
  bool number_unsigned(number_unsigned_t v) { return Put(ModelJson(v)) != nullptr; }
  bool number_float(number_float_t v, const string_t& text) {
    if (markers_ != nullptr && text.size() == markers_->nan.size()) {
      if (text == markers_->nan) v = std::numeric_limits<number_float_t>::quiet_NaN();
      if (text == markers_->inf) v = std::numeric_limits<number_float_t>::infinity();
      if (text == markers_->negative_inf) v = -std::numeric_limits<number_float_t>::infinity();
    }
    return Put(ModelJson(v)) != nullptr;
  }
  bool string(string_t& v) { return Put(ModelJson(std::move(v))) != nullptr; }
  bool binary(binary_t& /*v*/) {
    limit_error_ = "binary values are not part of an XGBoost model";
    return false;
  }
  bool start_object(size_t n) { return Open(ModelJson::value_t::object, n); }
  bool key(string_t& k) {
    key_ = std::move(k);
    return true;
  }
  bool end_object() {
    stack_.pop_back();
    return true;
  }
  bool start_array(size_t n) { return Open(ModelJson::value_t::array, n); }
  bool end_array() {
    stack_.pop_back();
    return true;
  }
  bool parse_error(size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& e) {
    error_position_ = position;
    parse_error_ = e.what();
    return false;
  }

  ModelJson& root() { return root_; }
  const std::string& limit_error() const { return limit_error_; }
  const std::string& parse_error_text() const { return parse_error_; }
  size_t error_position() const { return error_position_; }

 private:
  static constexpr size_t kUnknownSize = static_cast<size_t>(-1);

  // Adds `v` under the open container (or as the root); returns where it now lives.
  ModelJson* Put(ModelJson&& v) {
    if (stack_.empty()) {
      root_ = std::move(v);
      return &root_;
    }
    ModelJson* top = stack_.back();
    if (top->is_array()) {
      top->get_ref<ModelJson::array_t&>().push_back(std::move(v));
      return &top->get_ref<ModelJson::array_t&>().back();
    }
    ModelJson& slot = top->get_ref<ModelJson::object_t&>()[key_];
    slot = std::move(v);
    return &slot;
  }

  bool Open(ModelJson::value_t type, size_t n) {
    if (stack_.size() >= kMaxDepth) {
      limit_error_ = "nesting deeper than " + std::to_string(kMaxDepth) + " levels";
      return false;
    }
    // A sized UBJSON container of nulls or booleans carries no bytes per element, so a count is
    // only believable up to the file size.
    if (n != kUnknownSize && n > input_size_) {
      limit_error_ = "a container claims " + std::to_string(n) + " elements, more than the " +
                     std::to_string(input_size_) + " bytes of the file";
      return false;
    }
    ModelJson* container = Put(ModelJson(type));
    if (type == ModelJson::value_t::array && n != kUnknownSize) {
      container->get_ref<ModelJson::array_t&>().reserve(n);
    }
    stack_.push_back(container);
    return true;
  }

  size_t input_size_;
  const NonFiniteMarkers* markers_;  // null when the input has no non-finite token
  ModelJson root_;
  std::vector<ModelJson*> stack_;  // open containers; pointers stay valid (see Put)
  std::string key_;
  std::string limit_error_;
  std::string parse_error_;
  size_t error_position_ = 0;
};

// "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." ->
// "syntax error ...".
std::string ShortParseMessage(const std::string& what) {
  std::string s = what;
  if (const size_t bracket = s.find("] ");
      s.rfind("[json.exception", 0) == 0 && bracket != std::string::npos) {
    s = s.substr(bracket + 2);
  }
  if (const size_t colon = s.find(": ");
      s.rfind("parse error", 0) == 0 && colon != std::string::npos) {
    s = s.substr(colon + 2);
  }
  return s;
}

}  // namespace

base::StatusOr<ModelJson> ParseModelDocument(std::span<const uint8_t> bytes, ModelFormat format) {
  const char* kind = format == ModelFormat::kJson ? "JSON" : "UBJSON";
  if (bytes.empty()) return base::DataLoss("empty file");
  NonFiniteMarkers markers;
  std::vector<uint8_t> replaced;
  bool ok = false;
  try {
    if (format == ModelFormat::kJson && ReplaceNonFiniteTokens(bytes, &replaced, &markers)) {
      bytes = replaced;
    }
  } catch (const std::bad_alloc&) {
    return base::ResourceExhausted("out of memory while reading the JSON document");
  }
  DomBuilder builder(bytes.size(), markers.nan.empty() ? nullptr : &markers);
  try {
    ok = ModelJson::sax_parse(bytes.begin(), bytes.end(), &builder,
                              format == ModelFormat::kJson ? ModelJson::input_format_t::json
                                                           : ModelJson::input_format_t::ubjson,
                              /*strict=*/true);
  } catch (const std::bad_alloc&) {
    return base::ResourceExhausted(std::string("out of memory while parsing the ") + kind +
                                   " document");
  } catch (const std::exception& e) {
    return base::DataLoss(std::string("malformed ") + kind + ": " + ShortParseMessage(e.what()));
  }
  if (ok) return std::move(builder.root());
  if (!builder.limit_error().empty()) {
    return base::DataLoss(std::string("malformed ") + kind + ": " + builder.limit_error());
  }
  const std::string detail = ShortParseMessage(builder.parse_error_text());
  const size_t pos = builder.error_position();
  // nlohmann reports the position one past the last byte it read; at or past the end of the
  // input, the document was cut short.
  if (pos >= bytes.size() && detail.find("unexpected end of input") != std::string::npos) {
    return base::DataLoss(std::string("truncated ") + kind + ": input ends at byte " +
                          std::to_string(bytes.size()) + " (" + detail + ")");
  }
  return base::DataLoss(std::string("malformed ") + kind + " at byte " + std::to_string(pos) +
                        ": " + detail);
}

}  // namespace inferd::backends::forest
