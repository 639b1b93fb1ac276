#include "backend/backend.h"

namespace inferd::backend {

void BackendRegistry::Register(std::unique_ptr<Backend> backend) {
  backends_.push_back(std::move(backend));
}

base::StatusOr<const Backend*> BackendRegistry::Find(std::string_view name) const {
  std::string known;
  for (const auto& b : backends_) {
    if (b->name() == name) return b.get();
    known += (known.empty() ? "" : ", ") + std::string(b->name());
  }
  return base::NotFound("unknown backend '" + std::string(name) + "' (this build has: " + known +
                        ")");
}

base::StatusOr<BackendRegistry::Match> BackendRegistry::Resolve(
    std::string_view backend_name, const std::filesystem::path& version_dir) const {
  if (backend_name != "auto") {
    ASSIGN_OR_RETURN(const Backend* b, Find(backend_name));
    auto file = b->FindModelFile(version_dir);
    if (!file) {
      return base::NotFound("no model file for backend '" + std::string(backend_name) + "' in " +
                            version_dir.string());
    }
    return Match{b, *file};
  }
  for (const auto& b : backends_) {
    if (auto file = b->FindModelFile(version_dir)) return Match{b.get(), *file};
  }
  return base::NotFound("no model file in " + version_dir.string() +
                        " (looked for model.json, model.ubj, model.txt, model.onnx)");
}

base::StatusOr<const Backend*> BackendRegistry::ForFileName(std::string_view backend_name,
                                                            std::string_view file_name) const {
  if (backend_name != "auto") {
    ASSIGN_OR_RETURN(const Backend* b, Find(backend_name));
    if (b->LoadsFileName(file_name)) return b;
  } else {
    for (const auto& b : backends_) {
      if (b->LoadsFileName(file_name)) return b.get();
    }
  }
  return base::NotFound("no backend loads a model file named '" + std::string(file_name) + "'");
}

}  // namespace inferd::backend
