// config.yaml (every section, the schema's included) and Triton's config.pbtxt.
#include <cstdint>
#include <string>

#include "config/model_config.h"
#include "config/triton_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto yaml = config::ParseModelConfig(text, "m");
  if (yaml.ok() && yaml->schema) (void)yaml->schema->FeatureList();
  std::vector<std::string> warnings;
  (void)config::ParseTritonConfig(text, "m", &warnings);
  return 0;
}
