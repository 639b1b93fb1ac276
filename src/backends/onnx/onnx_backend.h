// OnnxBackend: the "onnx" engine for `model.onnx` files. It is built as a plugin
// (libinferd_onnx.so, see plugin.cc) that the server loads only when a repository holds an ONNX
// model, so a forest-only server never pays for protobuf and the ONNX libraries.
//
// A model is parsed, checked (the ONNX checker, IR version, opset) and refused with one error that
// lists every operator the engine lacks and the nodes using it; the graph is rewritten
// (graph_rewrite.h) and planned per batch size (plan.h), batch 1 at load.
// Thread-safety: Load may run concurrently.
#pragma once

#include <cstdint>
#include <memory>

#include "backend/backend.h"

namespace inferd::backends::onnx {

struct OnnxBackendOptions {
  int64_t max_model_file_bytes = int64_t{1} << 30;  // larger files are refused
  // Threads one call may use (oneDNN's OpenMP threads). 1 suits a server, whose concurrent
  // requests already keep the cores busy; more lowers the latency of large batches. >= 1.
  int threads = 1;
  // Intermediate tensors one run of one batch size may take (PlanOptions::max_arena_bytes).
  int64_t max_plan_bytes = int64_t{16} << 30;
};

class OnnxBackend final : public backend::Backend {
 public:
  explicit OnnxBackend(const OnnxBackendOptions& options) : options_(options) {}
  std::string_view name() const override { return "onnx"; }
  std::optional<std::filesystem::path> FindModelFile(
      const std::filesystem::path& version_dir) const override;
  bool LoadsFileName(std::string_view file_name) const override {
    return file_name == "model.onnx";
  }
  // Errors: as ReadModelFile and InspectOnnxModel (INVALID_ARGUMENT), every message starting with
  // the file; UNIMPLEMENTED listing the operators the engine lacks.
  base::StatusOr<std::unique_ptr<backend::LoadedModel>> Load(
      const backend::LoadRequest& request) const override;

 private:
  OnnxBackendOptions options_;
};

}  // namespace inferd::backends::onnx
