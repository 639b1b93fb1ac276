#include "backends/onnx/onnx_backend.h"

#include <map>
#include <memory>
#include <mutex>

#include "backend/model_file.h"
#include "backends/onnx/graph_rewrite.h"
#include "backends/onnx/onnx_graph.h"
#include "backends/onnx/onnx_model.h"
#include "backends/onnx/plan.h"
#include "base/logging.h"

// OpenMP's (libgomp, which oneDNN runs on); declared here so that no OpenMP compiler flag or
// header is needed.
extern "C" void omp_set_num_threads(int threads);

namespace inferd::backends::onnx {
namespace {

// Sets the OpenMP threads oneDNN may use for calls from this thread (OpenMP keeps the setting
// per thread, so each server thread sets it once).
void UseThreads(int threads) {
  thread_local int current = 0;
  if (current == threads) return;
  omp_set_num_threads(threads);
  current = threads;
}

// A loaded ONNX model: the graph, and its plans by batch size (made on first use).
class LoadedOnnx final : public backend::LoadedModel {
 public:
  LoadedOnnx(OnnxGraph graph, backend::ModelSignature signature, int threads,
             int64_t max_plan_bytes)
      : graph_(std::move(graph)), signature_(std::move(signature)), threads_(threads) {
    plan_options_.max_arena_bytes = max_plan_bytes;
  }
  const backend::ModelSignature& signature() const override { return signature_; }

  base::StatusOr<std::shared_ptr<const OnnxPlan>> PlanFor(int64_t batch) const {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = plans_.find(batch);
    if (it != plans_.end()) return it->second;
    ASSIGN_OR_RETURN(std::shared_ptr<const OnnxPlan> plan,
                     OnnxPlan::Create(graph_, batch, plan_options_));
    // At most kMaxPlans batch sizes are kept (a call still running on an evicted plan keeps it
    // alive); batch 1, planned at load, stays.
    if (plans_.size() >= kMaxPlans) plans_.erase(std::prev(plans_.end()));
    plans_.emplace(batch, plan);
    return plan;
  }

  base::StatusOr<std::vector<tensor::Tensor>> Execute(
      std::span<const tensor::Tensor> inputs,
      std::span<const std::string> requested_outputs) const override {
    UseThreads(threads_);
    const int64_t batch = inputs.empty() || inputs[0].shape().empty() ? 1 : inputs[0].shape()[0];
    ASSIGN_OR_RETURN(std::shared_ptr<const OnnxPlan> plan, PlanFor(batch));
    ASSIGN_OR_RETURN(std::vector<tensor::Tensor> outputs, plan->Run(inputs));
    if (requested_outputs.empty()) return outputs;
    std::vector<tensor::Tensor> selected;
    for (const std::string& name : requested_outputs) {
      for (auto& t : outputs) {
        if (t.name() == name) selected.push_back(std::move(t));
      }
    }
    return selected;
  }

 private:
  static constexpr size_t kMaxPlans = 64;  // distinct batch sizes kept
  OnnxGraph graph_;
  backend::ModelSignature signature_;
  int threads_;
  PlanOptions plan_options_;
  mutable std::mutex mu_;
  mutable std::map<int64_t, std::shared_ptr<const OnnxPlan>> plans_;
};

}  // namespace

std::optional<std::filesystem::path> OnnxBackend::FindModelFile(
    const std::filesystem::path& version_dir) const {
  std::error_code ec;
  const auto p = version_dir / "model.onnx";
  if (std::filesystem::is_regular_file(p, ec)) return p;
  return std::nullopt;
}

base::StatusOr<std::unique_ptr<backend::LoadedModel>> OnnxBackend::Load(
    const backend::LoadRequest& request) const {
  const std::string file = request.model_file.string();
  ASSIGN_OR_RETURN(std::string bytes,
                   backend::ReadModelFile(request.model_file, options_.max_model_file_bytes));
  auto info = InspectOnnxModel(bytes);
  if (!info.ok()) return info.status().WithContext(file);
  if (!info->unsupported.empty()) {
    return base::Unimplemented(file + ": " + DescribeUnsupported(info->unsupported));
  }
  for ([[maybe_unused]] const std::string& rewrite : RewriteGraph(&info->graph)) {
    LOG_DEBUG("{}: rewrote {}", file, rewrite);
  }
  UseThreads(options_.threads);  // planning runs oneDNN too
  auto model = std::make_unique<LoadedOnnx>(std::move(info->graph), info->signature,
                                            options_.threads, options_.max_plan_bytes);
  // Plan batch 1 now: a graph whose shapes do not fit is refused at load, not at the first call.
  auto plan = model->PlanFor(1);
  if (!plan.ok()) return plan.status().WithContext(file);
  return std::unique_ptr<backend::LoadedModel>(std::move(model));
}

}  // namespace inferd::backends::onnx
