// A local emulation of AWS Lambda's Runtime API (2018-06-01), as its documentation describes it,
// for `inferd lambda`'s tests and bench: GET /2018-06-01/runtime/invocation/next waits for a
// queued event and answers it with its request id (Lambda-Runtime-Aws-Request-Id) and deadline;
// POST .../invocation/{id}/response and .../invocation/{id}/error record the answer (202); POST
// /2018-06-01/runtime/init/error records a failed start (202). An unknown request id gets 400.
// Header-only, with no test framework, so that the bench uses it too.
// Thread-safety: thread-safe; a thread accepts connections, one thread serves each.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace inferd::testing {

class RuntimeApiEmulator {
 public:
  struct Answer {
    std::string kind;  // "response", "error" or "init_error"
    std::string body;
    std::string error_type;  // Lambda-Runtime-Function-Error-Type
    std::chrono::steady_clock::time_point at;
  };

  RuntimeApiEmulator() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(listen_fd_, 16);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~RuntimeApiEmulator() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    shutdown(listen_fd_, SHUT_RDWR);
    close(listen_fd_);
    acceptor_.join();
    std::vector<std::thread> workers;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int fd : fds_) shutdown(fd, SHUT_RDWR);
      workers.swap(workers_);
    }
    for (auto& t : workers) t.join();
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Queues an invocation; returns its request id.
  std::string Queue(const std::string& event) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string id = "req-" + std::to_string(++next_id_);
    pending_.push_back({id, event});
    known_.insert({id, true});
    cv_.notify_all();
    return id;
  }

  // The answer to `id` (or, with id "init", the init error), waiting up to `timeout`.
  std::optional<Answer> Wait(const std::string& id, std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return answers_.count(id) > 0; });
    auto it = answers_.find(id);
    if (it == answers_.end()) return std::nullopt;
    return it->second;
  }

 private:
  void Accept() {
    for (;;) {
      const int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) return;
      std::lock_guard<std::mutex> lock(mu_);
      if (stop_) {
        close(fd);
        return;
      }
      fds_.push_back(fd);
      workers_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  static bool ReadRequest(int fd, std::string* buffer, std::string* method, std::string* path,
                          std::map<std::string, std::string>* headers, std::string* body) {
    size_t end;
    while ((end = buffer->find("\r\n\r\n")) == std::string::npos) {
      char chunk[4096];
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer->append(chunk, static_cast<size_t>(n));
    }
    const std::string head = buffer->substr(0, end);
    buffer->erase(0, end + 4);
    const size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
    *method = head.substr(0, sp1);
    *path = head.substr(sp1 + 1, sp2 - sp1 - 1);
    headers->clear();
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos) {
      const size_t next = head.find("\r\n", pos + 2);
      std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string key = line.substr(0, colon), value = line.substr(colon + 1);
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        (*headers)[key] = value;
      }
      pos = next;
    }
    const size_t length =
        headers->count("content-length") ? std::stoul(headers->at("content-length")) : 0;
    while (buffer->size() < length) {
      char chunk[4096];
      const ssize_t n = recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buffer->append(chunk, static_cast<size_t>(n));
    }
    *body = buffer->substr(0, length);
    buffer->erase(0, length);
    return true;
  }

  static void Send(int fd, int status, const std::string& body,
                   const std::string& extra_headers = "") {
    const char* reason = status == 200 ? "OK" : status == 202 ? "Accepted" : "Bad Request";
    const std::string out =
        "HTTP/1.1 " + std::to_string(status) + " " + reason +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\n" + extra_headers + "\r\n" + body;
    send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  }

  void Serve(int fd) {
    std::string buffer, method, path, body;
    std::map<std::string, std::string> headers;
    const std::string api = "/2018-06-01/runtime";
    while (ReadRequest(fd, &buffer, &method, &path, &headers, &body)) {
      if (method == "GET" && path == api + "/invocation/next") {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return stop_ || !pending_.empty(); });
        if (stop_) break;
        auto [id, event] = pending_.front();
        pending_.pop_front();
        lock.unlock();
        const auto deadline = std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count() +
                              30000;
        Send(fd, 200, event,
             "Lambda-Runtime-Aws-Request-Id: " + id +
                 "\r\nLambda-Runtime-Deadline-Ms: " + std::to_string(deadline) +
                 "\r\nLambda-Runtime-Invoked-Function-Arn: "
                 "arn:aws:lambda:us-east-1:000000000000:function:inferd\r\n");
        continue;
      }
      if (method == "POST" && path == api + "/init/error") {
        Record("init", {"init_error", body, headers["lambda-runtime-function-error-type"]});
        Send(fd, 202, "{\"status\":\"OK\"}");
        continue;
      }
      const std::string prefix = api + "/invocation/";
      if (method == "POST" && path.rfind(prefix, 0) == 0) {
        const std::string rest = path.substr(prefix.size());
        const size_t slash = rest.find('/');
        const std::string id = rest.substr(0, slash), what = rest.substr(slash + 1);
        bool known;
        {
          std::lock_guard<std::mutex> lock(mu_);
          known = known_.count(id) > 0;
        }
        if (!known || (what != "response" && what != "error")) {
          Send(fd, 400, "{\"errorMessage\":\"unknown request id or action\"}");
          continue;
        }
        Record(id, {what, body, headers["lambda-runtime-function-error-type"]});
        Send(fd, 202, "{\"status\":\"OK\"}");
        continue;
      }
      Send(fd, 400, "{\"errorMessage\":\"no such route\"}");
    }
    close(fd);
  }

  void Record(const std::string& id, Answer a) {
    a.at = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(mu_);
    answers_[id] = std::move(a);
    cv_.notify_all();
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  int next_id_ = 0;
  std::deque<std::pair<std::string, std::string>> pending_;
  std::map<std::string, bool> known_;
  std::map<std::string, Answer> answers_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
};

}  // namespace inferd::testing
