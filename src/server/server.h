// Server: the composition root. Builds every component from ServerOptions, and is the only place
// that names concrete backends.
// Thread-safety: Start/Stop from one thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http/http_server.h"
#include "auth/authorizer.h"
#include "base/status.h"
#include "tools/bench_client.h"

namespace inferd::server {

struct ServerOptions {
  std::filesystem::path model_repository;  // required
  std::string host = "0.0.0.0";
  uint16_t http_port = 8000;  // 0 = any free port
  int http_threads = 0;       // 0 = one per core
  api::http::HttpServerOptions::IoMode http_io_mode =
      api::http::HttpServerOptions::IoMode::kPerCore;
  size_t max_request_bytes = 64 << 20;
  int64_t max_connections = 10000;  // HTTP connections beyond this are closed at once; 0 = no cap
  std::chrono::milliseconds http_request_timeout{30000};
  std::chrono::milliseconds http_idle_timeout{60000};
  // "none": load at start only; "poll": rescan every repository_poll_interval; "explicit": load
  // `load_models` at start, then what POST /v2/repository/models/{m}/load asks for.
  std::string model_control_mode = "none";
  std::vector<std::string> load_models;
  std::chrono::milliseconds repository_poll_interval{15000};
  bool strict_readiness = true;
  int load_threads = 2;
  // Threads the forest engine splits a large batch over (the calling thread included);
  // 0 = one per core.
  int forest_threads = 0;
  // Threads one ONNX call may use (oneDNN's); 0 = the engine's default (1).
  int onnx_threads = 0;
  // On SIGTERM/SIGINT: keep serving this long with readiness at 503, then finish in-flight
  // requests for at most drain_timeout.
  std::chrono::milliseconds drain_grace{5000};
  // Also serve /metrics alone on this port (0 = pick one); absent: only on the HTTP port.
  std::optional<uint16_t> metrics_port;
  std::chrono::milliseconds drain_timeout{30000};
  // Also serve the Open Inference Protocol over gRPC on this port (0 = pick one); absent: no
  // gRPC (the gRPC module, libinferd_grpc.so beside the executable, is then never loaded).
  std::optional<uint16_t> grpc_port;
  // The state store (store/open_store.h): a directory (SQLite, created when missing), or a
  // PostgreSQL URL (postgres://...) that replicas share.
  std::string state_dir = "inferd-state";

  // Authentication (docs/security.md). Without credentials every route but management is open
  // (management answers loopback only); `auth_required` refuses to start without them.
  bool auth_required = false;
  std::filesystem::path api_keys_file;                  // hashed API keys (auth/api_keys.h)
  std::vector<std::filesystem::path> jwt_secret_files;  // HS256 secrets
  std::vector<std::filesystem::path> jwt_key_files;     // RS256 public keys: PEM or JWKS
  std::optional<std::string> jwt_issuer, jwt_audience;
  std::map<auth::RouteClass, uint32_t> route_scopes;  // overrides; kScopeNone opens a class
  std::optional<auth::Rate> rate_limit;               // per principal (or client address)
  // TLS for HTTP (and the metrics port) and gRPC: PEM files; a client CA asks for mutual TLS.
  std::string tls_cert_file, tls_key_file, tls_client_ca_file;
  unsigned tls_refresh_s = 10;  // gRPC's file watcher: how often it looks at the files
  // The prediction log's inputs encrypted at rest (AES-256-GCM) with this key (auth/log_cipher.h).
  std::filesystem::path log_key_file;
  // Requests whose tensors hold more elements than this are refused (400); 0: no limit.
  int64_t max_tensor_elements = int64_t{1} << 24;
  size_t max_header_bytes = 16 << 10;  // request line and headers (431 above)
  // false: no HTTP, metrics or gRPC listener; requests arrive through Server::Handle (the
  // serverless runtime, `inferd lambda`).
  bool listen = true;
};

class Server {
 public:
  // Validates the options, loads the models (waiting for the first loads) and binds the port.
  // Errors: INVALID_ARGUMENT for bad options, NOT_FOUND for a missing repository, UNAVAILABLE when
  // the port cannot be bound.
  static base::StatusOr<std::unique_ptr<Server>> Create(const ServerOptions& options);
  ~Server();

  void Start();
  void Stop();
  // Graceful shutdown, in two steps (Kubernetes semantics): BeginDrain makes readiness answer
  // 503 at once and answers close their connections, while serving goes on (the caller waits the
  // grace period); FinishDrain stops accepting, lets the requests in flight finish (at most
  // `timeout`) and stops. Returns false when requests were still in flight at the timeout.
  void BeginDrain();
  bool FinishDrain(std::chrono::milliseconds timeout);
  uint16_t http_port() const;  // 0 without a listener
  // Runs one HTTP request through the API's routes (auth, limits, metrics included), without a
  // socket; `respond` is called once, maybe later from another thread.
  void Handle(const api::http::HttpRequest& request, api::http::Responder respond);
  // Reads the TLS certificate and key again (SIGHUP): new HTTP connections use them; gRPC's file
  // watcher picks them up by itself. Errors: the files' problem; the old ones stay in use.
  base::Status ReloadTls();
  std::optional<uint16_t> metrics_port() const;  // with --metrics-port
  std::optional<uint16_t> grpc_port() const;     // with --grpc-port

  class Parts;  // the components, defined in server.cc

 private:
  explicit Server(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

// `inferd bench --grpc`'s transport, from the gRPC module (libinferd_grpc.so beside the binary).
base::StatusOr<std::unique_ptr<tools::BenchTransport>> MakeGrpcBenchTransport(
    const tools::BenchOptions& options);

}  // namespace inferd::server
