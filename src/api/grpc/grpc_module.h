// The contract between the server and its gRPC module (libinferd_grpc.so), which the server
// dlopens only when --grpc-port is given: linking gRPC costs about 10 ms per exec, which an
// HTTP-only server must not pay. The module calls the server only through ServingFrontend, an
// interface of virtual functions, so it needs none of the server's symbols; the request and
// response types it shares are plain structs.
// Thread-safety: ServingFrontend implementations are called from the module's threads at once;
// GrpcServer::Stop from one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authorizer.h"
#include "base/status.h"
#include "inference/inference_service.h"
#include "lifecycle/model_manager.h"
#include "tools/bench_client.h"

namespace inferd::api::grpc {

// What the transports do, in the server (inference service and model manager behind it).
class ServingFrontend {
 public:
  virtual ~ServingFrontend() = default;
  virtual bool Ready() const = 0;
  virtual std::string ServerName() const = 0;
  virtual std::string ServerVersion() const = 0;
  virtual std::vector<std::string> Extensions() const = 0;
  // As InferenceService::Resolve / InferAsync / CountRejected.
  virtual base::StatusOr<lifecycle::ModelHandle> Resolve(std::string_view model,
                                                         std::optional<int64_t> version,
                                                         std::string_view route_key = {}) = 0;
  // As InferenceService::LabelVersion.
  virtual base::StatusOr<int64_t> LabelVersion(std::string_view model,
                                               const std::string& label) = 0;
  virtual void InferAsync(inference::InferRequest request, const lifecycle::ModelHandle& handle,
                          inference::InferCallback done) = 0;
  virtual void CountRejected(const lifecycle::ModelHandle& handle) = 0;
  // As ModelManager::Get / ReadyVersions / Index / Load / Unload.
  virtual base::StatusOr<lifecycle::ModelHandle> Get(std::string_view model,
                                                     std::optional<int64_t> version) = 0;
  virtual base::StatusOr<std::vector<int64_t>> ReadyVersions(std::string_view model) = 0;
  virtual std::vector<lifecycle::IndexEntry> Index() = 0;
  // (Load and Unload record `who` — principal@address — in the audit trail, as HTTP does.)
  virtual base::Status Load(const std::string& model, const std::string& who) = 0;
  virtual base::Status Unload(const std::string& model, const std::string& who) = 0;
  // As auth::Authorizer::Check: the principal, or UNAUTHENTICATED / PERMISSION_DENIED /
  // RESOURCE_EXHAUSTED with the reason.
  virtual base::StatusOr<std::string> Authorize(auth::RouteClass route,
                                                std::optional<std::string_view> authorization,
                                                std::optional<std::string_view> api_key,
                                                bool from_loopback, std::string_view peer) = 0;
  // As InferenceService::Statistics.
  virtual base::StatusOr<std::vector<inference::VersionStatistics>> Statistics(
      std::string_view model, std::optional<int64_t> version) = 0;
};

struct GrpcOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8001;  // 0 = pick a free one
  int64_t max_message_bytes = int64_t{64} << 20;
  // TLS when cert_file is set (PEM files; client_ca_file: mutual TLS). gRPC's file watcher
  // re-reads them every tls_refresh_s, so replaced certificates take effect without a restart.
  std::string tls_cert_file, tls_key_file, tls_client_ca_file;
  unsigned tls_refresh_s = 10;
};

// A running gRPC server.
class GrpcServer {
 public:
  virtual ~GrpcServer() = default;  // stops
  virtual uint16_t port() const = 0;
  // grpc.health.v1.Health's answer for the server ("") and the inference service: SERVING or
  // NOT_SERVING (from the start of a drain, as readiness).
  virtual void SetServing(bool serving) = 0;
  // Stops accepting and waits for the calls in flight (at most `deadline_ms`).
  virtual void Stop(int64_t deadline_ms) = 0;
};

inline constexpr const char* kGrpcModuleFile = "libinferd_grpc.so";
inline constexpr const char* kGrpcModuleSymbol = "inferd_grpc_create";
inline constexpr const char* kGrpcBenchSymbol = "inferd_grpc_bench_create";

}  // namespace inferd::api::grpc

// The module's entry point: starts serving `frontend` (not owned; it must outlive the server).
// Returns null and fills `error` (of `error_size` bytes) when the port cannot be bound.
extern "C" inferd::api::grpc::GrpcServer* inferd_grpc_create(
    const inferd::api::grpc::GrpcOptions* options, inferd::api::grpc::ServingFrontend* frontend,
    char* error, size_t error_size);

// `inferd bench --grpc`'s transport: fetches the model's metadata over gRPC and prepares the
// request. Returns null and fills `error` when the server cannot be asked or has no such model.
extern "C" inferd::tools::BenchTransport* inferd_grpc_bench_create(
    const inferd::tools::BenchOptions* options, char* error, size_t error_size);
