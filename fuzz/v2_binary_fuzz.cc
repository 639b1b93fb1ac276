// The binary tensor extension: a JSON header of N bytes (Inference-Header-Content-Length) and the
// tensors' bytes after it. The first two input bytes choose N; the rest is the body.
#include <cstdint>
#include <string_view>

#include "api/http/v2_codec.h"
#include "inference/inference_service.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  if (size < 2) return 0;
  const size_t json_bytes = static_cast<size_t>(data[0]) | static_cast<size_t>(data[1]) << 8;
  const std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);
  static const std::vector<config::TensorSpec> kSpecs = {
      config::TensorSpec::Make("input", tensor::DataType::kFp32, {-1, 4})};
  inference::InferRequest request;
  api::http::OutputOptions binary;
  if (api::http::DecodeV2InferRequest(body, &request, json_bytes, &binary).ok()) {
    for (const auto& t : request.inputs) {
      if (t.dtype() == tensor::DataType::kBytes) (void)tensor::BytesElements(t);
    }
    (void)inference::PrepareInputs(kSpecs, std::move(request.inputs), "m");
  }
  return 0;
}
