// Open Inference Protocol JSON requests: DecodeV2InferRequest on any body, then the request path's
// input checks against a [-1, 4] FP32 signature, as the server runs them.
#include <cstdint>
#include <string_view>

#include "api/http/v2_codec.h"
#include "inference/inference_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  static const std::vector<config::TensorSpec> kSpecs = {
      config::TensorSpec::Make("input", tensor::DataType::kFp32, {-1, 4})};
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  inference::InferRequest request;
  api::http::OutputOptions binary;
  if (api::http::DecodeV2InferRequest(body, &request, std::nullopt, &binary).ok()) {
    (void)inference::PrepareInputs(kSpecs, std::move(request.inputs), "m");
  }
  return 0;
}
