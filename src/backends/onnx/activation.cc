// The activations the planner fuses into Gemm, MatMul and Conv, and the unary functions of the
// element-wise kernels. The loops are compiled for AVX-512, AVX2 and baseline x86-64 and the best
// is picked when the library loads; exp and erf come from vec_math.h so that they vectorize too.
#include <algorithm>
#include <cmath>

#include "backends/onnx/kernels.h"
#include "backends/onnx/vec_math.h"

namespace inferd::backends::onnx {

namespace {

// y = f(x + bias[c]) over a row-major [rows, cols] matrix (bias may be null).
template <typename F>
inline void Rows(const float* x, float* y, int64_t rows, int64_t cols, const float* bias, F f) {
  if (bias == nullptr) {
    const int64_t count = rows * cols;
    for (int64_t i = 0; i < count; ++i) y[i] = f(x[i]);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    for (int64_t c = 0; c < cols; ++c) yr[c] = f(xr[c] + bias[c]);
  }
}

__attribute__((target_clones("avx512f", "avx2", "default"))) void Activate(
    const float* x, float* y, int64_t rows, int64_t cols, const float* bias, Activation act,
    float alpha, float beta) {
  switch (act) {
    case Activation::kNone:
      Rows(x, y, rows, cols, bias, [](float v) { return v; });
      return;
    case Activation::kRelu:
      Rows(x, y, rows, cols, bias, [](float v) { return v > 0.0f ? v : 0.0f; });
      return;
    case Activation::kLeakyRelu:
      Rows(x, y, rows, cols, bias, [alpha](float v) { return v >= 0.0f ? v : alpha * v; });
      return;
    case Activation::kClip:
      Rows(x, y, rows, cols, bias,
           [alpha, beta](float v) { return std::min(std::max(v, alpha), beta); });
      return;
    case Activation::kHardSigmoid:
      Rows(x, y, rows, cols, bias,
           [alpha, beta](float v) { return std::max(0.0f, std::min(1.0f, alpha * v + beta)); });
      return;
    case Activation::kSigmoid:
      Rows(x, y, rows, cols, bias, [](float v) { return 1.0f / (1.0f + ExpApprox(-v)); });
      return;
    case Activation::kTanh:
      Rows(x, y, rows, cols, bias, [](float v) { return std::tanh(v); });
      return;
    case Activation::kElu:
      Rows(x, y, rows, cols, bias,
           [alpha](float v) { return v >= 0.0f ? v : alpha * (ExpApprox(v) - 1.0f); });
      return;
    case Activation::kGelu:
      Rows(x, y, rows, cols, bias,
           [](float v) { return v * 0.5f * (1.0f + ErfApprox(v * 0.707106781f)); });
      return;
    case Activation::kExp:
      Rows(x, y, rows, cols, bias, [](float v) { return ExpApprox(v); });
      return;
    case Activation::kErf:
      Rows(x, y, rows, cols, bias, [](float v) { return ErfApprox(v); });
      return;
  }
}

}  // namespace

void ApplyBiasActivation(float* y, int64_t rows, int64_t cols, const float* bias, Activation act,
                         float alpha, float beta) {
  if (bias == nullptr && act == Activation::kNone) return;
  Activate(y, y, rows, cols, bias, act, alpha, beta);
}

void ApplyActivation(const float* x, float* y, int64_t count, Activation act, float alpha,
                     float beta) {
  Activate(x, y, 1, count, nullptr, act, alpha, beta);
}

bool FusableActivation(const OnnxNode& n, std::span<const TensorView> in, Activation* act,
                       float* alpha, float* beta) {
  if (in.empty() || in[0].dtype != tensor::DataType::kFp32) return false;
  auto attr = [&](const char* key, float fallback, float* out) {
    auto v = n.Get<float>(key, fallback);
    if (!v.ok()) return false;
    *out = *v;
    return true;
  };
  *alpha = *beta = 0.0f;
  if (n.op == "Relu" || n.op == "Sigmoid" || n.op == "Tanh" || n.op == "Gelu") {
    *act = n.op == "Relu"      ? Activation::kRelu
           : n.op == "Sigmoid" ? Activation::kSigmoid
           : n.op == "Tanh"    ? Activation::kTanh
                               : Activation::kGelu;
    return in.size() == 1;
  }
  if (n.op == "LeakyRelu") {
    *act = Activation::kLeakyRelu;
    return in.size() == 1 && attr("alpha", 0.01f, alpha);
  }
  if (n.op == "Elu") {
    *act = Activation::kElu;
    return in.size() == 1 && attr("alpha", 1.0f, alpha);
  }
  if (n.op == "HardSigmoid") {
    *act = Activation::kHardSigmoid;
    return in.size() == 1 && attr("alpha", 0.2f, alpha) && attr("beta", 0.5f, beta);
  }
  if (n.op == "Clip") {
    *act = Activation::kClip;
    *alpha = -INFINITY;
    *beta = INFINITY;
    if (n.opset < 11) return attr("min", -INFINITY, alpha) && attr("max", INFINITY, beta);
    for (size_t i = 1; i < in.size() && i < 3; ++i) {
      if (!in[i].present) continue;
      if (in[i].data == nullptr || in[i].dtype != tensor::DataType::kFp32 ||
          in[i].elements() != 1) {
        return false;  // a bound known only when running: Clip runs on its own
      }
      (i == 1 ? *alpha : *beta) = *in[i].as<float>();
    }
    return in.size() <= 3;
  }
  return false;
}

}  // namespace inferd::backends::onnx
