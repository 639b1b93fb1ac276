#include "backends/forest/forest_backend.h"

#include <algorithm>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "backends/forest/compiled_forest.h"
#include "backends/forest/lightgbm_loaded.h"
#include "backends/forest/model_common.h"
#include "backends/forest/xgboost_model.h"
#include "base/thread_pool.h"
#include "tensor/tensor.h"

namespace inferd::backends::forest {
namespace {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;
using tensor::DataType;
using tensor::Shape;
using tensor::Tensor;

enum class OutputKind { kProbabilities, kLabel, kPrediction, kMargin };

struct OutputDef {
  config::TensorSpec spec;
  OutputKind kind;
};

// The outputs of a model, in signature order (see forest_backend.h).
std::vector<OutputDef> OutputsFor(const XgboostModel& model) {
  const int64_t groups = model.forest.num_groups;
  const Shape per_row = groups == 1 ? Shape{-1} : Shape{-1, groups};
  auto spec = [](std::string name, DataType dtype, Shape shape, bool default_output = true) {
    return config::TensorSpec::Make(std::move(name), dtype, std::move(shape), default_output);
  };
  const OutputDef probabilities_binary{spec("probabilities", DataType::kFp32, {-1, 2}),
                                       OutputKind::kProbabilities};
  const OutputDef probabilities_multi{spec("probabilities", DataType::kFp32, {-1, groups}),
                                      OutputKind::kProbabilities};
  const OutputDef label{spec("label", DataType::kInt64, {-1}), OutputKind::kLabel};
  const OutputDef prediction{spec("prediction", DataType::kFp32, per_row), OutputKind::kPrediction};
  const OutputDef margin{spec("margin", DataType::kFp32, per_row, false), OutputKind::kMargin};
  switch (model.objective.task) {
    case Task::kBinary:
      return {probabilities_binary, label, margin};
    case Task::kMultiProb:
      return {probabilities_multi, label, margin};
    case Task::kMultiIndex:
      return {label, probabilities_multi, margin};
    case Task::kHinge:
      return {label, prediction, margin};
    case Task::kRegression:
      break;
  }
  return {prediction, margin};
}

class LoadedForest final : public backend::LoadedModel {
 public:
  LoadedForest(Objective objective, CompiledForest<float> compiled,
               std::shared_ptr<base::ThreadPool> pool, backend::ModelSignature signature,
               std::vector<OutputKind> kinds)
      : objective_(std::move(objective)),
        compiled_(std::move(compiled)),
        pool_(std::move(pool)),
        signature_(std::move(signature)),
        kinds_(std::move(kinds)),
        default_outputs_(DefaultOutputs(signature_)) {}

  const backend::ModelSignature& signature() const override { return signature_; }

  StatusOr<std::vector<Tensor>> Execute(
      std::span<const Tensor> inputs,
      std::span<const std::string> requested_outputs) const override;

 private:
  Objective objective_;
  CompiledForest<float> compiled_;
  std::shared_ptr<base::ThreadPool> pool_;  // shared with the backend; kept alive by the model
  backend::ModelSignature signature_;
  std::vector<OutputKind> kinds_;        // parallel to signature_.outputs
  std::vector<size_t> default_outputs_;  // what a request that names no output gets
};

StatusOr<std::vector<Tensor>> LoadedForest::Execute(
    std::span<const Tensor> inputs, std::span<const std::string> requested_outputs) const {
  const CompiledForest<float>& forest = compiled_;
  const config::TensorSpec& input_spec = signature_.inputs[0];
  if (inputs.size() != 1) {
    return InvalidArgument("expected 1 input tensor, got " + std::to_string(inputs.size()));
  }
  const Tensor& x = inputs[0];
  if (x.dtype() != DataType::kFp32) {
    return InvalidArgument("input '" + input_spec.name + "' must be FP32, got " +
                           std::string(tensor::DataTypeName(x.dtype())));
  }
  if (x.shape().size() != 2 || x.shape()[0] < 0 || x.shape()[1] != forest.num_features() ||
      x.element_count() < 0 ||
      x.byte_size() != static_cast<size_t>(x.element_count()) * sizeof(float)) {
    return InvalidArgument("input '" + input_spec.name + "' must have shape [N, " +
                           std::to_string(forest.num_features()) + "], got " +
                           tensor::ShapeToString(x.shape()));
  }
  std::vector<size_t> requested_selection;
  const std::vector<size_t>* selection = &default_outputs_;
  if (!requested_outputs.empty()) {
    ASSIGN_OR_RETURN(requested_selection, SelectOutputs(signature_, requested_outputs));
    selection = &requested_selection;
  }

  const int64_t rows = x.shape()[0];
  const int64_t groups = forest.num_groups();
  // Small batches keep their scratch on the stack: at batch 1 the allocations would cost as much
  // as the trees.
  constexpr size_t kInline = 256;
  float margin_inline[kInline], probabilities_inline[kInline];
  std::vector<float> margin_heap, probabilities_heap;
  auto scratch = [&](float* inline_buffer, std::vector<float>& heap, size_t n) {
    if (n <= kInline) return std::span<float>(inline_buffer, n);
    heap.resize(n);
    return std::span<float>(heap);
  };
  const std::span<float> margin =
      scratch(margin_inline, margin_heap, static_cast<size_t>(rows * groups));
  forest.PredictMargin(x.data<float>().data(), rows, margin.data(), pool_.get());

  const Objective& objective = objective_;
  // Class probabilities, [rows, 2] for binary:logistic, [rows, groups] for multi-class.
  const int64_t width = objective.task == Task::kBinary ? 2 : groups;
  std::span<float> probabilities;
  auto compute_probabilities = [&] {
    if (!probabilities.empty() || rows == 0) return;
    probabilities =
        scratch(probabilities_inline, probabilities_heap, static_cast<size_t>(rows * width));
    if (objective.task == Task::kBinary) {
      for (int64_t r = 0; r < rows; ++r) {
        const float p = Sigmoid(margin[static_cast<size_t>(r)]);
        probabilities[static_cast<size_t>(2 * r)] = 1.0f - p;
        probabilities[static_cast<size_t>(2 * r + 1)] = p;
      }
    } else {
      std::copy(margin.begin(), margin.end(), probabilities.begin());
      ApplyTransform(PredTransform::kSoftmax, rows, groups, probabilities);
    }
  };

  std::vector<Tensor> out;
  out.reserve(selection->size());
  for (size_t index : *selection) {
    const config::TensorSpec& spec = signature_.outputs[index];
    Shape shape = spec.shape;
    shape[0] = rows;
    Tensor t(spec.name, spec.dtype, std::move(shape));
    switch (kinds_[index]) {
      case OutputKind::kMargin:
        std::copy(margin.begin(), margin.end(), t.data<float>().begin());
        break;
      case OutputKind::kPrediction: {
        // libxgboost's output for regression-like tasks and binary:hinge.
        std::span<float> v = t.data<float>();
        std::copy(margin.begin(), margin.end(), v.begin());
        ApplyTransform(objective.transform, rows, groups, v);
        break;
      }
      case OutputKind::kProbabilities: {
        compute_probabilities();
        std::copy(probabilities.begin(), probabilities.end(), t.data<float>().begin());
        break;
      }
      case OutputKind::kLabel: {
        std::span<int64_t> labels = t.data<int64_t>();
        for (int64_t r = 0; r < rows; ++r) {
          switch (objective.task) {
            case Task::kBinary:
            case Task::kMultiProb:
              compute_probabilities();
              labels[static_cast<size_t>(r)] = ArgMax(probabilities.subspan(
                  static_cast<size_t>(r * width), static_cast<size_t>(width)));
              break;
            case Task::kMultiIndex:
              labels[static_cast<size_t>(r)] = ArgMax(
                  margin.subspan(static_cast<size_t>(r * groups), static_cast<size_t>(groups)));
              break;
            case Task::kHinge:
              labels[static_cast<size_t>(r)] = margin[static_cast<size_t>(r)] > 0.0f ? 1 : 0;
              break;
            case Task::kRegression:
              return base::Internal("label output on a regression model");
          }
        }
        break;
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

int64_t NumClasses(const XgboostModel& model) {
  switch (model.objective.task) {
    case Task::kBinary:
    case Task::kHinge:
      return 2;
    case Task::kMultiProb:
    case Task::kMultiIndex:
      return model.forest.num_groups;
    case Task::kRegression:
      break;
  }
  return 0;
}

}  // namespace

StatusOr<std::unique_ptr<ForestBackend>> ForestBackend::Create(
    const ForestBackendOptions& options) {
  if (options.threads < 0) {
    return InvalidArgument("forest threads must be >= 0, got " + std::to_string(options.threads));
  }
  if (options.max_model_file_bytes <= 0) {
    return InvalidArgument("forest max_model_file_bytes must be > 0");
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // The calling thread takes a share of every batch, so the pool has one thread fewer.
  auto pool = std::make_shared<base::ThreadPool>(threads - 1);
  return std::unique_ptr<ForestBackend>(new ForestBackend(options, std::move(pool)));
}

namespace {
// In the order FindModelFile prefers them.
// (xgboost.json and xgboost.ubj are the names Triton's FIL backend gives XGBoost models.)
constexpr std::string_view kModelFileNames[] = {"model.json", "model.ubj", "model.txt",
                                                "xgboost.json", "xgboost.ubj"};
}  // namespace

std::optional<std::filesystem::path> ForestBackend::FindModelFile(
    const std::filesystem::path& version_dir) const {
  for (std::string_view name : kModelFileNames) {
    std::error_code ec;
    const std::filesystem::path p = version_dir / name;
    if (std::filesystem::is_regular_file(p, ec)) return p;
  }
  return std::nullopt;
}

bool ForestBackend::LoadsFileName(std::string_view file_name) const {
  return std::find(std::begin(kModelFileNames), std::end(kModelFileNames), file_name) !=
         std::end(kModelFileNames);
}

StatusOr<std::unique_ptr<backend::LoadedModel>> ForestBackend::Load(
    const backend::LoadRequest& request) const {
  if (request.model_file.extension() == ".txt") {
    return LoadLightgbmModel(request, options_.max_model_file_bytes, pool_);
  }
  ASSIGN_OR_RETURN(XgboostModel model,
                   ReadXgboostModel(request.model_file, options_.max_model_file_bytes));
  const TreeEnsemble& forest = model.forest;
  CompiledForest<float>::Options compile_options;
  compile_options.allow_simd = options_.allow_simd;
  ASSIGN_OR_RETURN(CompiledForest<float> compiled,
                   CompiledForest<float>::Compile(forest, compile_options));

  backend::ModelSignature signature;
  signature.platform =
      FormatForPath(request.model_file) == ModelFormat::kUbjson ? "xgboost_ubj" : "xgboost_json";
  signature.inputs.push_back(
      config::TensorSpec::Make("input", DataType::kFp32, {-1, forest.num_features}));
  std::vector<OutputKind> kinds;
  for (OutputDef& def : OutputsFor(model)) {
    signature.outputs.push_back(std::move(def.spec));
    kinds.push_back(def.kind);
  }
  if (request.config != nullptr) {
    Status st =
        ApplyConfig(*request.config, DataType::kFp32, forest.num_features, "forest", &signature);
    if (!st.ok()) return st.WithContext(request.model_file.string());
  }
  signature.properties = {
      {"objective", model.objective.name},
      {"num_features", std::to_string(forest.num_features)},
      {"num_classes", std::to_string(NumClasses(model))},
      {"num_trees", std::to_string(forest.trees.size())},
      {"base_score", model.base_score_text},
      {"format_version", model.format_version},
      {"booster", model.booster},
  };
  return std::make_unique<LoadedForest>(std::move(model.objective), std::move(compiled), pool_,
                                        std::move(signature), std::move(kinds));
}

}  // namespace inferd::backends::forest
