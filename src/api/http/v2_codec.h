// Open Inference Protocol v2 REST codec: infer request and response bodies, model metadata and the
// repository index, as JSON.
// Thread-safety: pure functions (each thread uses its own JSON parser).
#pragma once

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

// Decodes an infer request body into `request` (model and version are set by the caller).
// Errors (INVALID_ARGUMENT) name the problem: malformed JSON, missing or mistyped fields, unknown
// datatype, negative or overflowing shape, element count that does not match the shape.
base::Status DecodeV2InferRequest(std::string_view body, inference::InferRequest* request);

std::string EncodeV2InferResponse(const inference::InferResponse& response);

// Model metadata for `versions` (ascending), from the signature of the version shown.
std::string EncodeV2ModelMetadata(const std::string& name, const std::vector<int64_t>& versions,
                                  const backend::ModelSignature& signature);

std::string EncodeRepositoryIndex(const std::vector<lifecycle::IndexEntry>& entries);
// Triton's statistics extension: {"model_stats": [...]}.
std::string EncodeModelStatistics(const std::vector<inference::VersionStatistics>& stats);

// {"error": message}
std::string EncodeError(std::string_view message);

}  // namespace inferd::api::http
