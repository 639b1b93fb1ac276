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

// An entry point of a module (`file`, a shared library beside the executable), loaded on first use
// and never unloaded (a second load is the same mapping). `what` names what needs it in errors:
// UNAVAILABLE "<what> needs the module <path>: <dlerror>", or "<path> has no entry point <symbol>".
StatusOr<void*> ModuleSymbol(const std::string& file, const char* symbol, const std::string& what);

}  // namespace inferd::base
