#include "tools/bench_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <thread>

#include "simdjson.h"

namespace inferd::tools {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;
using Clock = std::chrono::steady_clock;

namespace {

struct Target {
  sockaddr_in addr{};
  std::string host;              // host:port, for the Host header
  std::string name;              // host alone (TLS: SNI and certificate check)
  std::shared_ptr<SSL_CTX> tls;  // https: the client context; null: http
};

// One keep-alive HTTP/1.1 connection (blocking), over TLS for an https target.
class Connection {
 public:
  explicit Connection(const Target& t) : host_(t.host) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&t.addr), sizeof(t.addr)) != 0) {
      ::close(fd_);
      fd_ = -1;
      return;
    }
    if (t.tls) {
      ssl_ = SSL_new(t.tls.get());
      SSL_set_fd(ssl_, fd_);
      SSL_set_tlsext_host_name(ssl_, t.name.c_str());
      if (SSL_CTX_get_verify_mode(t.tls.get()) != SSL_VERIFY_NONE)
        SSL_set1_host(ssl_, t.name.c_str());
      if (SSL_connect(ssl_) != 1) {
        SSL_free(ssl_);
        ssl_ = nullptr;
        ::close(fd_);
        fd_ = -1;
      }
    }
  }
  ~Connection() {
    if (ssl_) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  // Sends a request and reads the answer; false when the connection failed.
  bool Exchange(const std::string& method, const std::string& target, const std::string& body,
                int* status, std::string* answer, const std::string& extra_headers = "") {
    std::string req = method + " " + target + " HTTP/1.1\r\nHost: " + host_ +
                      "\r\nContent-Type: application/json\r\n" + extra_headers +
                      "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    size_t sent = 0;
    while (sent < req.size()) {
      const ssize_t n =
          ssl_ ? SSL_write(ssl_, req.data() + sent, static_cast<int>(req.size() - sent))
               : ::send(fd_, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    // Headers, then Content-Length bytes of body.
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return false;
    }
    const std::string head = buf_.substr(0, header_end);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) return false;
    *status = std::atoi(head.c_str() + 9);
    size_t length = 0;
    std::string lower = head;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    // (At a line start: "inference-header-content-length" also ends in content-length.)
    if (auto p = lower.find("\r\ncontent-length:"); p != std::string::npos) {
      length = static_cast<size_t>(std::strtoull(lower.c_str() + p + 17, nullptr, 10));
    }
    while (buf_.size() < header_end + 4 + length) {
      if (!Fill()) return false;
    }
    answer->assign(buf_, header_end + 4, length);
    buf_.erase(0, header_end + 4 + length);
    return true;
  }

 private:
  bool Fill() {
    char tmp[65536];
    const ssize_t n = ssl_ ? SSL_read(ssl_, tmp, sizeof(tmp)) : ::recv(fd_, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  SSL* ssl_ = nullptr;
  std::string host_;
  std::string buf_;
};

// The request header line carrying the token ("" without one).
std::string AuthHeader(const BenchOptions& o) {
  return o.token.empty() ? "" : "Authorization: Bearer " + o.token + "\r\n";
}

StatusOr<Target> Resolve(const std::string& url, const BenchOptions& o) {
  std::string rest = url;
  bool https = false;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  if (rest.rfind("https://", 0) == 0) rest = rest.substr(8), https = true;
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  std::string host = rest, port = "80";
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return InvalidArgument("no host in URL '" + url + "'");
  if (https && port == "80") port = "443";
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return InvalidArgument("cannot resolve '" + host + ":" + port + "'");
  }
  Target t;
  std::memcpy(&t.addr, res->ai_addr, sizeof(sockaddr_in));
  ::freeaddrinfo(res);
  t.host = rest;
  t.name = host;
  if (https) {
    t.tls = std::shared_ptr<SSL_CTX>(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
    SSL_CTX_set_min_proto_version(t.tls.get(), TLS1_2_VERSION);
    if (o.insecure) {
      SSL_CTX_set_verify(t.tls.get(), SSL_VERIFY_NONE, nullptr);
    } else {
      SSL_CTX_set_verify(t.tls.get(), SSL_VERIFY_PEER, nullptr);
      if (o.cacert.empty()) {
        SSL_CTX_set_default_verify_paths(t.tls.get());
      } else if (SSL_CTX_load_verify_locations(t.tls.get(), o.cacert.c_str(), nullptr) != 1) {
        return InvalidArgument("cannot read the CA file " + o.cacert);
      }
    }
  }
  return t;
}

std::string ModelPath(const BenchOptions& o) {
  return "/v2/models/" + o.model + (o.version ? "/versions/" + std::to_string(*o.version) : "");
}

// An infer request body with `batch` rows of random data, from the model's metadata. With
// `binary`, the data follows the JSON as raw bytes and *json_bytes is the JSON's length.
StatusOr<std::string> BuildRequest(const std::string& metadata, int64_t batch, bool binary,
                                   size_t* json_bytes) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(metadata).get(root) != simdjson::SUCCESS) {
    return base::Internal("the server's model metadata is not JSON");
  }
  simdjson::dom::array inputs;
  if (root["inputs"].get_array().get(inputs) != simdjson::SUCCESS) {
    return base::Internal("the model metadata has no inputs");
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> real(0.0, 1.0);
  std::string body = "{\"inputs\":[";
  std::string raw;
  bool first = true;
  for (simdjson::dom::element in : inputs) {
    std::string_view name, datatype;
    simdjson::dom::array shape;
    if (in["name"].get_string().get(name) || in["datatype"].get_string().get(datatype) ||
        in["shape"].get_array().get(shape)) {
      return base::Internal("malformed input in the model metadata");
    }
    std::vector<int64_t> dims;
    int64_t count = 1;
    for (simdjson::dom::element d : shape) {
      int64_t v = 0;
      if (d.get_int64().get(v)) return base::Internal("malformed shape in the model metadata");
      if (v < 0) v = dims.empty() ? batch : 1;
      dims.push_back(v);
      count *= v;
    }
    body += std::string(first ? "" : ",") + "{\"name\":\"" + std::string(name) +
            "\",\"datatype\":\"" + std::string(datatype) + "\",\"shape\":[";
    for (size_t i = 0; i < dims.size(); ++i) body += (i ? "," : "") + std::to_string(dims[i]);
    const bool integer = datatype.find("INT") != std::string_view::npos;
    const bool boolean = datatype == "BOOL";
    if (binary) {
      auto put = [&raw](const auto& v) {
        raw.append(reinterpret_cast<const char*>(&v), sizeof(v));
      };
      const size_t before = raw.size();
      for (int64_t i = 0; i < count; ++i) {
        const double v = real(rng);
        if (datatype == "FP32") {
          put(static_cast<float>(v));
        } else if (datatype == "FP64") {
          put(v);
        } else if (datatype == "INT64") {
          put(static_cast<int64_t>(v < 0.5 ? 0 : 1));
        } else if (datatype == "INT32") {
          put(static_cast<int32_t>(v < 0.5 ? 0 : 1));
        } else if (boolean || datatype == "UINT8" || datatype == "INT8") {
          put(static_cast<uint8_t>(v < 0.5 ? 0 : 1));
        } else {
          return InvalidArgument("--binary: datatype " + std::string(datatype) +
                                 " is not generated");
        }
      }
      body +=
          "],\"parameters\":{\"binary_data_size\":" + std::to_string(raw.size() - before) + "}}";
      first = false;
      continue;
    }
    body += "],\"data\":[";
    for (int64_t i = 0; i < count; ++i) {
      if (i) body += ',';
      const double v = real(rng);
      if (boolean) {
        body += v < 0.5 ? "false" : "true";
      } else if (integer) {
        body += v < 0.5 ? "0" : "1";
      } else {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.6g", v);
        body += buf;
      }
    }
    body += "]}";
    first = false;
  }
  body += binary ? "],\"parameters\":{\"binary_data_output\":true}}" : "]}";
  *json_bytes = body.size();
  return body + raw;
}

// HTTP/1.1 keep-alive connections posting the prepared body.
class HttpTransport final : public BenchTransport {
 public:
  HttpTransport(Target t, const BenchOptions& o, std::string body, std::string headers)
      : t_(std::move(t)),
        o_(o),
        target_(ModelPath(o) + "/infer"),
        body_(std::move(body)),
        headers_(std::move(headers)),
        auth_(AuthHeader(o)) {
    headers_ += auth_;
  }

  std::unique_ptr<BenchConnection> Connect() override {
    return std::make_unique<HttpConnection>(*this);
  }

  bool RunOpenLoop(const BenchOptions& o, int concurrency, BenchLevel* level) override;

  BenchServerStats Stats() override {
    BenchServerStats s;
    Connection c(t_);
    int status = 0;
    std::string body;
    if (!c.ok() || !c.Exchange("GET", ModelPath(o_) + "/stats", "", &status, &body, auth_) ||
        status != 200) {
      return s;
    }
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(body).get(root) != simdjson::SUCCESS) return s;
    simdjson::dom::array models;
    if (root["model_stats"].get_array().get(models) != simdjson::SUCCESS) return s;
    for (simdjson::dom::element m : models) {
      uint64_t v = 0;
      if (!m["inference_stats"]["success"]["count"].get_uint64().get(v)) s.success += double(v);
      if (!m["inference_stats"]["queue"]["ns"].get_uint64().get(v)) s.queue_ns += double(v);
      if (!m["inference_stats"]["compute_infer"]["ns"].get_uint64().get(v)) {
        s.compute_ns += double(v);
      }
    }
    s.ok = true;
    return s;
  }

 private:
  class HttpConnection final : public BenchConnection {
   public:
    explicit HttpConnection(const HttpTransport& t) : t_(t), c_(t.t_) {}
    bool ok() const override { return c_.ok(); }
    bool Send(std::string* error, bool* broken) override {
      int status = 0;
      if (!c_.Exchange("POST", t_.target_, t_.body_, &status, &answer_, t_.headers_)) {
        *error = "connection failed";
        *broken = true;
        return false;
      }
      if (status == 200) return true;
      *error = std::to_string(status) + " " + answer_.substr(0, 300);
      *broken = false;
      return false;
    }

   private:
    const HttpTransport& t_;
    Connection c_;
    std::string answer_;
  };

  Target t_;
  BenchOptions o_;
  std::string target_, body_, headers_, auth_;
};

double Percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  const size_t i = std::min(sorted.size() - 1, static_cast<size_t>(p * double(sorted.size())));
  return sorted[i];
}

// One thread, one epoll set over `concurrency` keep-alive connections. Requests are due at
// t0 + k / rate; a due request goes out on an idle connection, or waits for one, and its latency
// counts from when it was due (no coordinated omission). The loop polls without sleeping when
// the next request is due within 2 ms, so the client adds microseconds, not scheduler ticks.
bool HttpTransport::RunOpenLoop(const BenchOptions& o, int concurrency, BenchLevel* level) {
  struct Conn {
    int fd = -1;
    bool busy = false;
    Clock::time_point due;
    std::string in;
  };
  const std::string request = "POST " + target_ + " HTTP/1.1\r\nHost: " + t_.host +
                              "\r\nContent-Type: application/json\r\n" + headers_ +
                              "Content-Length: " + std::to_string(body_.size()) + "\r\n\r\n" +
                              body_;
  const int ep = ::epoll_create1(0);
  if (ep < 0) return false;
  std::vector<Conn> conns(static_cast<size_t>(concurrency));
  std::vector<size_t> idle;
  for (size_t i = 0; i < conns.size(); ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&t_.addr), sizeof(t_.addr))) {
      if (fd >= 0) ::close(fd);
      continue;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    conns[i].fd = fd;
    idle.push_back(i);
  }
  const auto interval =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1.0 / o.rate));
  const auto t0 = Clock::now();
  const auto m0 =
      t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.warmup));
  const auto m1 =
      m0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  // (Server statistics over warmup and measurement alike: a per-request average.)
  const BenchServerStats before = Stats();
  std::vector<double> latencies;
  std::deque<Clock::time_point> waiting;  // due, not yet sent (every connection busy)
  auto next = t0;
  size_t busy = 0;
  auto fail = [&](Conn& c, const std::string& why) {
    if (c.due >= m0 && c.due < m1 && level->errors++ == 0) level->first_error = why;
    ::close(c.fd);
    c.fd = -1;
    if (c.busy) --busy;
    c.busy = false;
  };
  epoll_event events[256];
  while (true) {
    const auto now = Clock::now();
    for (; next <= now && next < m1; next += interval) waiting.push_back(next);
    if (next >= m1 && waiting.empty() && busy == 0) break;
    if (now > m1 + std::chrono::seconds(5)) {  // answers that never come: count them, stop
      for (auto& c : conns) {
        if (c.busy) fail(c, "no answer within 5 s");
      }
      level->errors += waiting.size();
      break;
    }
    while (!waiting.empty() && !idle.empty()) {
      Conn& c = conns[idle.back()];
      idle.pop_back();
      if (c.fd < 0) continue;
      c.due = waiting.front();
      waiting.pop_front();
      size_t sent = 0;
      while (sent < request.size()) {
        ssize_t n = ::send(c.fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
          sent += static_cast<size_t>(n);
        } else if (n < 0 && errno != EAGAIN) {
          break;
        }
      }
      c.busy = true;
      ++busy;
      if (sent < request.size()) fail(c, "connection failed");
    }
    const auto until_next = next < m1 ? next - Clock::now() : std::chrono::milliseconds(10);
    const int timeout =
        until_next < std::chrono::milliseconds(2)
            ? 0
            : static_cast<int>(
                  std::chrono::duration_cast<std::chrono::milliseconds>(until_next).count() - 1);
    const int n = ::epoll_wait(ep, events, 256, timeout);
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[e].data.u64];
      char buf[65536];
      ssize_t got = ::recv(c.fd, buf, sizeof(buf), 0);
      if (got <= 0) {
        if (got < 0 && errno == EAGAIN) continue;
        fail(c, "connection closed by the server");
        continue;
      }
      c.in.append(buf, static_cast<size_t>(got));
      const size_t end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      std::string head = c.in.substr(0, end);
      std::transform(head.begin(), head.end(), head.begin(), ::tolower);
      size_t length = 0;
      if (auto p = head.find("\r\ncontent-length:"); p != std::string::npos) {
        length = static_cast<size_t>(std::strtoull(head.c_str() + p + 17, nullptr, 10));
      }
      if (c.in.size() < end + 4 + length) continue;
      const int status = head.size() > 12 ? std::atoi(head.c_str() + 9) : 0;
      const auto done = Clock::now();
      if (c.due >= m0 && c.due < m1) {
        if (status == 200) {
          latencies.push_back(std::chrono::duration<double, std::micro>(done - c.due).count());
        } else if (level->errors++ == 0) {
          level->first_error = std::to_string(status) + " " + c.in.substr(end + 4, 300);
        }
      }
      c.in.erase(0, end + 4 + length);
      c.busy = false;
      --busy;
      idle.push_back(events[e].data.u64);
    }
  }
  const BenchServerStats after = Stats();
  for (auto& c : conns) {
    if (c.fd >= 0) ::close(c.fd);
  }
  ::close(ep);
  std::sort(latencies.begin(), latencies.end());
  level->concurrency = concurrency;
  level->seconds = o.duration;
  level->ok = latencies.size();
  level->throughput = double(level->ok) / level->seconds;
  level->p50_us = Percentile(latencies, 0.50);
  level->p90_us = Percentile(latencies, 0.90);
  level->p99_us = Percentile(latencies, 0.99);
  level->max_us = latencies.empty() ? 0 : latencies.back();
  const double served = after.success - before.success;
  if (before.ok && after.ok && served > 0) {
    level->server_queue_us = (after.queue_ns - before.queue_ns) / served / 1e3;
    level->server_compute_us = (after.compute_ns - before.compute_ns) / served / 1e3;
  }
  return true;
}

BenchLevel RunLevel(BenchTransport& transport, const BenchOptions& o, int concurrency) {
  BenchLevel level;
  level.concurrency = concurrency;
  if (o.rate > 0 && transport.RunOpenLoop(o, concurrency, &level)) return level;
  std::atomic<bool> measuring{false}, stop{false};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(concurrency));
  std::vector<uint64_t> errors(static_cast<size_t>(concurrency), 0);
  std::vector<std::string> first_error(static_cast<size_t>(concurrency));
  const auto t0 = Clock::now();
  // Open loop: client i sends at t0 + (i + k * concurrency) / rate.
  const double interval = o.rate > 0 ? double(concurrency) / o.rate : 0;
  std::vector<std::thread> clients;
  for (int i = 0; i < concurrency; ++i) {
    clients.emplace_back([&, i] {
      auto c = transport.Connect();
      auto next = t0 + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(interval * i / concurrency));
      std::string error;
      while (!stop.load(std::memory_order_relaxed)) {
        auto start = Clock::now();
        if (interval > 0) {
          std::this_thread::sleep_until(next);
          start = next;  // latency counts from the schedule
          next +=
              std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
        }
        bool broken = !c->ok();
        if (broken) error = "connection failed";
        const bool ok = !broken && c->Send(&error, &broken);
        const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
        if (broken) c = transport.Connect();
        if (!measuring.load(std::memory_order_relaxed)) continue;
        if (ok) {
          latencies[static_cast<size_t>(i)].push_back(us);
        } else if (errors[static_cast<size_t>(i)]++ == 0) {
          first_error[static_cast<size_t>(i)] = error;
        }
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  const BenchServerStats before = transport.Stats();
  const auto m0 = Clock::now();
  measuring = true;
  std::this_thread::sleep_for(std::chrono::duration<double>(o.duration));
  measuring = false;
  const auto m1 = Clock::now();
  const BenchServerStats after = transport.Stats();
  stop = true;
  for (auto& c : clients) c.join();
  std::vector<double> all;
  for (size_t i = 0; i < latencies.size(); ++i) {
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
    level.errors += errors[i];
    if (level.first_error.empty()) level.first_error = first_error[i];
  }
  std::sort(all.begin(), all.end());
  level.seconds = std::chrono::duration<double>(m1 - m0).count();
  level.ok = all.size();
  level.throughput = double(level.ok) / level.seconds;
  level.p50_us = Percentile(all, 0.50);
  level.p90_us = Percentile(all, 0.90);
  level.p99_us = Percentile(all, 0.99);
  level.max_us = all.empty() ? 0 : all.back();
  const double served = after.success - before.success;
  if (before.ok && after.ok && served > 0) {
    level.server_queue_us = (after.queue_ns - before.queue_ns) / served / 1e3;
    level.server_compute_us = (after.compute_ns - before.compute_ns) / served / 1e3;
  }
  return level;
}

StatusOr<std::unique_ptr<BenchTransport>> MakeHttpTransport(const BenchOptions& o);

}  // namespace

StatusOr<std::vector<BenchLevel>> RunBench(const BenchOptions& o) {
  if (o.model.empty()) return InvalidArgument("--model is required");
  if (o.concurrency.empty()) return InvalidArgument("--concurrency needs at least one level");
  for (int c : o.concurrency) {
    if (c < 1 || c > 4096) return InvalidArgument("concurrency levels must be 1 to 4096");
  }
  if (o.duration <= 0 || o.warmup < 0 || o.rate < 0 || o.batch < 1) {
    return InvalidArgument("--duration must be > 0; --warmup, --rate >= 0; --batch >= 1");
  }
  std::unique_ptr<BenchTransport> transport;
  if (o.transport) {
    ASSIGN_OR_RETURN(transport, o.transport(o));
  } else {
    ASSIGN_OR_RETURN(transport, MakeHttpTransport(o));
  }
  std::vector<BenchLevel> levels;
  for (int concurrency : o.concurrency) levels.push_back(RunLevel(*transport, o, concurrency));
  return levels;
}

namespace {

StatusOr<std::unique_ptr<BenchTransport>> MakeHttpTransport(const BenchOptions& o) {
  ASSIGN_OR_RETURN(Target t, Resolve(o.url, o));
  if (t.tls && o.rate > 0) {
    return InvalidArgument(
        "--rate (the open loop) is for http:// servers; https runs closed loops");
  }
  Connection c(t);
  if (!c.ok()) {
    return base::Unavailable("cannot connect to " + o.url +
                             (t.tls ? " (TLS: check --cacert, or --insecure)" : ""));
  }
  int status = 0;
  std::string metadata;
  if (!c.Exchange("GET", ModelPath(o), "", &status, &metadata, AuthHeader(o))) {
    return base::Unavailable("no answer from " + o.url);
  }
  if (status == 404) return base::NotFound("the server has no model '" + o.model + "'");
  if (status != 200) {
    return base::Unavailable("model metadata: HTTP " + std::to_string(status) + " " + metadata);
  }
  size_t json_bytes = 0;
  ASSIGN_OR_RETURN(std::string body, BuildRequest(metadata, o.batch, o.binary, &json_bytes));
  std::string headers =
      o.binary ? "Inference-Header-Content-Length: " + std::to_string(json_bytes) + "\r\n" : "";
  return std::unique_ptr<BenchTransport>(
      std::make_unique<HttpTransport>(std::move(t), o, std::move(body), std::move(headers)));
}

}  // namespace

std::string LevelJson(const BenchOptions& o, const BenchLevel& l) {
  char buf[512];
  std::snprintf(buf, sizeof(buf),
                "{\"model\": \"%s\", \"batch\": %lld, \"binary\": %s, \"concurrency\": %d, "
                "\"rate\": %.1f, "
                "\"seconds\": %.2f, \"ok\": %llu, \"errors\": %llu, \"throughput\": %.1f, "
                "\"p50_us\": %.1f, \"p90_us\": %.1f, \"p99_us\": %.1f, \"max_us\": %.1f, "
                "\"server_queue_us\": %.1f, \"server_compute_us\": %.1f}",
                o.model.c_str(), static_cast<long long>(o.batch), o.binary ? "true" : "false",
                l.concurrency, o.rate, l.seconds, static_cast<unsigned long long>(l.ok),
                static_cast<unsigned long long>(l.errors), l.throughput, l.p50_us, l.p90_us,
                l.p99_us, l.max_us, l.server_queue_us, l.server_compute_us);
  return buf;
}

std::string TableHeader() {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%11s %12s %9s %9s %9s %9s %8s %10s %10s", "concurrency",
                "requests/s", "p50 us", "p90 us", "p99 us", "max us", "errors", "queue us",
                "compute us");
  return buf;
}

std::string TableRow(const BenchLevel& l) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%11d %12.1f %9.1f %9.1f %9.1f %9.1f %8llu %10.1f %10.1f",
                l.concurrency, l.throughput, l.p50_us, l.p90_us, l.p99_us, l.max_us,
                static_cast<unsigned long long>(l.errors), l.server_queue_us, l.server_compute_us);
  return buf;
}

}  // namespace inferd::tools
