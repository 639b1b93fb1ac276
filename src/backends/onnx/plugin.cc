// The entry points of libinferd_onnx.so. The server resolves them with dlopen/dlsym (see
// server/backends.cc and server/plugin_backend.cc); they are the only symbols the plugin exports.
#include "backends/onnx/plugin.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backends/onnx/onnx_backend.h"
#include "backends/onnx/quantize.h"

extern "C" __attribute__((visibility("default"))) inferd::backend::Backend*
inferd_onnx_create_backend(int64_t max_model_file_bytes, int32_t threads) {
  inferd::backends::onnx::OnnxBackendOptions options;
  if (max_model_file_bytes > 0) options.max_model_file_bytes = max_model_file_bytes;
  if (threads > 0) options.threads = threads;
  return new inferd::backends::onnx::OnnxBackend(options);  // owned by the caller
}

extern "C" __attribute__((visibility("default"))) int inferd_onnx_quantize(
    const char* in_path, const char* out_path, int per_channel, int reduce_range, int exclude_last,
    char** message) {
  auto say = [message](const std::string& text) {
    *message = static_cast<char*>(std::malloc(text.size() + 1));
    if (*message != nullptr) std::memcpy(*message, text.c_str(), text.size() + 1);
  };
  std::ifstream in(in_path, std::ios::binary);
  if (!in) {
    say(std::string("cannot read ") + in_path);
    return 1;
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  inferd::backends::onnx::QuantizeOptions options;
  options.per_channel = per_channel != 0;
  options.reduce_range = reduce_range != 0;
  options.exclude_last = exclude_last != 0;
  auto result = inferd::backends::onnx::QuantizeOnnxModel(bytes.str(), options);
  if (!result.ok()) {
    say(result.status().message());
    return 1;
  }
  std::ofstream out(out_path, std::ios::binary);
  out << result->model;
  out.close();
  if (!out) {
    say(std::string("cannot write ") + out_path);
    return 1;
  }
  say(nlohmann::json({{"quantized", result->quantized}, {"skipped", result->skipped}}).dump());
  return 0;
}
