// XGBoost model files, JSON and UBJSON (the first byte chooses), through the forest backend's whole
// load (parse, checks, compile), then one prediction of zeros and one of missing values.
#include <cstdint>

#include "backends/forest/forest_backend.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  if (size < 1) return 0;
  static const auto backend =
      std::move(backends::forest::ForestBackend::Create({.threads = 1})).value();
  auto model =
      fuzz::LoadModel(*backend, (data[0] & 1) ? "model.ubj" : "model.json", data + 1, size - 1);
  if (!model.ok()) return 0;
  if (auto x = fuzz::TwoRows((*model)->signature().inputs.at(0))) {
    (void)(*model)->Execute(std::span<const tensor::Tensor>(&*x, 1), {});
  }
  return 0;
}
