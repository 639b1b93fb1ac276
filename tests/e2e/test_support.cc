#include "e2e/test_support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace inferd::testing {

TempDir::TempDir() {
  std::random_device rd;
  path_ = fs::temp_directory_path() /
          ("inferd-test-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path SourceDir() { return INFERD_SOURCE_DIR; }
fs::path FixtureDir(const std::string& name) {
  return SourceDir() / "tests" / "fixtures" / "xgboost" / name;
}

void AddModel(const fs::path& repo, const std::string& model, int version,
              const std::string& fixture, const std::string& file) {
  fs::path dir = repo / model / std::to_string(version);
  fs::create_directories(dir);
  fs::copy_file(FixtureDir(fixture) / file, dir / file, fs::copy_options::overwrite_existing);
}

void AddProfile(const fs::path& repo, const std::string& model, const fs::path& data) {
  auto profile = RunInferd({"profile", "--data", data.string(), "--model", (repo / model).string(),
                            "--out", (repo / model / "profile.json").string()});
  ASSERT_EQ(profile.exit_code, 0) << profile.err;
}

void WriteFile(const fs::path& path, const std::string& content) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

CommandResult RunInferd(const std::vector<std::string>& args, const fs::path& stdin_path,
                        std::chrono::seconds timeout) {
  TempDir dir;
  const fs::path out_path = dir.path() / "stdout", err_path = dir.path() / "stderr";
  std::vector<std::string> argv_s = {std::string(INFERD_BINARY_DIR) + "/inferd"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  const std::string in_path = stdin_path.empty() ? "/dev/null" : stdin_path.string();
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  CommandResult result;
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "inferd did not finish within " << timeout.count() << " s";
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  result.out = ReadFile(out_path);
  result.err = ReadFile(err_path);
  return result;
}

std::string NewApiKey(const fs::path& file, const std::string& name, const std::string& scopes) {
  auto r = RunInferd(
      {"auth", "new-key", "--name", name, "--scopes", scopes, "--keys-file", file.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string key = r.out;
  while (!key.empty() && key.back() == '\n') key.pop_back();
  EXPECT_EQ(key.rfind("ik_", 0), 0u) << key;
  return key;
}

std::unique_ptr<ServerProcess> ServerProcess::Start(const fs::path& repo,
                                                    const std::vector<std::string>& extra,
                                                    int max_open_files) {
  auto sp = std::unique_ptr<ServerProcess>(new ServerProcess());
  sp->log_path_ = sp->dir_.path() / "stderr.log";
  int out_pipe[2];
  if (pipe(out_pipe) != 0) {
    ADD_FAILURE() << "pipe failed";
    return nullptr;
  }
  std::vector<std::string> args = {std::string(INFERD_BINARY_DIR) + "/inferd", "serve",
                                   "--http-port", "0"};
  if (!repo.empty()) args.insert(args.end(), {"--model-repository", repo.string()});
  if (std::find(extra.begin(), extra.end(), "--host") == extra.end()) {
    args.insert(args.end(), {"--host", "127.0.0.1"});
  }
  // Each server keeps its state in its own temporary directory unless a test names one.
  if (std::find(extra.begin(), extra.end(), "--state") == extra.end()) {
    args.insert(args.end(), {"--state", (sp->dir_.path() / "state").string()});
  }
  // Tests stop servers often: no grace period unless a test asks for one.
  if (std::find(extra.begin(), extra.end(), "--drain-grace") == extra.end()) {
    args.insert(args.end(), {"--drain-grace", "0"});
  }
  args.insert(args.end(), extra.begin(), extra.end());
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out_pipe[1], 1);
    int err = open(sp->log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(err, 2);
    close(out_pipe[0]);
    if (max_open_files > 0) {
      rlimit lim{static_cast<rlim_t>(max_open_files), static_cast<rlim_t>(max_open_files)};
      setrlimit(RLIMIT_NOFILE, &lim);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out_pipe[1]);
  sp->pid_ = pid;
  // Read stdout until the port line (30 s at most: model loads come first).
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{out_pipe[0], POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      char buf[512];
      ssize_t n = read(out_pipe[0], buf, sizeof(buf));
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      // "inferd: <kind> listening on <host>:<port>" per port; HTTP's comes last.
      auto pos = out.find("HTTP listening on ");
      if (pos != std::string::npos && out.find('\n', pos) != std::string::npos) {
        size_t line = 0;
        while (line < out.size()) {
          const size_t end = out.find('\n', line);
          if (end == std::string::npos) break;
          const std::string text = out.substr(line, end - line);
          line = end + 1;
          const size_t at = text.find(" listening on ");
          const size_t kind = text.find(": ");
          if (at == std::string::npos || kind == std::string::npos || kind > at) continue;
          const auto port = static_cast<uint16_t>(std::stoi(text.substr(text.rfind(':') + 1)));
          sp->ports_[text.substr(kind + 2, at - kind - 2)] = port;
        }
        sp->port_ = sp->ports_["HTTP"];
        break;
      }
    }
  }
  close(out_pipe[0]);
  if (sp->port_ == 0) {
    ADD_FAILURE() << "inferd did not report a port; stdout: " << out << "\nstderr: " << sp->Log();
    return nullptr;
  }
  return sp;
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) Stop();
}

bool ServerProcess::Running() {
  if (pid_ <= 0) return false;
  int status;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

int ServerProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int status = 0;
  for (int i = 0; i < 200; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  ADD_FAILURE() << "inferd did not stop on SIGTERM within 5 s";
  return status;
}

void ServerProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

int ServerProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  const auto end = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < end) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

std::string ServerProcess::Log() const { return ReadFile(log_path_); }

bool ServerProcess::WaitForLog(const std::string& text, std::chrono::milliseconds timeout) const {
  const auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (Log().find(text) != std::string::npos) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string HttpResult::Header(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

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

std::string NonLoopbackAddress() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* a = list; a != nullptr && found.empty(); a = a->ifa_next) {
    if (a->ifa_addr == nullptr || a->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(a->ifa_addr);
    if ((ntohl(in->sin_addr.s_addr) >> 24) == 127) continue;
    char buf[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf)) != nullptr) found = buf;
  }
  freeifaddrs(list);
  if (found.empty()) {
    std::fprintf(stderr,
                 "NOTE: this machine has no IPv4 address outside loopback: the checks of clients "
                 "off loopback are left out\n");
  }
  return found;
}

HttpConnection::HttpConnection(uint16_t port, const std::string& address) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, address.c_str(), &addr.sin_addr);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd_);
    fd_ = -1;
    return;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval tv{20, 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

HttpConnection::~HttpConnection() {
  if (fd_ >= 0) close(fd_);
}

void HttpConnection::SendOnly(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // the server may close early (e.g. 413 before the whole body)
    off += static_cast<size_t>(n);
  }
}

HttpResult HttpConnection::ReadResponse(bool skip_interim, bool head_request) {
  HttpResult r;
  auto fill = [&]() {
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    pending_.append(buf, static_cast<size_t>(n));
    return true;
  };
  size_t end;
  while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return r;
  }
  std::string head = pending_.substr(0, end);
  pending_.erase(0, end + 4);
  std::istringstream hs(head);
  std::string line;
  std::getline(hs, line);
  if (line.size() >= 12) r.status = std::stoi(line.substr(9, 3));
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string k = line.substr(0, colon);
    for (auto& c : k) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string v = line.substr(colon + 1);
    while (!v.empty() && v[0] == ' ') v.erase(0, 1);
    r.headers[k] = v;
  }
  if (r.status == 100 && skip_interim) return ReadResponse(skip_interim, head_request);
  if (r.status == 100 || head_request) return r;
  size_t len = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
  while (pending_.size() < len) {
    if (!fill()) break;
  }
  r.body = pending_.substr(0, len);
  pending_.erase(0, std::min(len, pending_.size()));
  return r;
}

HttpResult HttpConnection::Request(
    const std::string& method, const std::string& target, const std::string& body,
    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") {
    req +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;
  return SendRaw(req);
}

HttpResult HttpConnection::SendRaw(const std::string& bytes) {
  SendOnly(bytes);
  return ReadResponse();
}

bool HttpConnection::ClosedByPeer(std::chrono::milliseconds wait) {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(wait.count())) <= 0) return false;
  char c;
  return recv(fd_, &c, 1, MSG_PEEK) == 0;
}

HttpResult Http(uint16_t port, const std::string& method, const std::string& target,
                const std::string& body) {
  HttpConnection c(port);
  return c.Request(method, target, body, {{"Connection", "close"}});
}

std::vector<std::vector<double>> ReadCsv(const fs::path& path, bool header) {
  std::ifstream in(path);
  std::vector<std::vector<double>> rows;
  std::string line;
  if (header) std::getline(in, line);
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<double> row;
    std::string cell;
    std::istringstream ls(line);
    while (std::getline(ls, cell, ',')) {
      row.push_back(cell.empty() ? std::nan("") : std::stod(cell));
    }
    if (!line.empty() && line.back() == ',') row.push_back(std::nan(""));
    rows.push_back(std::move(row));
  }
  return rows;
}

namespace {

std::string V2RequestAs(const std::vector<std::vector<double>>& rows, const std::string& datatype,
                        const char* format, const std::string& input_name,
                        const std::vector<std::string>& outputs) {
  std::string s = "{\"inputs\":[{\"name\":\"" + input_name + "\",\"datatype\":\"" + datatype +
                  "\",\"shape\":[" + std::to_string(rows.size()) + "," +
                  std::to_string(rows.empty() ? 0 : rows[0].size()) + "],\"data\":[";
  bool first = true;
  char buf[64];
  for (const auto& r : rows) {
    for (double v : r) {
      if (!first) s += ',';
      first = false;
      if (std::isnan(v)) {
        s += "null";
      } else {
        std::snprintf(buf, sizeof(buf), format, v);
        s += buf;
      }
    }
  }
  s += "]}]";
  if (!outputs.empty()) {
    s += ",\"outputs\":[";
    for (size_t i = 0; i < outputs.size(); ++i) {
      s += (i ? ",{\"name\":\"" : "{\"name\":\"") + outputs[i] + "\"}";
    }
    s += "]";
  }
  return s + "}";
}

}  // namespace

std::string V2Request(const std::vector<std::vector<double>>& rows, const std::string& input_name,
                      const std::vector<std::string>& outputs) {
  return V2RequestAs(rows, "FP32", "%.9g", input_name, outputs);
}

std::string V2RequestFp64(const std::vector<std::vector<double>>& rows,
                          const std::string& input_name, const std::vector<std::string>& outputs) {
  return V2RequestAs(rows, "FP64", "%.17g", input_name, outputs);
}

std::string BinaryV2Request(const std::vector<std::vector<double>>& rows,
                            const std::string& outputs_json, size_t* header_bytes) {
  std::string data;
  for (const auto& row : rows) {
    for (double v : row) {
      const float f = static_cast<float>(v);
      data.append(reinterpret_cast<const char*>(&f), sizeof(f));
    }
  }
  const std::string header = R"({"inputs":[{"name":"input","shape":[)" +
                             std::to_string(rows.size()) + "," +
                             std::to_string(rows.empty() ? 0 : rows[0].size()) +
                             R"(],"datatype":"FP32","parameters":{"binary_data_size":)" +
                             std::to_string(data.size()) + R"(}}],"outputs":)" + outputs_json + "}";
  *header_bytes = header.size();
  return header + data;
}

}  // namespace inferd::testing
