// The activations the planner fuses into Gemm, MatMul and Conv, applied in place. The loops are
// compiled for AVX-512, AVX2 and baseline x86-64 and the best is picked when the library loads.
#include <algorithm>
#include <cmath>

#include "backends/onnx/kernels.h"

namespace inferd::backends::onnx {

namespace {

template <typename F>
inline void Rows(float* y, int64_t rows, int64_t cols, const float* bias, F f) {
  if (bias == nullptr) {
    const int64_t count = rows * cols;
    for (int64_t i = 0; i < count; ++i) y[i] = f(y[i]);
    return;
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* row = y + r * cols;
    for (int64_t c = 0; c < cols; ++c) row[c] = f(row[c] + bias[c]);
  }
}

}  // namespace

__attribute__((target_clones("avx512f", "avx2", "default"))) void ApplyBiasActivation(
    float* y, int64_t rows, int64_t cols, const float* bias, Activation act, float alpha,
    float beta) {
  switch (act) {
    case Activation::kNone:
      if (bias != nullptr) Rows(y, rows, cols, bias, [](float v) { return v; });
      return;
    case Activation::kRelu:
      Rows(y, rows, cols, bias, [](float v) { return v > 0.0f ? v : 0.0f; });
      return;
    case Activation::kLeakyRelu:
      Rows(y, rows, cols, bias, [alpha](float v) { return v >= 0.0f ? v : alpha * v; });
      return;
    case Activation::kClip:
      Rows(y, rows, cols, bias,
           [alpha, beta](float v) { return std::min(std::max(v, alpha), beta); });
      return;
    case Activation::kHardSigmoid:
      Rows(y, rows, cols, bias,
           [alpha, beta](float v) { return std::max(0.0f, std::min(1.0f, alpha * v + beta)); });
      return;
    case Activation::kSigmoid:
      Rows(y, rows, cols, bias, [](float v) { return 1.0f / (1.0f + std::exp(-v)); });
      return;
    case Activation::kTanh:
      Rows(y, rows, cols, bias, [](float v) { return std::tanh(v); });
      return;
    case Activation::kElu:
      Rows(y, rows, cols, bias,
           [alpha](float v) { return v >= 0.0f ? v : alpha * (std::exp(v) - 1.0f); });
      return;
  }
}

void ApplyActivation(float* y, int64_t count, Activation act, float alpha, float beta) {
  ApplyBiasActivation(y, 1, count, nullptr, act, alpha, beta);
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
  if (n.op == "Relu") {
    *act = Activation::kRelu;
    return in.size() == 1;
  }
  if (n.op == "Sigmoid") {
    *act = Activation::kSigmoid;
    return in.size() == 1;
  }
  if (n.op == "Tanh") {
    *act = Activation::kTanh;
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
