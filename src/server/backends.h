// RegisterBackends: the engines this build has, registered into a BackendRegistry. The server and
// the offline tools (apps/main.cc builds the registry for `inferd predict`) share this one list,
// so server/ stays the only place that names concrete backends.
// Thread-safety: call before the registry is shared (BackendRegistry is immutable after set-up).
#pragma once

#include <filesystem>
#include <string>

#include "backend/backend.h"
#include "base/status.h"

namespace inferd::server {

struct BackendOptions {
  // Threads one Execute call may use, for engines that split a batch across a pool (forest).
  // 0 = one per core. Tools that run batches on their own threads pass 1. Must be >= 0.
  int threads = 0;
  // Threads one ONNX call may use (oneDNN's); 0 = the engine's default (1). Must be >= 0.
  int onnx_threads = 0;
};

// Creates every backend and registers it. Errors: INVALID_ARGUMENT for options out of range.
base::Status RegisterBackends(const BackendOptions& options, backend::BackendRegistry* registry);

// Dynamic int8 quantization of an ONNX model file by the ONNX plugin (backends/onnx/quantize.h),
// for `inferd optimize`. Returns the plugin's JSON summary ({"quantized": [...], "skipped":
// [...]}). Errors: UNAVAILABLE when the plugin cannot be loaded; INVALID_ARGUMENT with the
// quantizer's message.
struct OnnxQuantizeOptions {
  bool per_channel = true;
  bool reduce_range = true;
  bool exclude_last = false;
};
base::StatusOr<std::string> QuantizeOnnxFile(const std::filesystem::path& in,
                                             const std::filesystem::path& out,
                                             const OnnxQuantizeOptions& options);

}  // namespace inferd::server
