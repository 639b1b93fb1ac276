// LightGBM model.txt files through the forest backend's whole load, then one prediction of zeros
// and one of missing values.
#include <cmath>
#include <cstdint>

#include "backends/forest/forest_backend.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  static const auto backend =
      std::move(backends::forest::ForestBackend::Create({.threads = 1})).value();
  static const config::ModelConfig kConfig;
  const auto path = fuzz::WriteInput("model.txt", data, size);
  backend::LoadRequest req;
  req.model_name = "m";
  req.version = 1;
  req.model_file = path;
  req.config = &kConfig;
  auto model = backend->Load(req);
  if (!model.ok()) return 0;
  const auto& in = (*model)->signature().inputs.at(0);
  const int64_t width =
      in.shape.size() == 2 && in.shape[1] > 0 && in.shape[1] < 4096 ? in.shape[1] : 0;
  if (width == 0) return 0;
  tensor::Tensor x(in.name, in.dtype, {2, width});
  if (in.dtype == tensor::DataType::kFp64) {
    for (int64_t i = width; i < 2 * width; ++i) x.data<double>()[i] = std::nan("");
  }
  (void)(*model)->Execute(std::span<const tensor::Tensor>(&x, 1), {});
  return 0;
}
