// The transport-neutral request and response of the inference path.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace inferd::inference {

struct InferRequest {
  std::string model;
  std::optional<int64_t> version;  // absent: the highest ready version
  std::string id;                  // echoed; the transport generates one when the client sent none
  std::vector<tensor::Tensor> inputs;  // each named; any numeric dtype (converted as declared)
  std::vector<std::string> outputs;    // requested output names; empty = the default outputs
  // Dynamic batching (Triton's request parameters): the priority level (0: the model's default,
  // 1: most urgent) and how long the request may wait in the queue (only shortens the model's).
  int priority = 0;
  std::optional<std::chrono::microseconds> timeout;
  // Set by transports: the client named no version or label (the rollout policy chose one), and
  // whether it sent a route key (header or metadata). A routed request without a route key is
  // routed again by the value of the policy's route_key_input, when it has that input.
  bool routed = false;
  bool route_key_given = false;
};

struct InferResponse {
  std::string model;
  int64_t version = 0;
  std::string id;
  std::vector<tensor::Tensor> outputs;
};

}  // namespace inferd::inference
