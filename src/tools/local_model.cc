#include "tools/local_model.h"

#include <stdlib.h>

#include <map>
#include <system_error>

#include "repository/file_system_source.h"

namespace inferd::tools {

namespace fs = std::filesystem;
using base::Status;
using base::StatusOr;

namespace {

// The backend that loads `file`, by its name.
StatusOr<const backend::Backend*> BackendForFile(const backend::BackendRegistry& registry,
                                                 const std::string& backend_name,
                                                 const fs::path& file) {
  auto b = registry.ForFileName(backend_name, file.filename().string());
  if (!b.ok()) return b.status().WithContext(file.string());
  return b;
}

}  // namespace

std::map<int64_t, fs::path> VersionDirs(const fs::path& dir) {
  std::map<int64_t, fs::path> versions;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_directory(ec2)) continue;
    if (auto v = repository::ParseVersion(it->path().filename().string())) {
      versions.emplace(*v, it->path());
    }
  }
  return versions;
}

StatusOr<LocalModel> LoadLocalModel(const LocalModelOptions& options) {
  CHECK(options.backends != nullptr);
  if (options.version && *options.version <= 0) {
    return base::InvalidArgument("--model-version must be a positive integer");
  }
  std::error_code ec;
  fs::path path = options.path.lexically_normal();
  if (!path.has_filename() && path.has_parent_path()) path = path.parent_path();
  if (!fs::exists(path, ec)) {
    return base::NotFound("model path " + options.path.string() + " does not exist");
  }
  LocalModel out;
  std::optional<fs::path> file;  // set when the path is a model file
  fs::path version_dir;
  std::optional<fs::path> model_dir;
  if (fs::is_regular_file(path, ec)) {
    if (options.version) {
      return base::InvalidArgument("--model-version applies to a model directory, not to file " +
                                   path.string());
    }
    file = path;
    version_dir = path.has_parent_path() ? path.parent_path() : fs::path(".");
  } else if (fs::is_directory(path, ec)) {
    auto versions = VersionDirs(path);
    if (!versions.empty()) {
      model_dir = path;
      auto it = options.version ? versions.find(*options.version) : std::prev(versions.end());
      if (it == versions.end()) {
        std::string have;
        for (const auto& [v, _] : versions) have += (have.empty() ? "" : ", ") + std::to_string(v);
        return base::NotFound("model " + path.string() + " has no version " +
                              std::to_string(*options.version) + " (it has " + have + ")");
      }
      out.version = it->first;
      version_dir = it->second;
    } else {
      if (options.version) {
        return base::InvalidArgument("--model-version given, but " + path.string() +
                                     " has no version directories");
      }
      version_dir = path;
    }
  } else {
    return base::InvalidArgument("model path " + path.string() +
                                 " is neither a file nor a directory");
  }
  // A version directory inside a model directory: the model's config.yaml applies.
  if (!model_dir) {
    fs::path abs = fs::absolute(version_dir, ec).lexically_normal();
    if (!abs.has_filename() && abs.has_parent_path()) abs = abs.parent_path();
    if (auto v = repository::ParseVersion(abs.filename().string()); v && abs.has_parent_path()) {
      model_dir = abs.parent_path();
      out.version = *v;
    }
  }
  if (model_dir) {
    out.name = fs::absolute(*model_dir, ec).lexically_normal().filename().string();
  } else {
    out.name = fs::absolute(version_dir, ec).lexically_normal().filename().string();
  }
  if (out.name.empty()) out.name = "model";

  out.config.name = out.name;
  if (model_dir && fs::is_regular_file(*model_dir / "config.yaml", ec)) {
    ASSIGN_OR_RETURN(out.config, config::LoadModelConfig(*model_dir / "config.yaml", out.name));
  }

  const backend::Backend* backend = nullptr;
  if (file) {
    ASSIGN_OR_RETURN(backend, BackendForFile(*options.backends, out.config.backend, *file));
    out.model_file = *file;
  } else {
    ASSIGN_OR_RETURN(auto match, options.backends->Resolve(out.config.backend, version_dir));
    backend = match.backend;
    out.model_file = match.model_file;
  }
  out.version_dir = version_dir;
  out.backend = std::string(backend->name());
  backend::LoadRequest request{out.name, out.version, out.model_file, &out.config};
  ASSIGN_OR_RETURN(out.model, backend->Load(request));
  return out;
}

}  // namespace inferd::tools
