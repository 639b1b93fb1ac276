// Triton's classification extension, shared by the REST and gRPC transports: the `k` highest
// values of each row of an output (dimension 0 the rows, the rest flattened) as
// "<value>:<index>" strings, or "<value>:<index>:<label>" when the output has labels, highest
// first (ties: lower index first). The values are written as the JSON answers write numbers.
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace inferd::api {

struct Classification {
  int64_t rows = 0, k = 0;           // the answer's shape: [rows, k]
  std::vector<std::string> entries;  // rows * k, row-major
};

// Precondition: k >= 1 (it is capped at the classes per row). `labels` may be null.
Classification Classify(const tensor::Tensor& t, int64_t k, const std::vector<std::string>* labels);

}  // namespace inferd::api
