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

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kRoot = INFERD_SOURCE_DIR;

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

// One HTTP/1.1 request on a fresh connection; the status, or 0 when it could not be sent.
int Request(uint16_t port, const std::string& method, const std::string& target,
            const std::string& body) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return 0;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  const std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" +
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return 0;
  }
  std::string answer;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) answer.append(buf, static_cast<size_t>(n));
  close(fd);
  return answer.size() > 12 ? std::atoi(answer.c_str() + 9) : 0;
}

pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

void Stop(pid_t pid) {
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
}

double RssMb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1;
}

struct Spread {
  double median, min, max;
};
Spread Summary(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
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
    const auto t0 = Clock::now();
    pid_t pid = Spawn({inferd, "--log-level", "warn", "serve", "--model-repository",
                       (repo).string(), "--state", (repo.string() + "_state"), "--http-port",
                       std::to_string(port), "--host", "127.0.0.1"});
    if (pid < 0) {
      std::fprintf(stderr, "serve_bench: cannot run %s\n", inferd.c_str());
      return 1;
    }
    int status = 0;
    while (status != 200 && Clock::now() - t0 < std::chrono::seconds(10)) {
      status = Request(port, "POST", "/v2/models/forest/infer", body);
      if (status != 200) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    starts.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    Stop(pid);
    if (status != 200) {
      std::fprintf(stderr, "serve_bench: no successful inference within 10 s\n");
      return 1;
    }
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
