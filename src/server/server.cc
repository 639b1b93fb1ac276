#include "server/server.h"

#include "api/http/http_api.h"
#include "backend/backend.h"
#include "base/logging.h"
#include "inference/inference_service.h"
#include "lifecycle/model_manager.h"
#include "monitoring/metrics.h"
#include "monitoring/process_metrics.h"
#include "repository/file_system_source.h"
#include "server/backends.h"

namespace inferd::server {

class Server::Parts {
 public:
  monitoring::MetricsRegistry metrics;
  backend::BackendRegistry backends;
  std::unique_ptr<repository::FileSystemSource> source;
  std::unique_ptr<lifecycle::ModelManager> models;
  std::unique_ptr<inference::InferenceService> inference;
  std::unique_ptr<api::http::HttpApi> http_api;
  std::unique_ptr<api::http::HttpServer> http;
  std::unique_ptr<api::http::HttpServer> metrics_http;  // with --metrics-port
};

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
  monitoring::RegisterProcessMetrics(&parts->metrics);
  RETURN_IF_ERROR(RegisterBackends(
      {.threads = options.forest_threads, .onnx_threads = options.onnx_threads}, &parts->backends));

  ASSIGN_OR_RETURN(parts->source,
                   repository::FileSystemSource::Create({.root = options.model_repository}));
  lifecycle::ModelManagerOptions mm;
  mm.source = parts->source.get();
  mm.backends = &parts->backends;
  mm.metrics = &parts->metrics;
  mm.load_threads = options.load_threads;
  if (options.model_control_mode == "poll") mm.poll_interval = options.repository_poll_interval;
  mm.explicit_control = options.model_control_mode == "explicit";
  mm.startup_models = options.load_models;
  ASSIGN_OR_RETURN(parts->models, lifecycle::ModelManager::Create(mm));
  RETURN_IF_ERROR(parts->models->Start());

  ASSIGN_OR_RETURN(parts->inference,
                   inference::InferenceService::Create(
                       {.models = parts->models.get(), .metrics = &parts->metrics}));
  api::http::HttpApiOptions api_options;
  api_options.inference = parts->inference.get();
  api_options.models = parts->models.get();
  api_options.metrics = &parts->metrics;
  api_options.strict_readiness = options.strict_readiness;
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
  auto* api = parts->http_api.get();
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
  return std::unique_ptr<Server>(new Server(std::move(parts)));
}

Server::Server(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
Server::~Server() { Stop(); }

void Server::Start() {
  parts_->http->Start();
  if (parts_->metrics_http) parts_->metrics_http->Start();
}

void Server::Stop() {
  if (!parts_) return;
  parts_->http->Stop();
  if (parts_->metrics_http) parts_->metrics_http->Stop();
  parts_->models->Stop();
}

std::optional<uint16_t> Server::metrics_port() const {
  if (!parts_->metrics_http) return std::nullopt;
  return parts_->metrics_http->port();
}

void Server::BeginDrain() {
  parts_->http_api->SetDraining();
  parts_->http->Drain(/*stop_accepting=*/false);
}

bool Server::FinishDrain(std::chrono::milliseconds timeout) {
  parts_->http->Drain(/*stop_accepting=*/true);
  const bool idle = parts_->http->WaitIdle(timeout);
  Stop();
  return idle;
}

uint16_t Server::http_port() const { return parts_->http->port(); }

}  // namespace inferd::server
