// HttpApi: the REST routes — Open Inference Protocol v2, TF Serving v1 predict/status, the
// repository index and /metrics — translated onto the inference service and the model manager.
// Every response carries an `inferd-request-id` header; every error is {"error": "..."} with the
// status code of api/common/status_map.h (405 with Allow for a wrong method, 404 for no route).
// Thread-safety: Handle() is thread-safe.
#pragma once

#include <atomic>
#include <string>

#include "api/http/http_server.h"
#include "auth/authorizer.h"
#include "base/task_runner.h"
#include "inference/inference_service.h"
#include "lifecycle/model_manager.h"
#include "monitoring/metrics.h"
#include "rollout/controller.h"

namespace inferd::api::http {

struct HttpApiOptions {
  inference::InferenceService* inference = nullptr;  // not owned, required
  lifecycle::ModelManager* models = nullptr;         // not owned, required
  monitoring::MetricsRegistry* metrics = nullptr;    // not owned, required
  rollout::Controller* rollout = nullptr;  // not owned; null: no rollout management routes
  store::StateStore* store = nullptr;      // not owned; null: no audit route
  // not owned; null: no feedback and monitor routes
  monitoring::MonitorRegistry* monitors = nullptr;
  const base::Clock* clock = &base::Clock::Real();
  // Who may call which route (auth/authorizer.h); not owned. Null: every route is open except
  // management, which answers loopback clients only (an Authorizer without credentials).
  const auth::Authorizer* authorizer = nullptr;
  // Ready only when every model has a ready version (Triton's --strict-readiness); when false,
  // ready as soon as the server is up.
  bool strict_readiness = true;
  std::string server_name = "inferd";
  std::string server_version = "0.1.0";
};

// The class of a route (its path split at '/'), which decides the scope it needs.
auth::RouteClass ClassifyRoute(std::string_view method, const std::vector<std::string>& segments);

class HttpApi {
 public:
  explicit HttpApi(const HttpApiOptions& options);
  // Answers through `respond`: at once, or (inference on a model with a dynamic batcher) later,
  // from the batcher's thread.
  void Handle(const HttpRequest& request, Responder respond);
  // The server is shutting down: readiness answers 503 from now on (liveness stays 200).
  void SetDraining() { draining_ = true; }
  // GET /v2/health/ready's answer: not draining and (with strict readiness) every model ready.
  bool Ready() const;
  bool draining() const { return draining_.load(std::memory_order_relaxed); }
  // The protocol extensions this server implements (in GET /v2 and gRPC ServerMetadata).
  static const std::vector<std::string>& Extensions();
  const HttpApiOptions& options() const { return options_; }
  // Finishes the requests handed to worker threads (feedback), answering them; those that come
  // later run on the caller. (Before the HTTP server goes.)
  void StopTasks() { tasks_.Stop(); }
  // Adds a line to the store's audit trail (none without a store); a failure is logged.
  void Audit(const std::string& action, const std::string& model, const std::string& who) const;

 private:
  // Completes an answer; `endpoint` (a static name) labels the metrics.
  using Finish = std::function<void(HttpResponse, const char* endpoint)>;
  // Routes the request. Fills `response` and returns false, or returns true when the route
  // answers later through `finish` (which it then takes: the caller must not use it).
  bool Dispatch(const HttpRequest& request, HttpResponse& response, const char** endpoint,
                Finish& finish);

  // POST .../versions/N/validation: stores `inferd validate`'s report (JSON with "passed").
  bool RecordValidation(const HttpRequest& req, HttpResponse& res, const std::string& model,
                        int64_t version, const std::string& who);

  struct EndpointCells {
    monitoring::Counter* requests;
    monitoring::Histogram* duration;
  };
  EndpointCells Cells(std::string_view endpoint, int status);

  HttpApiOptions options_;
  const uint64_t id_;  // tells this API's cached metric cells from another's
  std::atomic<bool> draining_{false};
  monitoring::Family<monitoring::Counter>* http_requests_;
  monitoring::Family<monitoring::Histogram>* http_duration_;
  // Feedback runs here, off the event loops: it commits to the store and, with replicas, may wait
  // for another one's writes. (Its workers start with the first feedback. Last: stopped and
  // destroyed first, before the members its tasks use.)
  base::TaskRunner tasks_{4, "inferd-feedback"};
};

// Splits a request target into percent-decoded path segments (query string dropped). Returns
// false for a target that is not an absolute path or has bad percent-encoding.
bool SplitPath(std::string_view target, std::vector<std::string>* segments);

}  // namespace inferd::api::http
