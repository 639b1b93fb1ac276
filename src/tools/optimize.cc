#include "tools/optimize.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/file.h"
#include "repository/version_files.h"
#include "tools/forest_optimize.h"
#include "tools/local_model.h"
#include "tools/new_version.h"

namespace inferd::tools {

namespace fs = std::filesystem;
using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

nlohmann::json CandidateJson(const OptimizeCandidate& c) {
  auto lat = [](const Latency& l) {
    return nlohmann::json{{"batch", l.batch},
                          {"p50_us", l.p50_us},
                          {"p99_us", l.p99_us},
                          {"rows_per_s", l.rows_per_s}};
  };
  return {{"name", c.name},
          {"bytes", c.bytes},
          {"metric", c.metric},
          {"drop", c.drop},
          {"within", c.within},
          {"detail", c.detail},
          {"batch_1", lat(c.batch_1)},
          {"large_batch", lat(c.large)}};
}

}  // namespace

StatusOr<OptimizeReport> Optimize(const OptimizeOptions& o) {
  if (!(o.max_drop >= 0)) return InvalidArgument("--max-metric-drop must be >= 0");
  ASSIGN_OR_RETURN(
      auto source,
      LoadLocalModel({.path = o.model_dir, .version = o.version, .backends = o.backends}));
  ASSIGN_OR_RETURN(auto data, ReadLabelledFor(source, o.data, o.label));
  ASSIGN_OR_RETURN(auto base_eval, Evaluate(*source.model, source.config, data));
  OptimizeReport rep;
  rep.model = source.name;
  rep.version = source.version;
  rep.task = base_eval.task;
  rep.metric = o.metric.empty() ? DefaultMetric(base_eval.task) : o.metric;
  rep.max_drop = o.max_drop;
  if (!IsMetric(rep.task, rep.metric)) {
    return InvalidArgument("'" + rep.metric + "' is not a " + rep.task + " metric");
  }
  auto it = base_eval.metrics.find(rep.metric);
  if (it == base_eval.metrics.end()) {
    return InvalidArgument(rep.metric + " is undefined on this data (one class only?)");
  }
  const double reference = it->second;

  if (o.objective != "balanced" && o.objective != "batch1" && o.objective != "large" &&
      o.objective != "size") {
    return InvalidArgument("--objective must be balanced, batch1, large or size");
  }
  rep.objective = o.objective;
  ScratchDirectory scratch("inferd-optimize");
  if (scratch.path().empty()) return base::Unavailable("cannot make a temporary directory");

  // The candidates, as model files.
  struct Pending {
    std::string name, detail, file_name, text;
  };
  std::vector<Pending> pending;
  const std::string ext = source.model_file.extension().string();
  if (source.backend == "forest" && (ext == ".json" || ext == ".ubj")) {
    ASSIGN_OR_RETURN(auto opt, ForestOptimizer::Load(source.model_file));
    rep.source.detail =
        std::to_string(opt.num_trees()) + " trees, depth " + std::to_string(opt.max_depth());
    ASSIGN_OR_RETURN(auto candidates,
                     opt.Candidates(data, rep.task, rep.metric, reference, o.max_drop));
    for (auto& c : candidates) {
      pending.push_back({c.name,
                         std::to_string(c.trees) + " trees, " + std::to_string(c.nodes) +
                             " nodes, depth " + std::to_string(c.max_depth),
                         "model.json", std::move(c.model_json)});
    }
  } else if (source.backend == "onnx" && o.quantize_onnx) {
    rep.source.detail = "FP32";
    struct Variant {
      const char* name;
      bool per_channel, exclude_last;
    };
    for (const Variant& v : {Variant{"int8 dynamic, per channel", true, false},
                             Variant{"int8 dynamic, per channel, last layer FP32", true, true},
                             Variant{"int8 dynamic, per tensor", false, false}}) {
      const fs::path out =
          scratch.path() / ("quantized" + std::to_string(pending.size()) + ".onnx");
      ASSIGN_OR_RETURN(std::string summary,
                       o.quantize_onnx(source.model_file, out, v.per_channel, v.exclude_last));
      ASSIGN_OR_RETURN(std::string bytes, base::ReadWholeFile(out, "quantized model"));
      const auto j = nlohmann::json::parse(summary, nullptr, false);
      std::string detail = "int8 weights";
      if (j.is_object() && j.contains("quantized")) {
        detail = std::to_string(j["quantized"].size()) + " of " +
                 std::to_string(j["quantized"].size() + j["skipped"].size()) +
                 " MatMul/Gemm/Conv in int8";
      }
      pending.push_back({v.name, detail, "model.onnx", std::move(bytes)});
    }
  } else {
    return base::Unimplemented("optimize has no optimizer for " + source.backend + " models (" +
                               source.model_file.filename().string() +
                               "): XGBoost forests (.json, .ubj) and ONNX models");
  }

  auto measure_latency = [&](const backend::LoadedModel& model, OptimizeCandidate* c) -> Status {
    ASSIGN_OR_RETURN(c->batch_1, MeasureLatency(model, data, 1, o.latency_seconds));
    ASSIGN_OR_RETURN(c->large, MeasureLatency(model, data, o.large_batch, o.latency_seconds));
    return Status::Ok();
  };
  const int total = static_cast<int>(pending.size()) + 1;
  if (o.progress) o.progress(0, total, "source");
  rep.source.name = "source (version " + std::to_string(rep.version) + ")";
  rep.source.bytes = static_cast<int64_t>(fs::file_size(source.model_file));
  rep.source.metric = reference;  // (evaluated above)
  rep.source.within = true;
  RETURN_IF_ERROR(measure_latency(*source.model, &rep.source));

  for (size_t i = 0; i < pending.size(); ++i) {
    if (o.progress) o.progress(static_cast<int>(i) + 1, total, pending[i].name);
    // The candidate as a version of a copy of the model (its config and label files with it).
    const fs::path dir = scratch.path() / ("candidate" + std::to_string(i)) / source.name;
    RETURN_IF_ERROR(CopyModelFiles(o.model_dir, dir));
    RETURN_IF_ERROR(WriteTextFile(dir / "1" / pending[i].file_name, pending[i].text));
    auto local = LoadLocalModel({.path = dir, .version = 1, .backends = o.backends});
    if (!local.ok()) {
      return base::Internal("candidate '" + pending[i].name +
                            "' does not load: " + local.status().message());
    }
    OptimizeCandidate c;
    c.name = pending[i].name;
    c.detail = pending[i].detail;
    c.bytes = static_cast<int64_t>(pending[i].text.size());
    ASSIGN_OR_RETURN(auto e, Evaluate(*local->model, local->config, data));
    auto m = e.metrics.find(rep.metric);
    c.metric = m == e.metrics.end() ? std::nan("") : m->second;
    c.drop = MetricDrop(rep.metric, reference, c.metric);
    c.within = c.drop <= o.max_drop + 1e-12;
    RETURN_IF_ERROR(measure_latency(*local->model, &c));
    rep.candidates.push_back(std::move(c));
  }
  if (o.progress) o.progress(total, total, "done");
  // The best within the budget by the objective (higher is better).
  auto score = [&](const OptimizeCandidate& c) {
    const double b1 = rep.source.batch_1.p50_us / c.batch_1.p50_us;
    const double large = rep.source.large.p50_us / c.large.p50_us;
    if (o.objective == "batch1") return b1;
    if (o.objective == "large") return large;
    if (o.objective == "size") return static_cast<double>(rep.source.bytes) / c.bytes;
    return std::sqrt(b1 * large);
  };
  for (size_t i = 0; i < rep.candidates.size(); ++i) {
    const auto& c = rep.candidates[i];
    if (!c.within) continue;
    if (!rep.chosen || score(c) > score(rep.candidates[*rep.chosen]) ||
        (score(c) == score(rep.candidates[*rep.chosen]) &&
         c.bytes < rep.candidates[*rep.chosen].bytes)) {
      rep.chosen = i;
    }
  }
  // Only worth a version when it beats the source by the objective.
  if (rep.chosen && !(score(rep.candidates[*rep.chosen]) > 1.0)) rep.chosen.reset();
  if (rep.chosen && o.write) {
    const auto& best = rep.candidates[*rep.chosen];
    ASSIGN_OR_RETURN(auto digest, repository::DigestVersion(source.version_dir));
    const Pending& p = pending[*rep.chosen];
    std::ostringstream meta;
    meta << "parent: " << YamlQuoted(rep.model + "@" + std::to_string(rep.version)) << "\n"
         << "parent_sha256: " << YamlQuoted(digest.sha256) << "\n"
         << "optimized_by: " << YamlQuoted("inferd optimize: " + best.name) << "\n"
         << "optimize_data: " << YamlQuoted(o.data.filename().string()) << "\n"
         << "created_at: " << YamlQuoted(UtcTimestamp()) << "\n"
         << "tags: [optimized]\n"
         << "metrics:\n"
         << "  " << rep.metric << ": " << best.metric << "\n"
         << "  " << rep.metric << "_parent: " << rep.source.metric << "\n";
    ASSIGN_OR_RETURN(
        rep.new_version,
        WriteNextVersion(o.model_dir, {{p.file_name, p.text}, {"metadata.yaml", meta.str()}}));
    rep.new_dir = o.model_dir / std::to_string(rep.new_version);
  }
  return rep;
}

std::string OptimizeReport::ToJson() const {
  nlohmann::json j;
  j["model"] = model;
  j["version"] = version;
  j["task"] = task;
  j["metric"] = metric;
  j["max_drop"] = max_drop;
  j["objective"] = objective;
  j["source"] = CandidateJson(source);
  j["candidates"] = nlohmann::json::array();
  for (const auto& c : candidates) j["candidates"].push_back(CandidateJson(c));
  j["chosen"] = chosen ? nlohmann::json(candidates[*chosen].name) : nlohmann::json();
  if (new_version > 0) {
    j["new_version"] = new_version;
    j["new_dir"] = new_dir.string();
  }
  return j.dump();
}

std::string OptimizeReport::ToText() const {
  std::ostringstream out;
  char line[256];
  out << "optimize " << model << " version " << version << " (" << source.detail << "): " << metric
      << " may drop by " << max_drop << " from " << source.metric << "\n\n";
  const std::string big = "b" + std::to_string(source.large.batch) + " p50 us";
  std::snprintf(line, sizeof line, "  %-44s %9s %10s %9s %10s %6s %11s %6s\n", "candidate",
                "size KB", metric.c_str(), "drop", "b1 p50 us", "x", big.c_str(), "x");
  out << line;
  auto row = [&](const OptimizeCandidate& c, bool mark) {
    std::snprintf(line, sizeof line, "%c %-44s %9.1f %10.6g %9.4f %10.2f %6.2f %11.1f %6.2f%s\n",
                  mark ? '*' : ' ', c.name.substr(0, 44).c_str(), c.bytes / 1024.0, c.metric,
                  c.drop, c.batch_1.p50_us, source.batch_1.p50_us / c.batch_1.p50_us,
                  c.large.p50_us, source.large.p50_us / c.large.p50_us,
                  c.within ? "" : "  (over budget)");
    out << line;
  };
  row(source, false);
  for (size_t i = 0; i < candidates.size(); ++i) row(candidates[i], chosen && *chosen == i);
  out << "\n";
  if (candidates.empty()) {
    out << "no candidate stays within the budget\n";
  } else if (!chosen) {
    out << "no candidate within the budget beats the source (objective: " << objective << ")\n";
  } else {
    const auto& c = candidates[*chosen];
    out << "chosen (objective " << objective << "): " << c.name << " (" << c.detail << ")\n";
    if (new_version > 0) {
      out << "written as version " << new_version << " (" << new_dir.string()
          << "), lineage in metadata.yaml: " << model << "@" << version << "\n";
    }
  }
  return out.str();
}

}  // namespace inferd::tools
