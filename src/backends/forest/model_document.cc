#include "backends/forest/model_document.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <string>
#include <string_view>
#include <utility>

#include "backend/model_file.h"
#include "simdjson.h"

namespace inferd::backends::forest {
namespace {

// A model file read by ReadModelFile has simdjson's padding: it is parsed in place.
static_assert(backend::kModelFilePadding >= simdjson::SIMDJSON_PADDING);

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
  // Most documents have no capital N or I at all (memchr runs at memory speed): nothing to do.
  if (std::memchr(in.data(), 'N', in.size()) == nullptr &&
      std::memchr(in.data(), 'I', in.size()) == nullptr) {
    return false;
  }
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

// The fast path for JSON: simdjson's on-demand parser walks the document once and builds the same
// tree DomBuilder would (floats parsed from their text straight to float32 with from_chars, which
// rounds correctly, as strtof does). It gives up, returning false, on anything it does not take
// (a syntax error, a limit): the nlohmann path then parses the document again and says exactly
// what is wrong where.
class FastJson {
 public:
  FastJson(const NonFiniteMarkers* markers, DocumentMode mode) : markers_(markers), mode_(mode) {}

  bool Parse(std::span<const uint8_t> bytes, size_t readable, ModelJson* root) {
    simdjson::ondemand::parser parser;
    simdjson::ondemand::document doc;
    simdjson::padded_string padded;
    if (readable >= bytes.size() + simdjson::SIMDJSON_PADDING) {
      // In place: the caller's buffer has the padding simdjson reads past the end.
      if (parser.iterate(reinterpret_cast<const char*>(bytes.data()), bytes.size(), readable)
              .get(doc) != simdjson::SUCCESS) {
        return false;
      }
    } else {
      padded = simdjson::padded_string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      if (parser.iterate(padded).get(doc) != simdjson::SUCCESS) return false;
    }
    simdjson::ondemand::value v;
    // A scalar document cannot be read as a value: no XGBoost model is one.
    if (doc.get_value().get(v) != simdjson::SUCCESS) return false;
    if (!Build(v, root, 0)) return false;
    // At the end of the document there is no current location; anything else is trailing input.
    const char* at = nullptr;
    return doc.current_location().get(at) == simdjson::OUT_OF_BOUNDS;
  }

 private:
  // Builds `v` into *out; with `out` null, only checks that it is well-formed JSON within the
  // depth limit, as the full parse would take it.
  bool Build(simdjson::ondemand::value v, ModelJson* out, size_t depth) {
    if (depth >= kMaxDepth) return false;
    simdjson::ondemand::json_type type;
    if (v.type().get(type) != simdjson::SUCCESS) return false;
    switch (type) {
      case simdjson::ondemand::json_type::object: {
        simdjson::ondemand::object obj;
        if (v.get_object().get(obj) != simdjson::SUCCESS) return false;
        ModelJson::object_t* map = nullptr;
        if (out != nullptr) {
          *out = ModelJson(ModelJson::value_t::object);
          map = &out->get_ref<ModelJson::object_t&>();
        }
        for (auto field : obj) {
          std::string_view key;
          if (field.unescaped_key().get(key) != simdjson::SUCCESS) return false;
          simdjson::ondemand::value child;
          if (field.value().get(child) != simdjson::SUCCESS) return false;
          if (map == nullptr) {
            if (!Build(child, nullptr, depth + 1)) return false;
            continue;
          }
          if (mode_ == DocumentMode::kForServing) {
            if (depth + 1 >= kMaxDepth) return false;
            // A per-node array ParseXgboostModel does not read: left out, but checked as JSON
            // (the full parse would refuse a malformed one).
            if (key == "parents" || key == "loss_changes" || key == "sum_hessian" ||
                key == "base_weights") {
              if (!Build(child, nullptr, depth + 1)) return false;
              continue;
            }
            const bool ints = key == "left_children" || key == "right_children" ||
                              key == "split_indices" || key == "default_left" ||
                              key == "split_type";
            if (ints || key == "split_conditions") {
              if (!Packed(child, ints, &(*map)[std::string(key)])) return false;
              continue;
            }
          }
          ModelJson& slot = (*map)[std::string(key)];  // a repeated key keeps the last, as nlohmann
          if (!Build(child, &slot, depth + 1)) return false;
        }
        return true;
      }
      case simdjson::ondemand::json_type::array: {
        simdjson::ondemand::array arr;
        if (v.get_array().get(arr) != simdjson::SUCCESS) return false;
        ModelJson::array_t* vec = nullptr;
        if (out != nullptr) {
          *out = ModelJson(ModelJson::value_t::array);
          vec = &out->get_ref<ModelJson::array_t&>();
        }
        for (auto element : arr) {
          simdjson::ondemand::value child;
          if (element.get(child) != simdjson::SUCCESS) return false;
          if (vec != nullptr) vec->emplace_back();
          if (!Build(child, vec != nullptr ? &vec->back() : nullptr, depth + 1)) return false;
        }
        return true;
      }
      case simdjson::ondemand::json_type::number: {
        std::string_view token;
        if (simdjson::simdjson_result<std::string_view>(v.raw_json_token()).get(token) !=
            simdjson::SUCCESS) {
          return false;
        }
        if (out != nullptr) return Number(token, out);
        // Any number in JSON's grammar (or a non-finite marker): the full parse takes them all
        // (out of range ones as infinities), so there is nothing to convert.
        token = TrimmedToken(token);
        return IsMarker(token) || JsonNumber(token);
      }
      case simdjson::ondemand::json_type::string: {
        std::string_view str;
        if (v.get_string().get(str) != simdjson::SUCCESS) return false;
        if (out != nullptr) *out = ModelJson(std::string(str));
        return true;
      }
      case simdjson::ondemand::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b) != simdjson::SUCCESS) return false;
        if (out != nullptr) *out = ModelJson(b);
        return true;
      }
      case simdjson::ondemand::json_type::null: {
        bool is_null = false;
        if (v.is_null().get(is_null) != simdjson::SUCCESS || !is_null) return false;
        if (out != nullptr) *out = ModelJson(nullptr);
        return true;
      }
    }
    return false;
  }

  // raw_json_token keeps trailing white space.
  static std::string_view TrimmedToken(std::string_view token) {
    while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\r' ||
                              token.back() == '\t')) {
      token.remove_suffix(1);
    }
    return token;
  }

  bool IsMarker(std::string_view token) const {
    return markers_ != nullptr &&
           (token == markers_->nan || token == markers_->inf || token == markers_->negative_inf);
  }

  // An array of integers (or booleans) as packed int64, or of numbers as packed float32, as
  // IntArray and FloatArray would read them. False for anything else (a string, a float among
  // integers, an integer out of int64's range): the full parse then reports it.
  bool Packed(simdjson::ondemand::value v, bool ints, ModelJson* out) {
    simdjson::ondemand::array arr;
    if (v.get_array().get(arr) != simdjson::SUCCESS) return false;
    ModelJson::binary_t::container_type bytes;
    const size_t width = ints ? sizeof(int64_t) : sizeof(float);
    ModelJson item;
    for (auto element : arr) {
      simdjson::ondemand::value child;
      if (element.get(child) != simdjson::SUCCESS) return false;
      if (ints) {
        // The common case: simdjson reads (and checks) the integer itself. (A non-finite marker,
        // 0e00..1, is not an integer to it: the retry fails, and so does the document, which
        // the full parse then reports.)
        int64_t i = 0;
        if (child.get_int64().get(i) != simdjson::SUCCESS) {
          bool b = false;
          if (child.get_bool().get(b) != simdjson::SUCCESS) return false;
          i = b ? 1 : 0;
        }
        const size_t at = bytes.size();
        bytes.resize(at + sizeof i);
        std::memcpy(bytes.data() + at, &i, sizeof i);
        continue;
      }
      simdjson::ondemand::json_type type;
      if (child.type().get(type) != simdjson::SUCCESS) return false;
      if (type == simdjson::ondemand::json_type::boolean && ints) {
        bool b;
        if (child.get_bool().get(b) != simdjson::SUCCESS) return false;
        item = ModelJson(static_cast<int64_t>(b ? 1 : 0));
      } else if (type == simdjson::ondemand::json_type::number) {
        std::string_view token;
        if (simdjson::simdjson_result<std::string_view>(child.raw_json_token()).get(token) !=
            simdjson::SUCCESS) {
          return false;
        }
        if (!Number(token, &item)) return false;
      } else {
        return false;
      }
      const size_t at = bytes.size();
      bytes.resize(at + width);
      if (ints) {
        if (item.is_number_float()) return false;
        if (item.is_number_unsigned() &&
            item.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return false;
        }
        const int64_t i = item.get<int64_t>();
        std::memcpy(bytes.data() + at, &i, sizeof i);
      } else {
        const float f = item.get<float>();
        std::memcpy(bytes.data() + at, &f, sizeof f);
      }
    }
    *out = ModelJson::binary(std::move(bytes), ints ? kPackedInt64 : kPackedFloat32);
    return true;
  }

  // A number token (raw_json_token keeps trailing white space): an integer when it has no
  // fraction or exponent (int64, else uint64), else a float32; the non-finite markers too.
  bool Number(std::string_view token, ModelJson* out) {
    token = TrimmedToken(token);
    if (markers_ != nullptr && token.size() == markers_->nan.size()) {
      if (token == markers_->nan) {
        *out = ModelJson(std::numeric_limits<float>::quiet_NaN());
        return true;
      }
      if (token == markers_->inf) {
        *out = ModelJson(std::numeric_limits<float>::infinity());
        return true;
      }
      if (token == markers_->negative_inf) {
        *out = ModelJson(-std::numeric_limits<float>::infinity());
        return true;
      }
    }
    // JSON's number grammar only (from_chars would also take "nan", "inf", "01" or "1.").
    if (!JsonNumber(token)) return false;
    const char* begin = token.data();
    const char* end = begin + token.size();
    if (token.find_first_of(".eE") == std::string_view::npos) {
      // As nlohmann: a negative integer is signed, a non-negative one unsigned.
      if (token.front() == '-') {
        int64_t i = 0;
        if (auto r = std::from_chars(begin, end, i); r.ec == std::errc() && r.ptr == end) {
          *out = ModelJson(i);
          return true;
        }
      } else {
        uint64_t u = 0;
        if (auto r = std::from_chars(begin, end, u); r.ec == std::errc() && r.ptr == end) {
          *out = ModelJson(u);
          return true;
        }
      }
      // Out of range: nlohmann reads it as a float.
    }
    float f = 0;
    auto r = std::from_chars(begin, end, f);
    if (r.ptr != end || (r.ec != std::errc() && r.ec != std::errc::result_out_of_range)) {
      return false;
    }
    if (r.ec == std::errc::result_out_of_range) return false;  // let nlohmann decide
    *out = ModelJson(f);
    return true;
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  static bool JsonNumber(std::string_view t) {
    size_t i = 0;
    auto digits = [&] {
      const size_t start = i;
      while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
      return i > start;
    };
    if (i < t.size() && t[i] == '-') ++i;
    if (i < t.size() && t[i] == '0') {
      ++i;
    } else if (i >= t.size() || t[i] < '1' || t[i] > '9' || !digits()) {
      return false;
    }
    if (i < t.size() && t[i] == '.') {
      ++i;
      if (!digits()) return false;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
      ++i;
      if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
      if (!digits()) return false;
    }
    return i == t.size();
  }

  const NonFiniteMarkers* markers_;
  DocumentMode mode_;
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

base::StatusOr<ModelJson> ParseModelDocument(std::span<const uint8_t> bytes, ModelFormat format,
                                             DocumentMode mode, size_t readable) {
  const char* kind = format == ModelFormat::kJson ? "JSON" : "UBJSON";
  if (bytes.empty()) return base::DataLoss("empty file");
  NonFiniteMarkers markers;
  std::vector<uint8_t> replaced;
  bool ok = false;
  try {
    if (format == ModelFormat::kJson && ReplaceNonFiniteTokens(bytes, &replaced, &markers)) {
      bytes = replaced;
      readable = 0;  // (the copy has no padding)
    }
  } catch (const std::bad_alloc&) {
    return base::ResourceExhausted("out of memory while reading the JSON document");
  }
  if (format == ModelFormat::kJson) {
    try {
      ModelJson root;
      if (FastJson(markers.nan.empty() ? nullptr : &markers, mode).Parse(bytes, readable, &root)) {
        return root;
      }
    } catch (const std::bad_alloc&) {
      return base::ResourceExhausted("out of memory while parsing the JSON document");
    } catch (const std::exception&) {
      // (simdjson refused something): the nlohmann path below reports it.
    }
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
