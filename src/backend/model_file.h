// Reading a model file into memory within a size limit, for every backend.
// Thread-safety: a pure function.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "base/status.h"

namespace inferd::backend {

// The bytes of `path`. Errors (each starting with the path): NOT_FOUND when it does not exist,
// INVALID_ARGUMENT when it is not a regular file, RESOURCE_EXHAUSTED when it is larger than
// `max_bytes`, INTERNAL on read errors. The string's capacity exceeds its size by at least
// kModelFilePadding (readable, for a parser that reads past the end: simdjson's padding).
inline constexpr size_t kModelFilePadding = 64;
base::StatusOr<std::string> ReadModelFile(const std::filesystem::path& path, int64_t max_bytes);

}  // namespace inferd::backend
