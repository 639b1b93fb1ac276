#include "tools/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>

#include "monitoring/model_monitor.h"
#include "tools/row_parser.h"

namespace inferd::tools {

using base::InvalidArgument;
using base::StatusOr;

namespace {

std::string Known(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Rows [first, first + n) of `data` into rows [at, at + n) of `in` (FP32 or FP64, [-1, F]).
void CopyRows(const LabelledData& data, int64_t first, int64_t n, tensor::Tensor* in, int64_t at) {
  const int64_t width = static_cast<int64_t>(data.features.size());
  const float* src = data.x.data() + first * width;
  if (in->dtype() == tensor::DataType::kFp32) {
    std::copy(src, src + n * width, in->data<float>().begin() + at * width);
  } else {
    std::copy(src, src + n * width, in->data<double>().begin() + at * width);
  }
}

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * (sorted.size() - 1) + 0.5));
  return sorted[i];
}

}  // namespace

StatusOr<LabelledData> ReadLabelledCsv(const ReadLabelledOptions& o) {
  std::ifstream in(o.path);
  if (!in) return base::NotFound("cannot read " + o.path.string());
  const std::string file = o.path.string();
  std::string line;
  if (!std::getline(in, line)) return InvalidArgument(file + " is empty");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (!LooksLikeCsvHeader(line)) {
    return InvalidArgument(file + ": the first line must be a header naming the columns");
  }
  const std::vector<std::string> header = SplitCsvLine(line);
  auto column = [&](const std::string& name) -> StatusOr<size_t> {
    auto it = std::find(header.begin(), header.end(), name);
    if (it == header.end()) {
      return InvalidArgument("no column '" + name + "' in " + file + " (columns: " + Known(header) +
                             ")");
    }
    return static_cast<size_t>(it - header.begin());
  };
  if (o.label.empty()) return InvalidArgument("name the label column (--label)");
  ASSIGN_OR_RETURN(const size_t label_col, column(o.label));
  LabelledData d;
  if (o.schema != nullptr) {
    for (const auto& r : o.schema->rules()) d.features.push_back(r.name);
  } else if (!o.config_features.empty()) {
    d.features = o.config_features;
  } else {
    for (const auto& h : header) {
      if (h != o.label) d.features.push_back(h);
    }
  }
  if (o.width > 0 && static_cast<int64_t>(d.features.size()) != o.width) {
    return InvalidArgument(file + ": " + std::to_string(d.features.size()) + " feature columns (" +
                           Known(d.features) + "), but the model takes " + std::to_string(o.width));
  }
  std::vector<size_t> cols;
  for (const auto& f : d.features) {
    if (f == o.label) return InvalidArgument("the label column '" + f + "' is also a feature");
    ASSIGN_OR_RETURN(size_t c, column(f));
    cols.push_back(c);
  }
  const size_t width = cols.size();
  std::vector<double> row(width);
  std::vector<float> row_f(width);
  int64_t line_no = 1;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto fields = SplitCsvLine(line);
    const std::string where = file + " line " + std::to_string(line_no);
    if (fields.size() != header.size()) {
      return InvalidArgument(where + ": " + std::to_string(fields.size()) +
                             " fields, the header has " + std::to_string(header.size()));
    }
    ++d.file_rows;
    base::Status rejected;
    for (size_t i = 0; i < width && rejected.ok(); ++i) {
      const std::string& field = fields[cols[i]];
      if (o.schema != nullptr) {
        auto v = o.schema->TextValue(i, field, nullptr);
        if (!v.ok()) {
          rejected =
              InvalidArgument("line " + std::to_string(line_no) + ", " + v.status().message());
        } else {
          row[i] = *v;
        }
      } else if (auto v = ParseCsvNumber(field)) {
        row[i] = *v;
      } else {
        return InvalidArgument(where + ", column '" + d.features[i] + "': '" + field +
                               "' is not a number (a schema in config.yaml maps category names)");
      }
    }
    for (size_t i = 0; i < width; ++i) row_f[i] = static_cast<float>(row[i]);
    if (rejected.ok() && o.schema != nullptr) {
      rejected =
          o.schema->Apply(std::span<float>(row_f), 1, nullptr, {.word = "line", .first = line_no});
    }
    if (!rejected.ok()) {
      ++d.rejected_rows;
      if (d.rejections.size() < 5) d.rejections.push_back(rejected.message());
      continue;
    }
    double label = std::nan("");
    const std::string& lf = fields[label_col];
    if (auto v = ParseCsvNumber(lf)) {
      label = *v;
    } else {
      auto it = std::find(o.classes.begin(), o.classes.end(), lf);
      if (it == o.classes.end()) {
        return InvalidArgument(where + ", label column '" + o.label + "': '" + lf + "' is " +
                               (o.classes.empty()
                                    ? "not a number"
                                    : "neither a number nor a class (" + Known(o.classes) + ")"));
      }
      label = static_cast<double>(it - o.classes.begin());
    }
    d.x.insert(d.x.end(), row_f.begin(), row_f.end());
    d.labels.push_back(label);
    ++d.rows;
  }
  if (d.file_rows == 0) return InvalidArgument(file + " has no data rows");
  return d;
}

StatusOr<LabelledData> ReadLabelledFor(const LocalModel& model, const std::filesystem::path& path,
                                       const std::string& label) {
  const auto& sig = model.model->signature();
  const int64_t width =
      sig.inputs.size() == 1 && sig.inputs[0].shape.size() == 2 ? sig.inputs[0].shape[1] : 0;
  return ReadLabelledCsv({.path = path,
                          .label = label,
                          .config_features = model.config.features,
                          .schema = model.config.schema.get(),
                          .classes = model.config.monitoring.classes,
                          .width = width});
}

StatusOr<Evaluation> Evaluate(const backend::LoadedModel& model, const config::ModelConfig& config,
                              const LabelledData& data, int64_t batch) {
  const auto& sig = model.signature();
  const int64_t width = static_cast<int64_t>(data.features.size());
  if (sig.inputs.size() != 1 || sig.inputs[0].shape.size() != 2 ||
      sig.inputs[0].shape[1] != width ||
      (sig.inputs[0].dtype != tensor::DataType::kFp32 &&
       sig.inputs[0].dtype != tensor::DataType::kFp64)) {
    return InvalidArgument("evaluation needs a model with one FP32 or FP64 input of shape [-1, " +
                           std::to_string(width) + "] (one column per feature)");
  }
  ASSIGN_OR_RETURN(auto roles, monitoring::RolesOf(sig, config.monitoring));
  Evaluation e;
  e.classes = roles.classes;
  e.task = roles.classes == 0 ? "regression" : roles.classes == 2 ? "binary" : "multiclass";
  batch = std::max<int64_t>(1, batch);
  for (int64_t begin = 0; begin < data.rows; begin += batch) {
    const int64_t n = std::min(batch, data.rows - begin);
    tensor::Tensor in(sig.inputs[0].name, sig.inputs[0].dtype, {n, width});
    CopyRows(data, begin, n, &in, 0);
    std::vector<tensor::Tensor> inputs;
    inputs.push_back(std::move(in));
    ASSIGN_OR_RETURN(auto outputs, model.Execute(inputs, {}));
    for (const auto& t : outputs) {
      auto& values = e.outputs[t.name()];
      tensor::VisitNumericType(t.dtype(), [&](auto tag) {
        using T = decltype(tag);
        for (T x : t.data<T>()) values.push_back(static_cast<double>(x));
      });
      e.output_width[t.name()] = n > 0 ? static_cast<int64_t>(t.element_count()) / n : 0;
    }
  }
  auto find = [&](const std::string& name) -> const std::vector<double>* {
    auto it = e.outputs.find(name);
    return name.empty() || it == e.outputs.end() ? nullptr : &it->second;
  };
  if (e.classes > 0) {
    monitoring::ClassificationCounts counts(e.classes);
    const auto* probs = find(roles.probabilities);
    const auto* labels = find(roles.label);
    if (probs == nullptr && labels == nullptr) {
      return InvalidArgument("the model's outputs give no class (label or probabilities)");
    }
    for (int64_t r = 0; r < data.rows; ++r) {
      const double truth = data.labels[r];
      if (std::isnan(truth)) continue;
      if (truth != std::floor(truth) || truth < 0 || truth >= e.classes) {
        return InvalidArgument("label " + std::to_string(truth) + " (row " + std::to_string(r + 1) +
                               ") is not a class of the model (0 to " +
                               std::to_string(e.classes - 1) + ")");
      }
      std::span<const double> p;
      if (probs != nullptr) p = std::span<const double>(*probs).subspan(r * e.classes, e.classes);
      int predicted = 0;
      if (labels != nullptr) {
        predicted = static_cast<int>((*labels)[r]);
      } else {
        predicted = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
      }
      counts.Add(static_cast<int>(truth), predicted, p);
    }
    const auto m = monitoring::ComputeClassification(counts);
    e.rows = static_cast<int64_t>(m.count);
    e.metrics_json = monitoring::MetricsJson(m, config.monitoring.classes);
    e.metrics = MetricMap(m, e.classes);
  } else {
    monitoring::RegressionCounts counts;
    const auto* values = find(roles.value);
    const int64_t w = e.output_width[roles.value];
    if (values == nullptr || w < 1) return InvalidArgument("the model has no regression output");
    for (int64_t r = 0; r < data.rows; ++r) {
      if (!std::isnan(data.labels[r])) counts.Add(data.labels[r], (*values)[r * w]);
    }
    const auto m = monitoring::ComputeRegression(counts);
    e.rows = static_cast<int64_t>(m.count);
    e.metrics_json = monitoring::MetricsJson(m);
    e.metrics = MetricMap(m);
  }
  if (e.rows == 0) return InvalidArgument("no row has a label: nothing to score");
  return e;
}

std::map<std::string, double> MetricMap(const monitoring::ClassificationMetrics& m, int classes) {
  std::map<std::string, double> out;
  out["accuracy"] = m.accuracy;
  if (m.roc_auc) out["roc_auc"] = *m.roc_auc;
  if (m.log_loss) out["log_loss"] = *m.log_loss;
  out["precision_macro"] = m.macro.precision;
  out["recall_macro"] = m.macro.recall;
  out["f1_macro"] = m.macro.f1;
  out["f1_micro"] = m.micro.f1;
  out["f1_weighted"] = m.weighted.f1;
  if (classes == 2) {
    // Of class 1 (scikit-learn's average='binary'); 0 when class 1 is absent.
    monitoring::ClassMetrics positive;
    for (size_t i = 0; i < m.classes.size(); ++i) {
      if (m.classes[i] == 1) positive = m.per_class[i];
    }
    out["precision"] = positive.precision;
    out["recall"] = positive.recall;
    out["f1"] = positive.f1;
  } else {
    out["precision"] = m.macro.precision;
    out["recall"] = m.macro.recall;
    out["f1"] = m.macro.f1;
  }
  return out;
}

std::map<std::string, double> MetricMap(const monitoring::RegressionMetrics& m) {
  return {{"mae", m.mae},
          {"rmse", m.rmse},
          {"mape", m.mape},
          {"r2", m.r2},
          {"mean_error", m.mean_error}};
}

std::vector<std::string> MetricNames(std::string_view task) {
  if (task == "regression") return {"mae", "rmse", "mape", "r2", "mean_error"};
  return {"accuracy",        "roc_auc",      "log_loss", "precision", "recall",     "f1",
          "precision_macro", "recall_macro", "f1_macro", "f1_micro",  "f1_weighted"};
}

bool IsMetric(std::string_view task, std::string_view metric) {
  const auto names = MetricNames(task);
  return std::find(names.begin(), names.end(), metric) != names.end();
}

bool HigherIsBetter(std::string_view metric) {
  return !(metric == "log_loss" || metric == "mae" || metric == "rmse" || metric == "mape" ||
           metric == "mean_error");
}

std::string DefaultMetric(std::string_view task) {
  if (task == "binary") return "roc_auc";
  if (task == "multiclass") return "accuracy";
  return "rmse";
}

double MetricDrop(std::string_view metric, double reference, double candidate) {
  if (metric == "mean_error") return std::fabs(candidate) - std::fabs(reference);
  return HigherIsBetter(metric) ? reference - candidate : candidate - reference;
}

StatusOr<Latency> MeasureLatency(const backend::LoadedModel& model, const LabelledData& data,
                                 int64_t batch, double min_seconds, int64_t min_calls) {
  const auto& sig = model.signature();
  const int64_t width = static_cast<int64_t>(data.features.size());
  if (data.rows == 0) return InvalidArgument("no rows to time the model with");
  if (batch < 1) return InvalidArgument("the batch size must be >= 1");
  // A few different batches, cycled, so that the timing does not walk one row's path only.
  std::vector<std::vector<tensor::Tensor>> batches;
  int64_t next = 0;
  for (int b = 0; b < 8; ++b) {
    tensor::Tensor in(sig.inputs[0].name, sig.inputs[0].dtype, {batch, width});
    for (int64_t r = 0; r < batch; ++r, next = (next + 1) % data.rows) {
      CopyRows(data, next, 1, &in, r);
    }
    batches.emplace_back().push_back(std::move(in));
  }
  using Clock = std::chrono::steady_clock;
  const auto warm_until = Clock::now() + std::chrono::milliseconds(50);
  for (int i = 0; i < 10 || Clock::now() < warm_until; ++i) {
    RETURN_IF_ERROR(model.Execute(batches[i % batches.size()], {}).status());
  }
  std::vector<double> us;
  const auto start = Clock::now();
  const auto until = start + std::chrono::duration<double>(min_seconds);
  while (static_cast<int64_t>(us.size()) < min_calls || Clock::now() < until) {
    const auto t0 = Clock::now();
    auto out = model.Execute(batches[us.size() % batches.size()], {});
    const auto t1 = Clock::now();
    if (!out.ok()) return out.status();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  const double total_s = std::chrono::duration<double>(Clock::now() - start).count();
  Latency l;
  l.batch = batch;
  l.calls = static_cast<int64_t>(us.size());
  double sum = 0;
  for (double v : us) sum += v;
  l.mean_us = sum / us.size();
  std::sort(us.begin(), us.end());
  l.p50_us = Percentile(us, 0.50);
  l.p90_us = Percentile(us, 0.90);
  l.p99_us = Percentile(us, 0.99);
  l.rows_per_s = total_s > 0 ? l.calls * batch / total_s : 0;
  return l;
}

}  // namespace inferd::tools
