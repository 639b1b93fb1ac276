// TF Serving :predict bodies against a one-input [-1, 4] signature, with and without a schema
// (named feature columns, category names), then the schema's Assemble and Apply.
#include <cstdint>
#include <string_view>

#include "api/http/v1_codec.h"
#include "config/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  static const backend::ModelSignature kSig = [] {
    backend::ModelSignature s;
    s.inputs = {config::TensorSpec::Make("input", tensor::DataType::kFp32, {-1, 4})};
    return s;
  }();
  static const config::ModelConfig kConfig = *config::ParseModelConfig(R"(
schema:
  features:
    - {name: age, min: 0, max: 120, out_of_range: clip, missing: {impute: constant, value: 1}}
    - {name: color, categories: {red: 0, green: 1, blue: 2}, unseen: missing}
    - {name: size, categories: [1, 5, 9], unseen: reject}
    - {name: x, nullable: false}
)",
                                                                       "m");
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const preprocess::Schema* schema :
       {static_cast<const preprocess::Schema*>(nullptr), kConfig.schema.get()}) {
    inference::InferRequest request;
    api::http::V1Format format;
    if (!api::http::DecodeV1PredictRequest(body, kSig, &request, &format, schema).ok()) continue;
    if (schema == nullptr) continue;
    preprocess::Actions actions;
    auto t =
        schema->Assemble(std::move(request.inputs), "input", tensor::DataType::kFp32, &actions);
    if (t.ok()) (void)schema->Apply(*t, &actions);
  }
  return 0;
}
