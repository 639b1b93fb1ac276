// TF Serving REST codec: `:predict` requests in row ("instances") and columnar ("inputs") form,
// their replies, and the model status reply.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "inference/inference_service.h"
#include "lifecycle/model_manager.h"
#include "preprocess/schema.h"

namespace inferd::api::http {

enum class V1Format { kRow, kColumnar };

// Decodes a predict body against the model's inputs (names, feature counts and datatypes come
// from `signature`). Row form: {"instances": [row, ...]} where a row is a list of features (single
// input) or an object {input_name: value}. Columnar: {"inputs": value} (single input) or
// {"inputs": {name: value}}. With the model's `schema`, rows may be objects of features and
// "inputs" an object of feature columns (a number per row for a numeric feature, a category name
// or code for a categorical one); a feature a row leaves out is missing there. Errors are
// INVALID_ARGUMENT naming the row or input.
base::Status DecodeV1PredictRequest(std::string_view body, const backend::ModelSignature& signature,
                                    inference::InferRequest* request, V1Format* format,
                                    const preprocess::Schema* schema = nullptr);

// Row form: {"predictions": [...]}, one entry per row: the value of the single output, or an
// object of outputs. Columnar: {"outputs": value or {name: value}}.
std::string EncodeV1PredictResponse(const inference::InferResponse& response, V1Format format);

// GET /v1/models/{m}: {"model_version_status": [...]} for the given index entries of the model.
std::string EncodeV1ModelStatus(const std::vector<lifecycle::IndexEntry>& entries);

}  // namespace inferd::api::http
