// OnnxPlan: a graph planned for one batch size. Planning gives every value its concrete shape,
// evaluates what depends only on constants and shapes (constant and shape folding), fuses the
// BatchNormalization, bias and activation after a Gemm, MatMul or Conv into it, turns ops that
// only relabel bytes (Reshape, Flatten, Identity...) into views, prepares each remaining node's
// kernel, and lays the values out in one arena where values whose lifetimes do not overlap share
// bytes. Running a plan checks an arena out of the plan's pool, so calls after the first allocate
// nothing but their output tensors.
// Thread-safety: Run is const and thread-safe (each call uses its own arena).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "backends/onnx/kernels.h"
#include "backends/onnx/onnx_graph.h"
#include "base/status.h"

namespace inferd::backends::onnx {

// The planner's optimizations, each on by default (off: to check they change no result).
struct PlanOptions {
  bool fuse = true;     // BatchNormalization, bias and activation into Gemm, MatMul and Conv
  bool views = true;    // Reshape, Flatten, Identity, zero Pad... as views, not copies
  bool blocked = true;  // oneDNN's blocked layouts between convolutions and poolings
  // The largest arena (the intermediate tensors of one run) a plan may need; a model whose shapes
  // ask for more is refused when planned (a crafted file must not take the server's memory).
  int64_t max_arena_bytes = int64_t{16} << 30;
};

class OnnxPlan {
 public:
  // Plans `graph` (which must outlive the plan) for inputs whose first dimension is `batch`
  // where the graph declares it dynamic. Errors: INVALID_ARGUMENT naming the node whose shapes do
  // not fit, or a dynamic dimension other than the first; UNIMPLEMENTED for an operator the
  // engine lacks.
  static base::StatusOr<std::unique_ptr<OnnxPlan>> Create(const OnnxGraph& graph, int64_t batch,
                                                          const PlanOptions& options = {});

  // Runs the plan. `inputs`: one tensor per graph input, in order, with the planned dtypes and
  // shapes (the caller checks them). Returns the graph outputs, in order.
  base::StatusOr<std::vector<tensor::Tensor>> Run(std::span<const tensor::Tensor> inputs) const;

  // Runs the plan `reps` times and returns each step's median microseconds, in Describe's order
  // (for onnx_bench --profile).
  base::StatusOr<std::vector<double>> Profile(std::span<const tensor::Tensor> inputs,
                                              int reps) const;

  size_t arena_bytes() const { return arena_bytes_; }
  size_t steps() const { return steps_.size(); }
  // One line per step: the node, its op and what was fused into it (for logs and tests).
  std::vector<std::string> Describe() const;

 private:
  struct Slot {
    TensorView view;      // dtype and shape; data set for constants
    int64_t offset = -1;  // in the arena, for computed values
    int input = -1;       // index among the graph inputs, for graph inputs
    int buffer = -1;      // the value whose arena bytes this one uses (itself, or a view's source)
    size_t bytes = 0;     // arena bytes of a value that owns a buffer
  };
  struct Step {
    const OnnxNode* node;
    const OpDef* op;
    std::unique_ptr<PreparedKernel> kernel;  // null: op->kernel
    std::vector<int> inputs, outputs;        // value ids
    std::string fused;                       // the nodes computed with this one
    int64_t scratch_offset = 0;              // in the arena, for kernel->scratch_bytes()
  };
  struct Arena {
    std::vector<std::byte> storage;
    std::byte* base = nullptr;  // storage aligned to 64 bytes
    // Per step, its input and output views bound to this arena; graph inputs are bound per call.
    std::vector<std::vector<TensorView>> in, out;
    std::vector<TensorView*> input_views;  // the views that point at graph input `input_index`
    std::vector<int> input_index;
  };

  OnnxPlan() = default;
  // One planning pass; `wanted`: per value, the layout its reader would like (may be empty).
  static base::StatusOr<std::unique_ptr<OnnxPlan>> Build(
      const OnnxGraph& graph, int64_t batch, const PlanOptions& options,
      const std::vector<std::shared_ptr<const BlockedLayout>>& wanted);
  TensorView Bind(int id, std::byte* base) const;
  void LayOut();
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
