// What the start-up benchmarks share: a free loopback port, one HTTP request on a fresh
// connection, spawning and killing a server, and the time from exec to a server's first 200.
// Thread-safety: functions of their arguments (and the process table).
#pragma once

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
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace inferd::bench {

inline uint16_t FreePort() {
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

// One HTTP/1.1 request on a fresh connection (a body goes as application/json); the status, or 0
// when it could not be sent.
inline int Request(uint16_t port, const std::string& method, const std::string& target,
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
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n";
  if (!body.empty()) req += "Content-Type: application/json\r\n";
  req += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
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

// Starts `args` (found on PATH when not a path) with stdout and stderr to /dev/null; -1 on
// failure.
inline pid_t Spawn(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

inline void Stop(pid_t pid) {
  kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
}

// Milliseconds from the exec of `args` to its first 200 answer to POST `target` with `body` on
// `port`, polled every 0.2 ms; the process is killed after. -1 when none came within `timeout`.
inline double MsToFirstAnswer(const std::vector<std::string>& args, uint16_t port,
                              const std::string& target, const std::string& body,
                              std::chrono::seconds timeout = std::chrono::seconds(60)) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const pid_t pid = Spawn(args);
  if (pid < 0) return -1;
  int status = 0;
  while (status != 200 && Clock::now() - t0 < timeout) {
    status = Request(port, "POST", target, body);
    if (status != 200) std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  Stop(pid);
  return status == 200 ? ms : -1;
}

struct Spread {
  double median, min, max;
};
inline Spread Summary(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

}  // namespace inferd::bench
