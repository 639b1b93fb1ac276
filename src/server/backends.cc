#include "server/backends.h"

#include "backends/forest/forest_backend.h"
#include "backends/onnx/plugin.h"
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
  onnx.library = ExecutableDir() / kOnnxPluginFile;
  onnx.symbol = kOnnxPluginSymbol;
  if (options.onnx_threads < 0) return base::InvalidArgument("ONNX threads must be >= 0");
  onnx.threads = options.onnx_threads;
  registry->Register(std::make_unique<PluginBackend>(std::move(onnx)));
  return base::Status::Ok();
}

}  // namespace inferd::server
