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

class BenchTransport {
 public:
  virtual ~BenchTransport() = default;
  virtual std::unique_ptr<BenchConnection> Connect() = 0;
  virtual BenchServerStats Stats() = 0;
};

}  // namespace inferd::tools
