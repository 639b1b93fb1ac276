// Reading a whole (small) file: credentials, keys and certificates; where the executable lies.
// Thread-safety: pure functions.
#pragma once

#include <filesystem>
#include <string>

#include "base/status.h"

namespace inferd::base {

// The bytes of `path`. Errors: NOT_FOUND "cannot read the <what> <path>".
StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path, const std::string& what);

// The directory of the running executable (where the build puts the plugins); empty if unknown.
std::filesystem::path ExecutableDir();

}  // namespace inferd::base
