// A throwaway PostgreSQL cluster for a test (tests/postgres/cluster.sh): started in a temporary
// directory on a free loopback port, stopped and removed with the object.
// Thread-safety: one thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace inferd::testing {

class PostgresCluster {
 public:
  // Starts one. Null when it could not: *why says why, and *not_installed whether PostgreSQL's
  // server is simply absent (a test may skip then, except under CI=true).
  static std::unique_ptr<PostgresCluster> Start(std::string* why, bool* not_installed) {
    char tmpl[] = "/tmp/inferd_pg_XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) {
      *why = "mkdtemp failed";
      return nullptr;
    }
    std::unique_ptr<PostgresCluster> c(new PostgresCluster(std::filesystem::path(tmpl) / "pg"));
    c->port_ = FreePort();
    std::string out;
    const int rc = c->Script("start " + c->dir_.string() + " " + std::to_string(c->port_), &out);
    if (rc != 0) {
      *not_installed = rc == 77;
      *why = "tests/postgres/cluster.sh start failed (exit " + std::to_string(rc) + ")";
      return nullptr;
    }
    while (!out.empty() && out.back() == '\n') out.pop_back();
    c->url_ = out;
    return c;
  }
  ~PostgresCluster() {
    std::string out;
    Script("stop " + dir_.string(), &out);
    std::error_code ec;
    std::filesystem::remove_all(dir_.parent_path(), ec);
  }

  const std::string& url() const { return url_; }
  int port() const { return port_; }
  // A fast restart: every connection is cut.
  bool Restart() {
    std::string out;
    return Script("restart " + dir_.string(), &out) == 0;
  }

 private:
  explicit PostgresCluster(std::filesystem::path dir) : dir_(std::move(dir)) {}

  static int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    ::close(fd);
    return ntohs(a.sin_port);
  }
  // Runs cluster.sh with `args`; its stdout in *out; its exit code.
  int Script(const std::string& args, std::string* out) {
    const std::string cmd = std::string(INFERD_SOURCE_DIR) + "/tests/postgres/cluster.sh " + args;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return -1;
    char buf[512];
    size_t got;
    while ((got = std::fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, got);
    const int status = ::pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::filesystem::path dir_;
  int port_ = 0;
  std::string url_;
};

// In a test's SetUp: starts `cluster` or skips the test (fails it under CI=true, where PostgreSQL
// must be there).
#define INFERD_START_POSTGRES(cluster)                                           \
  do {                                                                           \
    std::string why_;                                                            \
    bool absent_ = false;                                                        \
    cluster = ::inferd::testing::PostgresCluster::Start(&why_, &absent_);        \
    if (!cluster) {                                                              \
      const char* ci_ = std::getenv("CI");                                       \
      if (absent_ && !(ci_ && std::string(ci_) == "true")) GTEST_SKIP() << why_; \
      FAIL() << why_;                                                            \
    }                                                                            \
  } while (0)

}  // namespace inferd::testing
