#include "server/plugin_backend.h"

#include <dlfcn.h>

#include "base/logging.h"

namespace inferd::server {

std::optional<std::filesystem::path> PluginBackend::FindModelFile(
    const std::filesystem::path& version_dir) const {
  std::error_code ec;
  const auto p = version_dir / options_.model_file_name;
  if (std::filesystem::is_regular_file(p, ec)) return p;
  return std::nullopt;
}

base::StatusOr<const backend::Backend*> PluginBackend::Engine() const {
  std::call_once(once_, [this] {
    // Never closed: loaded models keep code of the plugin alive.
    void* handle = dlopen(options_.library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      load_status_ =
          base::Unavailable("the " + options_.name + " backend plugin " +
                            options_.library.string() + " cannot be loaded: " + dlerror());
      return;
    }
    using Create = backend::Backend* (*)(int64_t, int32_t);
    auto create = reinterpret_cast<Create>(dlsym(handle, options_.symbol.c_str()));
    if (create == nullptr) {
      load_status_ =
          base::Unavailable(options_.library.string() + " has no entry point " + options_.symbol);
      return;
    }
    engine_.reset(create(options_.max_model_file_bytes, options_.threads));
    LOG_INFO("loaded the {} backend from {}", options_.name, options_.library.string());
  });
  if (!load_status_.ok()) return load_status_;
  return engine_.get();
}

base::StatusOr<std::unique_ptr<backend::LoadedModel>> PluginBackend::Load(
    const backend::LoadRequest& request) const {
  ASSIGN_OR_RETURN(const backend::Backend* engine, Engine());
  return engine->Load(request);
}

}  // namespace inferd::server
