// Kernels of the ONNX engine and their shape rules. A kernel reads and writes TensorViews that
// point into the plan's arena or into constants, so running a planned graph allocates nothing.
// Thread-safety: kernels are pure functions of their arguments.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/onnx/onnx_graph.h"
#include "base/status.h"
#include "tensor/tensor.h"

namespace inferd::backends::onnx {

inline constexpr int kMaxRank = 8;

// A memory layout other than plain row-major that a prepared kernel chose for its output (a
// oneDNN blocked format, channels interleaved in blocks). The planner lets a kernel choose one
// only when every reader of the value declares `accepts_blocked`.
class BlockedLayout {
 public:
  virtual ~BlockedLayout() = default;
  virtual size_t bytes() const = 0;
};

// A tensor's type and shape, and where its elements are (null while planning).
struct TensorView {
  TensorView() = default;
  TensorView(tensor::DataType dtype, tensor::Shape shape, void* data)
      : dtype(dtype), shape(std::move(shape)), data(data) {}

  tensor::DataType dtype = tensor::DataType::kFp32;
  tensor::Shape shape;
  void* data = nullptr;
  bool present = true;                          // false for an omitted optional input
  std::shared_ptr<const BlockedLayout> layout;  // null: plain row-major

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

// A node's computation prepared when planning, for its fixed shapes: attributes read, constant
// weights repacked, oneDNN primitives created. Run is const and thread-safe.
class PreparedKernel {
 public:
  virtual ~PreparedKernel() = default;
  // `scratch`: scratch_bytes() bytes of the plan's arena, 64-byte aligned, for this call only.
  virtual base::Status Run(std::span<const TensorView> inputs, std::span<const TensorView> outputs,
                           std::byte* scratch) const = 0;
  virtual size_t scratch_bytes() const { return 0; }
  // The layout of output 0, when the kernel was allowed to choose and chose a blocked one.
  virtual std::shared_ptr<const BlockedLayout> output_layout() const { return nullptr; }
  // The layout input 0 is reordered into before the kernel runs, when it arrives in another: the
  // planner asks the producer for it on a second pass.
  virtual std::shared_ptr<const BlockedLayout> input_layout() const { return nullptr; }
  // The implementation chosen (e.g. oneDNN's), for profiles; empty when there is nothing to say.
  virtual std::string implementation() const { return {}; }
};

// An activation the planner fuses into the Gemm, MatMul or Conv before it (kGelu: the erf form,
// from the graph rewrite), and the unary functions the element-wise kernels share the vectorized
// loops of (kExp, kErf: not fused).
enum class Activation {
  kNone,
  kRelu,
  kLeakyRelu,
  kSigmoid,
  kTanh,
  kClip,
  kHardSigmoid,
  kElu,
  kGelu,
  kExp,
  kErf
};

// What follows a Gemm, MatMul or Conv and is computed with it:
// y = act(scale[c] * z + bias[c]) where z is the node's own result and c its last dimension
// (Gemm, MatMul) or channel (Conv). Empty scale / bias: 1 / 0.
struct Epilogue {
  std::vector<float> scale;  // Conv only: a folded BatchNormalization
  std::vector<float> bias;
  Activation act = Activation::kNone;
  float alpha = 0.0f, beta = 0.0f;  // LeakyRelu/Elu alpha; Clip min/max; HardSigmoid alpha/beta

  bool empty() const { return scale.empty() && bias.empty() && act == Activation::kNone; }
};

// Prepares `node` for the shapes in `inputs` (data set for constants; layout set for blocked
// inputs) and `outputs`, with the epilogue the planner fused into it (ops without fusion get an
// empty one). `blocked_output_ok`: output 0 may be given a blocked layout; then outputs[0].layout,
// when set, is the one its reader would like (the kernel uses it if it can).
using PrepareFn = base::StatusOr<std::unique_ptr<PreparedKernel>> (*)(
    const OnnxNode& node, std::span<const TensorView> inputs, std::span<const TensorView> outputs,
    const Epilogue& epilogue, bool blocked_output_ok);

struct OpDef {
  ShapeFn shape;
  KernelFn kernel;
  // The kernel reads only its inputs' shapes (Shape): it runs at plan time whatever the data.
  bool shape_only = false;
  // Output 0 holds input 0's bytes unchanged (Identity, Reshape...): the planner makes it a view.
  bool alias = false;
  // Output 0 equals input 0 for these inputs (a Pad by zeros...): the planner makes it a view.
  bool (*identity)(const OnnxNode& node, std::span<const TensorView> inputs) = nullptr;
  // Preferred to `kernel` when set; the only way to run a fused epilogue.
  PrepareFn prepare = nullptr;
  // The epilogue parts this op can take (see the planner's fusion).
  bool fuses_bias_act = false;
  bool fuses_batchnorm = false;
  // Its prepared kernel reads input 0 in a blocked layout too.
  bool accepts_blocked = false;
};

// The KernelFn of an op with a PrepareFn: prepares and runs once (constant folding).
template <PrepareFn kPrepare>
base::Status RunOnce(const OnnxNode& n, std::span<const TensorView> in,
                     std::span<const TensorView> out) {
  ASSIGN_OR_RETURN(auto kernel, kPrepare(n, in, out, Epilogue{}, false));
  std::vector<std::byte> scratch(kernel->scratch_bytes());
  return kernel->Run(in, out, scratch.data());
}

// y = act(x) for `count` floats (y may be x).
void ApplyActivation(const float* x, float* y, int64_t count, Activation act, float alpha,
                     float beta);
// y[r][c] = act(y[r][c] + bias[c]) in place for a row-major [rows, cols] matrix; bias may be null.
void ApplyBiasActivation(float* y, int64_t rows, int64_t cols, const float* bias, Activation act,
                         float alpha, float beta);
// The activation an element-wise node computes, if the planner can fuse it (constant Clip bounds
// must be known): sets *act, *alpha, *beta.
bool FusableActivation(const OnnxNode& node, std::span<const TensorView> inputs, Activation* act,
                       float* alpha, float* beta);

// Helpers the operator files share. Errors are INVALID_ARGUMENT naming the node.
base::Status NodeError(const OnnxNode& n, const std::string& what);
size_t ElemSize(const TensorView& v);
// Copies the strided view of `src` (`shape`, and `strides` in elements) into contiguous `dst`.
void StridedCopy(void* dst, const void* src, const tensor::Shape& shape,
                 std::span<const int64_t> strides, size_t elem_size);
// dst = scale * src, src broadcast to dst's shape (FP32).
void BroadcastScaled(const TensorView& src, const TensorView& dst, float scale);
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
