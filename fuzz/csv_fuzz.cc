// `inferd predict`'s readers: a CSV (header detection, layout by feature names, the row parser)
// and JSON lines, into a 3-feature matrix; with a schema's text values for the third feature.
#include <cstdint>
#include <string>
#include <vector>

#include "config/model_config.h"
#include "tools/row_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace inferd;
  static const config::ModelConfig kConfig = *config::ParseModelConfig(
      "schema: {features: [{name: a}, {name: b, min: 0, max: 1, out_of_range: clip}, "
      "{name: c, categories: [x, y, z]}]}",
      "m");
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::vector<std::string> names = {"a", "b", "c"};
  // CSV: the first line may be a header.
  const size_t eol = text.find('\n');
  const std::string_view first = text.substr(0, eol);
  std::optional<std::vector<std::string>> header;
  std::string_view rest = text;
  if (tools::LooksLikeCsvHeader(first)) {
    header = tools::SplitCsvLine(first);
    rest = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  }
  size_t lines = 1;
  for (char c : rest) lines += c == '\n';
  std::vector<float> out(lines * 3);
  if (auto layout = tools::MakeCsvLayout(header, 3, names); layout.ok()) {
    tools::RowParser parser(&*layout);
    preprocess::Actions actions;
    parser.set_text_value([&](int32_t f, std::string_view t) {
      return kConfig.schema->TextValue(static_cast<size_t>(f), t, &actions);
    });
    if (auto rows = parser.Parse(rest, 1, std::span<float>(out)); rows.ok()) {
      (void)kConfig.schema->Apply(std::span<float>(out.data(), static_cast<size_t>(*rows) * 3),
                                  static_cast<size_t>(*rows), &actions);
    }
  }
  // JSON lines.
  tools::RowLayout json;
  json.format = tools::InputFormat::kJsonLines;
  json.num_features = 3;
  json.feature_names = names;
  tools::RowParser parser(&json);
  std::vector<double> out64(lines * 3 + 3);
  lines = 1;
  for (char c : text) lines += c == '\n';
  out64.resize(lines * 3);
  (void)parser.Parse(text, 1, std::span<double>(out64));
  return 0;
}
