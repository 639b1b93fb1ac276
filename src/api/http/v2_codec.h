// Open Inference Protocol v2 REST codec: infer request and response bodies, model metadata and the
// repository index, as JSON.
// Thread-safety: pure functions (each thread uses its own JSON parser).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "inference/inference_service.h"
#include "lifecycle/model_manager.h"

namespace inferd::api::http {

// Longest request id accepted (it is echoed in the inferd-request-id header).
inline constexpr size_t kMaxRequestIdBytes = 256;

// How outputs go back. Binary data (Triton's binary tensor extension): every output when the
// request parameter binary_data_output is true, else those whose request output sets
// "binary_data": true. Classification (Triton's classification extension): an output whose
// request sets "classification": K comes back as the top K classes of each row, BYTES
// "<value>:<index>" strings of shape [rows, K], "<value>:<index>:<label>" when the output has
// labels (label_filename in the model's config).
struct OutputOptions {
  bool all = false;
  std::vector<std::string> names;
  std::map<std::string, int64_t> classification;
  std::map<std::string, const std::vector<std::string>*> labels;  // by output; not owned
  bool any() const { return all || !names.empty(); }
  bool wants(const std::string& name) const;
};

// Decodes an infer request body into `request` (model and version are set by the caller).
// `json_bytes`: the value of the Inference-Header-Content-Length header when the body carries
// binary tensor data after its JSON (Triton's binary tensor extension): inputs with the
// "binary_data_size" parameter take their bytes from there, in order. `binary` (may be null)
// receives which outputs to send back as binary data.
// Errors (INVALID_ARGUMENT) name the problem: malformed JSON, missing or mistyped fields, unknown
// datatype, negative or overflowing shape, element count that does not match the shape, binary
// data sizes that do not match the shape or the body.
base::Status DecodeV2InferRequest(std::string_view body, inference::InferRequest* request,
                                  std::optional<size_t> json_bytes = std::nullopt,
                                  OutputOptions* binary = nullptr);

// The response body. With binary outputs, their data follows the JSON (which then holds their
// "binary_data_size" instead of "data"), and *json_bytes is set to the JSON's length for the
// Inference-Header-Content-Length header. Classified outputs are BYTES strings (always JSON).
std::string EncodeV2InferResponse(const inference::InferResponse& response,
                                  const OutputOptions& binary = {}, size_t* json_bytes = nullptr);

// Model metadata for `versions` (ascending), from the signature of the version shown; `extra`
// parameters (the version's digest and lineage) follow the signature's.
std::string EncodeV2ModelMetadata(
    const std::string& name, const std::vector<int64_t>& versions,
    const backend::ModelSignature& signature,
    const std::vector<std::pair<std::string, std::string>>& extra = {});
// GET /v2/models/{m}/versions: every version loaded or tried, with its digest, files, lineage
// and load.
std::string EncodeVersions(const std::string& name,
                           const std::vector<lifecycle::VersionInfo>& versions);

std::string EncodeRepositoryIndex(const std::vector<lifecycle::IndexEntry>& entries);
// The model's configuration in the shape of Triton's model configuration JSON (name, platform,
// backend, max_batch_size, input/output with TYPE_* data types and dims without the batch
// dimension when the model batches, dynamic_batching, instance_group, version_policy), so tools
// written for Triton read it.
std::string EncodeModelConfig(const std::string& name, const backend::ModelSignature& signature,
                              const config::ModelConfig& config, const std::string& backend);
// Triton's statistics extension: {"model_stats": [...]}.
std::string EncodeModelStatistics(const std::vector<inference::VersionStatistics>& stats);

// {"error": message}
std::string EncodeError(std::string_view message);

}  // namespace inferd::api::http
