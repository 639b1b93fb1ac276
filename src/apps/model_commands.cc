#include "apps/model_commands.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "backend/backend.h"
#include "base/clock.h"
#include "base/logging.h"
#include "config/model_config.h"
#include "repository/file_system_source.h"
#include "server/backends.h"
#include "server/tune.h"
#include "store/open_store.h"
#include "tools/http_call.h"
#include "tools/local_model.h"
#include "tools/optimize.h"
#include "tools/search.h"
#include "tools/validate.h"

namespace inferd::apps {

namespace fs = std::filesystem;
using base::StatusOr;

namespace {

// MODEL[@VERSION|@label]: the model directory and what follows the '@'.
struct ModelRef {
  fs::path dir;
  std::string name;
  std::string selector;  // "", a version number or a label
};

StatusOr<ModelRef> ParseRef(const std::string& text, const std::string& repository) {
  ModelRef r;
  std::string path = text;
  if (const size_t at = text.rfind('@'); at != std::string::npos) {
    path = text.substr(0, at);
    r.selector = text.substr(at + 1);
    if (r.selector.empty()) return base::InvalidArgument("'" + text + "': nothing after '@'");
  }
  std::error_code ec;
  if (!repository.empty() && path.find('/') == std::string::npos) {
    r.dir = fs::path(repository) / path;
  } else {
    r.dir = path;
  }
  if (!fs::is_directory(r.dir, ec)) {
    return base::NotFound("no model directory " + r.dir.string() +
                          (repository.empty() ? " (name the repository: --model-repository)" : ""));
  }
  r.name = fs::absolute(r.dir, ec).lexically_normal().filename().string();
  if (r.name.empty()) r.name = fs::absolute(r.dir, ec).lexically_normal().parent_path().filename();
  return r;
}

// The version `selector` names: a number, a rollout label (the server's when `server` is set,
// else config.yaml's), "latest", or "previous" (the highest below `below`). "stable" without
// such a label is what serves without a policy: the latest version, or the highest below `below`
// when that is the version itself.
StatusOr<int64_t> Resolve(const ModelRef& ref, const std::string& selector,
                          const std::string& server, const std::string& token,
                          std::optional<int64_t> below) {
  std::vector<int64_t> versions;  // ascending
  for (const auto& [v, _] : tools::VersionDirs(ref.dir)) versions.push_back(v);
  if (versions.empty()) {
    return base::NotFound("model directory " + ref.dir.string() + " has no version directories");
  }
  auto below_of = [&](int64_t v) -> StatusOr<int64_t> {
    auto it = std::lower_bound(versions.begin(), versions.end(), v);
    if (it == versions.begin()) {
      return base::NotFound("model '" + ref.name + "' has no version below " + std::to_string(v));
    }
    return *std::prev(it);
  };
  if (selector.empty() || selector == "latest") return versions.back();
  if (std::all_of(selector.begin(), selector.end(), ::isdigit)) {
    const int64_t v = std::stoll(selector.substr(0, 18));
    if (!std::binary_search(versions.begin(), versions.end(), v)) {
      return base::NotFound("model '" + ref.name + "' has no version " + selector);
    }
    return v;
  }
  if (selector == "previous") {
    if (!below) return base::InvalidArgument("'previous' needs a version to be below");
    return below_of(*below);
  }
  std::map<std::string, int64_t> labels;
  std::optional<int64_t> serving;  // the server's latest ready version
  if (!server.empty()) {
    auto reply = tools::HttpCall(server, "GET", "/v2/models/" + ref.name + "/rollout", "", token);
    if (!reply.ok()) return reply.status();
    if (reply->status != 200) {
      return base::Unavailable("the server answered " + std::to_string(reply->status) + ": " +
                               reply->body);
    }
    const auto j = nlohmann::json::parse(reply->body, nullptr, false);
    if (j.is_object() && j.contains("labels") && j["labels"].is_object()) {
      for (auto it = j["labels"].begin(); it != j["labels"].end(); ++it) {
        if (it->is_number_integer()) labels[it.key()] = it->get<int64_t>();
      }
    }
    if (j.is_object() && j.contains("ready_versions") && j["ready_versions"].is_array() &&
        !j["ready_versions"].empty()) {
      serving = j["ready_versions"].back().get<int64_t>();
    }
  } else if (std::error_code ec; fs::is_regular_file(ref.dir / "config.yaml", ec)) {
    ASSIGN_OR_RETURN(auto config, config::LoadModelConfig(ref.dir / "config.yaml", ref.name));
    labels = config.rollout.labels;
  }
  if (auto it = labels.find(selector); it != labels.end()) return it->second;
  if (selector == "stable") {
    const int64_t latest = serving.value_or(versions.back());
    if (below && latest >= *below) return below_of(*below);
    return latest;
  }
  std::string known;
  for (const auto& [l, _] : labels) known += (known.empty() ? "" : ", ") + l;
  return base::NotFound("model '" + ref.name + "' has no label '" + selector + "'" +
                        (known.empty() ? "" : " (labels: " + known + ")"));
}

// MODEL[@VERSION|@label] (ParseRef), and the version it names (Resolve).
struct ResolvedModel {
  ModelRef ref;
  int64_t version = 0;
};

StatusOr<ResolvedModel> ResolveModel(const std::string& text, const std::string& repository,
                                     const std::string& server, const std::string& token) {
  ASSIGN_OR_RETURN(ModelRef ref, ParseRef(text, repository));
  ASSIGN_OR_RETURN(const int64_t version, Resolve(ref, ref.selector, server, token, std::nullopt));
  return ResolvedModel{std::move(ref), version};
}

// "inferd COMMAND: message" on stderr; exit code 2 (an error, not a failed check).
int Fail(const char* command, const base::Status& st) {
  std::fprintf(stderr, "inferd %s: %s\n", command, st.message().c_str());
  return 2;
}

}  // namespace

struct ModelCommands::State {
  std::string* token = nullptr;
  std::string repository;

  CLI::App* validate = nullptr;
  std::string v_model, v_data, v_label, v_against, v_gates, v_server, v_state, v_write_outputs;
  bool v_json = false;
  double v_latency_seconds = 0.5;

  int RunValidate();

  CLI::App* optimize = nullptr;
  std::string o_model, o_data, o_label, o_metric, o_objective = "balanced";
  double o_max_drop = 0;
  bool o_json = false, o_dry_run = false;
  int64_t o_batch = 256;
  double o_latency_seconds = 0.3;
  int RunOptimize();

  CLI::App* tune = nullptr;
  std::string t_model, t_slo, t_concurrency = "1,4,16,64";
  double t_target_rps = 0, t_cost = -1, t_seconds = 1;
  int64_t t_batch = 1;
  bool t_write = false, t_json = false;
  int RunTune();

  CLI::App* search = nullptr;
  std::string s_data, s_label, s_task, s_metric, s_save_to, s_plot = "pareto.svg";
  int s_trials = 30;
  uint64_t s_seed = 42;
  double s_budget = 0, s_max_mb = 0;
  bool s_json = false;
  int RunSearch();

  CLI::App* watch = nullptr;
  std::string w_model, w_server = "http://127.0.0.1:8000";
  int64_t w_canary = 0, w_min_requests = 100;
  double w_duration = 300, w_interval = 10, w_max_error_rate = 0.01, w_max_latency_ratio = 1.5;
  int RunWatch();

  CLI::App* quantize = nullptr;
  std::string q_in, q_out;
  bool q_per_tensor = false, q_keep_last = false, q_full_range = false;
  int RunQuantize();

  CLI::App* load = nullptr;
  std::string l_model, l_server = "http://127.0.0.1:8000";
  int64_t l_version = 0;
  double l_wait = 60;
  int RunLoad();
};

namespace {

// A progress bar on a terminal, plain lines otherwise, on stderr.
class StepBar {
 public:
  explicit StepBar(std::string what) : what_(std::move(what)), tty_(isatty(STDERR_FILENO)) {}
  ~StepBar() { Clear(); }
  void Show(int done, int total, const std::string& step) {
    if (!tty_) {
      std::fprintf(stderr, "%s: [%d/%d] %s\n", what_.c_str(), done, total, step.c_str());
      return;
    }
    constexpr int kWidth = 24;
    const int filled = total > 0 ? done * kWidth / total : 0;
    std::fprintf(stderr, "\r\033[K%s [%s%s] %d/%d %s", what_.c_str(),
                 std::string(filled, '#').c_str(), std::string(kWidth - filled, '.').c_str(), done,
                 total, step.substr(0, 50).c_str());
    drawn_ = true;
  }
  void Clear() {
    if (tty_ && drawn_) std::fprintf(stderr, "\r\033[K");
    drawn_ = false;
  }

 private:
  std::string what_;
  bool tty_;
  bool drawn_ = false;
};

}  // namespace

ModelCommands::ModelCommands(CLI::App& app, std::string* token) : s_(std::make_unique<State>()) {
  s_->token = token;
  auto* v = app.add_subcommand(
      "validate",
      "Check a version on labelled held-out data against gates before it takes traffic "
      "(exit 0: passed, 1: a gate failed, 2: error)");
  s_->validate = v;
  v->add_option("model", s_->v_model, "MODEL[@VERSION|@label] (a name or a model directory)")
      ->required();
  v->add_option("--model-repository", s_->repository, "Where model names are looked up");
  v->add_option("--data", s_->v_data, "Held-out data: CSV with a header")->required();
  v->add_option("--label", s_->v_label, "The label column")->required();
  v->add_option("--against", s_->v_against,
                "The version it replaces: VERSION, a label (stable), or previous");
  v->add_option("--gates", s_->v_gates,
                "gates.yaml (default: schema, and max_drop 0.01 with "
                "--against)");
  v->add_option("--server", s_->v_server,
                "A running inferd: labels come from it and the result is recorded there");
  v->add_option("--state", s_->v_state,
                "Record the result in this state store (the server's --state: a directory or a "
                "postgres:// URL)");
  v->add_option("--token", *token, "API key or JWT for --server (default: $INFERD_TOKEN)");
  v->add_option("--latency-seconds", s_->v_latency_seconds, "Time spent per latency measurement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  v->add_option(
      "--write-outputs", s_->v_write_outputs,
      "Write the version's outputs on the data (CSV): a later version's parity reference");
  v->add_flag("--json", s_->v_json, "Print the report as JSON");

  auto* o = app.add_subcommand(
      "optimize",
      "Shrink a version within a metric budget (forests: drop trees, cap depth, merge leaves; "
      "ONNX: int8) and write "
      "the best as a new version");
  s_->optimize = o;
  o->add_option("model", s_->o_model, "MODEL@VERSION (a name or a model directory)")->required();
  o->add_option("--model-repository", s_->repository, "Where model names are looked up");
  o->add_option("--data", s_->o_data, "Labelled data: CSV with a header")->required();
  o->add_option("--label", s_->o_label, "The label column")->required();
  o->add_option("--max-metric-drop", s_->o_max_drop,
                "How much worse the metric may get (a rise of an error metric)")
      ->required()
      ->check(CLI::NonNegativeNumber);
  o->add_option("--metric", s_->o_metric,
                "Default: roc_auc (binary), accuracy (multiclass), rmse (regression)");
  o->add_option("--batch", s_->o_batch, "The large batch timed besides batch 1")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  o->add_option("--latency-seconds", s_->o_latency_seconds, "Time spent per latency measurement")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  o->add_option("--objective", s_->o_objective,
                "What best means: balanced (speed-ups at batch 1 and --batch), batch1, large, size")
      ->capture_default_str()
      ->check(CLI::IsMember({"balanced", "batch1", "large", "size"}));
  o->add_flag("--dry-run", s_->o_dry_run, "Report only; write no version");
  o->add_flag("--json", s_->o_json, "Print the report as JSON");

  auto* t = app.add_subcommand(
      "tune",
      "Find the serving configuration with the most throughput within a p99 latency SLO, and the "
      "capacity a target rate needs");
  s_->tune = t;
  t->add_option("model", s_->t_model, "MODEL[@VERSION] (a name or a model directory)")->required();
  t->add_option("--model-repository", s_->repository, "Where model names are looked up");
  t->add_option("--slo-p99", s_->t_slo, "The p99 latency to meet: 5ms, 800us, 0.01s")->required();
  t->add_option("--target-rps", s_->t_target_rps, "Plan capacity for this many requests/s")
      ->check(CLI::PositiveNumber);
  t->add_option("--cost-per-core-hour", s_->t_cost, "Price of a core-hour, for the monthly cost")
      ->check(CLI::NonNegativeNumber);
  t->add_option("--concurrency", s_->t_concurrency, "Concurrency levels, comma-separated")
      ->capture_default_str();
  t->add_option("--seconds", s_->t_seconds, "Seconds measured per level")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t->add_option("--batch", s_->t_batch, "Rows per request")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  t->add_flag("--write", s_->t_write, "Put the best configuration in the model's config.yaml");
  t->add_flag("--json", s_->t_json, "Print the report as JSON");

  auto* se = app.add_subcommand(
      "search",
      "Train XGBoost over a search space (libxgboost), measure every trial as inferd serves it, "
      "and pick the best metric within a latency budget");
  s_->search = se;
  se->add_option("--data", s_->s_data, "Training data: CSV with a header")->required();
  se->add_option("--label", s_->s_label, "The label column")->required();
  se->add_option("--task", s_->s_task, "binary, multiclass or regression")
      ->required()
      ->check(CLI::IsMember({"binary", "multiclass", "regression"}));
  se->add_option("--metric", s_->s_metric,
                 "Default: roc_auc (binary), accuracy (multiclass), rmse (regression)");
  se->add_option("--trials", s_->s_trials, "Trials")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  se->add_option("--seed", s_->s_seed, "Seed of the split, the draws and the training")
      ->capture_default_str();
  se->add_option("--latency-budget-us", s_->s_budget,
                 "Batch-1 latency the chosen model must meet (median, in process)")
      ->check(CLI::PositiveNumber);
  se->add_option("--max-size-mb", s_->s_max_mb, "Largest model file")->check(CLI::PositiveNumber);
  se->add_option("--save-to", s_->s_save_to,
                 "Write the chosen model as a new version of this model directory");
  se->add_option("--plot", s_->s_plot, "The Pareto front as SVG ('' for none)")
      ->capture_default_str();
  se->add_flag("--json", s_->s_json, "Print the report as JSON");

  // rollout watch: the canary's health on live traffic, for a pipeline to promote or roll back.
  if (auto* rollout = app.get_subcommand("rollout")) {
    auto* w = rollout->add_subcommand(
        "watch",
        "Watch the canary against stable for --duration; exit 0 when it stayed healthy, 1 when "
        "not (or the server rolled it back), 2 on error");
    s_->watch = w;
    w->add_option("model", s_->w_model, "Model name")->required();
    w->add_option("--server", s_->w_server, "The server")->capture_default_str();
    w->add_option("--token", *token, "API key or JWT (default: $INFERD_TOKEN)");
    w->add_option("--canary", s_->w_canary, "The canary version (default: the canary label)")
        ->check(CLI::PositiveNumber);
    w->add_option("--duration", s_->w_duration, "Seconds to watch")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    w->add_option("--interval", s_->w_interval, "Seconds between checks")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    w->add_option("--max-error-rate", s_->w_max_error_rate,
                  "Largest share of the canary's requests that may fail")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    w->add_option("--max-latency-ratio", s_->w_max_latency_ratio,
                  "Largest canary / stable ratio of the model's compute time per request")
        ->capture_default_str()
        ->check(CLI::PositiveNumber);
    w->add_option("--min-requests", s_->w_min_requests,
                  "Canary requests needed for a verdict (fewer: not healthy)")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
  }
  auto* q = app.add_subcommand(
      "quantize",
      "Int8 dynamic quantization of an ONNX model's MatMul, Gemm and Conv weights (standard ONNX "
      "that "
      "ONNX Runtime also runs)");
  s_->quantize = q;
  q->add_option("model", s_->q_in, "The FP32 model.onnx")->required();
  q->add_option("--out,-o", s_->q_out, "Where the quantized model goes")->required();
  q->add_flag("--per-tensor", s_->q_per_tensor,
              "One scale per weight matrix (default: per column)");
  q->add_flag("--keep-last-fp32", s_->q_keep_last, "Leave the last MatMul/Gemm (the head) in FP32");
  q->add_flag("--full-range", s_->q_full_range,
              "Weights in [-127, 127] (default [-63, 63]: no 16-bit saturation without VNNI)");
  auto* model = app.add_subcommand("model", "Model control on a running server");
  model->require_subcommand(1);
  auto* l = model->add_subcommand(
      "load", "Load (explicit mode) or wait for (poll mode) a model's version until it is ready");
  s_->load = l;
  l->add_option("model", s_->l_model, "Model name")->required();
  l->add_option("--version", s_->l_version, "Wait for this version (default: any)")
      ->check(CLI::PositiveNumber);
  l->add_option("--server", s_->l_server, "The server")->capture_default_str();
  l->add_option("--token", *token, "API key or JWT (default: $INFERD_TOKEN)");
  l->add_option("--wait", s_->l_wait, "Seconds to wait for it to be ready")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
}

ModelCommands::~ModelCommands() = default;

std::optional<int> ModelCommands::Run() {
  if (s_->validate->parsed()) return s_->RunValidate();
  if (s_->optimize->parsed()) return s_->RunOptimize();
  if (s_->tune->parsed()) return s_->RunTune();
  if (s_->search->parsed()) return s_->RunSearch();
  if (s_->watch != nullptr && s_->watch->parsed()) return s_->RunWatch();
  if (s_->load->parsed()) return s_->RunLoad();
  if (s_->quantize->parsed()) return s_->RunQuantize();
  return std::nullopt;
}

int ModelCommands::State::RunValidate() {
  auto fail = [](const base::Status& st) { return Fail("validate", st); };
  auto resolved = ResolveModel(v_model, repository, v_server, *token);
  if (!resolved.ok()) return fail(resolved.status());
  const ModelRef& ref = resolved->ref;
  const int64_t version = resolved->version;
  tools::ValidateOptions o;
  o.model_dir = ref.dir;
  o.version = version;
  if (!v_against.empty()) {
    auto against = Resolve(ref, v_against, v_server, *token, version);
    if (!against.ok()) return fail(against.status());
    o.against = *against;
    o.against_name = v_against;
  }
  o.data = v_data;
  o.label = v_label;
  if (!v_gates.empty()) {
    auto gates = tools::LoadGates(v_gates);
    if (!gates.ok()) return fail(gates.status());
    o.gates = *gates;
  }
  backend::BackendRegistry backends;
  if (auto st = server::RegisterBackends({.threads = 1}, &backends); !st.ok()) return fail(st);
  o.backends = &backends;
  o.latency_seconds = v_latency_seconds;
  o.write_outputs = v_write_outputs;
  const bool tty = isatty(STDERR_FILENO);
  o.progress = [tty](const std::string& line) {
    if (tty) {
      std::fprintf(stderr, "\r\033[Kvalidate: %s...", line.c_str());
    } else {
      std::fprintf(stderr, "validate: %s\n", line.c_str());
    }
  };
  auto report = tools::Validate(o);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!report.ok()) return fail(report.status());
  const std::string json = report->ToJson();
  // Recorded where promote looks: the server, or its state directory.
  std::string recorded;
  if (!v_server.empty()) {
    auto reply = tools::HttpCall(
        v_server, "POST",
        "/v2/models/" + ref.name + "/versions/" + std::to_string(report->version) + "/validation",
        json, *token);
    if (!reply.ok()) return fail(reply.status());
    if (reply->status / 100 != 2) {
      return fail(base::Unavailable("recording the result: the server answered " +
                                    std::to_string(reply->status) + ": " + reply->body));
    }
    recorded = "recorded on " + v_server;
  }
  if (!v_state.empty()) {
    auto store = store::OpenStateStore(v_state);
    if (!store.ok()) return fail(store.status());
    const char* user = std::getenv("USER");
    const std::string who = std::string("cli:") + (user != nullptr ? user : "unknown");
    const int64_t now = base::Clock::Real().WallNanos() / 1000000;
    nlohmann::json detail = {
        {"version", report->version}, {"passed", report->passed}, {"failed", report->failed}};
    auto st = (*store)->PutValidation(
        {ref.name, report->version, report->sha256, report->passed, now, who, json},
        {now, who, "validate", ref.name, detail.dump()});
    if (!st.ok()) return fail(st);
    recorded += (recorded.empty() ? "recorded in " : " and in ") + v_state;
  }
  if (v_json) {
    std::printf("%s\n", json.c_str());
  } else {
    std::printf("%s", report->ToText().c_str());
    if (!recorded.empty()) std::printf("%s\n", recorded.c_str());
  }
  return report->passed ? 0 : 1;
}

int ModelCommands::State::RunOptimize() {
  auto fail = [](const base::Status& st) { return Fail("optimize", st); };
  auto resolved = ResolveModel(o_model, repository, "", *token);
  if (!resolved.ok()) return fail(resolved.status());
  const ModelRef& ref = resolved->ref;
  const int64_t version = resolved->version;
  backend::BackendRegistry backends;
  if (auto st = server::RegisterBackends({.threads = 1}, &backends); !st.ok()) return fail(st);
  tools::OptimizeOptions o;
  o.model_dir = ref.dir;
  o.version = version;
  o.data = o_data;
  o.label = o_label;
  o.metric = o_metric;
  o.max_drop = o_max_drop;
  o.write = !o_dry_run;
  o.large_batch = o_batch;
  o.latency_seconds = o_latency_seconds;
  o.objective = o_objective;
  o.backends = &backends;
  o.quantize_onnx = [](const std::filesystem::path& in, const std::filesystem::path& out,
                       bool per_channel, bool exclude_last) {
    return server::QuantizeOnnxFile(
        in, out, {.per_channel = per_channel, .reduce_range = true, .exclude_last = exclude_last});
  };
  StepBar bar("optimize");
  o.progress = std::bind_front(&StepBar::Show, &bar);
  auto report = tools::Optimize(o);
  bar.Clear();
  if (!report.ok()) return fail(report.status());
  std::printf("%s", o_json ? (report->ToJson() + "\n").c_str() : report->ToText().c_str());
  return report->chosen ? 0 : 1;
}

namespace {

// "5ms", "800us", "0.01s", or a number of milliseconds, in microseconds.
std::optional<double> ParseMicros(const std::string& text) {
  size_t end = 0;
  double v = 0;
  try {
    v = std::stod(text, &end);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const std::string unit = text.substr(end);
  double scale = 0;
  if (unit.empty() || unit == "ms") scale = 1000;
  if (unit == "us") scale = 1;
  if (unit == "s") scale = 1e6;
  if (scale == 0 || !(v > 0) || !std::isfinite(v)) return std::nullopt;
  return v * scale;
}

}  // namespace

int ModelCommands::State::RunTune() {
  auto fail = [](const base::Status& st) { return Fail("tune", st); };
  auto resolved = ResolveModel(t_model, repository, "", *token);
  if (!resolved.ok()) return fail(resolved.status());
  const ModelRef& ref = resolved->ref;
  const int64_t version = resolved->version;
  server::TuneOptions o;
  o.model_dir = ref.dir;
  o.version = version;
  auto slo = ParseMicros(t_slo);
  if (!slo) {
    return fail(
        base::InvalidArgument("--slo-p99 '" + t_slo + "' is not a duration (5ms, 800us, 0.01s)"));
  }
  o.slo_p99_us = *slo;
  if (t_target_rps > 0) o.target_rps = t_target_rps;
  if (t_cost >= 0) o.cost_per_core_hour = t_cost;
  o.concurrency.clear();
  std::stringstream levels(t_concurrency);
  for (std::string item; std::getline(levels, item, ',');) {
    char* end = nullptr;
    const long c = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || c < 1 || c > 4096) {
      return fail(base::InvalidArgument("--concurrency: '" + item + "' is not a number 1-4096"));
    }
    o.concurrency.push_back(static_cast<int>(c));
  }
  o.seconds = t_seconds;
  o.batch = t_batch;
  // The in-process servers' own log lines would drown the table.
  (void)base::InitLogging("error");
  StepBar bar("tune");
  o.progress = std::bind_front(&StepBar::Show, &bar);
  auto report = server::Tune(o);
  bar.Clear();
  if (!report.ok()) return fail(report.status());
  std::printf("%s", t_json ? (report->ToJson() + "\n").c_str() : report->ToText().c_str());
  if (!report->chosen) return 1;
  if (t_write) {
    if (auto st = server::WriteTunedConfig(ref.dir, report->results[*report->chosen].config);
        !st.ok()) {
      return fail(st);
    }
    if (!t_json) std::printf("written to %s\n", (ref.dir / "config.yaml").c_str());
  }
  return 0;
}

int ModelCommands::State::RunSearch() {
  auto fail = [](const base::Status& st) { return Fail("search", st); };
  backend::BackendRegistry backends;
  if (auto st = server::RegisterBackends({.threads = 1}, &backends); !st.ok()) return fail(st);
  tools::SearchOptions o;
  o.data = s_data;
  o.label = s_label;
  o.task = s_task;
  o.metric = s_metric;
  o.trials = s_trials;
  o.seed = s_seed;
  if (s_budget > 0) o.latency_budget_us = s_budget;
  if (s_max_mb > 0) o.max_size_mb = s_max_mb;
  o.save_to = s_save_to;
  o.plot = s_plot;
  o.backends = &backends;
  StepBar bar("search");
  o.progress = std::bind_front(&StepBar::Show, &bar);
  auto report = tools::Search(o);
  bar.Clear();
  if (!report.ok()) return fail(report.status());
  std::printf("%s", s_json ? (report->ToJson() + "\n").c_str() : report->ToText().c_str());
  if (!s_json && !s_plot.empty()) std::printf("plot: %s\n", s_plot.c_str());
  return report->chosen ? 0 : 1;
}

namespace {

struct VersionCounts {
  uint64_t ok = 0, failed = 0, compute_count = 0;
  double compute_ns = 0;
};

base::StatusOr<nlohmann::json> GetJson(const std::string& server, const std::string& path,
                                       const std::string& token) {
  auto reply = tools::HttpCall(server, "GET", path, "", token);
  if (!reply.ok()) return reply.status();
  if (reply->status != 200) {
    return base::Unavailable("GET " + path + ": " + std::to_string(reply->status) + " " +
                             reply->body);
  }
  auto j = nlohmann::json::parse(reply->body, nullptr, false);
  if (j.is_discarded()) return base::Unavailable("GET " + path + ": not JSON");
  return j;
}

base::StatusOr<VersionCounts> Counts(const std::string& server, const std::string& model,
                                     int64_t version, const std::string& token) {
  ASSIGN_OR_RETURN(
      auto j,
      GetJson(server, "/v2/models/" + model + "/versions/" + std::to_string(version) + "/stats",
              token));
  VersionCounts c;
  if (!j.contains("model_stats") || j["model_stats"].empty()) return c;
  const auto& s = j["model_stats"][0]["inference_stats"];
  c.ok = s["success"]["count"].get<uint64_t>();
  c.failed = s["fail"]["count"].get<uint64_t>();
  c.compute_count = s["compute_infer"]["count"].get<uint64_t>();
  c.compute_ns = s["compute_infer"]["ns"].get<double>();
  return c;
}

}  // namespace

int ModelCommands::State::RunWatch() {
  auto fail = [](const base::Status& st) { return Fail("rollout watch", st); };
  const std::string base = "/v2/models/" + w_model + "/rollout";
  auto status = GetJson(w_server, base, *token);
  if (!status.ok()) return fail(status.status());
  const auto& labels = (*status)["labels"];
  int64_t canary = w_canary;
  if (canary == 0) {
    if (!labels.contains("canary")) {
      return fail(base::FailedPrecondition("model '" + w_model +
                                           "' has no canary (set one: inferd rollout set)"));
    }
    canary = labels["canary"].get<int64_t>();
  }
  if (!labels.contains("stable")) {
    return fail(base::FailedPrecondition("model '" + w_model + "' has no stable label"));
  }
  const int64_t stable = labels["stable"].get<int64_t>();
  auto c0 = Counts(w_server, w_model, canary, *token);
  auto s0 = Counts(w_server, w_model, stable, *token);
  if (!c0.ok()) return fail(c0.status());
  if (!s0.ok()) return fail(s0.status());
  std::printf("watching %s: canary v%lld against stable v%lld for %.0f s\n", w_model.c_str(),
              static_cast<long long>(canary), static_cast<long long>(stable), w_duration);
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  VersionCounts c, s;
  for (;;) {
    const double left = w_duration - elapsed();
    if (left <= 0) break;
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(w_interval, left)));
    auto now = GetJson(w_server, base, *token);
    if (!now.ok()) return fail(now.status());
    // The server's auto-rollback (or a person) may have ended the canary.
    const auto& l = (*now)["labels"];
    int64_t weight = -1;
    if ((*now)["weights"].is_object() && (*now)["weights"].contains("canary")) {
      weight = (*now)["weights"]["canary"].get<int64_t>();
    }
    if (!l.contains("canary") || l["canary"].get<int64_t>() != canary || weight == 0) {
      std::printf(
          "NOT HEALTHY: the canary v%lld no longer takes traffic (rolled back on the "
          "server)\n",
          static_cast<long long>(canary));
      return 1;
    }
    auto c1 = Counts(w_server, w_model, canary, *token);
    auto s1 = Counts(w_server, w_model, stable, *token);
    if (!c1.ok()) return fail(c1.status());
    if (!s1.ok()) return fail(s1.status());
    c = {c1->ok - c0->ok, c1->failed - c0->failed, c1->compute_count - c0->compute_count,
         c1->compute_ns - c0->compute_ns};
    s = {s1->ok - s0->ok, s1->failed - s0->failed, s1->compute_count - s0->compute_count,
         s1->compute_ns - s0->compute_ns};
    const uint64_t total = c.ok + c.failed;
    const double rate = total ? static_cast<double>(c.failed) / total : 0;
    std::printf(
        "%5.0f s  canary: %llu requests, %llu failed (%.2f%%), compute %.1f us; stable: "
        "%llu requests, compute %.1f us\n",
        elapsed(), static_cast<unsigned long long>(total),
        static_cast<unsigned long long>(c.failed), 100 * rate,
        c.compute_count ? c.compute_ns / c.compute_count / 1000 : 0.0,
        static_cast<unsigned long long>(s.ok + s.failed),
        s.compute_count ? s.compute_ns / s.compute_count / 1000 : 0.0);
    std::fflush(stdout);
    if (total >= static_cast<uint64_t>(w_min_requests) && rate > w_max_error_rate) {
      std::printf("NOT HEALTHY: the canary's error rate %.2f%% is above %.2f%%\n", 100 * rate,
                  100 * w_max_error_rate);
      return 1;
    }
  }
  const uint64_t total = c.ok + c.failed;
  if (total < static_cast<uint64_t>(w_min_requests)) {
    std::printf(
        "NOT HEALTHY: the canary answered %llu requests, fewer than --min-requests %lld: "
        "no verdict\n",
        static_cast<unsigned long long>(total), static_cast<long long>(w_min_requests));
    return 1;
  }
  if (c.compute_count > 0 && s.compute_count >= static_cast<uint64_t>(w_min_requests)) {
    const double ratio =
        (c.compute_ns / c.compute_count) / std::max(1.0, s.compute_ns / s.compute_count);
    if (ratio > w_max_latency_ratio) {
      std::printf("NOT HEALTHY: the canary's compute time is %.2fx stable's (above %.2fx)\n", ratio,
                  w_max_latency_ratio);
      return 1;
    }
  }
  std::printf("HEALTHY: the canary v%lld stayed within the limits\n",
              static_cast<long long>(canary));
  return 0;
}

int ModelCommands::State::RunLoad() {
  auto fail = [](const base::Status& st) { return Fail("model load", st); };
  auto reply =
      tools::HttpCall(l_server, "POST", "/v2/repository/models/" + l_model + "/load", "", *token);
  if (!reply.ok()) return fail(reply.status());
  // Outside explicit mode the server finds new versions by polling: wait for it.
  const bool polled = reply->status == 400 &&
                      reply->body.find("--model-control-mode explicit") != std::string::npos;
  if (reply->status / 100 != 2 && !polled) {
    return fail(base::Unavailable(std::to_string(reply->status) + " " + reply->body));
  }
  const std::string path = "/v2/models/" + l_model +
                           (l_version > 0 ? "/versions/" + std::to_string(l_version) : "") +
                           "/ready";
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(l_wait);
  for (;;) {
    auto ready = tools::HttpCall(l_server, "GET", path, "", *token);
    if (ready.ok() && ready->status == 200) break;
    if (std::chrono::steady_clock::now() >= until) {
      return fail(base::Unavailable("model '" + l_model + "'" +
                                    (l_version > 0 ? " version " + std::to_string(l_version) : "") +
                                    " is not ready after " +
                                    std::to_string(static_cast<int>(l_wait)) + " s" +
                                    (ready.ok() ? ": " + ready->body : "")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  std::printf("%s%s is ready\n", l_model.c_str(),
              l_version > 0 ? (" version " + std::to_string(l_version)).c_str() : "");
  return 0;
}

int ModelCommands::State::RunQuantize() {
  auto summary = server::QuantizeOnnxFile(
      q_in, q_out,
      {.per_channel = !q_per_tensor, .reduce_range = !q_full_range, .exclude_last = q_keep_last});
  if (!summary.ok()) {
    std::fprintf(stderr, "inferd quantize: %s\n", summary.status().message().c_str());
    return 2;
  }
  const auto j = nlohmann::json::parse(*summary, nullptr, false);
  std::printf("%s: %zu MatMul/Gemm/Conv in int8", q_out.c_str(),
              j.is_object() ? j["quantized"].size() : size_t{0});
  if (j.is_object() && !j["skipped"].empty()) {
    std::printf("; left in FP32:");
    for (const auto& s : j["skipped"]) std::printf(" %s;", s.get<std::string>().c_str());
  }
  std::printf("\n");
  return 0;
}

}  // namespace inferd::apps
