// The transport `inferd bench` drives: HTTP (in bench_client.cc) or gRPC (in the gRPC module,
// libinferd_grpc.so, so that the `inferd` binary does not link gRPC). Plain virtual interfaces:
// the module implements them without any of the binary's symbols.
// Thread-safety: a BenchConnection is used by one client thread; BenchTransport::Connect and
// Stats may be called from any thread.
#pragma once

#include <memory>
#include <string>

namespace inferd::tools {

// One client's connection, with the request prepared.
class BenchConnection {
 public:
  virtual ~BenchConnection() = default;
  virtual bool ok() const = 0;  // connected
  // Sends the request and waits for the answer. False on failure, with a short description in
  // *error; *broken when the connection must be replaced.
  virtual bool Send(std::string* error, bool* broken) = 0;
};

// The model's statistics, summed over versions (Triton's statistics extension).
struct BenchServerStats {
  double success = 0, queue_ns = 0, compute_ns = 0;
  bool ok = false;
};

struct BenchOptions;
struct BenchLevel;

class BenchTransport {
 public:
  virtual ~BenchTransport() = default;
  virtual std::unique_ptr<BenchConnection> Connect() = 0;
  virtual BenchServerStats Stats() = 0;
  // An open-loop run (options.rate > 0) by the transport's own means, e.g. one event loop over
  // every connection, so that the client's thread scheduling does not add to the latencies.
  // False when the transport has none (the caller then runs a thread per client).
  virtual bool RunOpenLoop(const BenchOptions&, int /*concurrency*/, BenchLevel*) { return false; }
};

}  // namespace inferd::tools
