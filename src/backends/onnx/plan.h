// OnnxPlan: a graph planned for one batch size. Planning gives every value its concrete shape,
// evaluates what depends only on constants and shapes (constant and shape folding), and lays the
// other values out in one arena. Running a plan checks an arena out of the plan's pool, so calls
// after the first allocate nothing but their output tensors.
// Thread-safety: Run is const and thread-safe (each call uses its own arena).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "backends/onnx/kernels.h"
#include "backends/onnx/onnx_graph.h"
#include "base/status.h"

namespace inferd::backends::onnx {

class OnnxPlan {
 public:
  // Plans `graph` (which must outlive the plan) for inputs whose first dimension is `batch`
  // where the graph declares it dynamic. Errors: INVALID_ARGUMENT naming the node whose shapes do
  // not fit, or a dynamic dimension other than the first; UNIMPLEMENTED for an operator the
  // engine lacks.
  static base::StatusOr<std::unique_ptr<OnnxPlan>> Create(const OnnxGraph& graph, int64_t batch);

  // Runs the plan. `inputs`: one tensor per graph input, in order, with the planned dtypes and
  // shapes (the caller checks them). Returns the graph outputs, in order.
  base::StatusOr<std::vector<tensor::Tensor>> Run(std::span<const tensor::Tensor> inputs) const;

  size_t arena_bytes() const { return arena_bytes_; }
  size_t steps() const { return steps_.size(); }

 private:
  struct Slot {
    TensorView view;      // dtype and shape; data set for constants
    int64_t offset = -1;  // in the arena, for computed values
    int input = -1;       // index among the graph inputs, for graph inputs
  };
  struct Step {
    const OnnxNode* node;
    const OpDef* op;
    std::vector<int> inputs, outputs;  // value ids
  };
  struct Arena {
    std::vector<std::byte> storage;
    std::byte* base = nullptr;        // storage aligned to 64 bytes
    std::vector<TensorView> in, out;  // scratch for one step
  };

  OnnxPlan() = default;
  std::unique_ptr<Arena> Checkout() const;
  void Return(std::unique_ptr<Arena> arena) const;

  const OnnxGraph* graph_ = nullptr;
  std::vector<Slot> slots_;  // per value id
  std::vector<Step> steps_;
  std::vector<tensor::Tensor> folded_;  // values computed at plan time
  size_t arena_bytes_ = 0;
  mutable std::mutex mu_;
  mutable std::vector<std::unique_ptr<Arena>> free_;
};

}  // namespace inferd::backends::onnx
