// The server's start-up and memory goals, measured on the real binary:
//  - cold start: from exec of `inferd serve` to the first successful inference on a 100-tree
//    forest (median and spread of 20 runs);
//  - idle RSS with two small forest models loaded;
//  - RSS growth over 200 load/unload cycles (explicit model control).
// Absolute figures: this prints medians and spreads, not ratios (there is no peer to run).
//
//   serve_bench [--inferd PATH] [--runs N] [--cycles N] [--json]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "process_util.h"

namespace {

using namespace inferd::bench;
namespace fs = std::filesystem;

const fs::path kRoot = INFERD_SOURCE_DIR;

double RssMb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1;
}

std::string Body() {
  std::string data;
  for (int i = 0; i < 30; ++i) data += (i ? "," : "") + std::to_string(0.1 * i);
  return R"({"inputs":[{"name":"input","shape":[1,30],"datatype":"FP32","data":[)" + data + "]}]}";
}

}  // namespace

int main(int argc, char** argv) {
  std::string inferd = (fs::path(INFERD_BINARY_DIR) / "inferd").string();
  int runs = 20, cycles = 200;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--inferd" && i + 1 < argc) inferd = argv[++i];
    if (a == "--runs" && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));
    if (a == "--cycles" && i + 1 < argc) cycles = std::max(1, std::atoi(argv[++i]));
    if (a == "--json") json = true;
  }
  const fs::path repo = fs::temp_directory_path() / ("serve_bench_" + std::to_string(getpid()));
  fs::create_directories(repo / "forest" / "1");
  fs::create_directories(repo / "small" / "1");
  fs::copy_file(kRoot / "bench/models/binary_100x6/model.json", repo / "forest/1/model.json");
  fs::copy_file(kRoot / "examples/models/breast_cancer/1/model.json", repo / "small/1/model.json");
  const std::string body = Body();

  // Cold start: exec to the first 200 from /infer.
  std::vector<double> starts;
  for (int r = 0; r < runs; ++r) {
    const uint16_t port = FreePort();
    const double ms = MsToFirstAnswer(
        {inferd, "--log-level", "warn", "serve", "--model-repository", repo.string(), "--state",
         repo.string() + "_state", "--http-port", std::to_string(port), "--host", "127.0.0.1"},
        port, "/v2/models/forest/infer", body, std::chrono::seconds(10));
    if (ms < 0) {
      std::fprintf(stderr, "serve_bench: %s gave no successful inference within 10 s\n",
                   inferd.c_str());
      return 1;
    }
    starts.push_back(ms);
  }
  const Spread cold = Summary(starts);

  // Idle RSS with two models, and RSS over load/unload cycles.
  const uint16_t port = FreePort();
  pid_t pid = Spawn({inferd, "--log-level", "warn", "serve", "--model-repository", repo.string(),
                     "--state", (repo.string() + "_state"), "--http-port", std::to_string(port),
                     "--host", "127.0.0.1", "--model-control-mode", "explicit", "--load-model",
                     "forest", "--load-model", "small"});
  while (Request(port, "POST", "/v2/models/small/infer", body) != 200) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  Request(port, "POST", "/v2/models/forest/infer", body);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::vector<double> idle;
  for (int i = 0; i < 5; ++i) {
    idle.push_back(RssMb(pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const Spread idle_rss = Summary(idle);
  // A few cycles first, so that allocator pools settle before the baseline.
  auto cycle = [&] {
    Request(port, "POST", "/v2/repository/models/small/unload", "");
    Request(port, "POST", "/v2/repository/models/small/load", "");
    Request(port, "POST", "/v2/models/small/infer", body);
  };
  for (int i = 0; i < 10; ++i) cycle();
  const double before = RssMb(pid);
  for (int i = 0; i < cycles; ++i) cycle();
  const double after = RssMb(pid);
  Stop(pid);
  fs::remove_all(repo);
  fs::remove_all(repo.string() + "_state");

  if (json) {
    std::printf(
        "{\"cold_start_ms\": %.2f, \"cold_start_min_ms\": %.2f, \"cold_start_max_ms\": %.2f, "
        "\"runs\": %d, \"idle_rss_mb\": %.1f, \"rss_before_cycles_mb\": %.1f, "
        "\"rss_after_cycles_mb\": %.1f, \"cycles\": %d}\n",
        cold.median, cold.min, cold.max, runs, idle_rss.median, before, after, cycles);
  } else {
    std::printf(
        "cold start (exec to first successful infer, 100-tree forest), %d runs: median "
        "%.1f ms (min %.1f, max %.1f) [goal <= 20 ms]\n",
        runs, cold.median, cold.min, cold.max);
    std::printf("idle RSS with two forest models: %.1f MB (min %.1f, max %.1f) [goal <= 40 MB]\n",
                idle_rss.median, idle_rss.min, idle_rss.max);
    std::printf("RSS over %d load/unload cycles: %.1f MB -> %.1f MB (%+.2f MB) [goal < 2 MB]\n",
                cycles, before, after, after - before);
  }
  return 0;
}
