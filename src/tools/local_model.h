// LocalModel: a model loaded straight from disk for the offline tools (`inferd predict`), through
// the same backend interfaces the server uses, from
//   - a model file (`.../model.json`, `.../model.ubj`),
//   - a version directory (`models/fraud/3/`), or
//   - a model directory with version subdirectories (`models/fraud/`): the highest version, or the
//     one asked for.
// The model directory's config.yaml applies when there is one (also to a version directory or a
// file inside a `<model>/<version>/` layout).
// Thread-safety: LoadLocalModel is reentrant; a LocalModel is a value (its model is thread-safe).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "backend/backend.h"
#include "base/status.h"
#include "config/model_config.h"

namespace inferd::tools {

struct LocalModelOptions {
  // MODEL_DIR_OR_FILE: a model file, a version directory or a model directory. Required.
  std::filesystem::path path;
  // For a model directory: load this version instead of the highest. Must be > 0 when set; an
  // error for a file or a version directory.
  std::optional<int64_t> version;
  // The backends to load with (server::RegisterBackends fills one). Required, not owned.
  const backend::BackendRegistry* backends = nullptr;
};

struct LocalModel {
  std::string name;                   // the model directory's name (or the file's directory's)
  int64_t version = 0;                // 0 when the path is not in a <model>/<version>/ layout
  std::filesystem::path model_file;   // the file loaded
  std::filesystem::path version_dir;  // the directory holding it
  std::string backend;                // the backend that loaded it
  config::ModelConfig config;
  std::unique_ptr<backend::LoadedModel> model;
};

// Finds, configures and loads the model. Errors: NOT_FOUND for a missing path, version or model
// file (naming what was looked for), INVALID_ARGUMENT for a bad config.yaml or option, and the
// backend's load errors (prefixed with the file).
base::StatusOr<LocalModel> LoadLocalModel(const LocalModelOptions& options);

// The version subdirectories of model directory `dir`, by version (empty when it has none or
// cannot be read).
std::map<int64_t, std::filesystem::path> VersionDirs(const std::filesystem::path& dir);

}  // namespace inferd::tools
