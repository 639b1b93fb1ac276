// oneDNN's CPU engine and a stream per thread, shared by the kernels that run oneDNN primitives,
// and the fused activations as oneDNN post-ops.
// Thread-safety: the engine is shared (oneDNN allows it); each thread executes on its own stream.
#pragma once

#include <algorithm>
#include <oneapi/dnnl/dnnl.hpp>
#include <unordered_map>
#include <vector>

#include "backends/onnx/kernels.h"

namespace inferd::backends::onnx {

inline dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

inline dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

// Primitive attributes with a user scratchpad. A primitive here is created on one thread and run
// by any, concurrently; in oneDNN's default ("library") mode its scratch memory would belong to
// the primitive or to the thread that created it, so every primitive takes its scratch from the
// caller (the plan's per-call arena) instead.
inline dnnl::primitive_attr UserScratchpad(dnnl::primitive_attr attr = {}) {
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return attr;
}

// A reorder between two layouts that takes its scratch memory from the caller.
inline dnnl::reorder::primitive_desc ReorderDesc(const dnnl::memory::desc& from,
                                                 const dnnl::memory::desc& to) {
  return dnnl::reorder::primitive_desc(CpuEngine(), from, CpuEngine(), to, UserScratchpad());
}

// Runs `prim` on this thread's stream with `args`, and its scratchpad (`pad` bytes, when it needs
// any) at `scratch`.
inline void Execute(const dnnl::primitive& prim, const dnnl::memory::desc& pad, void* scratch,
                    std::unordered_map<int, dnnl::memory> args) {
  if (pad.get_size() > 0) {
    args.emplace(DNNL_ARG_SCRATCHPAD, dnnl::memory(pad, CpuEngine(), scratch));
  }
  prim.execute(ThreadStream(), args);
}

// `bytes` rounded up to a multiple of 64 (a cache line): where the next buffer in a kernel's
// scratch starts.
template <typename Int>
inline size_t Aligned64(Int bytes) {
  return (static_cast<size_t>(bytes) + 63) & ~size_t{63};
}

// A plain row-major FP32 memory descriptor of `dims`.
inline dnnl::memory::desc RowMajor(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

// `data` (laid out as `given`) reordered into a new memory of layout `want` (weights packed once,
// when a kernel is prepared).
inline dnnl::memory Packed(const dnnl::memory::desc& given, void* data,
                           const dnnl::memory::desc& want) {
  dnnl::memory user(given, CpuEngine(), data);
  dnnl::memory packed(want, CpuEngine());
  dnnl::stream& stream = ThreadStream();
  dnnl::reorder(user, packed).execute(stream, user, packed);
  stream.wait();
  return packed;
}

// A new FP32 memory of `md` holding `values`.
inline dnnl::memory FloatMemory(const dnnl::memory::desc& md, const std::vector<float>& values) {
  dnnl::memory m(md, CpuEngine());
  std::copy(values.begin(), values.end(), static_cast<float*>(m.get_data_handle()));
  return m;
}

// Appends the epilogue's activation to `po` as eltwise post-ops.
inline void AppendActivation(const Epilogue& epi, dnnl::post_ops* out) {
  dnnl::post_ops& po = *out;
  using A = dnnl::algorithm;
  switch (epi.act) {
    case Activation::kNone:
      break;
    case Activation::kRelu:
      po.append_eltwise(1.0f, A::eltwise_relu, 0.0f, 0.0f);
      break;
    case Activation::kLeakyRelu:
      po.append_eltwise(1.0f, A::eltwise_relu, epi.alpha, 0.0f);
      break;
    case Activation::kSigmoid:
      po.append_eltwise(1.0f, A::eltwise_logistic, 0.0f, 0.0f);
      break;
    case Activation::kTanh:
      po.append_eltwise(1.0f, A::eltwise_tanh, 0.0f, 0.0f);
      break;
    case Activation::kElu:
      po.append_eltwise(1.0f, A::eltwise_elu, epi.alpha, 0.0f);
      break;
    case Activation::kClip:
      po.append_eltwise(1.0f, A::eltwise_clip, epi.alpha, epi.beta);
      break;
    case Activation::kHardSigmoid:
      po.append_eltwise(1.0f, A::eltwise_linear, epi.alpha, epi.beta);
      po.append_eltwise(1.0f, A::eltwise_clip, 0.0f, 1.0f);
      break;
    case Activation::kGelu:
      po.append_eltwise(1.0f, A::eltwise_gelu_erf, 0.0f, 0.0f);
      break;
    case Activation::kExp:
    case Activation::kErf:
      break;  // never fused
  }
}

// The epilogue's activation as oneDNN post-ops.
inline dnnl::post_ops PostOps(const Epilogue& epi) {
  dnnl::post_ops po;
  AppendActivation(epi, &po);
  return po;
}

}  // namespace inferd::backends::onnx
