// InferenceService: the transport-neutral request path — resolve the model version, check the
// request tensors against the model's signature, convert them to the declared types, run the
// model, and record metrics. HTTP and gRPC codecs only translate to and from these types.
// Thread-safety: thread-safe; Infer() may run on any number of threads at once.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/model_manager.h"
#include "monitoring/metrics.h"
#include "tensor/tensor.h"

namespace inferd::inference {

struct InferRequest {
  std::string model;
  std::optional<int64_t> version;  // absent: the highest ready version
  std::string id;                  // echoed; the transport generates one when the client sent none
  std::vector<tensor::Tensor> inputs;  // each named; any numeric dtype (converted as declared)
  std::vector<std::string> outputs;    // requested output names; empty = the default outputs
};

struct InferResponse {
  std::string model;
  int64_t version = 0;
  std::string id;
  std::vector<tensor::Tensor> outputs;
};

struct InferenceServiceOptions {
  lifecycle::ModelManager* models = nullptr;       // not owned, required
  monitoring::MetricsRegistry* metrics = nullptr;  // not owned, required
  const base::Clock* clock = &base::Clock::Real();
};

class InferenceService {
 public:
  static base::StatusOr<std::unique_ptr<InferenceService>> Create(
      const InferenceServiceOptions& options);

  // Errors: NOT_FOUND (model or version), UNAVAILABLE (not ready), INVALID_ARGUMENT (inputs that
  // do not fit the signature: missing, unknown or duplicate names, wrong rank or feature count,
  // values that cannot be converted, unknown requested outputs), and the backend's errors.
  base::StatusOr<InferResponse> Infer(InferRequest request);
  // The same with the version already resolved (request.model and request.version are ignored).
  base::StatusOr<InferResponse> Infer(InferRequest request, const lifecycle::ModelHandle& handle);
  // Resolves the model version a request goes to, counting failures as client errors. Transports
  // call it before decoding a body, so an unknown model is a 404 whatever the body holds.
  // Errors: as ModelManager::Get.
  base::StatusOr<lifecycle::ModelHandle> Resolve(std::string_view model,
                                                 std::optional<int64_t> version);

  // Counts a request for `handle` that the transport refused before Infer (a body it could not
  // decode), so client errors show per model and version.
  void CountRejected(const lifecycle::ModelHandle& handle);

  lifecycle::ModelManager& models() const { return *options_.models; }

 private:
  explicit InferenceService(const InferenceServiceOptions& options);
  base::StatusOr<InferResponse> Run(InferRequest& request, const lifecycle::ModelHandle& handle);

  InferenceServiceOptions options_;
  monitoring::Family<monitoring::Counter>* requests_;
  monitoring::Family<monitoring::Histogram>* duration_;
  monitoring::Family<monitoring::Counter>* rows_;
};

// Checks `inputs` against the declared specs and returns them in declaration order, converted to
// the declared datatype; a rank-1 tensor for a [-1, F] input is taken as one row. Exposed for
// tests and for offline tools that share the request path.
base::StatusOr<std::vector<tensor::Tensor>> PrepareInputs(
    const std::vector<config::TensorSpec>& specs, std::vector<tensor::Tensor> inputs,
    const std::string& model_name);

}  // namespace inferd::inference
