#include "backends/forest/model_common.h"

#include <algorithm>

namespace inferd::backends::forest {

using base::InvalidArgument;
using base::Status;

namespace {

std::string NamesOf(const std::vector<config::TensorSpec>& specs) {
  std::string s;
  for (const auto& spec : specs) s += (s.empty() ? "" : ", ") + spec.name;
  return s;
}

}  // namespace

Status ApplyConfig(const config::ModelConfig& config, tensor::DataType dtype, int64_t num_features,
                   std::string_view family, backend::ModelSignature* signature) {
  if (config.inputs.size() > 1) {
    return InvalidArgument(std::string(family) + " models take one input, config lists " +
                           std::to_string(config.inputs.size()));
  }
  if (config.inputs.size() == 1) {
    const config::TensorSpec& in = config.inputs[0];
    if (in.dtype != dtype) {
      return InvalidArgument(
          "config input '" + in.name + "' is " + std::string(tensor::DataTypeName(in.dtype)) +
          ", " + std::string(family) + " models take " + std::string(tensor::DataTypeName(dtype)));
    }
    const bool shape_ok =
        in.shape.empty() || (in.shape.size() <= 2 && in.shape.back() == num_features &&
                             (in.shape.size() == 1 || in.shape[0] == -1 || in.shape[0] > 0));
    if (!shape_ok) {
      return InvalidArgument("config input '" + in.name + "' has shape " +
                             tensor::ShapeToString(in.shape) + ", but the model takes [-1, " +
                             std::to_string(num_features) + "] (" + std::to_string(num_features) +
                             " features)");
    }
    if (!in.name.empty()) signature->inputs[0].name = in.name;
  }
  // Outputs renamed by the config (a Triton FIL config's output__0): the renamed output is the
  // only default one, as Triton answers with the outputs its config declares.
  bool renamed = false;
  for (const config::TensorSpec& o : config.outputs) {
    if (o.source.empty()) continue;
    auto it = std::find_if(signature->outputs.begin(), signature->outputs.end(),
                           [&](const config::TensorSpec& s) { return s.name == o.source; });
    if (it == signature->outputs.end()) {
      return InvalidArgument(
          "config output '" + o.name + "' stands for the model's '" + o.source +
          "', which this model does not have (outputs: " + NamesOf(signature->outputs) + ")");
    }
    if (!renamed) {
      for (auto& s : signature->outputs) s.default_output = false;
      renamed = true;
    }
    it->name = o.name;
    it->default_output = true;
  }
  for (const config::TensorSpec& o : config.outputs) {
    const bool known = std::any_of(signature->outputs.begin(), signature->outputs.end(),
                                   [&](const config::TensorSpec& s) { return s.name == o.name; });
    if (!known) {
      return InvalidArgument("config output '" + o.name + "' is not an output of this model (" +
                             NamesOf(signature->outputs) + ")");
    }
  }
  return Status::Ok();
}

base::StatusOr<std::vector<size_t>> SelectOutputs(const backend::ModelSignature& signature,
                                                  std::span<const std::string> requested) {
  if (requested.empty()) return DefaultOutputs(signature);
  std::vector<size_t> out;
  const auto& outputs = signature.outputs;
  for (const std::string& name : requested) {
    auto it = std::find_if(outputs.begin(), outputs.end(),
                           [&](const config::TensorSpec& s) { return s.name == name; });
    if (it == outputs.end()) return InvalidArgument("unknown output '" + name + "'");
    out.push_back(static_cast<size_t>(it - outputs.begin()));
  }
  return out;
}

std::vector<size_t> DefaultOutputs(const backend::ModelSignature& signature) {
  std::vector<size_t> out;
  for (size_t i = 0; i < signature.outputs.size(); ++i) {
    if (signature.outputs[i].default_output) out.push_back(i);
  }
  return out;
}

}  // namespace inferd::backends::forest
