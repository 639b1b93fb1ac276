#include "backends/forest/lightgbm_loaded.h"

#include <algorithm>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "backends/forest/compiled_forest.h"
#include "backends/forest/lightgbm_model.h"
#include "backends/forest/model_common.h"
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

// What Execute needs of the model besides the compiled trees.
struct Recipe {
  LightgbmObjective objective;
  std::vector<uint32_t> categorical_features;
  bool average_output = false;
  int64_t num_iterations = 1;
};

class LoadedLightgbm final : public backend::LoadedModel {
 public:
  LoadedLightgbm(Recipe recipe, CompiledForest<double> compiled,
                 std::shared_ptr<base::ThreadPool> pool, backend::ModelSignature signature,
                 std::vector<OutputKind> kinds)
      : recipe_(std::move(recipe)),
        compiled_(std::move(compiled)),
        pool_(std::move(pool)),
        signature_(std::move(signature)),
        kinds_(std::move(kinds)) {}

  const backend::ModelSignature& signature() const override { return signature_; }

  StatusOr<std::vector<Tensor>> Execute(
      std::span<const Tensor> inputs,
      std::span<const std::string> requested_outputs) const override;

 private:
  Recipe recipe_;
  CompiledForest<double> compiled_;
  std::shared_ptr<base::ThreadPool> pool_;  // may be null
  backend::ModelSignature signature_;
  std::vector<OutputKind> kinds_;  // parallel to signature_.outputs
};

StatusOr<std::vector<Tensor>> LoadedLightgbm::Execute(
    std::span<const Tensor> inputs, std::span<const std::string> requested_outputs) const {
  const config::TensorSpec& input_spec = signature_.inputs[0];
  if (inputs.size() != 1) {
    return InvalidArgument("expected 1 input tensor, got " + std::to_string(inputs.size()));
  }
  const Tensor& x = inputs[0];
  if (x.dtype() != DataType::kFp64) {
    return InvalidArgument("input '" + input_spec.name + "' must be FP64, got " +
                           std::string(tensor::DataTypeName(x.dtype())));
  }
  const int64_t features = compiled_.num_features();
  if (x.shape().size() != 2 || x.shape()[0] < 0 || x.shape()[1] != features ||
      x.element_count() < 0 ||
      x.byte_size() != static_cast<size_t>(x.element_count()) * sizeof(double)) {
    return InvalidArgument("input '" + input_spec.name + "' must have shape [N, " +
                           std::to_string(features) + "], got " + tensor::ShapeToString(x.shape()));
  }
  ASSIGN_OR_RETURN(std::vector<size_t> selected, SelectOutputs(signature_, requested_outputs));

  const int64_t rows = x.shape()[0];
  const int64_t groups = compiled_.num_groups();
  std::vector<double> margin(static_cast<size_t>(rows * groups));
  if (rows > 0) {
    std::vector<double> scratch;
    const double* values = LightgbmInputs(recipe_.categorical_features, features,
                                          x.data<double>().data(), rows, &scratch);
    compiled_.PredictMargin(values, rows, margin.data(), pool_.get());
  }

  // LightGBM's prediction ([rows, groups]): average (rf), then the objective's transform.
  std::vector<double> predicted;
  auto compute_predicted = [&]() -> const std::vector<double>& {
    if (predicted.size() != margin.size()) {
      predicted = margin;
      if (recipe_.average_output) {
        const auto n = static_cast<double>(recipe_.num_iterations);
        for (double& v : predicted) v /= n;
      }
      ApplyLightgbmTransform(recipe_.objective, rows, groups, predicted);
    }
    return predicted;
  };
  const bool binary = recipe_.objective.task == LightgbmTask::kBinary;
  // [rows, 2] for binary, else [rows, groups].
  std::vector<double> probabilities;
  auto compute_probabilities = [&]() -> const std::vector<double>& {
    if (probabilities.empty() && rows > 0) {
      const std::vector<double>& p = compute_predicted();
      if (binary) {
        probabilities.resize(static_cast<size_t>(rows * 2));
        for (int64_t r = 0; r < rows; ++r) {
          probabilities[2 * r] = 1.0 - p[r];
          probabilities[2 * r + 1] = p[r];
        }
      } else {
        probabilities = p;
      }
    }
    return probabilities;
  };

  std::vector<Tensor> out;
  out.reserve(selected.size());
  for (size_t index : selected) {
    const config::TensorSpec& spec = signature_.outputs[index];
    Shape shape = spec.shape;
    shape[0] = rows;
    Tensor t(spec.name, spec.dtype, shape);
    switch (kinds_[index]) {
      case OutputKind::kMargin:
        std::copy(margin.begin(), margin.end(), t.data<double>().begin());
        break;
      case OutputKind::kPrediction: {
        const std::vector<double>& v = compute_predicted();
        std::copy(v.begin(), v.end(), t.data<double>().begin());
        break;
      }
      case OutputKind::kProbabilities: {
        const std::vector<double>& p = compute_probabilities();
        std::copy(p.begin(), p.end(), t.data<double>().begin());
        break;
      }
      case OutputKind::kLabel: {
        const std::vector<double>& p = compute_probabilities();
        const int64_t width = binary ? 2 : groups;
        std::span<int64_t> labels = t.data<int64_t>();
        for (int64_t r = 0; r < rows; ++r) {
          const double* row = p.data() + r * width;
          int64_t best = 0;
          for (int64_t k = 1; k < width; ++k) {
            if (row[k] > row[best]) best = k;
          }
          labels[r] = best;
        }
        break;
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

struct OutputDef {
  config::TensorSpec spec;
  OutputKind kind;
};

std::vector<OutputDef> OutputsFor(const LightgbmModel& model) {
  const int64_t groups = model.num_tree_per_iteration;
  const Shape per_row = groups == 1 ? Shape{-1} : Shape{-1, groups};
  auto spec = [](std::string name, DataType dtype, Shape shape, bool default_output = true) {
    return config::TensorSpec::Make(std::move(name), dtype, std::move(shape), default_output);
  };
  const OutputDef label{spec("label", DataType::kInt64, {-1}), OutputKind::kLabel};
  const OutputDef margin{spec("margin", DataType::kFp64, per_row, false), OutputKind::kMargin};
  switch (model.objective.task) {
    case LightgbmTask::kBinary:
      return {{spec("probabilities", DataType::kFp64, {-1, 2}), OutputKind::kProbabilities},
              label,
              margin};
    case LightgbmTask::kMulticlass:
      return {{spec("probabilities", DataType::kFp64, {-1, groups}), OutputKind::kProbabilities},
              label,
              margin};
    case LightgbmTask::kRegression:
      break;
  }
  return {{spec("prediction", DataType::kFp64, per_row), OutputKind::kPrediction}, margin};
}

int64_t NumClasses(const LightgbmModel& model) {
  switch (model.objective.task) {
    case LightgbmTask::kBinary:
      return 2;
    case LightgbmTask::kMulticlass:
      return model.num_tree_per_iteration;
    case LightgbmTask::kRegression:
      break;
  }
  return 0;
}

}  // namespace

StatusOr<std::unique_ptr<backend::LoadedModel>> LoadLightgbmModel(
    const backend::LoadRequest& request, int64_t max_model_file_bytes,
    std::shared_ptr<base::ThreadPool> pool) {
  ASSIGN_OR_RETURN(LightgbmModel model,
                   ReadLightgbmModel(request.model_file, max_model_file_bytes));
  const TreeEnsemble& e = model.ensemble;
  auto compiled = CompiledForest<double>::Compile(e);
  if (!compiled.ok()) return compiled.status().WithContext(request.model_file.string());

  backend::ModelSignature signature;
  signature.platform = "lightgbm_text";
  signature.inputs.push_back(
      config::TensorSpec::Make("input", DataType::kFp64, {-1, e.num_features}));
  std::vector<OutputKind> kinds;
  for (OutputDef& def : OutputsFor(model)) {
    signature.outputs.push_back(std::move(def.spec));
    kinds.push_back(def.kind);
  }
  if (request.config != nullptr) {
    Status st =
        ApplyConfig(*request.config, DataType::kFp64, e.num_features, "LightGBM", &signature);
    if (!st.ok()) return st.WithContext(request.model_file.string());
  }
  signature.properties = {
      {"objective", model.objective.name},
      {"num_features", std::to_string(e.num_features)},
      {"num_classes", std::to_string(NumClasses(model))},
      {"num_trees", std::to_string(e.trees.size())},
      {"format_version", model.version},
  };
  Recipe recipe{std::move(model.objective), std::move(model.categorical_features),
                model.average_output, model.num_iterations};
  return std::make_unique<LoadedLightgbm>(std::move(recipe), std::move(compiled).value(),
                                          std::move(pool), std::move(signature), std::move(kinds));
}

}  // namespace inferd::backends::forest
