// HttpServer: an HTTP/1.1 server on Boost.Beast with keep-alive, request limits and timeouts. It
// answers malformed HTTP itself (400 bad request line, 414 URL too long, 431 header block too
// large, 413 body over the limit, 408 request not sent in time) and hands every well-formed
// request to a Handler. Beast types stay inside this module's .cc files.
// Thread-safety: Start/Stop from one thread; the handler is called concurrently from the I/O
// threads (and, for large bodies, a worker pool) and must be thread-safe; responders may be
// called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace inferd::api::http {

struct HttpRequest {
  std::string_view method;  // "GET", "POST", ...
  std::string_view target;  // path and query, as sent
  std::string_view body;
  // Header lookup by case-insensitive name; nullopt when absent.
  std::function<std::optional<std::string_view>(std::string_view)> header;
  bool from_loopback = false;  // the client connected from 127.0.0.0/8 or ::1
  std::string_view peer;       // the client's address (for the audit trail)
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Sends the response to one request. Call it exactly once, from any thread; the request's views
// (method, target, body, headers) stay valid until it is called.
using Responder = std::function<void(HttpResponse)>;
// Handles one request: answers through `respond`, before returning or later (from another thread,
// e.g. a batcher's). A response given before the handler returns is written without a thread hop.
using Handler = std::function<void(const HttpRequest&, Responder respond)>;

// TLS for a server (HTTPS): PEM files. TLS 1.2 and 1.3 only, forward-secret AEAD ciphers.
struct TlsFiles {
  std::string cert_file;       // the certificate chain
  std::string key_file;        // its private key
  std::string client_ca_file;  // not empty: mutual TLS, clients must show a certificate it signed
};

struct HttpServerOptions {
  std::string host = "0.0.0.0";  // bind address
  uint16_t port = 8000;          // 0 = pick a free port (see HttpServer::port())
  int threads = 0;               // I/O threads; 0 = one per core
  // kPerCore: one io_context and one SO_REUSEPORT acceptor per thread (the kernel spreads
  // connections). kShared: one io_context run by every thread.
  enum class IoMode { kPerCore, kShared };
  IoMode io_mode = IoMode::kPerCore;
  size_t max_request_bytes = 64 << 20;  // body limit: 413 above it
  size_t max_header_bytes = 16 << 10;   // request line + headers: 431 (or 414 for the URL)
  size_t max_url_bytes = 8 << 10;       // request target: 414 above it
  std::chrono::milliseconds request_timeout{30000};  // to receive one whole request: 408 after
  std::chrono::milliseconds idle_timeout{60000};     // keep-alive wait for the next request
  // Bodies at least this large are handled on a worker pool (one thread per I/O thread), so that
  // decoding them does not stall the other connections of an event loop.
  size_t offload_body_bytes = 256 << 10;
  // Connections above this many are closed as soon as they are accepted; 0 = no cap.
  int64_t max_connections = 10000;
  // Called on each I/O thread that is the only thread of its event loop (per-core mode), before
  // the loop runs, with a function that posts a task to that loop: work deferred to "later in
  // this loop" (caller-runs batching) is installed through it.
  std::function<void(std::function<void(std::function<void()>)> post)> on_loop_thread;
  // HTTPS when set.
  std::optional<TlsFiles> tls;
};

class HttpServer {
 public:
  // Binds and listens; errors: UNAVAILABLE when the address cannot be bound (with the reason).
  static base::StatusOr<std::unique_ptr<HttpServer>> Create(const HttpServerOptions& options,
                                                            Handler handler);
  ~HttpServer();  // stops

  // Starts the I/O threads; returns at once.
  void Start();
  // Stops accepting and closes connections; joins the threads (idempotent).
  void Stop();
  // Graceful drain: from now on answers carry "Connection: close" (clients move to other
  // replicas) and, with `stop_accepting`, new connections are refused.
  void Drain(bool stop_accepting);
  // Requests read and not yet answered (being handled, queued or written).
  int64_t in_flight() const;
  // Waits until no request is in flight, at most `timeout`; true when idle.
  bool WaitIdle(std::chrono::milliseconds timeout) const;
  uint16_t port() const;
  // Connections open now (for metrics).
  int64_t open_connections() const;
  // Reads the TLS files again (certificates replaced without a restart): new connections use the
  // new ones, open connections keep theirs. On error the old ones stay and the error says why.
  // OK and nothing to do without TLS.
  base::Status ReloadTls();

  class BeastServer;  // defined in http_server.cc

 private:
  explicit HttpServer(std::unique_ptr<BeastServer> server);
  std::unique_ptr<BeastServer> server_;
};

}  // namespace inferd::api::http
