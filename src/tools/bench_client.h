// `inferd bench`: a load generator for a running server. Clients on keep-alive HTTP connections
// send Open Inference Protocol requests built from the model's metadata (random data, `batch`
// rows) — closed loop (each client sends when it has its answer) or, with a rate, open loop on a
// fixed schedule (latency counted from the scheduled time, so a stalled server is not hidden) —
// and report throughput, latency percentiles, errors, and the server's own queue / compute split
// from Triton's statistics endpoint.
// Thread-safety: RunBench is a blocking call; it starts its own client threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/bench_transport.h"

namespace inferd::tools {

struct BenchOptions {
  std::string url = "http://127.0.0.1:8000";  // http://host:port or https://host:port
  std::string model;                          // required
  std::optional<int64_t> version;
  std::vector<int> concurrency = {1, 8, 64};  // a run per level
  double rate = 0;      // requests per second over all clients; 0 = as fast as answered
  double duration = 5;  // seconds measured per level
  double warmup = 1;    // seconds run before measuring, per level
  int64_t batch = 1;    // rows per request
  // Tensors as binary data after a JSON header (Triton's binary tensor extension), both ways.
  bool binary = false;
  // Sent as `Authorization: Bearer ...` when not empty (an API key or a JWT). HTTP only.
  std::string token;
  // https:// URLs: the CA that signed the server's certificate (empty: the system's), or no
  // certificate check at all.
  std::string cacert;
  bool insecure = false;
  // Makes the transport for these options (it fetches the model's metadata and prepares the
  // request); empty: HTTP. `inferd bench --grpc` sets it to the gRPC module's.
  std::function<base::StatusOr<std::unique_ptr<BenchTransport>>(const BenchOptions&)> transport;
};

struct BenchLevel {
  int concurrency = 0;
  double seconds = 0;
  uint64_t ok = 0, errors = 0;
  double throughput = 0;  // successful requests per second
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;
  // From the server's statistics over the measured window, per successful request (-1: unknown).
  double server_queue_us = -1, server_compute_us = -1;
  std::string first_error;  // the first failure's status and body, when any
};

// Runs every level in turn. Errors: INVALID_ARGUMENT for options out of range or a bad URL;
// UNAVAILABLE when the server cannot be reached; NOT_FOUND when it does not know the model.
base::StatusOr<std::vector<BenchLevel>> RunBench(const BenchOptions& options);

// A level as one JSON object (one line), and as a row of the text table under TableHeader().
std::string LevelJson(const BenchOptions& options, const BenchLevel& level);
std::string TableHeader();
std::string TableRow(const BenchLevel& level);

}  // namespace inferd::tools
