#include "server/backends.h"

#include <cstdlib>

#include "backends/forest/forest_backend.h"
#include "backends/onnx/plugin.h"
#include "base/file.h"
#include "server/plugin_backend.h"

namespace inferd::server {

base::Status RegisterBackends(const BackendOptions& options, backend::BackendRegistry* registry) {
  backends::forest::ForestBackendOptions forest_options;
  forest_options.threads = options.threads;
  ASSIGN_OR_RETURN(auto forest, backends::forest::ForestBackend::Create(forest_options));
  registry->Register(std::move(forest));
  // ONNX runs in a plugin beside the executable, loaded only when an ONNX model is.
  PluginBackendOptions onnx;
  onnx.name = "onnx";
  onnx.model_file_name = "model.onnx";
  onnx.library = base::ExecutableDir() / kOnnxPluginFile;
  onnx.symbol = kOnnxPluginSymbol;
  if (options.onnx_threads < 0) return base::InvalidArgument("ONNX threads must be >= 0");
  onnx.threads = options.onnx_threads;
  registry->Register(std::make_unique<PluginBackend>(std::move(onnx)));
  return base::Status::Ok();
}

}  // namespace inferd::server

namespace inferd::server {

base::StatusOr<std::string> QuantizeOnnxFile(const std::filesystem::path& in,
                                             const std::filesystem::path& out,
                                             const OnnxQuantizeOptions& options) {
  // (Kept loaded, as PluginBackend keeps it.)
  ASSIGN_OR_RETURN(void* entry,
                   base::ModuleSymbol(kOnnxPluginFile, kOnnxQuantizeSymbol, "ONNX quantization"));
  using Fn = int (*)(const char*, const char*, int, int, int, char**);
  auto fn = reinterpret_cast<Fn>(entry);
  char* message = nullptr;
  const int rc = fn(in.c_str(), out.c_str(), options.per_channel, options.reduce_range,
                    options.exclude_last, &message);
  std::string text = message != nullptr ? message : "";
  std::free(message);
  if (rc != 0) return base::InvalidArgument(in.string() + ": " + text);
  return text;
}

}  // namespace inferd::server
