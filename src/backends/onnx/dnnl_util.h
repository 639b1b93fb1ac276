// oneDNN's CPU engine and a stream per thread, shared by the kernels that run oneDNN primitives.
// Thread-safety: the engine is shared (oneDNN allows it); each thread executes on its own stream.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

namespace inferd::backends::onnx {

inline dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

inline dnnl::stream& ThreadStream() {
  thread_local dnnl::stream stream(CpuEngine());
  return stream;
}

// A plain row-major FP32 memory descriptor of `dims`.
inline dnnl::memory::desc RowMajor(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  return dnnl::memory::desc(dims, dnnl::memory::data_type::f32, strides);
}

}  // namespace inferd::backends::onnx
