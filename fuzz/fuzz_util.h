// Helpers shared by the fuzz targets.
#pragma once

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "backend/backend.h"
#include "config/model_config.h"

namespace inferd::fuzz {

// Writes `data` to a per-process file named `name` (in /dev/shm when it exists) and returns its
// path: loaders that read files get the fuzz input through it.
inline std::filesystem::path WriteInput(std::string_view name, const uint8_t* data, size_t size) {
  static const std::filesystem::path dir = [] {
    std::filesystem::path d = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    d /= "inferd-fuzz-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  const auto path = dir / std::string(name);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f != nullptr) {
    if (size > 0) std::fwrite(data, 1, size, f);
    std::fclose(f);
  }
  return path;
}

// Loads the fuzz input as model file `name` with `backend` (a default config), as the server
// would.
inline base::StatusOr<std::unique_ptr<backend::LoadedModel>> LoadModel(
    const backend::Backend& backend, std::string_view name, const uint8_t* data, size_t size) {
  static const config::ModelConfig kConfig;
  backend::LoadRequest req;
  req.model_name = "m";
  req.version = 1;
  req.model_file = WriteInput(name, data, size);
  req.config = &kConfig;
  return backend.Load(req);
}

// A [2, F] input for `spec` (zeros, then missing values for a floating type), or nullopt when the
// input is not [-1, F] with a sane F.
inline std::optional<tensor::Tensor> TwoRows(const config::TensorSpec& spec) {
  if (spec.shape.size() != 2 || spec.shape[1] <= 0 || spec.shape[1] >= 4096) return std::nullopt;
  const int64_t width = spec.shape[1];
  tensor::Tensor x(spec.name, spec.dtype, {2, width});
  for (int64_t i = width; i < 2 * width; ++i) {
    if (spec.dtype == tensor::DataType::kFp32) x.data<float>()[i] = std::nanf("");
    if (spec.dtype == tensor::DataType::kFp64) x.data<double>()[i] = std::nan("");
  }
  return x;
}

}  // namespace inferd::fuzz
