// The C entry point of the ONNX backend plugin. The caller owns the returned backend; the plugin
// must stay loaded while the backend or any model it loaded is alive.
#pragma once

#include <cstdint>

#include "backend/backend.h"

// max_model_file_bytes: 0 = the default; threads: per call, 0 = the default (1).
extern "C" inferd::backend::Backend* inferd_onnx_create_backend(int64_t max_model_file_bytes,
                                                                int32_t threads);

// The plugin's file name and the name of the symbol above.
inline constexpr const char* kOnnxPluginFile = "libinferd_onnx.so";
inline constexpr const char* kOnnxPluginSymbol = "inferd_onnx_create_backend";
