// ONNX model files through the ONNX backend's load (protobuf parse, the ONNX checker, our graph
// conversion, rewrites and the batch-1 plan), then one run on zeros.
#include <oneapi/dnnl/dnnl.h>

#include <cstdint>

#include "backends/onnx/onnx_backend.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  // Plans are capped at 32 MiB: a valid but huge model (a Pad that multiplies the batch, say) would
  // spend the run's time computing, under ASan, instead of exploring.
  static const backends::onnx::OnnxBackend backend({.threads = 1, .max_plan_bytes = 32 << 20});
  // oneDNN keeps up to 1024 primitives (their JIT code included) by default; fuzzing makes a new
  // shape nearly every run, so the cache alone would outgrow the run's memory limit.
  static const bool small_cache = (dnnl_set_primitive_cache_capacity(8), true);
  (void)small_cache;
  auto model = fuzz::LoadModel(backend, "model.onnx", data, size);
  if (!model.ok()) return 0;
  std::vector<tensor::Tensor> inputs;
  for (const auto& spec : (*model)->signature().inputs) {
    tensor::Shape shape = spec.shape;
    for (auto& d : shape) d = d < 0 ? 1 : d;
    const int64_t n = tensor::ElementCount(shape);
    if (n < 0 || n > (1 << 20) || tensor::DataTypeSize(spec.dtype) == 0) return 0;
    inputs.emplace_back(spec.name, spec.dtype, shape);
  }
  (void)(*model)->Execute(inputs, {});
  return 0;
}
