#include "base/file.h"

#include <dlfcn.h>

#include <fstream>
#include <sstream>

namespace inferd::base {

StatusOr<std::string> ReadWholeFile(const std::filesystem::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read the " + what + " " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

StatusOr<void*> ModuleSymbol(const std::string& file, const char* symbol, const std::string& what) {
  const auto library = ExecutableDir() / file;
  void* handle = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return Unavailable(what + " needs the module " + library.string() + ": " +
                       (why ? why : "unknown error"));
  }
  void* entry = dlsym(handle, symbol);
  if (entry == nullptr) {
    return Unavailable(library.string() + " has no entry point " + std::string(symbol));
  }
  return entry;
}

std::filesystem::path ExecutableDir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path() : exe.parent_path();
}

}  // namespace inferd::base
