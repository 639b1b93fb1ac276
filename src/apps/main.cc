// The `inferd` binary: subcommands over the server and the offline tools.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/model_commands.h"
#include "auth/api_keys.h"
#include "auth/authorizer.h"
#include "auth/log_cipher.h"
#include "backend/backend.h"
#include "base/logging.h"
#include "repository/single_model.h"
#include "server/backends.h"
#include "server/lambda.h"
#include "server/server.h"
#include "store/open_store.h"
#include "tools/bench_client.h"
#include "tools/drift_report.h"
#include "tools/http_call.h"
#include "tools/new_version.h"
#include "tools/predict.h"
#include "tools/profile.h"

namespace {

int Serve(const inferd::server::ServerOptions& options) {
  // Block the stop signals in every thread; the main thread waits for them below.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto server = inferd::server::Server::Create(options);
  if (!server.ok()) {
    std::fprintf(stderr, "inferd: %s\n", server.status().message().c_str());
    return 1;
  }
  (*server)->Start();
  // The HTTP line comes last: once it is out, every port is.
  if (auto port = (*server)->grpc_port()) {
    std::printf("inferd: gRPC listening on %s:%u\n", options.host.c_str(),
                static_cast<unsigned>(*port));
  }
  if (auto port = (*server)->metrics_port()) {
    std::printf("inferd: metrics listening on %s:%u\n", options.host.c_str(),
                static_cast<unsigned>(*port));
  }
  if (!options.tls_cert_file.empty()) {
    std::printf("inferd: TLS on%s (HTTPS%s)\n",
                options.tls_client_ca_file.empty() ? "" : ", mutual",
                (*server)->grpc_port() ? " and gRPC" : "");
  }
  std::printf("inferd: HTTP listening on %s:%u\n", options.host.c_str(),
              static_cast<unsigned>((*server)->http_port()));
  std::fflush(stdout);
  int sig = 0;
  // SIGHUP: re-read the TLS certificate and key (rotated certificates); the stop signals end it.
  while (sigwait(&set, &sig) == 0 && sig == SIGHUP) {
    if (auto st = (*server)->ReloadTls(); !st.ok()) {
      LOG_ERROR("SIGHUP: TLS files not reloaded, the old ones stay in use: {}", st.message());
    } else {
      LOG_INFO("SIGHUP: TLS certificate and key reloaded");
    }
  }
  // Kubernetes semantics: not ready at once, serving on for the grace period (load balancers
  // notice), then no new connections and the requests in flight finish. A second signal
  // skips the grace period.
  LOG_INFO("signal {}: draining (readiness 503; serving for {} ms more)", sig,
           options.drain_grace.count());
  (*server)->BeginDrain();
  timespec grace{};
  grace.tv_sec = options.drain_grace.count() / 1000;
  grace.tv_nsec = (options.drain_grace.count() % 1000) * 1000000;
  if (sigtimedwait(&set, nullptr, &grace) > 0) LOG_INFO("second signal: stopping now");
  if (!(*server)->FinishDrain(options.drain_timeout)) {
    LOG_WARN("drain timeout ({} ms): requests still in flight were dropped",
             options.drain_timeout.count());
  }
  LOG_INFO("stopped");
  return 0;
}

int Predict(inferd::tools::PredictOptions options) {
  inferd::backend::BackendRegistry backends;
  // The workers of `predict` run one chunk each: a backend pool on top would oversubscribe.
  if (auto st = inferd::server::RegisterBackends({.threads = 1}, &backends); !st.ok()) {
    std::fprintf(stderr, "inferd predict: %s\n", st.message().c_str());
    return 1;
  }
  options.backends = &backends;
  auto stats = inferd::tools::RunPredict(options);
  if (!stats.ok()) {
    std::fprintf(stderr, "inferd predict: %s\n", stats.status().message().c_str());
    return 1;
  }
  return 0;
}

int Profile(inferd::tools::ProfileToolOptions options, const std::string& out) {
  inferd::backend::BackendRegistry backends;
  if (!options.model.empty()) {
    if (auto st = inferd::server::RegisterBackends({.threads = 1}, &backends); !st.ok()) {
      std::fprintf(stderr, "inferd profile: %s\n", st.message().c_str());
      return 1;
    }
    options.backends = &backends;
  }
  auto profile = inferd::tools::BuildProfile(options);
  if (!profile.ok()) {
    std::fprintf(stderr, "inferd profile: %s\n", profile.status().message().c_str());
    return 1;
  }
  const std::string json = profile->ToJson() + "\n";
  if (out == "-") {
    std::fwrite(json.data(), 1, json.size(), stdout);
    return 0;
  }
  std::FILE* f = std::fopen(out.c_str(), "wb");
  if (f == nullptr || std::fwrite(json.data(), 1, json.size(), f) != json.size() ||
      std::fclose(f) != 0) {
    std::fprintf(stderr, "inferd profile: cannot write %s\n", out.c_str());
    return 1;
  }
  int numeric = 0;
  for (const auto& feature : profile->features) {
    numeric += feature.kind == inferd::monitoring::FeatureProfile::Kind::kNumeric;
  }
  std::fprintf(stderr,
               "inferd profile: %llu rows, %zu features (%d numeric, %zu categorical)%s -> %s\n",
               static_cast<unsigned long long>(profile->rows), profile->features.size(), numeric,
               profile->features.size() - numeric,
               profile->prediction ? ", predictions profiled" : "", out.c_str());
  return 0;
}

int DriftReport(inferd::tools::DriftReportOptions options, const std::string& out) {
  inferd::backend::BackendRegistry backends;
  if (!options.model.empty()) {
    if (auto st = inferd::server::RegisterBackends({.threads = 1}, &backends); !st.ok()) {
      std::fprintf(stderr, "inferd drift-report: %s\n", st.message().c_str());
      return 1;
    }
    options.backends = &backends;
  }
  auto report = inferd::tools::BuildDriftReport(options);
  if (!report.ok()) {
    std::fprintf(stderr, "inferd drift-report: %s\n", report.status().message().c_str());
    return 1;
  }
  const bool html = out.size() > 5 && (out.ends_with(".html") || out.ends_with(".htm"));
  const std::string text = html ? inferd::tools::RenderDriftReportHtml(*report) : *report + "\n";
  std::FILE* f = out == "-" ? stdout : std::fopen(out.c_str(), "wb");
  if (f == nullptr || std::fwrite(text.data(), 1, text.size(), f) != text.size() ||
      (f != stdout && std::fclose(f) != 0)) {
    std::fprintf(stderr, "inferd drift-report: cannot write %s\n", out.c_str());
    return 1;
  }
  const auto j = nlohmann::json::parse(*report);
  std::fprintf(stderr, "inferd drift-report: %s, %.0f%% of the features drifted -> %s\n",
               j["drift"]["dataset_drift"].get<bool>() ? "dataset drift" : "no dataset drift",
               100 * j["drift"]["drifted_share"].get<double>(), out.c_str());
  return 0;
}

// The credential options `serve` and `lambda` share (docs/security.md).
struct CredentialOptions {
  std::string api_keys_file, jwt_issuer, jwt_audience;
  std::vector<std::string> jwt_secret_files, jwt_key_files;

  void Add(CLI::App* cmd) {
    cmd->add_option("--api-keys", api_keys_file,
                    "Keys file of hashed API keys (NAME SHA256 SCOPES per line; `inferd auth "
                    "new-key` makes one)")
        ->envname("INFERD_API_KEYS");
    cmd->add_option("--jwt-secret-file", jwt_secret_files,
                    "A file holding an HS256 secret (>= 32 bytes) for JWT bearer tokens");
    cmd->add_option("--jwt-public-keys", jwt_key_files,
                    "RS256 public keys for JWT bearer tokens: a PEM file or a JWKS file");
    cmd->add_option("--jwt-issuer", jwt_issuer, "Accept only tokens with this iss");
    cmd->add_option("--jwt-audience", jwt_audience, "Accept only tokens with this aud");
  }
  void ApplyTo(inferd::server::ServerOptions* o) const {
    o->api_keys_file = api_keys_file;
    for (const auto& f : jwt_secret_files) o->jwt_secret_files.emplace_back(f);
    for (const auto& f : jwt_key_files) o->jwt_key_files.emplace_back(f);
    if (!jwt_issuer.empty()) o->jwt_issuer = jwt_issuer;
    if (!jwt_audience.empty()) o->jwt_audience = jwt_audience;
  }
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"inferd: serve, check and watch machine-learning models"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off")
      ->envname("INFERD_LOG_LEVEL")
      ->capture_default_str();

  inferd::server::ServerOptions opts;
  auto* serve = app.add_subcommand("serve", "Serve the models of a repository over HTTP");
  std::string repo, model_dir, model_name;
  serve->add_option("--model-repository", repo, "Directory of <model>/<version>/ folders")
      ->envname("INFERD_MODEL_REPOSITORY");
  auto* model_dir_option = serve->add_option(
      "--model-dir", model_dir,
      "Serve one model whose files lie directly in this directory (KServe's /mnt/models: "
      "model.bst, model.json, model.ubj, model.txt or model.onnx; it takes the place of "
      "--model-repository)");
  serve->add_option("--model-name", model_name, "The model's name, with --model-dir")
      ->needs(model_dir_option);
  serve->add_option("--host", opts.host, "Address to bind")->capture_default_str();
  std::string state_dir = "inferd-state";
  serve
      ->add_option("--state", state_dir,
                   "The state store: a directory (SQLite, created when missing), or a PostgreSQL "
                   "URL (postgres://user@host/db) that replicas share (docs/deploy.md)")
      ->envname("INFERD_STATE")
      ->capture_default_str();
  auto* http_port_option =
      serve
          ->add_option("--http-port", opts.http_port,
                       "HTTP port; 0 picks a free one and prints it (default: $PORT, else 8000)")
          ->capture_default_str();
  int metrics_port = -1, grpc_port = -1;
  serve
      ->add_option("--grpc-port", grpc_port,
                   "Also serve the Open Inference Protocol over gRPC on this port (0 picks one "
                   "and prints it; Triton's default is 8001)")
      ->envname("INFERD_GRPC_PORT")
      ->check(CLI::Range(0, 65535));
  serve
      ->add_option("--metrics-port", metrics_port,
                   "Also serve GET /metrics alone on this port (0 picks one and prints it)")
      ->envname("INFERD_METRICS_PORT")
      ->check(CLI::Range(0, 65535));
  double drain_grace = 5, drain_timeout = 30;
  serve
      ->add_option("--drain-grace", drain_grace,
                   "Seconds to keep serving after SIGTERM/SIGINT with readiness at 503")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve
      ->add_option("--drain-timeout", drain_timeout,
                   "Seconds the requests in flight may take to finish after the grace period")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve->add_option("--http-threads", opts.http_threads, "HTTP I/O threads; 0 = one per core")
      ->capture_default_str();
  std::string io_mode = "per-core";
  serve
      ->add_option("--http-io-mode", io_mode,
                   "per-core: an event loop and listener per thread; shared: one event loop")
      ->check(CLI::IsMember({"per-core", "shared"}))
      ->capture_default_str();
  serve->add_option("--max-request-bytes", opts.max_request_bytes, "Largest request body (413)")
      ->capture_default_str();
  serve
      ->add_option("--max-connections", opts.max_connections,
                   "Open HTTP connections beyond this are closed at once (0 = no cap)")
      ->capture_default_str();
  double request_timeout = 30, idle_timeout = 60, poll_secs = 15;
  serve
      ->add_option("--http-request-timeout-secs", request_timeout,
                   "Time a client has to send a whole request (408 after)")
      ->capture_default_str();
  serve
      ->add_option("--http-idle-timeout-secs", idle_timeout,
                   "Time an idle keep-alive connection stays open")
      ->capture_default_str();
  serve
      ->add_option("--model-control-mode", opts.model_control_mode,
                   "none: load at start; poll: pick up added and removed versions; explicit: "
                   "load --load-model models, then what the load/unload API asks for")
      ->envname("INFERD_MODEL_CONTROL_MODE")
      ->check(CLI::IsMember({"none", "poll", "explicit"}))
      ->capture_default_str();
  serve->add_option("--load-model", opts.load_models,
                    "With explicit control: a model to load at start (repeat for more)");
  serve->add_option("--repository-poll-secs", poll_secs, "Poll interval in poll mode")
      ->capture_default_str();
  serve
      ->add_option("--strict-readiness", opts.strict_readiness,
                   "Ready only when every model has a ready version")
      ->capture_default_str();
  serve->add_option("--load-threads", opts.load_threads, "Threads that load models")
      ->capture_default_str();
  serve
      ->add_option("--forest-threads", opts.forest_threads,
                   "Threads a large tree-model batch is split over; 0 = one per core")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve
      ->add_option("--onnx-threads", opts.onnx_threads,
                   "Threads one ONNX call may use (oneDNN); 0 = the default, 1: concurrent "
                   "requests already keep the cores busy")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  // Authentication and limits (docs/security.md).
  std::string auth_mode = "auto";
  serve
      ->add_option("--auth", auth_mode,
                   "auto: credentials when configured; required: refuse to start without them")
      ->check(CLI::IsMember({"auto", "required"}))
      ->capture_default_str();
  CredentialOptions serve_credentials;
  serve_credentials.Add(serve);
  std::vector<std::string> route_scopes;
  serve->add_option("--route-scope", route_scopes,
                    "CLASS=SCOPE: the scope a route class needs (classes: metadata, infer, "
                    "feedback, metrics, monitor, management; scopes: infer, monitor, admin, none)");
  serve->add_option("--tls-cert", opts.tls_cert_file,
                    "PEM certificate chain: serve HTTPS (and gRPC over TLS); SIGHUP re-reads it");
  serve->add_option("--tls-key", opts.tls_key_file, "PEM private key of --tls-cert");
  serve->add_option("--tls-client-ca", opts.tls_client_ca_file,
                    "PEM CA: mutual TLS, clients must show a certificate it signed");
  serve
      ->add_option("--tls-refresh-secs", opts.tls_refresh_s,
                   "How often gRPC looks for replaced TLS files (HTTP re-reads them on SIGHUP)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  serve->add_option("--log-encryption-key", opts.log_key_file,
                    "Encrypt the prediction log's inputs at rest (AES-256-GCM) with this key file "
                    "(32 bytes: raw, hex or base64; openssl rand -hex 32 makes one)");
  serve
      ->add_option("--max-tensor-elements", opts.max_tensor_elements,
                   "Refuse requests whose tensors hold more elements (400); 0: no limit")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve
      ->add_option("--max-header-bytes", opts.max_header_bytes,
                   "Largest request line and header block (431 above)")
      ->check(CLI::Range(1024, 1 << 20))
      ->capture_default_str();
  std::string rate_limit;
  serve->add_option("--rate-limit", rate_limit,
                    "RPS[:BURST]: requests per second per principal (per client address without "
                    "credentials); 429 with Retry-After beyond it");

  inferd::tools::PredictOptions popts;
  auto* predict =
      app.add_subcommand("predict", "Score a CSV or JSON-lines file offline, writing CSV");
  std::string predict_model, predict_input, predict_output;
  std::string predict_format = "auto", predict_progress = "auto";
  int64_t predict_version = 0;
  predict
      ->add_option("model", predict_model,
                   "Model file (model.json, model.ubj), version directory, or model directory "
                   "(its highest version)")
      ->required();
  predict
      ->add_option("--input,-i", predict_input,
                   "Rows to score: CSV (header optional) or JSON lines; - reads standard input")
      ->required();
  predict->add_option("--output,-o", predict_output,
                      "CSV file to write (default: standard output)");
  predict->add_option("--threads", popts.threads, "Worker threads; 0 = one per core")
      ->capture_default_str();
  predict->add_option("--batch", popts.batch_rows, "Input lines per chunk (one model call each)")
      ->capture_default_str();
  auto* version_option =
      predict->add_option("--model-version", predict_version,
                          "Version to load from a model directory (default: the highest)");
  predict->add_option("--format", predict_format, "Input format: auto, csv or jsonl")
      ->check(CLI::IsMember({"auto", "csv", "jsonl"}))
      ->capture_default_str();
  predict
      ->add_option("--outputs", popts.outputs,
                   "Outputs to write, comma separated (default: the model's default outputs)")
      ->delimiter(',');
  predict->add_option("--progress", predict_progress, "auto (bar on a terminal), bar, lines, none")
      ->check(CLI::IsMember({"auto", "bar", "lines", "none"}))
      ->capture_default_str();
  predict->add_flag("--profile", popts.profile,
                    "Print the load time and the time spent in each stage");

  inferd::tools::BenchOptions bopts;
  std::string bench_concurrency = "1,8,64";
  bool bench_json = false, bench_grpc = false;
  // The training reference.
  auto* profile = app.add_subcommand(
      "profile", "Profile training data: the reference for drift and the proposed schema");
  inferd::tools::ProfileToolOptions profile_opts;
  std::string profile_data, profile_out, profile_model;
  profile->add_option("--data", profile_data, "Training data: CSV with a header")->required();
  profile->add_option("--label", profile_opts.label, "The label column");
  profile
      ->add_option("--features", profile_opts.features,
                   "Feature columns in the model's input order (default: all but the label)")
      ->delimiter(',');
  profile->add_option("--categorical", profile_opts.categorical, "Columns to treat as categorical")
      ->delimiter(',');
  profile->add_option("--model", profile_model,
                      "Also profile this model's predictions on the rows (file or directory)");
  profile->add_option("--bins", profile_opts.profile.bins, "Quantile bins per numeric feature")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  profile
      ->add_option("--sample", profile_opts.profile.sample_size,
                   "Reservoir sample size per numeric feature")
      ->capture_default_str()
      ->check(CLI::Range(10, 1000000));
  profile->add_option("--out,-o", profile_out, "Where to write profile.json ('-': stdout)")
      ->required();
  // Offline drift report.
  auto* drift_report = app.add_subcommand(
      "drift-report", "Drift and quality of a current dataset against a reference (HTML or JSON)");
  inferd::tools::DriftReportOptions dr_opts;
  std::string dr_reference, dr_current, dr_model, dr_out;
  drift_report->add_option("--reference", dr_reference, "Reference data (CSV with a header)")
      ->required();
  drift_report->add_option("--current", dr_current, "Current data (CSV, the same columns)")
      ->required();
  drift_report->add_option("--label", dr_opts.label, "The label column");
  drift_report
      ->add_option("--features", dr_opts.features, "Feature columns (default: all but the label)")
      ->delimiter(',');
  drift_report->add_option("--categorical", dr_opts.categorical, "Columns to treat as categorical")
      ->delimiter(',');
  drift_report->add_option("--model", dr_model,
                           "A model: prediction drift, and quality with --label");
  drift_report->add_option("--correction", dr_opts.settings.correction, "none, bonferroni or fdr")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "bonferroni", "fdr"}));
  drift_report->add_option("--out,-o", dr_out, "report.html or report.json ('-': JSON on stdout)")
      ->required();
  // Rollout management against a running server.
  std::string server_url = "http://127.0.0.1:8000", rollout_model;
  int64_t rollout_canary = 0, rollout_weight = -1, rollout_version = 0, rollout_percent = 100;
  auto* rollout = app.add_subcommand("rollout", "Canary, promote, roll back (a running server)");
  rollout->require_subcommand(1);
  auto add_common = [&](CLI::App* c) {
    c->add_option("model", rollout_model, "Model name")->required();
    c->add_option("--server", server_url, "The server")->capture_default_str();
  };
  auto* r_status =
      rollout->add_subcommand("status", "The effective policy and where it comes from");
  auto* r_set = rollout->add_subcommand("set", "Send --weight percent of the traffic to --canary");
  auto* r_promote = rollout->add_subcommand("promote", "Make the canary (or --version) stable");
  auto* r_rollback = rollout->add_subcommand("rollback", "Back to the previous stable version");
  auto* r_pin = rollout->add_subcommand(
      "pin", "Label the version serving now stable, so that new versions take no traffic");
  auto* r_shadow = rollout->add_subcommand(
      "shadow", "Mirror --percent of the requests to --version (off the hot path); 0 stops it");
  for (auto* c : {r_status, r_set, r_promote, r_rollback, r_shadow, r_pin}) add_common(c);
  r_shadow->add_option("--version", rollout_version, "The shadow version")
      ->check(CLI::PositiveNumber);
  r_shadow->add_option("--percent", rollout_percent, "Percent of the requests to mirror (0-100)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  double rollout_tolerance = 1e-6;
  r_shadow
      ->add_option("--tolerance", rollout_tolerance,
                   "Outputs without a label agree within this absolute difference")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  r_set->add_option("--canary", rollout_canary, "The canary version")
      ->required()
      ->check(CLI::PositiveNumber);
  r_set->add_option("--weight", rollout_weight, "Percent of the traffic for the canary (0-100)")
      ->required()
      ->check(CLI::Range(0, 100));
  auto* promote_version =
      r_promote->add_option("--version", rollout_version, "Version to promote (default: canary)")
          ->check(CLI::PositiveNumber);
  bool rollout_force = false;
  for (auto* c : {r_set, r_promote}) {
    c->add_flag("--force", rollout_force,
                "Even when the version's latest validation failed (the audit trail says so)");
  }
  // The CLI's credential for a server that needs one: --token, else $INFERD_TOKEN (an API key or a
  // JWT), sent as a bearer token.
  std::string cli_token;
  if (const char* t = std::getenv("INFERD_TOKEN")) cli_token = t;
  for (auto* c : {r_status, r_set, r_promote, r_rollback, r_shadow, r_pin}) {
    c->add_option("--token", cli_token, "API key or JWT (default: $INFERD_TOKEN)");
  }
  std::string audit_model;
  int audit_limit = 50;
  auto* audit = app.add_subcommand("audit", "The audit trail of a running server, newest first");
  audit->add_option("--model", audit_model, "Only this model's entries");
  audit->add_option("--limit", audit_limit, "At most this many")->capture_default_str();
  audit->add_option("--server", server_url, "The server")->capture_default_str();
  audit->add_option("--token", cli_token, "API key or JWT (default: $INFERD_TOKEN)");

  // The prediction log, read offline from a state directory.
  auto* predictions_cmd = app.add_subcommand(
      "predictions", "Print a model's logged predictions (newest first) as JSON lines");
  std::string pred_state = "inferd-state", pred_model, pred_key;
  int64_t pred_limit = 100;
  predictions_cmd->add_option("model", pred_model, "Model name")->required();
  predictions_cmd
      ->add_option("--state", pred_state,
                   "The server's --state (a directory, or a postgres:// URL)")
      ->capture_default_str();
  predictions_cmd->add_option("--limit", pred_limit, "At most this many")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  predictions_cmd->add_option("--log-encryption-key", pred_key,
                              "The server's key: decrypts the logged inputs");

  // Credentials.
  auto* auth_cmd = app.add_subcommand("auth", "Make API keys for --api-keys");
  auth_cmd->require_subcommand(1);
  auto* new_key = auth_cmd->add_subcommand(
      "new-key",
      "Make a random API key: prints it once, and appends its hashed line to the keys "
      "file (or prints the line)");
  std::string key_name, key_scopes = "infer", keys_file;
  new_key->add_option("--name", key_name, "Who the key is for (letters, digits, -_.)")->required();
  new_key->add_option("--scopes", key_scopes, "infer, monitor, admin (comma separated)")
      ->capture_default_str();
  new_key->add_option("--keys-file", keys_file, "Append the line to this file (created 0600)");

  auto* bench = app.add_subcommand(
      "bench", "Load a running server: throughput, latency percentiles, queue/compute split");
  bench
      ->add_option("url", bopts.url,
                   "The server, e.g. http://127.0.0.1:8000 (with --grpc: 127.0.0.1:8001)")
      ->required();
  bench->add_option("--model", bopts.model, "Model name")->required();
  int64_t bench_version = 0;
  auto* bench_version_option =
      bench->add_option("--model-version", bench_version, "Version (default: the newest)")
          ->check(CLI::PositiveNumber);
  bench->add_option("--concurrency", bench_concurrency, "Clients per run, comma-separated")
      ->capture_default_str();
  bench->add_option("--rate", bopts.rate, "Requests per second in all (0: closed loop)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bench->add_option("--duration", bopts.duration, "Seconds measured per run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  bench->add_option("--warmup", bopts.warmup, "Seconds run before measuring")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  bench->add_option("--batch", bopts.batch, "Rows per request")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  bench->add_flag("--json", bench_json, "One JSON object per run");
  bench->add_flag("--grpc", bench_grpc,
                  "Use the gRPC protocol (url: host:port of --grpc-port); --binary sends "
                  "raw_input_contents instead of typed contents");
  bench->add_option("--token", cli_token, "API key or JWT (default: $INFERD_TOKEN)");
  bench->add_option("--cacert", bopts.cacert, "https: the CA of the server's certificate");
  bench->add_flag("--insecure", bopts.insecure, "https: do not check the server's certificate");
  bench->add_flag("--binary", bopts.binary,
                  "Tensors as binary data after a JSON header (Triton's extension)");

  // AWS Lambda's custom runtime: the same server without sockets, fed by the Runtime API.
  auto* lambda = app.add_subcommand(
      "lambda",
      "Run as an AWS Lambda custom runtime ($AWS_LAMBDA_RUNTIME_API): API Gateway and "
      "function URL events go to the v2 and v1 routes");
  std::string lambda_repo, lambda_dir, lambda_name, lambda_state = "/tmp/inferd-state";
  auto* lambda_repo_option = lambda->add_option(
      "--model-repository", lambda_repo,
      "Directory of <model>/<version>/ folders (default: $LAMBDA_TASK_ROOT/models)");
  lambda->add_option("--model-dir", lambda_dir, "One model's files, directly (see serve)")
      ->excludes(lambda_repo_option);
  lambda->add_option("--model-name", lambda_name, "The model's name, with --model-dir");
  lambda
      ->add_option("--state", lambda_state,
                   "The state store: a directory (Lambda: under /tmp) or a postgres:// URL")
      ->capture_default_str();
  // Credentials, as serve takes them (a function URL is public otherwise).
  CredentialOptions lambda_credentials;
  lambda_credentials.Add(lambda);

  // A health probe for containers (HEALTHCHECK) without curl in the image.
  auto* health = app.add_subcommand(
      "health", "Exit 0 when a running server is ready (GET /v2/health/ready), 1 otherwise");
  std::string health_url = "http://127.0.0.1:8000";
  if (const char* port = std::getenv("PORT"); port != nullptr && *port != '\0') {
    health_url = std::string("http://127.0.0.1:") + port;
  }
  health->add_option("--server", health_url, "The server (default: $PORT's, else :8000)")
      ->capture_default_str();
  std::string health_route = "ready";
  health->add_option("--probe", health_route, "ready or live")
      ->capture_default_str()
      ->check(CLI::IsMember({"ready", "live"}));

  inferd::apps::ModelCommands model_commands(app, &cli_token);

  app.add_subcommand("version", "Print the version")->callback([] {
    std::printf("inferd 0.1.0\n");
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (auto st = inferd::base::InitLogging(log_level); !st.ok()) {
    std::fprintf(stderr, "inferd: %s\n", st.message().c_str());
    return 2;
  }
  if (auto rc = model_commands.Run()) return *rc;
  if (health->parsed()) {
    auto reply = inferd::tools::HttpCall(health_url, "GET", "/v2/health/" + health_route);
    if (!reply.ok()) {
      std::fprintf(stderr, "inferd health: %s\n", reply.status().message().c_str());
      return 1;
    }
    if (reply->status != 200) {
      std::fprintf(stderr, "inferd health: %s answered %d\n", health_url.c_str(), reply->status);
      return 1;
    }
    return 0;
  }
  if (lambda->parsed()) {
    const char* api = std::getenv("AWS_LAMBDA_RUNTIME_API");
    if (api == nullptr || *api == '\0') {
      std::fprintf(stderr, "inferd lambda: AWS_LAMBDA_RUNTIME_API is not set (run by Lambda)\n");
      return 2;
    }
    inferd::server::ServerOptions lo;
    lo.listen = false;
    lo.state_dir = lambda_state;
    lambda_credentials.ApplyTo(&lo);
    std::filesystem::path layout_root;
    if (!lambda_dir.empty()) {
      layout_root = std::filesystem::temp_directory_path() / "inferd-lambda-model";
      auto layout = inferd::repository::MakeSingleModelRepository(
          lambda_dir, lambda_name.empty() ? "model" : lambda_name, layout_root);
      if (!layout.ok()) {
        (void)inferd::server::ReportLambdaInitError(api, layout.status().message());
        std::fprintf(stderr, "inferd lambda: %s\n", layout.status().message().c_str());
        return 1;
      }
      lo.model_repository = layout->repository;
    } else if (!lambda_repo.empty()) {
      lo.model_repository = lambda_repo;
    } else {
      const char* root = std::getenv("LAMBDA_TASK_ROOT");
      lo.model_repository = std::filesystem::path(root ? root : ".") / "models";
    }
    auto server = inferd::server::Server::Create(lo);
    if (!server.ok()) {
      (void)inferd::server::ReportLambdaInitError(api, server.status().message());
      std::fprintf(stderr, "inferd lambda: %s\n", server.status().message().c_str());
      return 1;
    }
    auto st = inferd::server::RunLambda(**server, api);
    std::fprintf(stderr, "inferd lambda: %s\n", st.message().c_str());
    return 1;
  }
  if (predictions_cmd->parsed()) {
    std::optional<inferd::auth::LogCipher> cipher;
    if (!pred_key.empty()) {
      auto c = inferd::auth::LogCipher::FromKeyFile(pred_key);
      if (!c.ok()) {
        std::fprintf(stderr, "inferd predictions: %s\n", c.status().message().c_str());
        return 1;
      }
      cipher = std::move(c).value();
    }
    if (!inferd::store::IsPostgresUrl(pred_state) &&
        !std::filesystem::exists(std::filesystem::path(pred_state) / "inferd.db")) {
      std::fprintf(stderr, "inferd predictions: no state store in %s\n", pred_state.c_str());
      return 1;
    }
    auto store = inferd::store::OpenStateStore(pred_state);
    if (!store.ok()) {
      std::fprintf(stderr, "inferd predictions: %s\n", store.status().message().c_str());
      return 1;
    }
    auto records = (*store)->ListPredictions(pred_model, pred_limit);
    if (!records.ok()) {
      std::fprintf(stderr, "inferd predictions: %s\n", records.status().message().c_str());
      return 1;
    }
    int sealed = 0;
    for (const auto& r : *records) {
      nlohmann::json j = {{"id", r.id}, {"version", r.version}, {"at_ms", r.at_ms}};
      j["outputs"] = nlohmann::json::parse(r.outputs_json, nullptr, false);
      std::string inputs = r.inputs_json;
      if (inferd::auth::LogCipher::IsSealed(inputs)) {
        if (!cipher) {
          ++sealed;
          inputs.clear();
          j["inputs"] = "sealed";
        } else {
          auto open = cipher->Open(inputs, pred_model + "/" + r.id);
          if (!open.ok()) {
            std::fprintf(stderr, "inferd predictions: record %s: %s\n", r.id.c_str(),
                         open.status().message().c_str());
            return 1;
          }
          inputs = *open;
        }
      }
      if (!inputs.empty()) j["inputs"] = nlohmann::json::parse(inputs, nullptr, false);
      if (!r.inputs_sha256.empty()) j["inputs_sha256"] = r.inputs_sha256;
      std::printf("%s\n", j.dump().c_str());
    }
    if (sealed > 0) {
      std::fprintf(stderr,
                   "inferd predictions: %d records' inputs are encrypted; give "
                   "--log-encryption-key to read them\n",
                   sealed);
    }
    return 0;
  }
  if (new_key->parsed()) {
    std::string bad;
    auto scopes = inferd::auth::ParseScopes(key_scopes, &bad);
    if (!scopes || *scopes == 0) {
      std::fprintf(stderr, "inferd auth: unknown scope '%s' (infer, monitor, admin)\n",
                   bad.c_str());
      return 2;
    }
    for (char c : key_name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
        std::fprintf(stderr, "inferd auth: --name may hold letters, digits, '-', '_' and '.'\n");
        return 2;
      }
    }
    const std::string key = inferd::auth::ApiKeys::NewKey();
    const std::string line = inferd::auth::ApiKeys::Line(key_name, key, *scopes);
    if (!keys_file.empty()) {
      const int fd = ::open(keys_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      const std::string text = line + "\n";
      if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()) ||
          ::close(fd) != 0) {
        std::fprintf(stderr, "inferd auth: cannot append to %s\n", keys_file.c_str());
        return 1;
      }
      std::fprintf(stderr, "inferd auth: key '%s' (%s) added to %s; it is shown only now:\n",
                   key_name.c_str(), key_scopes.c_str(), keys_file.c_str());
    } else {
      std::fprintf(stderr, "keys-file line: %s\nthe key (shown only now):\n", line.c_str());
    }
    std::printf("%s\n", key.c_str());
    return 0;
  }
  if (serve->parsed()) {
    opts.auth_required = auth_mode == "required";
    serve_credentials.ApplyTo(&opts);
    for (const auto& rs : route_scopes) {
      const size_t eq = rs.find('=');
      auto cls = inferd::auth::RouteClassFromName(rs.substr(0, eq));
      const std::string scope = eq == std::string::npos ? "" : rs.substr(eq + 1);
      auto s = scope == "none" ? std::optional<uint32_t>(0) : inferd::auth::ScopeFromName(scope);
      if (!cls || !s) {
        std::fprintf(stderr,
                     "inferd: --route-scope '%s' is not CLASS=SCOPE (classes: metadata, infer, "
                     "feedback, metrics, monitor, management; scopes: infer, monitor, admin, "
                     "none)\n",
                     rs.c_str());
        return 2;
      }
      opts.route_scopes[*cls] = *s;
    }
    if (!rate_limit.empty()) {
      double rps = 0, burst = 0;
      char extra = 0;
      const int n = std::sscanf(rate_limit.c_str(), "%lf:%lf%c", &rps, &burst, &extra);
      if (n < 1 || n > 2 || !(rps > 0) || (n == 2 && !(burst >= 1))) {
        std::fprintf(stderr, "inferd: --rate-limit '%s' is not RPS[:BURST] (RPS > 0, BURST >= 1)\n",
                     rate_limit.c_str());
        return 2;
      }
      opts.rate_limit = inferd::auth::Rate{rps, n == 2 ? burst : std::max(1.0, rps)};
    }
    std::optional<inferd::tools::ScratchDirectory> single_model_root;  // removed on return
    if (!model_dir.empty()) {
      if (model_name.empty()) {
        std::fprintf(stderr, "inferd: --model-dir needs --model-name\n");
        return 2;
      }
      single_model_root.emplace("inferd-model");
      if (single_model_root->path().empty()) {
        std::fprintf(stderr, "inferd: cannot make a temporary directory\n");
        return 2;
      }
      auto layout = inferd::repository::MakeSingleModelRepository(model_dir, model_name,
                                                                  single_model_root->path());
      if (!layout.ok()) {
        std::fprintf(stderr, "inferd: %s\n", layout.status().message().c_str());
        return 2;
      }
      if (layout->model_file != layout->served_as) {
        LOG_INFO("{}/{}: served as {}", model_dir, layout->model_file, layout->served_as);
      }
      repo = layout->repository.string();
    } else if (repo.empty()) {
      std::fprintf(stderr, "inferd: serve needs --model-repository DIR or --model-dir DIR\n");
      return 2;
    }
    opts.model_repository = repo;
    opts.state_dir = state_dir;
    opts.http_io_mode = io_mode == "shared"
                            ? inferd::api::http::HttpServerOptions::IoMode::kShared
                            : inferd::api::http::HttpServerOptions::IoMode::kPerCore;
    auto ms = [](double s) { return std::chrono::milliseconds(static_cast<int64_t>(s * 1000)); };
    opts.http_request_timeout = ms(request_timeout);
    opts.http_idle_timeout = ms(idle_timeout);
    opts.repository_poll_interval = ms(poll_secs);
    opts.drain_grace = ms(drain_grace);
    if (metrics_port >= 0) opts.metrics_port = static_cast<uint16_t>(metrics_port);
    if (grpc_port >= 0) opts.grpc_port = static_cast<uint16_t>(grpc_port);
    opts.drain_timeout = ms(drain_timeout);
    // Platforms that assign the port (Cloud Run, Heroku, Knative) say it in $PORT.
    if (http_port_option->count() == 0) {
      if (const char* port = std::getenv("PORT"); port != nullptr && *port != '\0') {
        char* end = nullptr;
        const long p = std::strtol(port, &end, 10);
        if (*end != '\0' || p < 0 || p > 65535) {
          std::fprintf(stderr, "inferd: PORT='%s' is not a port number\n", port);
          return 2;
        }
        opts.http_port = static_cast<uint16_t>(p);
      }
    }
    return Serve(opts);
  }
  if (drift_report->parsed()) {
    dr_opts.reference = dr_reference;
    dr_opts.current = dr_current;
    dr_opts.model = dr_model;
    return DriftReport(std::move(dr_opts), dr_out);
  }
  if (profile->parsed()) {
    profile_opts.data = profile_data;
    profile_opts.model = profile_model;
    return Profile(std::move(profile_opts), profile_out);
  }
  if (predict->parsed()) {
    using Mode = inferd::tools::PredictOptions::ProgressMode;
    popts.model = predict_model;
    popts.input = predict_input;
    popts.output = predict_output;
    if (version_option->count() > 0) popts.model_version = predict_version;
    if (predict_format == "csv") popts.input_format = inferd::tools::InputFormat::kCsv;
    if (predict_format == "jsonl") popts.input_format = inferd::tools::InputFormat::kJsonLines;
    popts.progress_mode = predict_progress == "bar"     ? Mode::kBar
                          : predict_progress == "lines" ? Mode::kLines
                          : predict_progress == "none"  ? Mode::kNone
                                                        : Mode::kAuto;
    return Predict(popts);
  }
  if (rollout->parsed() || audit->parsed()) {
    std::string method = "POST", path, body;
    const std::string base = "/v2/models/" + rollout_model + "/rollout";
    if (audit->parsed()) {
      method = "GET";
      path = "/v2/audit?limit=" + std::to_string(audit_limit) +
             (audit_model.empty() ? "" : "&model=" + audit_model);
    } else if (r_status->parsed()) {
      method = "GET";
      path = base;
    } else if (r_set->parsed()) {
      path = base;
      body = "{\"canary\":" + std::to_string(rollout_canary) +
             ",\"weight\":" + std::to_string(rollout_weight) +
             (rollout_force ? ",\"force\":true}" : "}");
    } else if (r_shadow->parsed()) {
      path = base + "/shadow";
      char tolerance[32];
      std::snprintf(tolerance, sizeof(tolerance), "%.17g", rollout_tolerance);
      body = "{\"percent\":" + std::to_string(rollout_percent) + ",\"tolerance\":" + tolerance +
             (rollout_version > 0 ? ",\"version\":" + std::to_string(rollout_version) : "") + "}";
    } else if (r_promote->parsed()) {
      path = base + "/promote";
      body = promote_version->count() > 0 ? "{\"version\":" + std::to_string(rollout_version) +
                                                (rollout_force ? ",\"force\":true}" : "}")
                                          : (rollout_force ? "{\"force\":true}" : "{}");
    } else if (r_rollback->parsed()) {
      path = base + "/rollback";
    } else if (r_pin->parsed()) {
      path = base + "/pin";
    } else {
      return 2;  // (every rollout subcommand is handled above or in ModelCommands)
    }
    auto reply = inferd::tools::HttpCall(server_url, method, path, body, cli_token);
    if (!reply.ok()) {
      std::fprintf(stderr, "inferd: %s\n", reply.status().message().c_str());
      return 1;
    }
    if (reply->status / 100 != 2) {
      std::fprintf(stderr, "inferd: %d %s\n", reply->status, reply->body.c_str());
      return 1;
    }
    std::printf("%s\n", reply->body.c_str());
    return 0;
  }
  if (bench->parsed()) {
    if (bench_grpc) bopts.transport = inferd::server::MakeGrpcBenchTransport;
    bopts.token = cli_token;
    if (bench_version_option->count() > 0) bopts.version = bench_version;
    bopts.concurrency.clear();
    std::stringstream levels(bench_concurrency);
    for (std::string item; std::getline(levels, item, ',');) {
      try {
        bopts.concurrency.push_back(std::stoi(item));
      } catch (const std::exception&) {
        std::fprintf(stderr, "inferd bench: --concurrency: '%s' is not a number\n", item.c_str());
        return 2;
      }
    }
    if (!bench_json) std::printf("%s\n", inferd::tools::TableHeader().c_str());
    auto levels_run = inferd::tools::RunBench(bopts);
    if (!levels_run.ok()) {
      std::fprintf(stderr, "inferd bench: %s\n", levels_run.status().message().c_str());
      return 1;
    }
    for (const auto& level : *levels_run) {
      std::printf("%s\n", bench_json ? inferd::tools::LevelJson(bopts, level).c_str()
                                     : inferd::tools::TableRow(level).c_str());
      if (!level.first_error.empty()) {
        std::fprintf(stderr, "inferd bench: %llu errors at concurrency %d; the first: %s\n",
                     static_cast<unsigned long long>(level.errors), level.concurrency,
                     level.first_error.c_str());
      }
    }
    return 0;
  }
  return 0;
}
