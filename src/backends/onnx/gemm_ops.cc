// Gemm and MatMul on oneDNN's single-precision GEMM, with the bias and activation that follow
// them fused in (one pass over the output while it is still in cache).
#include <oneapi/dnnl/dnnl.h>

#include <algorithm>
#include <cstring>
#include <optional>
#include <unordered_map>

#include "backends/onnx/dnnl_util.h"
#include "backends/onnx/kernels.h"
#include "backends/onnx/shape_ops.h"

namespace inferd::backends::onnx {

using base::Status;
using base::StatusOr;
using tensor::DataType;
using tensor::Shape;

namespace {

Status Sgemm(const OnnxNode& n, bool ta, bool tb, int64_t m, int64_t nn, int64_t k, float alpha,
             const float* a, const float* b, float beta, float* y) {
  const dnnl_status_t st = dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', m, nn, k, alpha, a,
                                      ta ? m : k, b, tb ? k : nn, beta, y, nn);
  if (st != dnnl_success)
    return NodeError(n, "oneDNN GEMM failed (status " + std::to_string(st) + ")");
  return Status::Ok();
}

// The epilogue's bias as one value per column, plus `extra` (per column; may be empty).
std::vector<float> ColumnBias(const Epilogue& epi, const std::vector<float>& extra, int64_t cols) {
  if (epi.bias.empty() && extra.empty()) return {};
  std::vector<float> bias(static_cast<size_t>(cols), 0.0f);
  for (size_t c = 0; c < bias.size(); ++c) {
    if (!extra.empty()) bias[c] += extra[c];
    if (!epi.bias.empty()) bias[c] += epi.bias[c];
  }
  return bias;
}

// ---- Weights packed once: oneDNN's matmul ----------------------------------------------------

// Y[M, N] = act(X[M, K] W + bias) with constant weights reordered once, when planning, into the
// layout oneDNN's matmul prefers, and the bias and activation done by the primitive. A call then
// does no packing; for the MLP layers this beats a GEMM call that packs W each time.
class PackedGemm final : public PreparedKernel {
 public:
  // w: [K, N] row-major, or [N, K] when `w_transposed`; scaled by `alpha`. bias: N values or
  // empty. Null when oneDNN offers no such primitive.
  static std::unique_ptr<PreparedKernel> Make(const OnnxNode& n, int64_t m, int64_t k, int64_t nn,
                                              const float* w, bool w_transposed, float alpha,
                                              const std::vector<float>& bias, const Epilogue& epi) {
    auto g = std::make_unique<PackedGemm>();
    g->node_ = &n;
    try {
      auto& engine = CpuEngine();
      using Tag = dnnl::memory::format_tag;
      constexpr auto kF32 = dnnl::memory::data_type::f32;
      g->x_md_ = dnnl::memory::desc({m, k}, kF32, Tag::ab);
      g->y_md_ = dnnl::memory::desc({m, nn}, kF32, Tag::ab);
      const dnnl::memory::desc w_any({k, nn}, kF32, Tag::any);
      const dnnl::memory::desc b_md({1, nn}, kF32, Tag::ab);
      dnnl::primitive_attr attr = UserScratchpad();
      attr.set_post_ops(PostOps(epi));
      const dnnl::matmul::primitive_desc pd(
          bias.empty() ? dnnl::matmul::desc(g->x_md_, w_any, g->y_md_)
                       : dnnl::matmul::desc(g->x_md_, w_any, b_md, g->y_md_),
          attr, engine);
      if (std::string(pd.impl_info_str()).find("ref") != std::string::npos) return nullptr;
      std::vector<float> scaled(w, w + k * nn);
      if (alpha != 1.0f) {
        for (float& v : scaled) v *= alpha;
      }
      g->weights_ = Packed({{k, nn}, kF32, w_transposed ? Tag::ba : Tag::ab}, scaled.data(),
                           pd.weights_desc());
      if (!bias.empty()) g->bias_ = FloatMemory(b_md, bias);
      g->prim_ = dnnl::matmul(pd);
      g->pad_ = pd.scratchpad_desc();
      g->impl_ = pd.impl_info_str();
    } catch (const dnnl::error&) {
      return nullptr;
    }
    return g;
  }

  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte* scratch) const override {
    try {
      auto& engine = CpuEngine();
      dnnl::memory x(x_md_, engine, in[0].data), y(y_md_, engine, out[0].data);
      std::unordered_map<int, dnnl::memory> args = {
          {DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, weights_}, {DNNL_ARG_DST, y}};
      if (bias_) args.emplace(DNNL_ARG_BIAS, *bias_);
      Execute(prim_, pad_, scratch, std::move(args));
    } catch (const dnnl::error& e) {
      return NodeError(*node_, std::string("oneDNN matmul failed: ") + e.what());
    }
    return Status::Ok();
  }

  std::string implementation() const override { return "oneDNN " + impl_ + ", packed weights"; }
  size_t scratch_bytes() const override { return pad_.get_size(); }

 private:
  const OnnxNode* node_ = nullptr;
  dnnl::memory::desc x_md_, y_md_, pad_;
  dnnl::memory weights_;
  std::optional<dnnl::memory> bias_;
  dnnl::matmul prim_;
  std::string impl_;
};

// ---- A few rows: weights streamed once, accumulators in registers -------------------------------

typedef float V16 __attribute__((vector_size(64)));

// Compiled for AVX-512, AVX2 and baseline x86-64; GCC may fuse multiply-adds here (the project
// builds with -ffp-contract=off for the forests' bit-exactness).
#if defined(__clang__)
#define INFERD_CLONES_WITH_FMA __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define INFERD_CLONES_WITH_FMA \
  __attribute__((target_clones("avx512f", "avx2", "default"), optimize("fp-contract=fast")))
#endif

// Rows [0, kRows) of y[:, c0 : c0 + 16 kVecs] = x · W, W packed [K, npad] row-major. kRows * kVecs
// accumulators of 16 floats stay in registers while W's rows stream by once.
template <int kRows, int kVecs>
[[gnu::always_inline]] inline void RowsTile(const float* x, int64_t k, const float* w, int64_t npad,
                                            float* y, int64_t n, int64_t c0) {
  V16 acc[kRows][kVecs];
  for (int r = 0; r < kRows; ++r) {
    for (int t = 0; t < kVecs; ++t) acc[r][t] = V16{};
  }
  for (int64_t p = 0; p < k; ++p) {
    const float* row = w + p * npad + c0;
    V16 wv[kVecs];
    for (int t = 0; t < kVecs; ++t) std::memcpy(&wv[t], row + 16 * t, sizeof(V16));
    for (int r = 0; r < kRows; ++r) {
      const float xv = x[r * k + p];
      for (int t = 0; t < kVecs; ++t) acc[r][t] += xv * wv[t];
    }
  }
  const int64_t cols = std::min<int64_t>(16 * kVecs, n - c0);
  for (int r = 0; r < kRows; ++r) {
    std::memcpy(y + r * n + c0, &acc[r][0], static_cast<size_t>(cols) * sizeof(float));
  }
}

// Columns [c0, n) of rows [0, kRows): tiles of kMaxVecs vectors, then one narrower tile.
template <int kRows, int kMaxVecs>
[[gnu::always_inline]] inline void RowsTiles(const float* x, int64_t k, const float* w,
                                             int64_t npad, float* y, int64_t n) {
  int64_t c0 = 0;
  for (; c0 + 16 * kMaxVecs <= npad; c0 += 16 * kMaxVecs) {
    RowsTile<kRows, kMaxVecs>(x, k, w, npad, y, n, c0);
  }
  switch ((npad - c0) / 16) {
#define INFERD_TAIL(v)                                                       \
  case v:                                                                    \
    if constexpr (v < kMaxVecs) RowsTile<kRows, v>(x, k, w, npad, y, n, c0); \
    break;
    INFERD_TAIL(1)
    INFERD_TAIL(2)
    INFERD_TAIL(3)
    INFERD_TAIL(4)
    INFERD_TAIL(5)
    INFERD_TAIL(6)
    INFERD_TAIL(7)
    INFERD_TAIL(8)
    INFERD_TAIL(9)
    INFERD_TAIL(10)
    INFERD_TAIL(11)
    INFERD_TAIL(12)
    INFERD_TAIL(13)
    INFERD_TAIL(14)
    INFERD_TAIL(15)
#undef INFERD_TAIL
    default:
      break;
  }
}

// y[m, n] = x[m, k] · W for a few rows (the batch-1 latency case), in tiles of 4, 2 and 1 rows.
// W: packed [k, npad], npad a multiple of 16 with zero columns past n.
INFERD_CLONES_WITH_FMA void FewRowsGemm(const float* x, int64_t m, int64_t k, const float* w,
                                        int64_t npad, float* y, int64_t n) {
  int64_t r = 0;
  for (; r + 4 <= m; r += 4) RowsTiles<4, 4>(x + r * k, k, w, npad, y + r * n, n);
  for (; r + 2 <= m; r += 2) RowsTiles<2, 8>(x + r * k, k, w, npad, y + r * n, n);
  for (; r < m; ++r) RowsTiles<1, 16>(x + r * k, k, w, npad, y + r * n, n);
}

// Y = act(X W + bias) for M <= kFewRows, W constant.
constexpr int64_t kFewRows = 4;
class FewRows final : public PreparedKernel {
 public:
  FewRows(int64_t m, int64_t k, int64_t n, const float* w, bool w_transposed, float alpha,
          std::vector<float> bias, const Epilogue& epi)
      : m_(m),
        k_(k),
        n_(n),
        npad_((n + 15) / 16 * 16),
        bias_(std::move(bias)),
        act_(epi.act),
        alpha_(epi.alpha),
        beta_(epi.beta) {
    w_.assign(static_cast<size_t>(k * npad_), 0.0f);
    for (int64_t p = 0; p < k; ++p) {
      for (int64_t j = 0; j < n; ++j) {
        w_[static_cast<size_t>(p * npad_ + j)] =
            alpha * (w_transposed ? w[j * k + p] : w[p * n + j]);
      }
    }
  }

  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte*) const override {
    float* y = out[0].as<float>();
    FewRowsGemm(in[0].as<float>(), m_, k_, w_.data(), npad_, y, n_);
    ApplyBiasActivation(y, m_, n_, bias_.empty() ? nullptr : bias_.data(), act_, alpha_, beta_);
    return Status::Ok();
  }

  std::string implementation() const override { return "inferd, weights streamed once"; }

 private:
  int64_t m_, k_, n_, npad_;
  std::vector<float> w_;  // [k, npad]
  std::vector<float> bias_;
  Activation act_;
  float alpha_, beta_;
};

// Weights at least this large (K * N) are packed; below, a GEMM call costs less than a primitive.
constexpr int64_t kPackedWeights = 16384;

// Y[M, N] = act(X W + bias) with constant weights (see PackedGemm::Make for w's layout), when the
// weights are large enough to pack: FewRows up to kFewRows rows, oneDNN's matmul above. Null for
// small weights (a GEMM call is cheaper) or when oneDNN has no primitive.
std::unique_ptr<PreparedKernel> PackWeights(const OnnxNode& n, int64_t m, int64_t k, int64_t nn,
                                            const float* w, bool w_transposed, float alpha,
                                            const std::vector<float>& bias, const Epilogue& epi) {
  if (k * nn < kPackedWeights) return nullptr;
  if (m <= kFewRows) {
    return std::make_unique<FewRows>(m, k, nn, w, w_transposed, alpha, bias, epi);
  }
  return PackedGemm::Make(n, m, k, nn, w, w_transposed, alpha, bias, epi);
}

// ---- Gemm ---------------------------------------------------------------------------------------

Status GemmShape(const OnnxNode& n, std::span<const TensorView> in, std::vector<TensorView>* out) {
  if (in.size() < 2 || in.size() > 3) return NodeError(n, "takes 2 or 3 inputs");
  if (in[0].dtype != DataType::kFp32 || in[1].dtype != DataType::kFp32)
    return NodeError(n, "computes in FP32");
  if (in[0].shape.size() != 2 || in[1].shape.size() != 2)
    return NodeError(n, "A and B must be 2-D");
  ASSIGN_OR_RETURN(int64_t ta, n.Get<int64_t>("transA", 0));
  ASSIGN_OR_RETURN(int64_t tb, n.Get<int64_t>("transB", 0));
  const int64_t m = ta ? in[0].shape[1] : in[0].shape[0];
  const int64_t k = ta ? in[0].shape[0] : in[0].shape[1];
  const int64_t kb = tb ? in[1].shape[1] : in[1].shape[0];
  const int64_t nn = tb ? in[1].shape[0] : in[1].shape[1];
  if (k != kb) {
    return NodeError(
        n, "inner dimensions differ: " + std::to_string(k) + " and " + std::to_string(kb));
  }
  if (in.size() == 3 && in[2].present) {
    if (in[2].dtype != DataType::kFp32) return NodeError(n, "C must be FP32");
    ASSIGN_OR_RETURN(Shape c, BroadcastShapes(n, in[2].shape, Shape{m, nn}));
    if (c != Shape{m, nn}) return NodeError(n, "C does not broadcast to [M, N]");
  }
  out->assign(1, TensorView{DataType::kFp32, Shape{m, nn}, nullptr});
  return Status::Ok();
}

// Y = act(alpha * A' B' + beta * C + bias). C, when constant, becomes a per-column bias (or, when
// it varies by row, a matrix Y starts from); C computed while running is broadcast each call.
class Gemm final : public PreparedKernel {
 public:
  static StatusOr<std::unique_ptr<PreparedKernel>> Prepare(const OnnxNode& n,
                                                           std::span<const TensorView> in,
                                                           std::span<const TensorView> out,
                                                           const Epilogue& epi, bool) {
    auto g = std::make_unique<Gemm>();
    g->node_ = &n;
    ASSIGN_OR_RETURN(int64_t ta, n.Get<int64_t>("transA", 0));
    ASSIGN_OR_RETURN(int64_t tb, n.Get<int64_t>("transB", 0));
    ASSIGN_OR_RETURN(g->alpha_, n.Get<float>("alpha", 1.0f));
    ASSIGN_OR_RETURN(g->beta_, n.Get<float>("beta", 1.0f));
    g->ta_ = ta != 0, g->tb_ = tb != 0;
    g->m_ = out[0].shape[0], g->n_ = out[0].shape[1];
    g->k_ = g->ta_ ? in[0].shape[0] : in[0].shape[1];
    g->act_ = epi.act, g->act_alpha_ = epi.alpha, g->act_beta_ = epi.beta;
    std::vector<float> c_columns;
    const bool has_c = in.size() == 3 && in[2].present && g->beta_ != 0.0f;
    if (has_c && in[2].data == nullptr) {
      g->c_runtime_ = true;
    } else if (has_c) {
      const Shape& cs = in[2].shape;
      const int64_t count = in[2].elements();
      const bool per_column = count == 1 || count == g->n_;  // [], [1], [N], [1, N] (or [1, 1])
      const float* c = in[2].as<float>();
      if (per_column && (cs.size() < 2 || cs[0] == 1)) {
        c_columns.resize(static_cast<size_t>(g->n_));
        for (int64_t j = 0; j < g->n_; ++j) c_columns[j] = g->beta_ * c[count == 1 ? 0 : j];
      } else {
        g->c_matrix_.resize(static_cast<size_t>(g->m_ * g->n_));
        BroadcastScaled(in[2], TensorView{DataType::kFp32, out[0].shape, g->c_matrix_.data()},
                        g->beta_);
      }
    }
    g->bias_ = ColumnBias(epi, c_columns, g->n_);
    if (!g->ta_ && in[1].data != nullptr && !g->c_runtime_ && g->c_matrix_.empty()) {
      if (auto packed = PackWeights(n, g->m_, g->k_, g->n_, in[1].as<float>(), g->tb_, g->alpha_,
                                    g->bias_, epi)) {
        return packed;
      }
    }
    return std::unique_ptr<PreparedKernel>(std::move(g));
  }

  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte*) const override {
    float* y = out[0].as<float>();
    float c_weight = 0.0f;
    if (c_runtime_) {
      BroadcastScaled(in[2], out[0], beta_);
      c_weight = 1.0f;
    } else if (!c_matrix_.empty()) {
      std::memcpy(y, c_matrix_.data(), c_matrix_.size() * sizeof(float));
      c_weight = 1.0f;
    }
    RETURN_IF_ERROR(Sgemm(*node_, ta_, tb_, m_, n_, k_, alpha_, in[0].as<float>(),
                          in[1].as<float>(), c_weight, y));
    if (!bias_.empty() || act_ != Activation::kNone) {
      ApplyBiasActivation(y, m_, n_, bias_.empty() ? nullptr : bias_.data(), act_, act_alpha_,
                          act_beta_);
    }
    return Status::Ok();
  }

 private:
  const OnnxNode* node_ = nullptr;
  bool ta_ = false, tb_ = false, c_runtime_ = false;
  int64_t m_ = 0, n_ = 0, k_ = 0;
  float alpha_ = 1.0f, beta_ = 1.0f;
  std::vector<float> bias_;      // per column; empty: none
  std::vector<float> c_matrix_;  // beta * C broadcast to [M, N], when C varies by row
  Activation act_ = Activation::kNone;
  float act_alpha_ = 0.0f, act_beta_ = 0.0f;
};

// ---- MatMul (batched, broadcasting the leading dimensions) --------------------------------------

Status MatMulShape(const OnnxNode& n, std::span<const TensorView> in,
                   std::vector<TensorView>* out) {
  if (in.size() != 2 || in[0].dtype != DataType::kFp32 || in[1].dtype != DataType::kFp32) {
    return NodeError(n, "takes two FP32 inputs");
  }
  Shape a = in[0].shape, b = in[1].shape;
  if (a.empty() || b.empty()) return NodeError(n, "inputs must not be scalars");
  if (a.size() == 1) a.insert(a.begin(), 1);
  if (b.size() == 1) b.push_back(1);
  if (a.back() != b[b.size() - 2]) {
    return NodeError(n, "inner dimensions differ: " + tensor::ShapeToString(in[0].shape) + " x " +
                            tensor::ShapeToString(in[1].shape));
  }
  Shape batch_a(a.begin(), a.end() - 2), batch_b(b.begin(), b.end() - 2);
  const size_t r = std::max(batch_a.size(), batch_b.size());
  Shape s(r);
  for (size_t i = 0; i < r; ++i) {
    const int64_t da = i < r - batch_a.size() ? 1 : batch_a[i - (r - batch_a.size())];
    const int64_t db = i < r - batch_b.size() ? 1 : batch_b[i - (r - batch_b.size())];
    if (da != db && da != 1 && db != 1) return NodeError(n, "batch dimensions do not broadcast");
    s[i] = std::max(da, db);
  }
  if (in[0].shape.size() > 1) s.push_back(a[a.size() - 2]);
  if (in[1].shape.size() > 1) s.push_back(b.back());
  out->assign(1, TensorView{DataType::kFp32, s, nullptr});
  return Status::Ok();
}

// [.., M, K] x [.., K, N]. When B is a matrix, A's leading dimensions fold into M: one GEMM.
class MatMul final : public PreparedKernel {
 public:
  static StatusOr<std::unique_ptr<PreparedKernel>> Prepare(const OnnxNode& n,
                                                           std::span<const TensorView> in,
                                                           std::span<const TensorView> out,
                                                           const Epilogue& epi, bool) {
    auto mm = std::make_unique<MatMul>();
    mm->node_ = &n;
    Shape a = in[0].shape, b = in[1].shape;
    if (a.size() == 1) a.insert(a.begin(), 1);
    if (b.size() == 1) b.push_back(1);
    mm->m_ = a[a.size() - 2], mm->k_ = a.back(), mm->n_ = b.back();
    const int64_t out_count = out[0].elements();
    mm->rows_ = mm->n_ == 0 ? 0 : out_count / mm->n_;
    mm->bias_ = ColumnBias(epi, {}, mm->n_);
    mm->act_ = epi.act, mm->act_alpha_ = epi.alpha, mm->act_beta_ = epi.beta;
    // The batch dimensions, broadcast: each output product's offsets into A and B.
    const Shape ba(a.begin(), a.end() - 2), bb(b.begin(), b.end() - 2);
    const size_t r = std::max(ba.size(), bb.size());
    Shape bo(r);
    auto dim = [r](const Shape& s, size_t i) {
      return i < r - s.size() ? 1 : s[i - (r - s.size())];
    };
    for (size_t i = 0; i < r; ++i) bo[i] = std::max(dim(ba, i), dim(bb, i));
    const int64_t batches = tensor::ElementCount(bo);
    if (tensor::ElementCount(bb) == 1 && tensor::ElementCount(ba) == batches) {
      mm->m_ *= batches;  // [B.., M, K] x [K, N] is [B..*M, K] x [K, N]
      mm->a_off_ = mm->b_off_ = {0};
    } else {
      std::vector<int64_t> idx(r, 0);
      for (int64_t bt = 0; bt < batches; ++bt) {
        int64_t oa = 0, ob = 0, sa = 1, sb = 1;
        for (size_t i = r; i-- > 0;) {
          if (dim(ba, i) != 1) oa += idx[i] * sa;
          if (dim(bb, i) != 1) ob += idx[i] * sb;
          sa *= dim(ba, i);
          sb *= dim(bb, i);
        }
        mm->a_off_.push_back(oa * mm->m_ * mm->k_);
        mm->b_off_.push_back(ob * mm->k_ * mm->n_);
        for (size_t i = r; i-- > 0;) {
          if (++idx[i] < bo[i]) break;
          idx[i] = 0;
        }
      }
    }
    if (mm->a_off_.size() == 1 && in[1].data != nullptr && in[1].shape.size() == 2 &&
        in[0].shape.size() >= 2) {
      if (auto packed = PackWeights(n, mm->m_, mm->k_, mm->n_, in[1].as<float>(), false, 1.0f,
                                    mm->bias_, epi)) {
        return packed;
      }
    }
    if (mm->a_off_.size() >= 8 && mm->m_ * mm->n_ * mm->k_ > 0 && in[0].shape.size() > 1 &&
        in[1].shape.size() > 1) {
      // Many products (attention's per-head ones): one oneDNN batched matmul, broadcasting the
      // batch dimensions, rather than a GEMM call each.
      const size_t rank = out[0].shape.size();
      auto dims = [rank](Shape s) {
        s.insert(s.begin(), rank - s.size(), 1);
        return dnnl::memory::dims(s.begin(), s.end());
      };
      try {
        mm->a_md_ = RowMajor(dims(a));
        mm->b_md_ = RowMajor(dims(b));
        mm->y_md_ = RowMajor(dims(out[0].shape));
        const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(mm->a_md_, mm->b_md_, mm->y_md_),
                                              UserScratchpad(), CpuEngine());
        mm->prim_ = dnnl::matmul(pd);
        mm->pad_ = pd.scratchpad_desc();
      } catch (const dnnl::error&) {
        mm->prim_.reset();  // the GEMM loop
      }
    }
    return std::unique_ptr<PreparedKernel>(std::move(mm));
  }

  Status Run(std::span<const TensorView> in, std::span<const TensorView> out,
             std::byte* scratch) const override {
    const float* pa = in[0].as<float>();
    const float* pb = in[1].as<float>();
    float* py = out[0].as<float>();
    if (prim_) {
      try {
        auto& engine = CpuEngine();
        dnnl::memory a(a_md_, engine, in[0].data), b(b_md_, engine, in[1].data);
        dnnl::memory y(y_md_, engine, out[0].data);
        Execute(*prim_, pad_, scratch,
                {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, y}});
      } catch (const dnnl::error& e) {
        return NodeError(*node_, std::string("oneDNN matmul failed: ") + e.what());
      }
    } else {
      for (size_t bt = 0; bt < a_off_.size(); ++bt) {
        RETURN_IF_ERROR(Sgemm(*node_, false, false, m_, n_, k_, 1.0f, pa + a_off_[bt],
                              pb + b_off_[bt], 0.0f, py + static_cast<int64_t>(bt) * m_ * n_));
      }
    }
    if (!bias_.empty() || act_ != Activation::kNone) {
      ApplyBiasActivation(py, rows_, n_, bias_.empty() ? nullptr : bias_.data(), act_, act_alpha_,
                          act_beta_);
    }
    return Status::Ok();
  }

  size_t scratch_bytes() const override { return prim_ ? pad_.get_size() : 0; }

 private:
  const OnnxNode* node_ = nullptr;
  int64_t m_ = 0, k_ = 0, n_ = 0, rows_ = 0;
  std::vector<int64_t> a_off_, b_off_;  // per product, in elements
  dnnl::memory::desc a_md_, b_md_, y_md_, pad_;
  std::optional<dnnl::matmul> prim_;
  std::vector<float> bias_;
  Activation act_ = Activation::kNone;
  float act_alpha_ = 0.0f, act_beta_ = 0.0f;
};

}  // namespace

void AddGemmOps(std::map<std::string, OpDef, std::less<>>* ops) {
  OpDef gemm{GemmShape, RunOnce<Gemm::Prepare>};
  gemm.prepare = Gemm::Prepare;
  gemm.fuses_bias_act = true;
  OpDef matmul{MatMulShape, RunOnce<MatMul::Prepare>};
  matmul.prepare = MatMul::Prepare;
  matmul.fuses_bias_act = true;
  ops->insert({{"Gemm", gemm}, {"MatMul", matmul}});
}

}  // namespace inferd::backends::onnx
