#include "inference/inference_service.h"

#include <algorithm>

namespace inferd::inference {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

InferenceService::InferenceService(const InferenceServiceOptions& options) : options_(options) {
  auto& m = *options_.metrics;
  requests_ = &m.AddCounter(
      "inferd_inference_requests_total",
      "Inference requests by model, version and outcome (success, client_error, server_error). "
      "Requests for unknown models count under model=\"\".",
      {"model", "version", "outcome"});
  duration_ = &m.AddHistogram("inferd_inference_request_duration_seconds",
                              "Time from decoded request to model outputs.", {"model", "version"});
  rows_ = &m.AddCounter("inferd_inference_rows_total", "Rows (batch items) inferred.",
                        {"model", "version"});
}

StatusOr<std::unique_ptr<InferenceService>> InferenceService::Create(
    const InferenceServiceOptions& options) {
  if (!options.models || !options.metrics || !options.clock) {
    return InvalidArgument("InferenceService needs models, metrics and a clock");
  }
  return std::unique_ptr<InferenceService>(new InferenceService(options));
}

StatusOr<std::vector<tensor::Tensor>> PrepareInputs(const std::vector<config::TensorSpec>& specs,
                                                    std::vector<tensor::Tensor> inputs,
                                                    const std::string& model_name) {
  std::vector<tensor::Tensor> out(specs.size());
  std::vector<bool> seen(specs.size(), false);
  auto names = [&] {
    std::string s;
    for (const auto& sp : specs) s += (s.empty() ? "" : ", ") + sp.name;
    return s;
  };
  for (auto& in : inputs) {
    auto it = std::find_if(specs.begin(), specs.end(),
                           [&](const auto& s) { return s.name == in.name(); });
    if (it == specs.end()) {
      return InvalidArgument("model '" + model_name + "' has no input '" + in.name() +
                             "' (inputs: " + names() + ")");
    }
    size_t idx = static_cast<size_t>(it - specs.begin());
    if (seen[idx]) return InvalidArgument("input '" + in.name() + "' is given twice");
    seen[idx] = true;
    const auto& spec = *it;
    tensor::Shape shape = in.shape();
    // One row may be sent without its batch dimension.
    if (shape.size() + 1 == spec.shape.size() && !spec.shape.empty() && spec.shape[0] == -1) {
      shape.insert(shape.begin(), 1);
      in.Reshape(shape);
    }
    if (shape.size() != spec.shape.size()) {
      return InvalidArgument("input '" + in.name() + "': expected shape " +
                             tensor::ShapeToString(spec.shape) + ", got " +
                             tensor::ShapeToString(in.shape()));
    }
    for (size_t d = 0; d < shape.size(); ++d) {
      if (spec.shape[d] >= 0 && shape[d] != spec.shape[d]) {
        std::string what = d == shape.size() - 1 && shape.size() == 2 ? " features" : "";
        return InvalidArgument("input '" + in.name() + "': expected " +
                               std::to_string(spec.shape[d]) + what + " in dimension " +
                               std::to_string(d) + ", got " + std::to_string(shape[d]) +
                               " (shape " + tensor::ShapeToString(shape) + ", model wants " +
                               tensor::ShapeToString(spec.shape) + ")");
      }
    }
    if (!shape.empty() && spec.shape[0] == -1 && shape[0] == 0) {
      return InvalidArgument("input '" + in.name() + "': the batch is empty (0 rows)");
    }
    if (in.dtype() != spec.dtype) {
      ASSIGN_OR_RETURN(out[idx], tensor::ConvertTo(in, spec.dtype));
    } else {
      out[idx] = std::move(in);
    }
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!seen[i]) {
      return InvalidArgument("missing input '" + specs[i].name + "' for model '" + model_name +
                             "'");
    }
  }
  // Every input must have the same number of rows.
  for (size_t i = 1; i < out.size(); ++i) {
    if (!out[i].shape().empty() && !out[0].shape().empty() &&
        out[i].shape()[0] != out[0].shape()[0]) {
      return InvalidArgument("inputs have different batch sizes");
    }
  }
  return out;
}

StatusOr<InferResponse> InferenceService::Run(InferRequest& request,
                                              const lifecycle::ModelHandle& handle) {
  const auto& sig = handle.model->signature();
  for (size_t i = 0; i < request.outputs.size(); ++i) {
    const auto& name = request.outputs[i];
    if (std::find(request.outputs.begin(), request.outputs.begin() + static_cast<std::ptrdiff_t>(i),
                  name) != request.outputs.begin() + static_cast<std::ptrdiff_t>(i)) {
      return InvalidArgument("output '" + name + "' is requested twice");
    }
    bool known = std::any_of(sig.outputs.begin(), sig.outputs.end(),
                             [&](const auto& s) { return s.name == name; });
    if (!known) {
      std::string list;
      for (const auto& s : sig.outputs) list += (list.empty() ? "" : ", ") + s.name;
      return InvalidArgument("model '" + request.model + "' has no output '" + name +
                             "' (outputs: " + list + ")");
    }
  }
  ASSIGN_OR_RETURN(auto inputs,
                   PrepareInputs(sig.inputs, std::move(request.inputs), request.model));
  ASSIGN_OR_RETURN(auto outputs, handle.model->Execute(inputs, request.outputs));
  InferResponse resp;
  resp.model = request.model;
  resp.version = handle.version;
  resp.id = std::move(request.id);
  resp.outputs = std::move(outputs);
  if (!inputs.empty() && !inputs[0].shape().empty()) {
    rows_->WithLabels({request.model, std::to_string(handle.version)})
        .Increment(static_cast<uint64_t>(inputs[0].shape()[0]));
  }
  return resp;
}

StatusOr<lifecycle::ModelHandle> InferenceService::Resolve(std::string_view model,
                                                           std::optional<int64_t> version) {
  auto handle = options_.models->Get(model, version);
  if (!handle.ok()) {
    bool unknown_model = handle.status().code() == base::StatusCode::kNotFound &&
                         !options_.models->ReadyVersions(model).ok();
    // Before a version is resolved the version label stays empty, so bad requests cannot mint
    // label values.
    requests_->WithLabels({unknown_model ? "" : std::string(model), "", "client_error"})
        .Increment();
  }
  return handle;
}

void InferenceService::CountRejected(const lifecycle::ModelHandle& handle) {
  requests_->WithLabels({handle.name, std::to_string(handle.version), "client_error"}).Increment();
}

StatusOr<InferResponse> InferenceService::Infer(InferRequest request) {
  ASSIGN_OR_RETURN(auto handle, Resolve(request.model, request.version));
  return Infer(std::move(request), handle);
}

StatusOr<InferResponse> InferenceService::Infer(InferRequest request,
                                                const lifecycle::ModelHandle& handle) {
  auto start = options_.clock->Now();
  request.model = handle.name;
  auto result = Run(request, handle);
  std::string version = std::to_string(handle.version);
  const char* outcome = "success";
  if (!result.ok()) {
    auto c = result.status().code();
    outcome = (c == base::StatusCode::kInvalidArgument || c == base::StatusCode::kNotFound)
                  ? "client_error"
                  : "server_error";
  }
  requests_->WithLabels({request.model, version, outcome}).Increment();
  duration_->WithLabels({request.model, version})
      .Observe(std::chrono::duration<double>(options_.clock->Now() - start).count());
  return result;
}

}  // namespace inferd::inference
