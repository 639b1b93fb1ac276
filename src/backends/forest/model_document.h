// ModelDocument: turns the bytes of an XGBoost model file (JSON or UBJSON) into a JSON tree,
// without letting exceptions out and with limits that keep corrupt input from exhausting the
// stack or memory: nesting deeper than kMaxDepth and containers that claim more elements than
// the file has bytes are refused. Floating-point numbers are parsed straight to float32 (as
// libxgboost does), so thresholds and leaf values are exact. In JSON, the bare tokens NaN,
// Infinity and -Infinity that libxgboost writes for non-finite floats (categorical splits store
// NaN) are read as those values.
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace inferd::backends::forest {

// nlohmann::json with float32 numbers.
using ModelJson = nlohmann::basic_json<std::map, std::vector, std::string, bool, std::int64_t,
                                       std::uint64_t, float>;

enum class ModelFormat { kJson, kUbjson };

// Deepest nesting accepted; XGBoost models nest about 7 levels.
inline constexpr size_t kMaxDepth = 64;

// Parses `bytes` as one JSON or UBJSON document (trailing bytes are an error).
// Errors: DATA_LOSS "empty file", "truncated JSON: input ends at byte N (...)", "malformed JSON
// at byte N: ..." (UBJSON likewise), or a limit that was hit; RESOURCE_EXHAUSTED when memory
// runs out. Messages carry no file name; the caller adds it.
base::StatusOr<ModelJson> ParseModelDocument(std::span<const uint8_t> bytes, ModelFormat format);

}  // namespace inferd::backends::forest
