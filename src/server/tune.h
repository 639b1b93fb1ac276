// `inferd tune`: the serving configuration of a model for a latency SLO. Each candidate
// configuration (max_batch_size, dynamic batching's max_queue_delay_us, instances, and the engine
// threads per call) is served by an in-process server on a loopback port and loaded with the
// built-in load generator (tools/bench_client.h) at rising concurrency; a configuration's capacity
// is the highest throughput whose p99 stays within the SLO. The search is staged: the threads
// without batching first, then batching around the best of those.
// The capacity plan: replicas for a target rate at the SLO with 30% headroom, each replica using
// the cores this machine gave the measurement, and their monthly cost (730 hours).
// Note: the load generator runs on the same machine (and cores) as the server, as `inferd bench`
// against a local server does; capacities are conservative.
// Thread-safety: Tune is a blocking call.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/bench_client.h"

namespace inferd::server {

struct TuneConfig {
  int64_t max_batch_size = 1;
  bool dynamic_batching = false;
  int64_t max_queue_delay_us = 0;
  int instances = 1;
  int threads = 1;  // engine threads per call (--forest-threads / --onnx-threads)
  std::string Describe() const;
};

struct TuneOptions {
  std::filesystem::path model_dir;  // <model>/ with version directories; required
  int64_t version = 0;              // required
  double slo_p99_us = 0;            // required, > 0
  std::optional<double> target_rps;
  std::optional<double> cost_per_core_hour;
  std::vector<int> concurrency = {1, 4, 16, 64};
  double seconds = 1.0;  // measured per concurrency level
  int64_t batch = 1;     // rows per request
  int cores = 0;         // 0: this machine's
  // Before each configuration: (done, total, its description).
  std::function<void(int, int, const std::string&)> progress;
};

struct TuneResult {
  TuneConfig config;
  std::vector<tools::BenchLevel> levels;
  double rps_at_slo = 0;  // 0: no level met the SLO
  double p99_at_slo_us = 0;
  int concurrency_at_slo = 0;
};

struct CapacityPlan {
  double target_rps = 0;
  double replica_rps = 0;  // at the SLO, before headroom
  int cores_per_replica = 0;
  int64_t replicas = 0;
  int64_t cores = 0;
  std::optional<double> monthly_cost;
};

struct TuneReport {
  std::string model;
  int64_t version = 0;
  double slo_p99_us = 0;
  std::vector<TuneResult> results;
  std::optional<size_t> chosen;  // none: no configuration met the SLO
  std::optional<CapacityPlan> plan;

  std::string ToText() const;
  std::string ToJson() const;
};

// Errors: INVALID_ARGUMENT for options out of range; the model's load errors; UNAVAILABLE when a
// configuration cannot be served or measured.
base::StatusOr<TuneReport> Tune(const TuneOptions& options);

// Writes the configuration into <model>/config.yaml (other keys kept; comments are not).
base::Status WriteTunedConfig(const std::filesystem::path& model_dir, const TuneConfig& config);

}  // namespace inferd::server
