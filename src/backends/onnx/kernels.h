// Kernels of the ONNX engine and their shape rules. A kernel reads and writes TensorViews that
// point into the plan's arena or into constants, so running a planned graph allocates nothing.
// Thread-safety: kernels are pure functions of their arguments.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/onnx/onnx_graph.h"
#include "base/status.h"
#include "tensor/tensor.h"

namespace inferd::backends::onnx {

inline constexpr int kMaxRank = 8;

// A tensor's type and shape, and where its elements are (null while planning).
struct TensorView {
  tensor::DataType dtype = tensor::DataType::kFp32;
  tensor::Shape shape;
  void* data = nullptr;
  bool present = true;  // false for an omitted optional input

  int64_t elements() const { return tensor::ElementCount(shape); }
  template <typename T>
  T* as() const {
    return static_cast<T*>(data);
  }
};

// The shape rule of an operator: output types and shapes from the inputs' (whose data is set for
// constants, so that shape-computing inputs such as Reshape's can be read). Errors:
// INVALID_ARGUMENT naming the node and the mismatch.
using ShapeFn = base::Status (*)(const OnnxNode& node, std::span<const TensorView> inputs,
                                 std::vector<TensorView>* outputs);
// Computes the outputs (whose shapes and buffers are set) from the inputs.
using KernelFn = base::Status (*)(const OnnxNode& node, std::span<const TensorView> inputs,
                                  std::span<const TensorView> outputs);

struct OpDef {
  ShapeFn shape;
  KernelFn kernel;
  // The kernel reads only its inputs' shapes (Shape): it runs at plan time whatever the data.
  bool shape_only = false;
};

// Helpers the operator files share. Errors are INVALID_ARGUMENT naming the node.
base::Status NodeError(const OnnxNode& n, const std::string& what);
size_t ElemSize(const TensorView& v);
// numpy-style broadcasting of two shapes.
base::StatusOr<tensor::Shape> BroadcastShapes(const OnnxNode& n, const tensor::Shape& a,
                                              const tensor::Shape& b);
// The values of an INT64/INT32 input that must be known when planning (a shape, axes, pads...);
// empty for an omitted optional input.
base::StatusOr<std::vector<int64_t>> ConstInts(const OnnxNode& n, const TensorView& v,
                                               const char* what);
// `axis` in [-rank, rank) made non-negative.
base::StatusOr<int64_t> NormalizeAxis(const OnnxNode& n, int64_t axis, int64_t rank);

// The operator `op` of the default domain, or null when the engine lacks it.
const OpDef* FindOp(std::string_view op);

}  // namespace inferd::backends::onnx
