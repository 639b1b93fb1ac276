// CSV output of `inferd predict`: which columns a model's outputs become, and the text of a batch
// of output tensors.
//
// Columns: an output of shape [N] is one column named after it (`prediction`, `label`); an output
// [N, C] (or any [N, d1, d2, ...], flattened row-major) is C columns <prefix>0..<prefix>{C-1},
// where the prefix is `p` for `probabilities` and the output's name otherwise (`margin0`, ...).
// Columns follow the outputs in the order given. Values: FP32 and FP64 as the shortest text that
// reads back to the same value (std::to_chars: at most 9 significant digits for FP32, 17 for FP64;
// NaN is `nan`), integers in decimal, BOOL as 0/1.
//
// Thread-safety: CsvOutputPlan is immutable after construction; the functions are reentrant.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "config/model_config.h"
#include "tensor/tensor.h"

namespace inferd::tools {

struct CsvOutputColumns {
  std::string output;  // the tensor's name
  tensor::DataType dtype = tensor::DataType::kFp32;
  int64_t width = 1;               // columns per row
  std::vector<std::string> names;  // width names
};

using CsvOutputPlan = std::vector<CsvOutputColumns>;

// The columns for `outputs` (signature entries, in output order).
// Errors: UNIMPLEMENTED for an output whose non-batch dimensions are not fixed or whose dtype has
// no text form here (FP16, BYTES).
base::StatusOr<CsvOutputPlan> PlanCsvOutput(const std::vector<config::TensorSpec>& outputs);

// "p0,p1,label\n".
std::string CsvHeader(const CsvOutputPlan& plan);

// Appends one line per row of `outputs` (one tensor per plan entry, in plan order) to `out`.
// Errors: INTERNAL when a tensor does not match its plan entry (name, dtype, or a shape other than
// [rows, width...] with the same `rows` for all).
base::Status AppendCsvRows(std::span<const tensor::Tensor> outputs, const CsvOutputPlan& plan,
                           std::string* out);

}  // namespace inferd::tools
