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

// How much of the document a caller needs.
//   kFull: every value, as the file has it (a caller that edits and writes the model back).
//   kForServing: what ParseXgboostModel reads, built faster for a load. The per-node arrays it
//     reads (left_children, right_children, split_indices, default_left, split_type,
//     split_conditions) become binary values of packed int64 (subtype kPackedInt64) or float32
//     (kPackedFloat32), in the machine's byte order, and the per-node arrays it does not read
//     (parents, loss_changes, sum_hessian, base_weights) are checked as JSON but left out. Only
//     JSON takes this path when it can (anything unusual in those arrays, e.g. a string, falls back
//     to kFull's result, which ParseXgboostModel reads as well).
enum class DocumentMode { kFull, kForServing };
inline constexpr uint64_t kPackedInt64 = 1;
inline constexpr uint64_t kPackedFloat32 = 2;

// Parses `bytes` as one JSON or UBJSON document (trailing bytes are an error).
// Errors: DATA_LOSS "empty file", "truncated JSON: input ends at byte N (...)", "malformed JSON
// at byte N: ..." (UBJSON likewise), or a limit that was hit; RESOURCE_EXHAUSTED when memory
// runs out. Messages carry no file name; the caller adds it.
// `readable`: how many bytes from bytes.data() may be read (at least bytes.size()); with 64 or
// more beyond the end (simdjson's padding) JSON is parsed in place instead of from a copy.
base::StatusOr<ModelJson> ParseModelDocument(std::span<const uint8_t> bytes, ModelFormat format,
                                             DocumentMode mode = DocumentMode::kFull,
                                             size_t readable = 0);

}  // namespace inferd::backends::forest
