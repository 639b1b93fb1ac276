#include "tools/profile.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "monitoring/quality.h"
#include "tools/local_model.h"
#include "tools/row_parser.h"

namespace inferd::tools {

using base::InvalidArgument;
using base::StatusOr;
using monitoring::FeatureProfiler;

namespace {

// The predictions of `model` on `rows` (numeric features, NaN for missing) as profiles.
base::Status ProfilePredictions(const ProfileToolOptions& o,
                                const std::vector<std::vector<double>>& rows,
                                const std::vector<double>& labels, monitoring::Profile* out) {
  ASSIGN_OR_RETURN(auto local, LoadLocalModel({.path = o.model, .backends = o.backends}));
  const auto& sig = local.model->signature();
  if (sig.inputs.size() != 1 || sig.inputs[0].shape.size() != 2 ||
      sig.inputs[0].shape[1] != static_cast<int64_t>(out->features.size())) {
    return InvalidArgument("profiling predictions needs a model with one input of shape [-1, " +
                           std::to_string(out->features.size()) + "] (one column per feature)");
  }
  std::string label_output, score_output, value_output;
  for (const auto& spec : sig.outputs) {
    if (!spec.default_output) continue;
    if (spec.name == "label") {
      label_output = spec.name;
    } else if (spec.name == "probabilities" && spec.shape.size() == 2 && spec.shape[1] == 2) {
      score_output = spec.name;
    } else if (value_output.empty()) {
      value_output = spec.name;
    }
  }
  FeatureProfiler prediction(label_output.empty() ? value_output : "label", !label_output.empty(),
                             o.profile);
  // The model's quality on the rows, when they have labels.
  const int classes = score_output.empty() ? 0 : 2;
  std::optional<monitoring::ClassificationCounts> cls;
  std::optional<monitoring::RegressionCounts> reg;
  if (!labels.empty()) {
    if (!label_output.empty() && classes == 2) cls.emplace(2);
    if (label_output.empty()) reg.emplace();
  }
  FeatureProfiler score("score", false, o.profile);
  const size_t width = out->features.size();
  constexpr size_t kBatch = 1024;
  for (size_t begin = 0; begin < rows.size(); begin += kBatch) {
    const size_t n = std::min(kBatch, rows.size() - begin);
    tensor::Tensor in(sig.inputs[0].name, tensor::DataType::kFp32,
                      {static_cast<int64_t>(n), static_cast<int64_t>(width)});
    auto data = in.data<float>();
    for (size_t r = 0; r < n; ++r) {
      for (size_t c = 0; c < width; ++c)
        data[r * width + c] = static_cast<float>(rows[begin + r][c]);
    }
    std::vector<tensor::Tensor> inputs;
    inputs.push_back(std::move(in));
    ASSIGN_OR_RETURN(auto outputs, local.model->Execute(inputs, {}));
    if (cls || reg) {
      std::vector<double> predicted, probs;
      for (const auto& t : outputs) {
        std::vector<double> v;
        tensor::VisitNumericType(t.dtype(), [&](auto tag) {
          using T = decltype(tag);
          for (T x : t.data<T>()) v.push_back(static_cast<double>(x));
        });
        if (t.name() == label_output || (label_output.empty() && t.name() == value_output)) {
          predicted = std::move(v);
        } else if (t.name() == score_output) {
          probs = std::move(v);
        }
      }
      for (size_t r = 0; r < n && r < predicted.size(); ++r) {
        const double truth = labels[begin + r];
        if (std::isnan(truth)) continue;
        if (reg) {
          reg->Add(truth, predicted[r]);
        } else if (truth == 0 || truth == 1) {
          std::vector<double> p;
          if (probs.size() >= 2 * (r + 1)) p = {probs[2 * r], probs[2 * r + 1]};
          cls->Add(static_cast<int>(truth), static_cast<int>(predicted[r]), p);
        }
      }
    }
    for (const auto& t : outputs) {
      auto values = [&](auto&& add) {
        tensor::VisitNumericType(t.dtype(), [&](auto tag) {
          using T = decltype(tag);
          auto d = t.data<T>();
          const size_t per_row = n ? d.size() / n : 0;
          for (size_t r = 0; r < n && per_row > 0; ++r) {
            add(static_cast<double>(d[r * per_row + (per_row == 2 ? 1 : 0)]));
          }
        });
      };
      if (t.name() == label_output || (label_output.empty() && t.name() == value_output)) {
        values([&](double v) { prediction.AddNumber(v); });
      } else if (t.name() == score_output) {
        values([&](double v) { score.AddNumber(v); });
      }
    }
  }
  if (!label_output.empty() || !value_output.empty()) out->prediction = prediction.Finish();
  if (!score_output.empty()) out->score = score.Finish();
  if (cls && cls->count() > 0)
    out->quality_json = monitoring::MetricsJson(ComputeClassification(*cls));
  if (reg && reg->count() > 0) out->quality_json = monitoring::MetricsJson(ComputeRegression(*reg));
  return base::Status::Ok();
}

}  // namespace

StatusOr<monitoring::Profile> BuildProfile(const ProfileToolOptions& o) {
  std::ifstream in(o.data);
  if (!in) return base::NotFound("cannot read " + o.data.string());
  std::string line;
  if (!std::getline(in, line)) return InvalidArgument(o.data.string() + " is empty");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  std::vector<std::string> header = SplitCsvLine(line);
  const bool has_header = LooksLikeCsvHeader(line);
  if (!has_header) {
    for (size_t i = 0; i < header.size(); ++i) header[i] = "f" + std::to_string(i);
  }
  std::map<std::string, size_t> column;
  for (size_t i = 0; i < header.size(); ++i) {
    if (!column.emplace(header[i], i).second) {
      return InvalidArgument("column '" + header[i] + "' appears twice in the header");
    }
  }
  auto find = [&](const std::string& name) -> StatusOr<size_t> {
    auto it = column.find(name);
    if (it == column.end()) {
      std::string known;
      for (const auto& h : header) known += (known.empty() ? "" : ", ") + h;
      return InvalidArgument("no column '" + name + "' in " + o.data.string() +
                             " (columns: " + known + ")");
    }
    return it->second;
  };
  std::vector<size_t> feature_columns;
  if (o.features.empty()) {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] != o.label) feature_columns.push_back(i);
    }
  } else {
    for (const auto& f : o.features) {
      ASSIGN_OR_RETURN(size_t c, find(f));
      feature_columns.push_back(c);
    }
  }
  std::optional<size_t> label_column;
  if (!o.label.empty()) {
    ASSIGN_OR_RETURN(size_t c, find(o.label));
    label_column = c;
  }
  for (const auto& c : o.categorical) RETURN_IF_ERROR(find(c).status());
  const std::set<std::string> categorical(o.categorical.begin(), o.categorical.end());

  std::vector<FeatureProfiler> profilers;
  for (size_t c : feature_columns) {
    profilers.emplace_back(header[c], categorical.contains(header[c]), o.profile);
  }
  std::optional<FeatureProfiler> label;
  if (label_column) label.emplace(o.label, categorical.contains(o.label), o.profile);
  std::vector<std::vector<double>> rows;  // numeric features, for the model
  std::vector<double> label_values;       // numeric labels (NaN otherwise), for the quality
  bool text_feature = false;
  int64_t line_no = has_header ? 1 : 0;
  auto add_row = [&](const std::string& text) -> base::Status {
    ++line_no;
    const auto fields = SplitCsvLine(text);
    if (fields.size() != header.size()) {
      return InvalidArgument(o.data.string() + " line " + std::to_string(line_no) + ": " +
                             std::to_string(fields.size()) + " fields, the header has " +
                             std::to_string(header.size()));
    }
    // Returns false when the field is text.
    auto add = [&](FeatureProfiler& p, const std::string& field, double* number) {
      if (auto v = ParseCsvNumber(field)) {
        p.AddNumber(*v);
        *number = *v;
        return true;
      }
      p.AddText(field);
      *number = std::nan("");
      return false;
    };
    std::vector<double> row(feature_columns.size());
    for (size_t i = 0; i < feature_columns.size(); ++i) {
      if (!add(profilers[i], fields[feature_columns[i]], &row[i])) text_feature = true;
    }
    if (label) {
      double v = std::nan("");
      add(*label, fields[*label_column], &v);
      if (!o.model.empty()) label_values.push_back(v);
    }
    if (!o.model.empty()) rows.push_back(std::move(row));
    return base::Status::Ok();
  };
  if (!has_header) RETURN_IF_ERROR(add_row(line));
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    RETURN_IF_ERROR(add_row(line));
  }
  if (line_no == (has_header ? 1 : 0)) {
    return InvalidArgument(o.data.string() + " has no data rows");
  }
  monitoring::Profile profile;
  profile.source = o.data.filename().string();
  profile.rows = static_cast<uint64_t>(line_no - (has_header ? 1 : 0));
  for (const auto& p : profilers) profile.features.push_back(p.Finish());
  if (label) profile.label = label->Finish();
  if (!o.model.empty()) {
    if (text_feature) {
      return InvalidArgument("a feature column holds text: the model takes numbers");
    }
    RETURN_IF_ERROR(ProfilePredictions(o, rows, label_values, &profile));
  }
  return profile;
}

}  // namespace inferd::tools
