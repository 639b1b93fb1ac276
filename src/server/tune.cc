#include "server/tune.h"

#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "base/file.h"
#include "server/server.h"
#include "tools/new_version.h"

namespace inferd::server {

namespace fs = std::filesystem;
using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

StatusOr<YAML::Node> ReadConfig(const fs::path& model_dir) {
  std::error_code ec;
  if (!fs::is_regular_file(model_dir / "config.yaml", ec)) return YAML::Node(YAML::NodeType::Map);
  ASSIGN_OR_RETURN(std::string text, base::ReadWholeFile(model_dir / "config.yaml", "config"));
  try {
    YAML::Node n = YAML::Load(text);
    if (n.IsNull()) return YAML::Node(YAML::NodeType::Map);
    if (!n.IsMap()) return InvalidArgument((model_dir / "config.yaml").string() + " is not a map");
    return n;
  } catch (const YAML::Exception& e) {
    return InvalidArgument((model_dir / "config.yaml").string() + ": " + e.what());
  }
}

void Apply(const TuneConfig& c, YAML::Node& n) {
  n["max_batch_size"] = c.max_batch_size;
  if (c.dynamic_batching) {
    YAML::Node db = n["dynamic_batching"] && n["dynamic_batching"].IsMap()
                        ? n["dynamic_batching"]
                        : YAML::Node(YAML::NodeType::Map);
    db["max_queue_delay_us"] = c.max_queue_delay_us;
    n["dynamic_batching"] = db;
    n["instances"] = c.instances;
  } else {
    n.remove("dynamic_batching");
    n.remove("instances");
  }
}

std::string Emit(const YAML::Node& n) {
  YAML::Emitter out;
  out << n;
  return std::string(out.c_str()) + "\n";
}

// Serves `config` in process and loads it at every concurrency level.
StatusOr<TuneResult> Measure(const TuneOptions& o, const fs::path& repo, const std::string& name,
                             const fs::path& state, const YAML::Node& base,
                             const TuneConfig& config) {
  YAML::Node n = YAML::Clone(base);
  n.remove("version_policy");  // the repository holds the tuned version only
  Apply(config, n);
  RETURN_IF_ERROR(tools::WriteTextFile(repo / name / "config.yaml", Emit(n)));
  ServerOptions so;
  so.model_repository = repo;
  so.host = "127.0.0.1";
  so.http_port = 0;
  so.state_dir = state.string();
  so.forest_threads = config.threads;
  so.onnx_threads = config.threads;
  auto server = Server::Create(so);
  if (!server.ok()) {
    return base::Unavailable("serving " + config.Describe() + ": " + server.status().message());
  }
  (*server)->Start();
  tools::BenchOptions b;
  b.url = "http://127.0.0.1:" + std::to_string((*server)->http_port());
  b.model = name;
  b.concurrency = o.concurrency;
  b.duration = o.seconds;
  b.warmup = std::min(0.5, o.seconds / 2);
  b.batch = o.batch;
  auto levels = tools::RunBench(b);
  (*server)->Stop();
  if (!levels.ok()) return levels.status();
  TuneResult r;
  r.config = config;
  r.levels = *levels;
  for (const auto& l : r.levels) {
    if (l.errors == 0 && l.p99_us <= o.slo_p99_us && l.throughput > r.rps_at_slo) {
      r.rps_at_slo = l.throughput;
      r.p99_at_slo_us = l.p99_us;
      r.concurrency_at_slo = l.concurrency;
    }
  }
  return r;
}

bool Better(const TuneResult& a, const TuneResult& b) {
  if (a.rps_at_slo != b.rps_at_slo) return a.rps_at_slo > b.rps_at_slo;
  return a.p99_at_slo_us < b.p99_at_slo_us;
}

}  // namespace

std::string TuneConfig::Describe() const {
  std::string s = "threads " + std::to_string(threads);
  if (!dynamic_batching) return s + ", no batching";
  return s + ", batch <= " + std::to_string(max_batch_size) + ", delay " +
         std::to_string(max_queue_delay_us) + " us, instances " + std::to_string(instances);
}

StatusOr<TuneReport> Tune(const TuneOptions& o) {
  if (!(o.slo_p99_us > 0)) return InvalidArgument("--slo-p99 must be > 0");
  if (o.target_rps && !(*o.target_rps > 0)) return InvalidArgument("--target-rps must be > 0");
  if (o.cost_per_core_hour && !(*o.cost_per_core_hour >= 0)) {
    return InvalidArgument("--cost-per-core-hour must be >= 0");
  }
  if (o.concurrency.empty() || !(o.seconds > 0)) {
    return InvalidArgument("give concurrency levels and a positive duration");
  }
  const fs::path abs = fs::absolute(o.model_dir).lexically_normal();
  const std::string name =
      (abs.has_filename() ? abs.filename() : abs.parent_path().filename()).string();
  const fs::path version_dir = o.model_dir / std::to_string(o.version);
  std::error_code ec;
  if (!fs::is_directory(version_dir, ec)) {
    return base::NotFound("model '" + name + "' has no version " + std::to_string(o.version));
  }
  ASSIGN_OR_RETURN(YAML::Node base, ReadConfig(o.model_dir));
  tools::ScratchDirectory scratch("inferd-tune");
  if (scratch.path().empty()) return base::Unavailable("cannot make a temporary directory");
  const fs::path t = scratch.path();
  const fs::path repo = t / "repo";
  // The version and what the model directory holds besides (its label files, profile.json); the
  // config.yaml is written per configuration.
  RETURN_IF_ERROR(tools::CopyModelFiles(o.model_dir, repo / name));
  fs::copy(version_dir, repo / name / std::to_string(o.version), fs::copy_options::recursive, ec);
  if (ec) return base::Unavailable("cannot copy " + version_dir.string() + ": " + ec.message());

  const int cores = o.cores > 0 ? o.cores : std::max(1u, std::thread::hardware_concurrency());
  TuneReport rep;
  rep.model = name;
  rep.version = o.version;
  rep.slo_p99_us = o.slo_p99_us;
  // Stage 1: engine threads, no batching. Stage 2: batching with the best threads.
  const std::vector<int> counts = cores > 1 ? std::vector<int>{1, cores} : std::vector<int>{1};
  std::vector<TuneConfig> stage1;
  for (int threads : counts) stage1.push_back({.max_batch_size = 256, .threads = threads});
  std::vector<TuneConfig> stage2;
  for (int64_t batch : {16, 64}) {
    for (int64_t delay : {0, 500}) {
      for (int instances : counts) {
        stage2.push_back({.max_batch_size = batch,
                          .dynamic_batching = true,
                          .max_queue_delay_us = delay,
                          .instances = instances});
      }
    }
  }
  const int total = static_cast<int>(stage1.size() + stage2.size());
  int done = 0;
  auto run = [&](const TuneConfig& c) -> Status {
    if (o.progress) o.progress(done, total, c.Describe());
    ASSIGN_OR_RETURN(auto r, Measure(o, repo, name, t / ("state" + std::to_string(done)), base, c));
    ++done;
    rep.results.push_back(std::move(r));
    return Status::Ok();
  };
  for (const auto& c : stage1) RETURN_IF_ERROR(run(c));
  size_t best1 = 0;
  for (size_t i = 1; i < rep.results.size(); ++i) {
    if (Better(rep.results[i], rep.results[best1])) best1 = i;
  }
  for (auto c : stage2) {
    c.threads = rep.results[best1].config.threads;
    RETURN_IF_ERROR(run(c));
  }
  if (o.progress) o.progress(total, total, "done");
  for (size_t i = 0; i < rep.results.size(); ++i) {
    if (rep.results[i].rps_at_slo <= 0) continue;
    if (!rep.chosen || Better(rep.results[i], rep.results[*rep.chosen])) rep.chosen = i;
  }
  if (rep.chosen && o.target_rps) {
    CapacityPlan p;
    p.target_rps = *o.target_rps;
    p.replica_rps = rep.results[*rep.chosen].rps_at_slo;
    p.cores_per_replica = cores;
    p.replicas = static_cast<int64_t>(std::ceil(p.target_rps / (p.replica_rps * 0.7)));
    p.cores = p.replicas * cores;
    if (o.cost_per_core_hour) p.monthly_cost = p.cores * *o.cost_per_core_hour * 730.0;
    rep.plan = p;
  }
  return rep;
}

Status WriteTunedConfig(const fs::path& model_dir, const TuneConfig& config) {
  ASSIGN_OR_RETURN(YAML::Node n, ReadConfig(model_dir));
  Apply(config, n);
  const fs::path tmp = model_dir / ".config.yaml.tmp";
  RETURN_IF_ERROR(tools::WriteTextFile(tmp, Emit(n)));
  std::error_code ec;
  fs::rename(tmp, model_dir / "config.yaml", ec);
  if (ec) return base::Unavailable("cannot write " + (model_dir / "config.yaml").string());
  return Status::Ok();
}

std::string TuneReport::ToText() const {
  std::ostringstream out;
  char line[256];
  out << "tune " << model << " version " << version << " for p99 <= " << slo_p99_us << " us\n\n";
  std::snprintf(line, sizeof line, "  %-52s", "configuration");
  out << line;
  if (!results.empty()) {
    for (const auto& l : results[0].levels) {
      std::snprintf(line, sizeof line, " %18s",
                    ("c" + std::to_string(l.concurrency) + " rps/p99us").c_str());
      out << line;
    }
  }
  out << "   at SLO rps\n";
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& r = results[i];
    std::snprintf(line, sizeof line, "%c %-52s", chosen && *chosen == i ? '*' : ' ',
                  r.config.Describe().c_str());
    out << line;
    for (const auto& l : r.levels) {
      std::snprintf(line, sizeof line, " %9.0f/%-8.0f", l.throughput, l.p99_us);
      out << line;
    }
    std::snprintf(line, sizeof line, " %12.0f\n", r.rps_at_slo);
    out << line;
  }
  out << "\n";
  if (!chosen) {
    out << "no configuration meets p99 <= " << slo_p99_us << " us at any concurrency tried\n";
    return out.str();
  }
  const auto& best = results[*chosen];
  std::snprintf(line, sizeof line, "best: %s: %.0f requests/s at p99 %.0f us (concurrency %d)\n",
                best.config.Describe().c_str(), best.rps_at_slo, best.p99_at_slo_us,
                best.concurrency_at_slo);
  out << line;
  out << "config.yaml: max_batch_size: " << best.config.max_batch_size;
  if (best.config.dynamic_batching) {
    out << ", dynamic_batching: {max_queue_delay_us: " << best.config.max_queue_delay_us
        << "}, instances: " << best.config.instances;
  }
  out << "; serve with --forest-threads/--onnx-threads " << best.config.threads << "\n";
  if (plan) {
    std::snprintf(line, sizeof line,
                  "capacity for %.0f requests/s at the SLO with 30%% headroom: %lld replicas of "
                  "%d cores (%.0f requests/s each, %.0f with headroom) = %lld cores",
                  plan->target_rps, static_cast<long long>(plan->replicas), plan->cores_per_replica,
                  plan->replica_rps, plan->replica_rps * 0.7, static_cast<long long>(plan->cores));
    out << line;
    if (plan->monthly_cost) {
      std::snprintf(line, sizeof line, ", %.2f per month (730 h)", *plan->monthly_cost);
      out << line;
    }
    out << "\n";
  }
  return out.str();
}

std::string TuneReport::ToJson() const {
  nlohmann::json j;
  j["model"] = model;
  j["version"] = version;
  j["slo_p99_us"] = slo_p99_us;
  auto config_json = [](const TuneConfig& c) {
    return nlohmann::json{{"max_batch_size", c.max_batch_size},
                          {"dynamic_batching", c.dynamic_batching},
                          {"max_queue_delay_us", c.max_queue_delay_us},
                          {"instances", c.instances},
                          {"threads", c.threads}};
  };
  j["results"] = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json levels = nlohmann::json::array();
    for (const auto& l : r.levels) {
      levels.push_back({{"concurrency", l.concurrency},
                        {"throughput", l.throughput},
                        {"p50_us", l.p50_us},
                        {"p99_us", l.p99_us},
                        {"errors", l.errors}});
    }
    j["results"].push_back({{"config", config_json(r.config)},
                            {"levels", levels},
                            {"rps_at_slo", r.rps_at_slo},
                            {"p99_at_slo_us", r.p99_at_slo_us}});
  }
  j["chosen"] = chosen ? config_json(results[*chosen].config) : nlohmann::json();
  if (plan) {
    j["capacity"] = {{"target_rps", plan->target_rps},
                     {"replica_rps", plan->replica_rps},
                     {"headroom", 0.3},
                     {"cores_per_replica", plan->cores_per_replica},
                     {"replicas", plan->replicas},
                     {"cores", plan->cores}};
    if (plan->monthly_cost) j["capacity"]["monthly_cost"] = *plan->monthly_cost;
  }
  return j.dump();
}

}  // namespace inferd::server
