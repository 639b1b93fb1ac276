#include "lifecycle/version_runtime.h"

#include <random>

namespace inferd::lifecycle {

using base::Status;
using tensor::DataType;

namespace {

// An input of `rows` rows (or the declared shape, for an input without a batch dimension).
tensor::Tensor WarmupInput(const config::TensorSpec& spec, int64_t rows, bool random,
                           std::mt19937& rng) {
  tensor::Shape shape = spec.shape;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 0) shape[d] = d == 0 ? rows : 1;
  }
  tensor::Tensor t(spec.name, spec.dtype, shape);
  if (!random) return t;  // zero-filled
  std::uniform_real_distribution<double> real(0.0, 1.0);
  const int64_t n = t.element_count();
  for (int64_t i = 0; i < n; ++i) {
    const double v = real(rng);
    // Integers (ids, codes) and booleans as 0 or 1: in range for any embedding or category.
    const int64_t bit = v < 0.5 ? 0 : 1;
    switch (spec.dtype) {
      case DataType::kFp32:
        t.data<float>()[i] = static_cast<float>(v);
        break;
      case DataType::kFp64:
        t.data<double>()[i] = v;
        break;
      case DataType::kInt64:
        t.data<int64_t>()[i] = bit;
        break;
      case DataType::kInt32:
        t.data<int32_t>()[i] = static_cast<int32_t>(bit);
        break;
      default:
        t.bytes()[static_cast<size_t>(i) * tensor::DataTypeSize(spec.dtype)] =
            static_cast<uint8_t>(bit);
        break;
    }
  }
  return t;
}

}  // namespace

Status CheckSchema(const backend::LoadedModel& model, const config::ModelConfig& config) {
  if (config.schema == nullptr) return Status::Ok();
  const auto& inputs = model.signature().inputs;
  const auto width = static_cast<int64_t>(config.schema->width());
  const std::string schema =
      "the schema's " + std::to_string(width) + " features (" + config.schema->FeatureList() + ")";
  if (inputs.size() != 1) {
    return base::InvalidArgument(schema + " need a model of one input; this one has " +
                                 std::to_string(inputs.size()));
  }
  const auto& in = inputs[0];
  if ((in.dtype != DataType::kFp32 && in.dtype != DataType::kFp64) || in.shape.size() != 2 ||
      in.shape[0] != -1 || in.shape[1] != width) {
    return base::InvalidArgument(schema + " need an FP32 or FP64 input of shape [-1," +
                                 std::to_string(width) + "]; input '" + in.name + "' is " +
                                 std::string(tensor::DataTypeName(in.dtype)) + " " +
                                 tensor::ShapeToString(in.shape));
  }
  return Status::Ok();
}

Status WarmUp(const backend::LoadedModel& model, const config::ModelConfig& config) {
  if (!config.warmup.enabled) return Status::Ok();
  std::vector<int64_t> sizes = config.warmup.batch_sizes;
  if (sizes.empty()) {
    sizes.push_back(1);
    if (config.max_batch_size > 1) sizes.push_back(config.max_batch_size);
  }
  std::mt19937 rng(17);
  const auto& sig = model.signature();
  for (int64_t rows : sizes) {
    for (bool random : {false, true}) {
      if (random ? !config.warmup.random_data : !config.warmup.zero_data) continue;
      std::vector<tensor::Tensor> inputs;
      for (const auto& spec : sig.inputs) inputs.push_back(WarmupInput(spec, rows, random, rng));
      auto out = model.Execute(inputs, {});
      if (!out.ok()) {
        return out.status().WithContext("warmup with " + std::to_string(rows) + " rows of " +
                                        (random ? "random" : "zero") + " data");
      }
    }
  }
  return Status::Ok();
}

base::StatusOr<std::shared_ptr<batching::DynamicBatcher>> MakeBatcher(
    std::shared_ptr<const backend::LoadedModel> model, const config::ModelConfig& config,
    const base::Clock* clock) {
  if (!config.dynamic_batching) return std::shared_ptr<batching::DynamicBatcher>();
  for (const auto& out : model->signature().outputs) {
    if (out.shape.empty() || out.shape[0] != -1) {
      return base::InvalidArgument("dynamic_batching: output '" + out.name + "' of shape " +
                                   tensor::ShapeToString(out.shape) +
                                   " has no batch dimension first, so batches cannot be split");
    }
  }
  for (const auto& in : model->signature().inputs) {
    if (in.shape.empty() || in.shape[0] != -1) {
      return base::InvalidArgument("dynamic_batching: input '" + in.name + "' of shape " +
                                   tensor::ShapeToString(in.shape) +
                                   " has no batch dimension first");
    }
  }
  const config::DynamicBatching& d = *config.dynamic_batching;
  batching::DynamicBatcherOptions o;
  o.queue.max_batch_size = config.max_batch_size;
  o.queue.max_queue_delay = std::chrono::microseconds(d.max_queue_delay_us);
  o.queue.preferred_batch_sizes = d.preferred_batch_sizes;
  o.queue.max_queue_size = d.max_queue_size;
  o.queue.priority_levels = d.priority_levels;
  o.queue.default_priority_level = d.default_priority_level;
  o.queue.default_timeout = std::chrono::microseconds(d.default_timeout_us);
  o.instances = config.instances;
  o.clock = clock;
  ASSIGN_OR_RETURN(auto batcher, batching::DynamicBatcher::Create(
                                     o, [model](std::vector<tensor::Tensor> inputs,
                                                const std::vector<std::string>& outputs) {
                                       return model->Execute(inputs, outputs);
                                     }));
  return std::shared_ptr<batching::DynamicBatcher>(std::move(batcher));
}

}  // namespace inferd::lifecycle
