// LightGBM model.txt files through the forest backend's whole load, then one prediction of zeros
// and one of missing values.
#include <cstdint>

#include "backends/forest/forest_backend.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  static const auto backend =
      std::move(backends::forest::ForestBackend::Create({.threads = 1})).value();
  auto model = fuzz::LoadModel(*backend, "model.txt", data, size);
  if (!model.ok()) return 0;
  if (auto x = fuzz::TwoRows((*model)->signature().inputs.at(0))) {
    (void)(*model)->Execute(std::span<const tensor::Tensor>(&*x, 1), {});
  }
  return 0;
}
