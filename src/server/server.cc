#include "server/server.h"

#include <pthread.h>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "api/grpc/grpc_module.h"
#include "api/http/http_api.h"
#include "auth/log_cipher.h"
#include "backend/backend.h"
#include "base/file.h"
#include "base/logging.h"
#include "batching/caller_runs.h"
#include "inference/inference_service.h"
#include "lifecycle/model_manager.h"
#include "monitoring/metrics.h"
#include "monitoring/process_metrics.h"
#include "repository/file_system_source.h"
#include "rollout/auto_rollback.h"
#include "rollout/controller.h"
#include "server/backends.h"
#include "server/plugin_backend.h"
#include "store/open_store.h"
#include "store/opening_store.h"
#include "tools/http_call.h"

namespace inferd::server {

namespace {

// What the gRPC module calls: the same services the REST routes use.
class GrpcFrontend final : public api::grpc::ServingFrontend {
 public:
  GrpcFrontend(inference::InferenceService* inference, lifecycle::ModelManager* models,
               const api::http::HttpApi* http_api)
      : inference_(*inference), models_(*models), http_api_(*http_api) {}
  bool Ready() const override { return http_api_.Ready(); }
  std::string ServerName() const override { return http_api_.options().server_name; }
  std::string ServerVersion() const override { return http_api_.options().server_version; }
  std::vector<std::string> Extensions() const override { return api::http::HttpApi::Extensions(); }
  base::StatusOr<lifecycle::ModelHandle> Resolve(std::string_view model,
                                                 std::optional<int64_t> version,
                                                 std::string_view route_key) override {
    return inference_.Resolve(model, version, route_key);
  }
  base::StatusOr<int64_t> LabelVersion(std::string_view model, const std::string& label) override {
    return inference_.LabelVersion(model, label);
  }
  base::StatusOr<lifecycle::ModelHandle> Get(std::string_view model,
                                             std::optional<int64_t> version) override {
    return models_.Get(model, version);
  }
  void InferAsync(inference::InferRequest request, const lifecycle::ModelHandle& handle,
                  inference::InferCallback done) override {
    inference_.InferAsync(std::move(request), handle, std::move(done));
  }
  void CountRejected(const lifecycle::ModelHandle& handle) override {
    inference_.CountRejected(handle);
  }
  base::StatusOr<std::vector<int64_t>> ReadyVersions(std::string_view model) override {
    return models_.ReadyVersions(model);
  }
  std::vector<lifecycle::IndexEntry> Index() override { return models_.Index(); }
  base::Status Load(const std::string& model, const std::string& who) override {
    RETURN_IF_ERROR(models_.Load(model));
    http_api_.Audit("load", model, who);
    return base::Status::Ok();
  }
  base::Status Unload(const std::string& model, const std::string& who) override {
    RETURN_IF_ERROR(models_.Unload(model));
    http_api_.Audit("unload", model, who);
    return base::Status::Ok();
  }
  base::StatusOr<std::vector<inference::VersionStatistics>> Statistics(
      std::string_view model, std::optional<int64_t> version) override {
    return inference_.Statistics(model, version);
  }
  base::StatusOr<std::string> Authorize(auth::RouteClass route,
                                        std::optional<std::string_view> authorization,
                                        std::optional<std::string_view> api_key, bool from_loopback,
                                        std::string_view peer) override {
    static const auth::Authorizer kNoCredentials{auth::AuthOptions{}};
    const auth::Authorizer* a = http_api_.options().authorizer;
    const auth::Decision d =
        (a ? *a : kNoCredentials).Check(route, authorization, api_key, from_loopback, peer);
    switch (d.status) {
      case 0:
        return d.principal;
      case 401:
        return base::Unauthenticated(d.message);
      case 403:
        return base::PermissionDenied(d.message);
      default:
        return base::ResourceExhausted(d.message);
    }
  }

 private:
  inference::InferenceService& inference_;
  lifecycle::ModelManager& models_;
  const api::http::HttpApi& http_api_;
};

// An entry point of the gRPC module, loaded on first use and never unloaded.
base::StatusOr<void*> GrpcModuleSymbol(const char* symbol) {
  return base::ModuleSymbol(api::grpc::kGrpcModuleFile, symbol, "gRPC");
}

base::StatusOr<std::unique_ptr<api::grpc::GrpcServer>> StartGrpc(
    const api::grpc::GrpcOptions& options, api::grpc::ServingFrontend* frontend) {
  ASSIGN_OR_RETURN(void* entry, GrpcModuleSymbol(api::grpc::kGrpcModuleSymbol));
  auto create = reinterpret_cast<decltype(&inferd_grpc_create)>(entry);
  char error[512] = {0};
  std::unique_ptr<api::grpc::GrpcServer> server(create(&options, frontend, error, sizeof error));
  if (!server) return base::Unavailable(error);
  return server;
}

}  // namespace

base::StatusOr<std::unique_ptr<tools::BenchTransport>> MakeGrpcBenchTransport(
    const tools::BenchOptions& options) {
  ASSIGN_OR_RETURN(void* entry, GrpcModuleSymbol(api::grpc::kGrpcBenchSymbol));
  auto create = reinterpret_cast<decltype(&inferd_grpc_bench_create)>(entry);
  char error[512] = {0};
  std::unique_ptr<tools::BenchTransport> t(create(&options, error, sizeof error));
  if (!t) return base::Unavailable(error);
  return t;
}

namespace {

// Calls `fn` every `interval` on a thread of its own until destroyed.
class Poller {
 public:
  Poller(std::chrono::milliseconds interval, std::function<void()> fn)
      : thread_([this, interval, fn = std::move(fn)] {
          pthread_setname_np(pthread_self(), "inferd-poll");
          std::unique_lock<std::mutex> lock(mu_);
          while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
            lock.unlock();
            fn();
            lock.lock();
          }
        }) {}
  ~Poller() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;  // (last: started once the rest is constructed)
};

}  // namespace

class Server::Parts {
 public:
  std::unique_ptr<auth::Authorizer> authorizer;
  monitoring::MetricsRegistry metrics;
  backend::BackendRegistry backends;
  std::unique_ptr<store::OpeningStore> state;
  rollout::RolloutTable rollout;
  std::unique_ptr<rollout::Controller> rollout_control;
  std::unique_ptr<repository::FileSystemSource> source;
  std::unique_ptr<lifecycle::ModelManager> models;
  std::unique_ptr<monitoring::MonitorMetrics> monitor_metrics;
  std::unique_ptr<monitoring::MonitorRegistry> monitors;  // models with monitoring on
  std::unique_ptr<inference::InferenceService> inference;
  std::unique_ptr<rollout::AutoRollback> auto_rollback;  // watches canaries (rollout.auto_rollback)
  std::unique_ptr<api::http::HttpApi> http_api;
  std::unique_ptr<api::http::HttpServer> http;
  std::unique_ptr<api::http::HttpServer> metrics_http;  // with --metrics-port
  std::unique_ptr<GrpcFrontend> grpc_frontend;          // with --grpc-port
  std::unique_ptr<api::grpc::GrpcServer> grpc;
  // With replicas sharing the store: rollout changes made through the others, applied here.
  // (Last: stopped first.)
  std::unique_ptr<Poller> rollout_poller;
};

namespace {

base::StatusOr<std::string> ReadSecretFile(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(std::string s, base::ReadWholeFile(path, "secret file"));
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// The Authorizer the options describe. Errors: a credentials file that cannot be read or parsed,
// or --auth required without credentials.
base::StatusOr<std::unique_ptr<auth::Authorizer>> MakeAuthorizer(const ServerOptions& o) {
  auth::AuthOptions a;
  if (!o.api_keys_file.empty()) {
    ASSIGN_OR_RETURN(auto keys, auth::ApiKeys::Load(o.api_keys_file));
    if (keys.size() == 0) {
      return base::InvalidArgument("the keys file " + o.api_keys_file.string() + " has no keys");
    }
    a.api_keys = std::make_shared<const auth::ApiKeys>(std::move(keys));
  }
  if (!o.jwt_secret_files.empty() || !o.jwt_key_files.empty()) {
    auth::JwtOptions j;
    for (const auto& f : o.jwt_secret_files) {
      ASSIGN_OR_RETURN(auto secret, ReadSecretFile(f));
      j.hs256_secrets.push_back(std::move(secret));
    }
    j.rs256_key_files = o.jwt_key_files;
    j.issuer = o.jwt_issuer;
    j.audience = o.jwt_audience;
    ASSIGN_OR_RETURN(auto v, auth::JwtVerifier::Create(j));
    a.jwt = std::shared_ptr<const auth::JwtVerifier>(std::move(v));
  } else if (o.jwt_issuer || o.jwt_audience) {
    return base::InvalidArgument(
        "--jwt-issuer and --jwt-audience need JWT keys (--jwt-secret-file "
        "or --jwt-public-keys)");
  }
  a.scopes = o.route_scopes;
  a.default_rate = o.rate_limit;
  auto authorizer = std::make_unique<auth::Authorizer>(std::move(a));
  if (o.auth_required && !authorizer->configured()) {
    return base::InvalidArgument(
        "--auth required: no credentials are configured (give --api-keys, --jwt-secret-file or "
        "--jwt-public-keys)");
  }
  if (!authorizer->configured()) {
    const bool loopback = o.host == "127.0.0.1" || o.host == "::1" || o.host == "localhost";
    if (!loopback) {
      LOG_WARN(
          "no credentials are configured and the server listens on {}: inference, metadata, "
          "metrics and monitoring are open to anyone who can reach it; model management "
          "answers loopback clients only (--api-keys or --jwt-* to require credentials)",
          o.host);
    }
  } else {
    LOG_INFO("authentication: {}{}; every route but health needs credentials",
             o.api_keys_file.empty() ? "" : "API keys",
             o.jwt_secret_files.empty() && o.jwt_key_files.empty()
                 ? ""
                 : (o.api_keys_file.empty() ? "JWT" : " and JWT"));
  }
  return authorizer;
}

}  // namespace

base::StatusOr<std::unique_ptr<Server>> Server::Create(const ServerOptions& options) {
  if (options.model_control_mode != "none" && options.model_control_mode != "poll" &&
      options.model_control_mode != "explicit") {
    return base::InvalidArgument("--model-control-mode must be none, poll or explicit, got '" +
                                 options.model_control_mode + "'");
  }
  if (options.model_control_mode == "poll" && options.repository_poll_interval.count() <= 0) {
    return base::InvalidArgument("--repository-poll-secs must be > 0");
  }
  auto parts = std::make_unique<Parts>();
  ASSIGN_OR_RETURN(parts->authorizer, MakeAuthorizer(options));
  std::shared_ptr<const auth::LogCipher> log_cipher;
  if (!options.log_key_file.empty()) {
    ASSIGN_OR_RETURN(auto c, auth::LogCipher::FromKeyFile(options.log_key_file));
    log_cipher = std::make_shared<const auth::LogCipher>(std::move(c));
  }
  monitoring::RegisterProcessMetrics(&parts->metrics);
  RETURN_IF_ERROR(RegisterBackends(
      {.threads = options.forest_threads, .onnx_threads = options.onnx_threads}, &parts->backends));

  ASSIGN_OR_RETURN(parts->source,
                   repository::FileSystemSource::Create({.root = options.model_repository}));
  // The state store opens alongside the model loads; a store that cannot open stops the start.
  parts->state = std::make_unique<store::OpeningStore>(
      [where = options.state_dir]() { return store::OpenStateStore(where); });
  lifecycle::ModelManagerOptions mm;
  mm.source = parts->source.get();
  mm.backends = &parts->backends;
  mm.metrics = &parts->metrics;
  mm.store = parts->state.get();
  mm.load_threads = options.load_threads;
  if (options.model_control_mode == "poll") mm.poll_interval = options.repository_poll_interval;
  mm.explicit_control = options.model_control_mode == "explicit";
  mm.startup_models = options.load_models;
  ASSIGN_OR_RETURN(parts->models, lifecycle::ModelManager::Create(mm));
  RETURN_IF_ERROR(parts->models->Start());
  RETURN_IF_ERROR(parts->state->Wait());
  LOG_INFO("state store: {}", parts->state->Describe());
  {
    rollout::ControllerOptions ro;
    ro.table = &parts->rollout;
    ro.store = parts->state.get();
    auto* models = parts->models.get();
    ro.ready_versions = [models](const std::string& m) { return models->ReadyVersions(m); };
    ro.config_policy = [models](const std::string& m) -> base::StatusOr<rollout::Policy> {
      ASSIGN_OR_RETURN(auto h, models->Get(m));
      return h.config->rollout;
    };
    parts->rollout_control = std::make_unique<rollout::Controller>(std::move(ro));
    // Policies changed through the API before a restart apply again.
    RETURN_IF_ERROR(parts->rollout_control->LoadStored());
    if (parts->state->Shared()) {
      parts->rollout_poller = std::make_unique<Poller>(
          std::chrono::seconds(1), [controller = parts->rollout_control.get()] {
            if (auto st = controller->Refresh(); !st.ok()) {
              LOG_WARN("rollout policies from the shared store: {}", st.message());
            }
          });
    }
  }

  parts->monitor_metrics = std::make_unique<monitoring::MonitorMetrics>(&parts->metrics);
  parts->monitors = std::make_unique<monitoring::MonitorRegistry>(
      [models = parts->models.get(), store = parts->state.get(),
       metrics = parts->monitor_metrics.get(), repo = options.model_repository, log_cipher](
          const std::string& m) -> base::StatusOr<std::unique_ptr<monitoring::ModelMonitor>> {
        ASSIGN_OR_RETURN(auto h, models->Get(m));
        if (!h.config->monitoring.enabled) return std::unique_ptr<monitoring::ModelMonitor>();
        monitoring::ModelMonitorOptions o;
        o.model = m;
        o.config = h.config->monitoring;
        ASSIGN_OR_RETURN(o.roles, monitoring::RolesOf(h.model->signature(), o.config));
        // <model>/profile.json: the training reference (drift, data quality).
        const auto profile = repo / m / "profile.json";
        if (std::filesystem::exists(profile)) {
          ASSIGN_OR_RETURN(o.profile, monitoring::Profile::Load(profile));
        }
        o.store = store;
        o.metrics = metrics;
        if (log_cipher) {
          o.seal = [log_cipher](std::string_view plaintext, std::string_view aad) {
            return log_cipher->Seal(plaintext, aad);
          };
          o.digest = [log_cipher](std::string_view bytes) { return log_cipher->Digest(bytes); };
        }
        o.post = [](const std::string& url, const std::string& body) -> base::Status {
          // http://host:port/path
          const size_t slash = url.find('/', 7);
          const std::string server = slash == std::string::npos ? url : url.substr(0, slash);
          const std::string path = slash == std::string::npos ? "/" : url.substr(slash);
          ASSIGN_OR_RETURN(auto reply, tools::HttpCall(server, "POST", path, body));
          if (reply.status / 100 != 2) {
            return base::Unavailable("the webhook answered " + std::to_string(reply.status));
          }
          return base::Status::Ok();
        };
        LOG_INFO("monitoring '{}' ({} classes{})", m, o.roles.classes,
                 o.profile ? ", profile.json" : "");
        return std::make_unique<monitoring::ModelMonitor>(std::move(o));
      });
  parts->monitor_metrics->monitors = parts->monitors.get();
  // The monitors of the models loaded now (others are made at their first request), so that
  // gauges and GET monitor show what the store holds from before a restart.
  for (const auto& e : parts->models->Index()) {
    if (auto h = parts->models->Get(e.name); h.ok() && h->config->monitoring.enabled) {
      parts->monitors->For(e.name);
    }
  }
  ASSIGN_OR_RETURN(parts->inference, inference::InferenceService::Create(
                                         {.models = parts->models.get(),
                                          .metrics = &parts->metrics,
                                          .rollout = &parts->rollout,
                                          .monitors = parts->monitors.get(),
                                          .max_tensor_elements = options.max_tensor_elements}));
  {
    rollout::AutoRollbackOptions ar;
    ar.controller = parts->rollout_control.get();
    ar.metrics = &parts->metrics;
    auto* models = parts->models.get();
    auto* inference = parts->inference.get();
    ar.models = [models] {
      std::set<std::string> names;
      for (const auto& e : models->Index()) names.insert(e.name);
      return std::vector<std::string>(names.begin(), names.end());
    };
    ar.config = [models](const std::string& m) -> std::optional<rollout::AutoRollbackConfig> {
      auto h = models->Get(m);
      if (!h.ok()) return std::nullopt;
      return h->config->auto_rollback;
    };
    ar.counts = [inference](const std::string& m, int64_t v) { return inference->Counts(m, v); };
    ar.quality = [monitors = parts->monitors.get()](
                     const std::string& m, int64_t v, const std::string& metric,
                     int64_t window_s) -> std::optional<std::pair<double, uint64_t>> {
      auto* monitor = monitors->For(m);
      if (monitor == nullptr) return std::nullopt;
      return monitor->Quality(v, metric, window_s);
    };
    parts->auto_rollback = std::make_unique<rollout::AutoRollback>(std::move(ar));
    parts->auto_rollback->Start();
  }
  api::http::HttpApiOptions api_options;
  api_options.inference = parts->inference.get();
  api_options.models = parts->models.get();
  api_options.metrics = &parts->metrics;
  api_options.strict_readiness = options.strict_readiness;
  api_options.rollout = parts->rollout_control.get();
  api_options.store = parts->state.get();
  api_options.monitors = parts->monitors.get();
  api_options.authorizer = parts->authorizer.get();
  parts->http_api = std::make_unique<api::http::HttpApi>(api_options);

  api::http::HttpServerOptions http;
  http.host = options.host;
  http.port = options.http_port;
  http.threads = options.http_threads;
  http.io_mode = options.http_io_mode;
  http.max_request_bytes = options.max_request_bytes;
  http.max_connections = options.max_connections;
  http.request_timeout = options.http_request_timeout;
  http.idle_timeout = options.http_idle_timeout;
  http.max_header_bytes = options.max_header_bytes;
  std::optional<api::http::TlsFiles> tls;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return base::InvalidArgument("TLS needs both --tls-cert and --tls-key");
    }
    tls = api::http::TlsFiles{options.tls_cert_file, options.tls_key_file,
                              options.tls_client_ca_file};
  } else if (!options.tls_client_ca_file.empty()) {
    return base::InvalidArgument("--tls-client-ca needs --tls-cert and --tls-key");
  }
  http.tls = tls;
  // Requests for a dynamically batching model (max_queue_delay 0) that an event loop reads in one
  // pass run as one batch on that loop's thread, after the pass: no hop to a batcher thread.
  http.on_loop_thread = [](std::function<void(std::function<void()>)> post) {
    batching::CallerRuns::Install([post] { post([] { batching::CallerRuns::Flush(); }); });
  };
  auto* api = parts->http_api.get();
  if (!options.listen) return std::unique_ptr<Server>(new Server(std::move(parts)));
  ASSIGN_OR_RETURN(parts->http,
                   api::http::HttpServer::Create(http, [api](const auto& req, auto respond) {
                     api->Handle(req, std::move(respond));
                   }));
  auto* http_server = parts->http.get();
  parts->metrics.AddCallbackGauge("inferd_http_open_connections", "Open HTTP connections.", {},
                                  [http_server] {
                                    return monitoring::MetricsRegistry::GaugeSamples{
                                        {{}, static_cast<double>(http_server->open_connections())}};
                                  });
  if (options.metrics_port) {
    // /metrics alone on a port of its own (scrapers inside the cluster, inference outside).
    api::http::HttpServerOptions mh;
    mh.host = options.host;
    mh.port = *options.metrics_port;
    mh.threads = 1;
    mh.io_mode = api::http::HttpServerOptions::IoMode::kShared;
    mh.max_request_bytes = 4096;
    mh.tls = tls;
    auto* registry = &parts->metrics;
    ASSIGN_OR_RETURN(parts->metrics_http,
                     api::http::HttpServer::Create(mh, [registry](const auto& req, auto respond) {
                       api::http::HttpResponse res;
                       std::vector<std::string> path;
                       if (!api::http::SplitPath(req.target, &path) ||
                           path != std::vector<std::string>{"metrics"}) {
                         res.status = 404;
                         res.body = "{\"error\":\"this port serves only GET /metrics\"}";
                       } else if (req.method != "GET" && req.method != "HEAD") {
                         res.status = 405;
                         res.body = "{\"error\":\"use GET\"}";
                         res.headers.emplace_back("Allow", "GET");
                       } else {
                         res.content_type = "text/plain; version=0.0.4; charset=utf-8";
                         res.body = registry->RenderPrometheus();
                       }
                       respond(std::move(res));
                     }));
  }
  if (options.grpc_port) {
    parts->grpc_frontend = std::make_unique<GrpcFrontend>(
        parts->inference.get(), parts->models.get(), parts->http_api.get());
    api::grpc::GrpcOptions go;
    go.host = options.host;
    go.port = *options.grpc_port;
    go.max_message_bytes = static_cast<int64_t>(options.max_request_bytes);
    go.tls_cert_file = options.tls_cert_file;
    go.tls_key_file = options.tls_key_file;
    go.tls_client_ca_file = options.tls_client_ca_file;
    go.tls_refresh_s = options.tls_refresh_s;
    ASSIGN_OR_RETURN(parts->grpc, StartGrpc(go, parts->grpc_frontend.get()));
  }
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Server::~Server() { Stop(); }

void Server::Handle(const api::http::HttpRequest& request, api::http::Responder respond) {
  parts_->http_api->Handle(request, std::move(respond));
}

void Server::Start() {
  if (!parts_->http) return;
  parts_->http->Start();
  if (parts_->metrics_http) parts_->metrics_http->Start();
}

void Server::Stop() {
  if (!parts_) return;
  parts_->rollout_poller.reset();
  if (parts_->grpc) parts_->grpc->Stop(0);
  if (parts_->http) parts_->http->Stop();
  if (parts_->http_api) parts_->http_api->StopTasks();
  if (parts_->metrics_http) parts_->metrics_http->Stop();
  parts_->models->Stop();
}

std::optional<uint16_t> Server::grpc_port() const {
  if (!parts_->grpc) return std::nullopt;
  return parts_->grpc->port();
}

std::optional<uint16_t> Server::metrics_port() const {
  if (!parts_->metrics_http) return std::nullopt;
  return parts_->metrics_http->port();
}

void Server::BeginDrain() {
  parts_->http_api->SetDraining();
  if (parts_->grpc) parts_->grpc->SetServing(false);
  if (parts_->http) parts_->http->Drain(/*stop_accepting=*/false);
}

bool Server::FinishDrain(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (parts_->http) parts_->http->Drain(/*stop_accepting=*/true);
  // gRPC's Shutdown stops accepting calls and waits for those in flight, as HTTP's drain does.
  if (parts_->grpc) parts_->grpc->Stop(timeout.count());
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  const bool idle =
      !parts_->http || parts_->http->WaitIdle(std::max(left, std::chrono::milliseconds(0)));
  Stop();
  return idle;
}

uint16_t Server::http_port() const { return parts_->http ? parts_->http->port() : 0; }

base::Status Server::ReloadTls() {
  if (parts_->http) RETURN_IF_ERROR(parts_->http->ReloadTls());
  if (parts_->metrics_http) RETURN_IF_ERROR(parts_->metrics_http->ReloadTls());
  return base::Status::Ok();
}

}  // namespace inferd::server
