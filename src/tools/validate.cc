#include "tools/validate.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "base/file.h"
#include "repository/version_files.h"
#include "tools/csv_output.h"
#include "tools/local_model.h"
#include "tools/new_version.h"
#include "tools/row_parser.h"

namespace inferd::tools {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

StatusOr<double> Number(const YAML::Node& n, const std::string& where) {
  try {
    const double v = n.as<double>();
    if (!std::isfinite(v)) return InvalidArgument("gates: " + where + " must be a finite number");
    return v;
  } catch (const YAML::Exception&) {
    return InvalidArgument("gates: " + where + " must be a number");
  }
}

Status CheckKeys(const YAML::Node& n, const std::string& where, const std::set<std::string>& keys) {
  if (!n.IsMap()) return InvalidArgument("gates: " + where + " must be a map");
  for (const auto& kv : n) {
    const std::string k = kv.first.as<std::string>();
    if (!keys.contains(k)) {
      std::string known;
      for (const auto& x : keys) known += (known.empty() ? "" : ", ") + x;
      return InvalidArgument("gates: unknown key '" + k + "' in " + where + " (known: " + known +
                             ")");
    }
  }
  return Status::Ok();
}

// The CSV columns of the model's default outputs, as `inferd predict` writes them.
StatusOr<CsvOutputPlan> DefaultOutputPlan(const backend::ModelSignature& sig) {
  std::vector<config::TensorSpec> defaults;
  for (const auto& spec : sig.outputs) {
    if (spec.default_output) defaults.push_back(spec);
  }
  return PlanCsvOutput(defaults);
}

// Compares the model's outputs with a reference CSV of the same rows.
GateResult Parity(const Gates& g, const backend::ModelSignature& sig, const Evaluation& e,
                  int64_t rows) {
  GateResult r{"parity", false, ""};
  auto plan = DefaultOutputPlan(sig);
  if (!plan.ok()) {
    r.detail = plan.status().message();
    return r;
  }
  // Column name -> (output, index within the row).
  std::map<std::string, std::pair<std::string, int64_t>> columns;
  std::set<std::string> fp32;
  for (const auto& c : *plan) {
    for (int64_t i = 0; i < c.width; ++i) columns[c.names[i]] = {c.output, i};
    if (c.dtype == tensor::DataType::kFp32) fp32.insert(c.output);
  }
  std::ifstream in(g.parity_file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    r.detail = "cannot read the reference " + g.parity_file.string();
    return r;
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto header = SplitCsvLine(line);
  std::vector<std::pair<size_t, std::pair<std::string, int64_t>>> compared;
  for (size_t i = 0; i < header.size(); ++i) {
    if (auto it = columns.find(header[i]); it != columns.end()) compared.push_back({i, it->second});
  }
  if (compared.empty()) {
    std::string names = CsvHeader(*plan);
    names.pop_back();  // its newline
    r.detail = "the reference names none of the model's output columns (" + names + ")";
    return r;
  }
  int64_t row = 0, mismatched = 0;
  double max_diff = 0;
  std::string first;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    if (row >= rows) {
      ++row;
      continue;
    }
    const auto fields = SplitCsvLine(line);
    bool bad = false;
    for (const auto& [col, out] : compared) {
      const auto parsed = col < fields.size() ? ParseCsvNumber(fields[col]) : std::nullopt;
      if (!parsed) {
        r.detail = g.parity_file.string() + " row " + std::to_string(row + 1) + ": column '" +
                   header[col] + "' is not a number";
        return r;
      }
      // FP32 outputs are written as the shortest text of the float: read back as a float.
      const double ref = fp32.contains(out.first) ? static_cast<float>(*parsed) : *parsed;
      const auto& values = e.outputs.at(out.first);
      const int64_t width = e.output_width.at(out.first);
      const double ours = values[row * width + out.second];
      const double diff = std::fabs(ours - ref);
      if (std::isnan(ours) != std::isnan(ref)) {
        bad = true;
      } else if (!std::isnan(ours)) {
        max_diff = std::max(max_diff, diff);
        if (diff > g.parity_tolerance * std::max(1.0, std::fabs(ref))) bad = true;
      }
      if (bad && first.empty()) {
        first = "first at row " + std::to_string(row + 1) + ", " + header[col] + ": " + Num(ours) +
                " vs " + Num(ref);
      }
    }
    mismatched += bad;
    ++row;
  }
  if (row != rows) {
    r.detail =
        "the reference has " + std::to_string(row) + " rows, the data " + std::to_string(rows);
    return r;
  }
  r.passed = mismatched == 0;
  r.detail = std::to_string(compared.size()) + " columns x " + std::to_string(rows) +
             " rows, max |diff| " + Num(max_diff) + ", " + std::to_string(mismatched) +
             " rows beyond " + Num(g.parity_tolerance) + (first.empty() ? "" : " (" + first + ")");
  return r;
}

// The outputs as `inferd predict` writes them (csv_output.h's columns).
Status WriteOutputs(const std::filesystem::path& path, const backend::ModelSignature& sig,
                    const Evaluation& e, int64_t rows) {
  ASSIGN_OR_RETURN(auto plan, DefaultOutputPlan(sig));
  std::string text = CsvHeader(plan);
  char buf[32];
  for (int64_t r = 0; r < rows; ++r) {
    bool first = true;
    for (const auto& c : plan) {
      const auto& values = e.outputs.at(c.output);
      for (int64_t i = 0; i < c.width; ++i) {
        const double v = values[r * c.width + i];
        auto [end, ec] = c.dtype == tensor::DataType::kFp32
                             ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v))
                             : std::to_chars(buf, buf + sizeof buf, v);
        if (!first) text += ',';
        text.append(buf, ec == std::errc() ? end : buf);
        first = false;
      }
    }
    text += '\n';
  }
  return WriteTextFile(path, text);
}

nlohmann::json LatencyJson(const Latency& l) {
  return {{"batch", l.batch},          {"calls", l.calls},   {"p50_us", l.p50_us},
          {"p90_us", l.p90_us},        {"p99_us", l.p99_us}, {"mean_us", l.mean_us},
          {"rows_per_s", l.rows_per_s}};
}

}  // namespace

StatusOr<Gates> ParseGates(const std::string& yaml_text, const std::filesystem::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument("gates: not YAML: " + std::string(e.what()));
  }
  Gates g;
  if (root.IsNull()) return g;
  RETURN_IF_ERROR(
      CheckKeys(root, "the file", {"metrics", "max_drop", "latency", "parity", "schema"}));
  if (auto m = root["metrics"]) {
    if (!m.IsMap()) return InvalidArgument("gates: metrics must map metric names to {min, max}");
    for (const auto& kv : m) {
      const std::string name = kv.first.as<std::string>();
      RETURN_IF_ERROR(CheckKeys(kv.second, "metrics." + name, {"min", "max"}));
      if (kv.second["min"]) {
        ASSIGN_OR_RETURN(g.min[name], Number(kv.second["min"], "metrics." + name + ".min"));
      }
      if (kv.second["max"]) {
        ASSIGN_OR_RETURN(g.max[name], Number(kv.second["max"], "metrics." + name + ".max"));
      }
    }
  }
  if (auto m = root["max_drop"]) {
    if (!m.IsMap()) return InvalidArgument("gates: max_drop must map metric names to numbers");
    for (const auto& kv : m) {
      const std::string name = kv.first.as<std::string>();
      ASSIGN_OR_RETURN(g.max_drop[name], Number(kv.second, "max_drop." + name));
    }
  }
  if (auto l = root["latency"]) {
    RETURN_IF_ERROR(CheckKeys(l, "latency", {"p99_us_batch_1", "p99_us_max_batch", "max_batch"}));
    if (l["p99_us_batch_1"]) {
      ASSIGN_OR_RETURN(g.p99_us_batch_1, Number(l["p99_us_batch_1"], "latency.p99_us_batch_1"));
    }
    if (l["p99_us_max_batch"]) {
      ASSIGN_OR_RETURN(g.p99_us_max_batch,
                       Number(l["p99_us_max_batch"], "latency.p99_us_max_batch"));
    }
    if (l["max_batch"]) {
      ASSIGN_OR_RETURN(double b, Number(l["max_batch"], "latency.max_batch"));
      if (b < 1 || b != std::floor(b) || b > 1 << 20) {
        return InvalidArgument("gates: latency.max_batch must be a whole number >= 1");
      }
      g.max_batch = static_cast<int64_t>(b);
    }
  }
  if (auto p = root["parity"]) {
    RETURN_IF_ERROR(CheckKeys(p, "parity", {"file", "tolerance"}));
    if (!p["file"] || !p["file"].IsScalar()) {
      return InvalidArgument("gates: parity.file names the reference outputs (a CSV file)");
    }
    g.parity_file = p["file"].as<std::string>();
    if (g.parity_file.is_relative()) g.parity_file = base_dir / g.parity_file;
    if (p["tolerance"]) {
      ASSIGN_OR_RETURN(g.parity_tolerance, Number(p["tolerance"], "parity.tolerance"));
      if (g.parity_tolerance < 0) return InvalidArgument("gates: parity.tolerance must be >= 0");
    }
  }
  if (auto s = root["schema"]) {
    RETURN_IF_ERROR(CheckKeys(s, "schema", {"max_rejected_share"}));
    if (s["max_rejected_share"]) {
      ASSIGN_OR_RETURN(g.max_rejected_share,
                       Number(s["max_rejected_share"], "schema.max_rejected_share"));
    }
  }
  return g;
}

StatusOr<Gates> LoadGates(const std::filesystem::path& path) {
  auto text = base::ReadWholeFile(path, "gates file");
  if (!text.ok()) return text.status();
  auto g = ParseGates(*text, path.parent_path());
  if (!g.ok()) return g.status().WithContext(path.string());
  return g;
}

StatusOr<ValidationReport> Validate(const ValidateOptions& o) {
  auto say = [&](const std::string& s) {
    if (o.progress) o.progress(s);
  };
  ValidationReport rep;
  say("loading version " + std::to_string(o.version));
  ASSIGN_OR_RETURN(
      auto local,
      LoadLocalModel({.path = o.model_dir, .version = o.version, .backends = o.backends}));
  rep.model = local.name;
  rep.version = local.version;
  rep.backend = local.backend;
  rep.data = o.data.string();
  ASSIGN_OR_RETURN(auto digest, repository::DigestVersion(local.version_dir));
  rep.sha256 = digest.sha256;
  const auto& sig = local.model->signature();
  say("reading " + o.data.string());
  ASSIGN_OR_RETURN(auto data, ReadLabelledFor(local, o.data, o.label));
  rep.file_rows = data.file_rows;
  rep.rejected_rows = data.rejected_rows;
  rep.rejections = data.rejections;
  say("scoring " + std::to_string(data.rows) + " rows");
  ASSIGN_OR_RETURN(auto eval, Evaluate(*local.model, local.config, data));
  if (!o.write_outputs.empty())
    RETURN_IF_ERROR(WriteOutputs(o.write_outputs, sig, eval, data.rows));
  rep.task = eval.task;
  rep.rows = eval.rows;
  rep.metrics = eval.metrics;
  rep.metrics_json = eval.metrics_json;

  Gates gates = o.gates.value_or(Gates{});
  if (!o.gates) {
    if (local.config.schema) gates.max_rejected_share = 0;
    if (o.against) gates.max_drop[DefaultMetric(eval.task)] = 0.01;
  }
  for (const auto* bounds : {&gates.min, &gates.max, &gates.max_drop}) {
    for (const auto& [metric, _] : *bounds) {
      if (!IsMetric(eval.task, metric)) {
        std::string known;
        for (const auto& m : MetricNames(eval.task)) known += (known.empty() ? "" : ", ") + m;
        return InvalidArgument("gates: '" + metric + "' is not a " + eval.task + " metric (" +
                               known + ")");
      }
    }
  }
  const int64_t max_batch =
      gates.max_batch > 0 ? gates.max_batch : std::max<int64_t>(1, local.config.max_batch_size);
  say("timing batch 1 and batch " + std::to_string(max_batch));
  ASSIGN_OR_RETURN(rep.batch_1, MeasureLatency(*local.model, data, 1, o.latency_seconds));
  ASSIGN_OR_RETURN(rep.max_batch, MeasureLatency(*local.model, data, max_batch, o.latency_seconds));

  if (o.against) {
    say("scoring the reference, version " + std::to_string(*o.against));
    ASSIGN_OR_RETURN(
        auto ref,
        LoadLocalModel({.path = o.model_dir, .version = *o.against, .backends = o.backends}));
    ASSIGN_OR_RETURN(auto ref_eval, Evaluate(*ref.model, ref.config, data));
    if (ref_eval.task != eval.task) {
      return InvalidArgument("version " + std::to_string(*o.against) + " is a " + ref_eval.task +
                             " model; version " + std::to_string(o.version) + " is " + eval.task);
    }
    rep.against = o.against;
    rep.against_name = o.against_name;
    rep.against_metrics = ref_eval.metrics;
    ASSIGN_OR_RETURN(rep.against_batch_1, MeasureLatency(*ref.model, data, 1, o.latency_seconds));
    ASSIGN_OR_RETURN(rep.against_max_batch,
                     MeasureLatency(*ref.model, data, max_batch, o.latency_seconds));
  }

  auto add = [&](std::string gate, bool passed, std::string detail) {
    rep.gates.push_back({std::move(gate), passed, std::move(detail)});
  };
  auto value = [&](const std::map<std::string, double>& m, const std::string& k) {
    auto it = m.find(k);
    return it == m.end() ? std::optional<double>() : std::optional<double>(it->second);
  };
  for (const auto& [metric, bound] : gates.min) {
    const auto v = value(rep.metrics, metric);
    add("min " + metric, v && *v >= bound,
        v ? Num(*v) + (*v >= bound ? " >= " : " < ") + Num(bound) : "undefined on this data");
  }
  for (const auto& [metric, bound] : gates.max) {
    const auto v = value(rep.metrics, metric);
    add("max " + metric, v && *v <= bound,
        v ? Num(*v) + (*v <= bound ? " <= " : " > ") + Num(bound) : "undefined on this data");
  }
  for (const auto& [metric, bound] : gates.max_drop) {
    if (!o.against) {
      add("max_drop " + metric, false, "no version to compare against (--against)");
      continue;
    }
    const auto v = value(rep.metrics, metric);
    const auto r = value(rep.against_metrics, metric);
    if (!v || !r) {
      add("max_drop " + metric, false, "undefined on this data");
      continue;
    }
    const double drop = MetricDrop(metric, *r, *v);
    add("max_drop " + metric, drop <= bound + 1e-12,
        Num(*v) + " vs " + Num(*r) + " (v" + std::to_string(*o.against) + "): drop " + Num(drop) +
            (drop <= bound + 1e-12 ? " <= " : " > ") + Num(bound));
  }
  if (gates.p99_us_batch_1) {
    const double p = rep.batch_1.p99_us;
    add("p99 batch 1", p <= *gates.p99_us_batch_1,
        Num(p) + " us" + (p <= *gates.p99_us_batch_1 ? " <= " : " > ") +
            Num(*gates.p99_us_batch_1) + " us");
  }
  if (gates.p99_us_max_batch) {
    const double p = rep.max_batch.p99_us;
    add("p99 batch " + std::to_string(max_batch), p <= *gates.p99_us_max_batch,
        Num(p) + " us" + (p <= *gates.p99_us_max_batch ? " <= " : " > ") +
            Num(*gates.p99_us_max_batch) + " us");
  }
  if (!gates.parity_file.empty()) rep.gates.push_back(Parity(gates, sig, eval, data.rows));
  if (gates.max_rejected_share) {
    const double share =
        data.file_rows > 0 ? static_cast<double>(data.rejected_rows) / data.file_rows : 0;
    std::string detail = std::to_string(data.rejected_rows) + " of " +
                         std::to_string(data.file_rows) + " rows rejected (" + Num(share) +
                         (share <= *gates.max_rejected_share ? " <= " : " > ") +
                         Num(*gates.max_rejected_share) + ")";
    if (!local.config.schema) detail = "the model has no schema: every row conforms";
    if (!data.rejections.empty()) detail += "; " + data.rejections[0];
    add("schema", share <= *gates.max_rejected_share, detail);
  }
  rep.passed = true;
  for (const auto& g : rep.gates) {
    if (!g.passed) {
      rep.passed = false;
      rep.failed.push_back(g.gate + ": " + g.detail);
    }
  }
  return rep;
}

std::string ValidationReport::ToJson() const {
  nlohmann::json j;
  j["model"] = model;
  j["version"] = version;
  j["sha256"] = sha256;
  j["backend"] = backend;
  j["data"] = {{"file", data},
               {"rows", file_rows},
               {"scored", rows},
               {"rejected", rejected_rows},
               {"rejections", rejections}};
  j["task"] = task;
  j["metrics"] = metrics;
  j["quality"] = nlohmann::json::parse(metrics_json, nullptr, false);
  j["latency"] = {{"batch_1", LatencyJson(batch_1)}, {"max_batch", LatencyJson(max_batch)}};
  if (against) {
    nlohmann::json a = {
        {"version", *against}, {"name", against_name}, {"metrics", against_metrics}};
    if (against_batch_1 && against_max_batch) {
      a["latency"] = {{"batch_1", LatencyJson(*against_batch_1)},
                      {"max_batch", LatencyJson(*against_max_batch)}};
    }
    j["against"] = a;
  }
  nlohmann::json gs = nlohmann::json::array();
  for (const auto& g : gates) {
    gs.push_back({{"gate", g.gate}, {"passed", g.passed}, {"detail", g.detail}});
  }
  j["gates"] = gs;
  j["failed"] = failed;
  j["passed"] = passed;
  return j.dump();
}

std::string ValidationReport::ToText() const {
  std::ostringstream out;
  out << "validate " << model << " version " << version << " (" << backend << ", sha256 "
      << sha256.substr(0, 12) << ")\n";
  out << "data: " << data << ", " << file_rows << " rows, " << rows << " scored";
  if (rejected_rows > 0) out << ", " << rejected_rows << " rejected by the schema";
  out << "\n\n";
  char line[160];
  out << "  metric            version " << version;
  if (against) {
    const bool named = !against_name.empty() && against_name != std::to_string(*against);
    out << "    " << (named ? against_name + " " : "") << "v" << *against;
  }
  out << "\n";
  for (const auto& [name, v] : metrics) {
    std::snprintf(line, sizeof line, "  %-16s %10.6g", name.c_str(), v);
    out << line;
    if (against) {
      auto it = against_metrics.find(name);
      if (it != against_metrics.end()) {
        std::snprintf(line, sizeof line, "    %10.6g", it->second);
        out << line;
      }
    }
    out << "\n";
  }
  auto lat = [&](const char* what, const Latency& l, const std::optional<Latency>& ref) {
    std::snprintf(line, sizeof line, "  %-16s p50 %9.1f us  p99 %9.1f us  %11.0f rows/s", what,
                  l.p50_us, l.p99_us, l.rows_per_s);
    out << line;
    if (ref) {
      std::snprintf(line, sizeof line, "   (v%lld: p99 %.1f us)", static_cast<long long>(*against),
                    ref->p99_us);
      out << line;
    }
    out << "\n";
  };
  out << "\nlatency (in process, one thread)\n";
  lat("batch 1", batch_1, against_batch_1);
  lat(("batch " + std::to_string(max_batch.batch)).c_str(), max_batch, against_max_batch);
  out << "\ngates\n";
  if (gates.empty()) out << "  (none)\n";
  for (const auto& g : gates) {
    out << "  " << (g.passed ? "PASS" : "FAIL") << "  " << g.gate << ": " << g.detail << "\n";
  }
  out << "\n" << (passed ? "PASSED" : "FAILED");
  if (!passed) out << ": " << failed.size() << " of " << gates.size() << " gates failed";
  out << "\n";
  return out.str();
}

}  // namespace inferd::tools
