// Row parsing for `inferd predict`: CSV and JSON-lines text into a row-major matrix of model
// features (float or double), with NaN for missing values.
//
// CSV: comma separated; a field may be quoted ("1.5"), spaces around a field are ignored; an empty
// field or NA, N/A, NaN, nan, null, None (any case) is a missing value; blank lines are skipped; a
// line ending in "\r\n" is accepted. Numbers are parsed as double with std::from_chars (and rounded
// once to float for an FP32 model, as a float64 -> float32 cast does in numpy or xgboost).
// JSON lines: each line is an array of numbers or nulls (one per feature), or an object mapping
// feature names to numbers or nulls (needs the feature names; absent features are missing, unknown
// keys ignored).
//
// Thread-safety: RowLayout is immutable after construction and may be shared; a RowParser holds
// scratch space and is used by one thread at a time (one per worker).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace inferd::tools {

enum class InputFormat { kCsv, kJsonLines };

// How the columns of the input map to the model's features.
struct RowLayout {
  InputFormat format = InputFormat::kCsv;
  // Width of the model's input (features per row). Must be > 0.
  int64_t num_features = 0;
  // CSV only: number of columns of every row. Equals num_features when positional.
  int64_t num_columns = 0;
  // CSV only: for input column j, the feature it fills, or -1 to ignore the column. Empty means
  // positional: column j is feature j.
  std::vector<int32_t> column_to_feature;
  // JSON lines only: feature names in input order (from config.yaml `features`); empty when the
  // model has none (then object rows are refused).
  std::vector<std::string> feature_names;
};

// True when `field` (already trimmed and unquoted) is one of the missing-value spellings.
bool IsMissingToken(std::string_view field);

// Parses one CSV field as a number: trims spaces and tabs, strips one pair of double quotes,
// accepts a leading '+'. Empty and missing tokens give NaN. Returns nullopt when the field is not
// a number.
std::optional<double> ParseCsvNumber(std::string_view field);

// Splits one CSV line (no line terminator) into fields: trimmed, unquoted ("" inside quotes is a
// literal quote). For headers; data rows are parsed in place without this.
std::vector<std::string> SplitCsvLine(std::string_view line);

// True when `line` looks like a CSV header: some field is a name (neither a number nor a missing
// value) and none is a number. A first data row with a bad field is thus reported, not skipped.
bool LooksLikeCsvHeader(std::string_view line);

// Builds the CSV layout for a model taking `num_features` features.
// `header`: the header's column names, or nullopt when the input has no header (positional).
// `feature_names`: config.yaml `features`, possibly empty. When both are present and some header
// names are feature names, columns map by name (every feature must be in the header exactly once;
// other columns are ignored). When no header name is a feature name, or there are no feature names,
// columns are positional and their count must equal num_features.
// Errors: INVALID_ARGUMENT naming the missing or duplicated feature or the column counts.
base::StatusOr<RowLayout> MakeCsvLayout(const std::optional<std::vector<std::string>>& header,
                                        int64_t num_features,
                                        const std::vector<std::string>& feature_names);

class RowParser {
 public:
  explicit RowParser(const RowLayout* layout);
  ~RowParser();
  RowParser(const RowParser&) = delete;
  RowParser& operator=(const RowParser&) = delete;

  // Parses the lines of `text` ('\n' separated; the last line may lack it) into `out`, row-major,
  // num_features values per row, and returns the number of rows written (blank lines give none).
  // `first_line` is the 1-based line number of text's first line, for error messages.
  // Precondition: out.size() >= (lines in text) * num_features.
  // Errors: INVALID_ARGUMENT naming the line (and the column, 1-based) of the first bad row: wrong
  // number of columns, a field that is not a number, malformed JSON.
  base::StatusOr<int64_t> Parse(std::string_view text, int64_t first_line, std::span<float> out);
  base::StatusOr<int64_t> Parse(std::string_view text, int64_t first_line, std::span<double> out);

  // What a field that is not a number means (the model's schema: a category's code, or a wrong
  // type): called with the feature index and the field's text (trimmed and unquoted; a JSON
  // string's contents); its error is prefixed with the line and column or feature. Unset: such a
  // field is an error.
  using TextValue = std::function<base::StatusOr<double>(int32_t feature, std::string_view text)>;
  void set_text_value(TextValue fn) { text_value_ = std::move(fn); }

 private:
  template <typename T>
  base::StatusOr<int64_t> ParseCsv(std::string_view text, int64_t first_line, std::span<T> out);
  template <typename T>
  base::StatusOr<int64_t> ParseJsonLines(std::string_view text, int64_t first_line,
                                         std::span<T> out);

  const RowLayout& layout_;
  TextValue text_value_;
  struct Json;  // simdjson parser and a padded line buffer, made on first use
  std::unique_ptr<Json> json_;
};

}  // namespace inferd::tools
