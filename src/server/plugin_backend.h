// PluginBackend: a backend whose engine lives in a shared library loaded on first use. It finds
// model files by name without loading anything, so a server whose repository has no such model
// never maps the library (and the heavy libraries it links).
// Thread-safety: thread-safe; the library is loaded once and never unloaded (models it made may
// outlive any one request).
#pragma once

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "backend/backend.h"

namespace inferd::server {

struct PluginBackendOptions {
  std::string name;               // the backend's name, e.g. "onnx"
  std::string model_file_name;    // the file it loads, e.g. "model.onnx"
  std::filesystem::path library;  // the plugin, e.g. <dir of the executable>/libinferd_onnx.so
  // entry point: Backend* (*)(int64_t max_model_file_bytes, int32_t threads)
  std::string symbol;
  int64_t max_model_file_bytes = 0;  // 0 = the plugin's default
  int32_t threads = 0;               // per call; 0 = the plugin's default
};

class PluginBackend final : public backend::Backend {
 public:
  explicit PluginBackend(PluginBackendOptions options) : options_(std::move(options)) {}
  std::string_view name() const override { return options_.name; }
  std::optional<std::filesystem::path> FindModelFile(
      const std::filesystem::path& version_dir) const override;
  bool LoadsFileName(std::string_view file_name) const override {
    return file_name == options_.model_file_name;
  }
  // Loads the plugin on first use. Errors: UNAVAILABLE when the plugin cannot be loaded (with
  // dlerror's reason), else the plugin backend's errors.
  base::StatusOr<std::unique_ptr<backend::LoadedModel>> Load(
      const backend::LoadRequest& request) const override;

 private:
  base::StatusOr<const backend::Backend*> Engine() const;

  PluginBackendOptions options_;
  mutable std::once_flag once_;
  mutable base::Status load_status_;
  mutable std::unique_ptr<backend::Backend> engine_;
};

}  // namespace inferd::server
