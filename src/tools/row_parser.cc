#include "tools/row_parser.h"

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <unordered_map>

namespace inferd::tools {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsBlank(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
  while (!s.empty() && (IsBlank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// A field quoted for an error message, cut to a readable length.
std::string Shown(std::string_view field) {
  constexpr size_t kMax = 40;
  std::string s(field.substr(0, kMax));
  if (field.size() > kMax) s += "...";
  return "'" + s + "'";
}

// The line that starts at `p`: [p, content_end) without its terminator; `next` is the start of
// the following line.
struct Line {
  const char* begin;
  const char* end;
  const char* next;
};

Line NextLine(const char* p, const char* limit) {
  const char* nl = static_cast<const char*>(std::memchr(p, '\n', limit - p));
  const char* eol = nl ? nl : limit;
  const char* le = eol;
  if (le > p && le[-1] == '\r') --le;
  return {p, le, nl ? nl + 1 : limit};
}

bool IsBlankLine(const Line& l) {
  for (const char* q = l.begin; q < l.end; ++q) {
    if (!IsBlank(*q)) return false;
  }
  return true;
}

constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

constexpr uint64_t kPow10Int[] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};

// SWAR digit scanning (the idea of fast_float's eight-digit parsing, for 0-8 digits): in the 8
// bytes `v` read from text (byte 0 first), the number of leading decimal digits.
inline int LeadingDigits(uint64_t v) {
  const uint64_t high = (v & 0xF0F0F0F0F0F0F0F0ULL) ^ 0x3030303030303030ULL;  // not 0x3_
  const uint64_t over = ((v + 0x0606060606060606ULL) & 0xF0F0F0F0F0F0F0F0ULL) ^
                        0x3030303030303030ULL;  // 0x3A-0x3F (a carry only disturbs later bytes)
  const uint64_t bad = high | over;
  return bad ? __builtin_ctzll(bad) >> 3 : 8;
}

// The value of the first n (1-8) digit bytes of v.
inline uint64_t DigitsValue(uint64_t v, int n) {
  if (n < 8) {  // keep the n digits as the last ones of eight, with '0's before them
    v <<= 8 * (8 - n);
    v |= 0x3030303030303030ULL >> (8 * n);
  }
  v = (v & 0x0F0F0F0F0F0F0F0FULL) * 2561 >> 8;
  v = (v & 0x00FF00FF00FF00FFULL) * 6553601 >> 16;
  return (v & 0x0000FFFF0000FFFFULL) * 42949672960001ULL >> 32;
}

// The common case of a CSV number, [-]digits[.digits] (at most 7 integer and 15 fraction digits,
// 19 in all; 8 bytes from `p` after the sign and after the '.' must be readable, up to `limit`):
// the value is m / 10^k with m <= 2^53 and k <= 15, one correctly rounded IEEE division (Clinger's
// fast path), so the same double as std::from_chars. Returns the end of the number, or nullptr
// when the text is outside that case (the caller falls back to from_chars).
inline const char* ParseSimpleDecimal(const char* p, const char* limit, double* out) {
  const bool neg = p < limit && *p == '-';
  p += neg;
  if (limit - p < 8) return nullptr;
  uint64_t v;
  std::memcpy(&v, p, 8);
  const int n1 = LeadingDigits(v);
  if (n1 == 8) return nullptr;
  uint64_t m = n1 ? DigitsValue(v, n1) : 0;
  p += n1;
  int n2 = 0;
  if (*p == '.') {
    ++p;
    if (limit - p < 8) return nullptr;
    std::memcpy(&v, p, 8);
    n2 = LeadingDigits(v);
    if (n2) m = m * kPow10Int[n2] + DigitsValue(v, n2);
    p += n2;
    if (n2 == 8 && limit - p >= 8) {  // 9 to 15 fraction digits (e.g. %.9g of small values)
      std::memcpy(&v, p, 8);
      const int n3 = LeadingDigits(v);
      if (n3 == 8 || n1 + n2 + n3 > 19) return nullptr;
      if (n3) m = m * kPow10Int[n3] + DigitsValue(v, n3);
      p += n3;
      n2 += n3;
    }
  }
  if (n1 + n2 == 0 || m > (uint64_t{1} << 53) || (p < limit && *p >= '0' && *p <= '9') ||
      (p < limit && (*p == 'e' || *p == 'E'))) {
    return nullptr;
  }
  double d = static_cast<double>(m);  // exact: m <= 2^53
  if (n2) d /= kPow10[n2];
  *out = neg ? -d : d;
  return p;
}

Status ColumnCountError(int64_t line, int64_t got, int64_t want) {
  return InvalidArgument("line " + std::to_string(line) + ": " + std::to_string(got) +
                         " columns, expected " + std::to_string(want));
}

Status NotANumber(int64_t line, int64_t column, std::string_view field) {
  return InvalidArgument("line " + std::to_string(line) + ", column " + std::to_string(column) +
                         ": " + Shown(Trim(field)) + " is not a number");
}

}  // namespace

bool IsMissingToken(std::string_view f) {
  return f.empty() || EqualsIgnoreCase(f, "na") || EqualsIgnoreCase(f, "n/a") ||
         EqualsIgnoreCase(f, "nan") || EqualsIgnoreCase(f, "null") || EqualsIgnoreCase(f, "none");
}

std::optional<double> ParseCsvNumber(std::string_view field) {
  std::string_view f = Trim(field);
  if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = Trim(f.substr(1, f.size() - 2));
  if (IsMissingToken(f)) return kNaN;
  if (f.front() == '+') {
    f.remove_prefix(1);
    if (f.empty() || f.front() == '-' || f.front() == '+') return std::nullopt;
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(f.data(), f.data() + f.size(), v);
  if (ptr != f.data() + f.size()) return std::nullopt;
  if (ec == std::errc::result_out_of_range) {
    // Overflow becomes +-inf and underflow 0 (or a subnormal), as strtod gives them.
    std::string copy(f);
    return std::strtod(copy.c_str(), nullptr);
  }
  if (ec != std::errc()) return std::nullopt;
  return v;
}

std::vector<std::string> SplitCsvLine(std::string_view line) {
  std::vector<std::string> fields;
  std::string cur;
  bool quoted = false, was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        cur += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        cur += c;
      }
    } else if (c == ',') {
      fields.push_back(was_quoted ? cur : std::string(Trim(cur)));
      cur.clear();
      was_quoted = false;
    } else if (c == '"' && Trim(cur).empty()) {
      cur.clear();
      quoted = was_quoted = true;
    } else if (!(was_quoted && IsBlank(c))) {
      cur += c;
    }
  }
  fields.push_back(was_quoted ? cur : std::string(Trim(cur)));
  return fields;
}

bool LooksLikeCsvHeader(std::string_view line) {
  bool names = false;
  for (const std::string& f : SplitCsvLine(line)) {
    std::optional<double> v = ParseCsvNumber(f);
    if (!v) {
      names = true;
    } else if (!std::isnan(*v)) {
      return false;  // a number: a data row (perhaps with a bad field, reported as such)
    }
  }
  return names;
}

StatusOr<RowLayout> MakeCsvLayout(const std::optional<std::vector<std::string>>& header,
                                  int64_t num_features,
                                  const std::vector<std::string>& feature_names) {
  RowLayout layout;
  layout.format = InputFormat::kCsv;
  layout.num_features = num_features;
  layout.num_columns = num_features;
  if (!header) return layout;
  const auto& names = *header;
  std::unordered_map<std::string_view, int32_t> index;
  for (size_t i = 0; i < feature_names.size(); ++i) {
    index.emplace(feature_names[i], static_cast<int32_t>(i));
  }
  std::vector<int32_t> map(names.size(), -1);
  std::vector<int64_t> column_of(feature_names.size(), -1);
  bool any = false;
  for (size_t j = 0; j < names.size(); ++j) {
    auto it = index.find(names[j]);
    if (it == index.end()) continue;
    any = true;
    if (column_of[it->second] >= 0) {
      return InvalidArgument("the header names feature '" + names[j] + "' twice (columns " +
                             std::to_string(column_of[it->second] + 1) + " and " +
                             std::to_string(j + 1) + ")");
    }
    column_of[it->second] = static_cast<int64_t>(j);
    map[j] = it->second;
  }
  if (!any) {
    if (static_cast<int64_t>(names.size()) != num_features) {
      return InvalidArgument(
          "the header has " + std::to_string(names.size()) + " columns but the model takes " +
          std::to_string(num_features) + " features" +
          (feature_names.empty() ? std::string()
                                 : " (and no column is named after one of its features)"));
    }
    return layout;
  }
  for (size_t i = 0; i < feature_names.size(); ++i) {
    if (column_of[i] < 0) {
      return InvalidArgument("feature '" + feature_names[i] + "' is not a column of the header");
    }
  }
  layout.num_columns = static_cast<int64_t>(names.size());
  layout.column_to_feature = std::move(map);
  return layout;
}

struct RowParser::Json {
  simdjson::dom::parser parser;
  std::vector<char> line;  // the current line with simdjson's padding after it
  std::unordered_map<std::string_view, int32_t> feature_index;
};

RowParser::RowParser(const RowLayout* layout) : layout_(*layout) {}
RowParser::~RowParser() = default;

StatusOr<int64_t> RowParser::Parse(std::string_view text, int64_t first_line,
                                   std::span<float> out) {
  if (layout_.format == InputFormat::kJsonLines) return ParseJsonLines(text, first_line, out);
  return ParseCsv(text, first_line, out);
}

StatusOr<int64_t> RowParser::Parse(std::string_view text, int64_t first_line,
                                   std::span<double> out) {
  if (layout_.format == InputFormat::kJsonLines) return ParseJsonLines(text, first_line, out);
  return ParseCsv(text, first_line, out);
}

template <typename T>
StatusOr<int64_t> RowParser::ParseCsv(std::string_view text, int64_t first_line, std::span<T> out) {
  const int64_t nf = layout_.num_features;
  const int64_t ncols = layout_.num_columns;
  const int32_t* map =
      layout_.column_to_feature.empty() ? nullptr : layout_.column_to_feature.data();
  const char* p = text.data();
  const char* const end = p + text.size();
  int64_t line_no = first_line - 1;
  int64_t rows = 0;
  while (p < end) {
    const Line line = NextLine(p, end);
    ++line_no;
    p = line.next;
    if (IsBlankLine(line)) continue;
    CHECK(static_cast<size_t>((rows + 1) * nf) <= out.size());
    T* row = out.data() + rows * nf;
    const char* le = line.end;
    const char* f = line.begin;  // start of the current field
    for (int64_t c = 0; c < ncols; ++c) {
      const int32_t dest = map ? map[c] : static_cast<int32_t>(c);
      const char* fe;  // end of the current field
      double v = kNaN;
      if (dest < 0) {
        fe = static_cast<const char*>(std::memchr(f, ',', le - f));
        if (!fe) fe = le;
      } else if (f < le && *f != ',') {
        // Fast paths: a plain number followed by the delimiter or the end of the line.
        const char* q = ParseSimpleDecimal(f, end, &v);
        if (q && (q == le || *q == ',')) {
          fe = q;
        } else if (auto [ptr, ec] = std::from_chars(f, le, v);
                   ec == std::errc() && (ptr == le || *ptr == ',')) {
          fe = ptr;
        } else {
          fe = static_cast<const char*>(std::memchr(f, ',', le - f));
          if (!fe) fe = le;
          std::optional<double> r = ParseCsvNumber(std::string_view(f, fe - f));
          if (!r && text_value_) {
            const std::vector<std::string> field = SplitCsvLine(std::string_view(f, fe - f));
            auto t = text_value_(dest, field.empty() ? std::string_view() : field[0]);
            if (!t.ok()) {
              return InvalidArgument("line " + std::to_string(line_no) + ", column " +
                                     std::to_string(c + 1) + ", " + t.status().message());
            }
            r = *t;
          }
          if (!r) return NotANumber(line_no, c + 1, std::string_view(f, fe - f));
          v = *r;
        }
      } else {
        fe = f;  // empty field: missing
      }
      if (dest >= 0) row[dest] = static_cast<T>(v);
      if (c + 1 < ncols) {
        if (fe == le) return ColumnCountError(line_no, c + 1, ncols);
        f = fe + 1;
      } else if (fe != le) {
        int64_t extra = 0;
        for (const char* q = fe; q < le; ++q) extra += *q == ',';
        return ColumnCountError(line_no, ncols + extra, ncols);
      }
    }
    ++rows;
  }
  return rows;
}

namespace {

// Converts one JSON value to a feature value; nullopt when it is not a number, null or a missing
// token string.
std::optional<double> JsonValue(simdjson::dom::element e) {
  double v;
  if (e.get_double().get(v) == simdjson::SUCCESS) return v;
  if (e.is_null()) return kNaN;
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS && IsMissingToken(Trim(s))) return kNaN;
  return std::nullopt;
}

std::string JsonShown(simdjson::dom::element e) { return Shown(simdjson::to_string(e)); }

}  // namespace

template <typename T>
StatusOr<int64_t> RowParser::ParseJsonLines(std::string_view text, int64_t first_line,
                                            std::span<T> out) {
  if (!json_) {
    json_ = std::make_unique<Json>();
    for (size_t i = 0; i < layout_.feature_names.size(); ++i) {
      json_->feature_index.emplace(layout_.feature_names[i], static_cast<int32_t>(i));
    }
  }
  const int64_t nf = layout_.num_features;
  const char* p = text.data();
  const char* const end = p + text.size();
  int64_t line_no = first_line - 1;
  int64_t rows = 0;
  while (p < end) {
    const Line line = NextLine(p, end);
    ++line_no;
    p = line.next;
    if (IsBlankLine(line)) continue;
    const std::string at = "line " + std::to_string(line_no);
    const size_t n = static_cast<size_t>(line.end - line.begin);
    json_->line.resize(n + simdjson::SIMDJSON_PADDING);
    std::memcpy(json_->line.data(), line.begin, n);
    simdjson::dom::element doc;
    if (auto err = json_->parser.parse(json_->line.data(), n, false).get(doc)) {
      return InvalidArgument(at + ": malformed JSON (" + simdjson::error_message(err) + ")");
    }
    CHECK(static_cast<size_t>((rows + 1) * nf) <= out.size());
    T* row = out.data() + rows * nf;
    simdjson::dom::array arr;
    simdjson::dom::object obj;
    if (doc.get_array().get(arr) == simdjson::SUCCESS) {
      int64_t i = 0;
      for (simdjson::dom::element e : arr) {
        if (i >= nf) {
          return InvalidArgument(at + ": " + std::to_string(arr.size()) + " values, expected " +
                                 std::to_string(nf));
        }
        std::optional<double> v = JsonValue(e);
        std::string_view s;
        if (!v && text_value_ && e.get_string().get(s) == simdjson::SUCCESS) {
          auto t = text_value_(static_cast<int32_t>(i), s);
          if (!t.ok()) return InvalidArgument(at + ", " + t.status().message());
          v = *t;
        }
        if (!v) {
          return InvalidArgument(at + ", value " + std::to_string(i + 1) + ": " + JsonShown(e) +
                                 " is not a number or null");
        }
        row[i++] = static_cast<T>(*v);
      }
      if (i != nf) {
        return InvalidArgument(at + ": " + std::to_string(i) + " values, expected " +
                               std::to_string(nf));
      }
    } else if (doc.get_object().get(obj) == simdjson::SUCCESS) {
      if (layout_.feature_names.empty()) {
        return InvalidArgument(at +
                               ": a JSON object row needs feature names (`features` in the "
                               "model's config.yaml); give rows as arrays instead");
      }
      std::fill(row, row + nf, static_cast<T>(kNaN));
      for (auto [key, e] : obj) {
        auto it = json_->feature_index.find(key);
        if (it == json_->feature_index.end()) continue;
        std::optional<double> v = JsonValue(e);
        std::string_view s;
        if (!v && text_value_ && e.get_string().get(s) == simdjson::SUCCESS) {
          auto t = text_value_(it->second, s);
          if (!t.ok()) return InvalidArgument(at + ", " + t.status().message());
          v = *t;
        }
        if (!v) {
          return InvalidArgument(at + ", feature '" + std::string(key) + "': " + JsonShown(e) +
                                 " is not a number or null");
        }
        row[it->second] = static_cast<T>(*v);
      }
    } else {
      return InvalidArgument(at + ": expected a JSON array of numbers or an object, got " +
                             JsonShown(doc));
    }
    ++rows;
  }
  return rows;
}

}  // namespace inferd::tools
