// The entry point of libinferd_onnx.so. The server resolves it with dlopen/dlsym (see
// server/backends.cc); it is the only symbol the plugin exports.
#include "backends/onnx/plugin.h"

#include "backends/onnx/onnx_backend.h"

extern "C" __attribute__((visibility("default"))) inferd::backend::Backend*
inferd_onnx_create_backend(int64_t max_model_file_bytes, int32_t threads) {
  inferd::backends::onnx::OnnxBackendOptions options;
  if (max_model_file_bytes > 0) options.max_model_file_bytes = max_model_file_bytes;
  if (threads > 0) options.threads = threads;
  return new inferd::backends::onnx::OnnxBackend(options);  // owned by the caller
}
