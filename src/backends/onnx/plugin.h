// The C entry point of the ONNX backend plugin. The caller owns the returned backend; the plugin
// must stay loaded while the backend or any model it loaded is alive.
#pragma once

#include <cstdint>

#include "backend/backend.h"

// max_model_file_bytes: 0 = the default; threads: per call, 0 = the default (1).
extern "C" inferd::backend::Backend* inferd_onnx_create_backend(int64_t max_model_file_bytes,
                                                                int32_t threads);

// Dynamic int8 quantization (quantize.h) of the ONNX model at `in_path`, written to `out_path`.
// Returns 0 on success; *message (malloc'd, the caller frees it) is then the JSON
// {"quantized": [...], "skipped": [...]}, else the error.
extern "C" int inferd_onnx_quantize(const char* in_path, const char* out_path, int per_channel,
                                    int reduce_range, int exclude_last, char** message);

// The plugin's file name and the name of the symbol above.
inline constexpr const char* kOnnxPluginFile = "libinferd_onnx.so";
inline constexpr const char* kOnnxPluginSymbol = "inferd_onnx_create_backend";
inline constexpr const char* kOnnxQuantizeSymbol = "inferd_onnx_quantize";
