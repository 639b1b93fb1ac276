#include "api/http/http_server.h"

// Asio needs <utility> first with g++ 12 in C++20 mode.
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on

#include <mutex>
#include <optional>
#include <thread>

#include "base/ids.h"
#include "base/logging.h"

namespace inferd::api::http {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace net = boost::asio;
using SteadyClock = std::chrono::steady_clock;
using tcp = net::ip::tcp;

class HttpServer::BeastServer {
 public:
  BeastServer(const HttpServerOptions& options, Handler handler)
      : options_(options), handler_(std::move(handler)) {}

  base::Status Listen();
  void Start();
  void Stop();
  uint16_t port() const { return port_; }

  const HttpServerOptions options_;
  const Handler handler_;
  std::atomic<int64_t> connections_{0};
  net::thread_pool* workers() { return workers_.get(); }

 private:
  void Accept(size_t i);
  int Threads() const {
    return options_.threads > 0
               ? options_.threads
               : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  std::unique_ptr<net::thread_pool> workers_;
  std::vector<std::unique_ptr<net::steady_timer>> accept_backoff_;
  std::atomic<int64_t> last_accept_error_log_{0};  // steady-clock ns of the last logged error

 public:
  std::atomic<int64_t> in_flight_{0};  // requests read and not yet answered
  std::atomic<bool> closing_{false};   // draining: answers close their connections
  void StopAccepting() {
    for (auto& acc : acceptors_) {
      auto* a = acc.get();
      net::post(a->get_executor(), [a] {
        beast::error_code ec;
        a->close(ec);
      });
    }
  }

 private:
  std::vector<std::unique_ptr<net::io_context>> contexts_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;  // one per context in per-core mode
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::BeastServer* server)
      : stream_(std::move(socket)), timer_(stream_.get_executor()), server_(server) {
    server_->connections_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    from_loopback_ = !ec && peer.address().is_loopback();
  }
  ~Session() { server_->connections_.fetch_sub(1, std::memory_order_relaxed); }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->ReadHeader(); });
  }

 private:
  const HttpServerOptions& opts() const { return server_->options_; }

  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(opts().max_header_bytes));
    parser_->body_limit(opts().max_request_bytes);
    ArmTimer(first_ || buffer_.size() > 0 ? opts().request_timeout : opts().idle_timeout);
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  // Deadlines run on their own timer (not the stream's), so that on expiry the socket stays open
  // for a 408 answer: the timer cancels the pending read, which then sees timed_out_.
  // The timer is lazy: a new phase only moves deadline_, and the pending wait, when it fires
  // before the deadline, waits again for the rest. Only a deadline earlier than the pending wait
  // resets the timer, so a keep-alive connection in steady state costs no timer call per request.
  void ArmTimer(std::chrono::milliseconds d) {
    timed_out_ = false;
    deadline_ = SteadyClock::now() + d;
    if (deadline_ < expiry_) Wait(deadline_);
  }
  // The current phase has no deadline any more (the request is read, or the connection closes).
  void DisarmTimer() { deadline_ = SteadyClock::time_point::max(); }

  void Wait(SteadyClock::time_point at) {
    expiry_ = at;
    timer_.expires_at(at);  // (a pending wait ends with operation_aborted)
    timer_.async_wait([self = shared_from_this(), at](beast::error_code ec) {
      if (ec || at != self->expiry_) return;  // replaced by an earlier wait, or closed
      self->expiry_ = SteadyClock::time_point::max();
      if (self->deadline_ == SteadyClock::time_point::max()) return;
      if (SteadyClock::now() < self->deadline_) return self->Wait(self->deadline_);
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    first_ = false;
    const auto& req = parser_->get();
    if (req.target().size() > opts().max_url_bytes) {
      return SendError(414, "request URL is " + std::to_string(req.target().size()) +
                                " bytes; the limit is " + std::to_string(opts().max_url_bytes));
    }
    ArmTimer(opts().request_timeout);
    auto expect = req[bhttp::field::expect];
    if (beast::iequals(expect, "100-continue") && !parser_->is_done()) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec) return self->OnReadError(ec);
                        self->DisarmTimer();
                        self->Handle();
                      });
  }

  void OnReadError(beast::error_code ec) {
    DisarmTimer();
    if (timed_out_) {
      // A stalled client: answer 408 if it had started a request, else just close.
      if (buffer_.size() > 0 || (parser_ && parser_->got_some())) {
        return SendError(408, "the request was not received within " +
                                  std::to_string(opts().request_timeout.count()) + " ms");
      }
      return Close();
    }
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return Close();
    }
    if (ec == bhttp::error::body_limit) {
      return SendError(413, "request body is over the limit of " +
                                std::to_string(opts().max_request_bytes) + " bytes");
    }
    if (ec == bhttp::error::header_limit) {
      // Is it the request line (URL) or the header block that is too long? Once the parser has
      // the request line, the header fields are to blame.
      std::string_view data(static_cast<const char*>(buffer_.data().data()), buffer_.size());
      auto eol = data.find("\r\n");
      bool line_parsed = !parser_->get().target().empty();
      if (!line_parsed && (eol == std::string_view::npos || eol > opts().max_url_bytes)) {
        return SendError(414, "request line is over the limit of " +
                                  std::to_string(opts().max_url_bytes) + " bytes");
      }
      return SendError(431, "request header block is over the limit of " +
                                std::to_string(opts().max_header_bytes) + " bytes");
    }
    SendError(400, "malformed HTTP request: " + ec.message());
  }

  void SendError(int status, const std::string& message) {
    LOG_DEBUG("HTTP {} to a malformed request: {}", status, message);
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(status));
    res->set(bhttp::field::server, "inferd");
    res->set(bhttp::field::content_type, "application/json");
    res->set(bhttp::field::connection, "close");
    res->set("inferd-request-id", base::NewRequestId());
    std::string body = "{\"error\":\"";
    for (char c : message) {
      if (c == '"' || c == '\\') body += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) body += c;
    }
    body += "\"}";
    res->body() = std::move(body);
    res->prepare_payload();
    ArmTimer(std::chrono::seconds(5));
    bhttp::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code, size_t) {
      self->LingeringClose();
    });
  }

  // After an error answer the client may still be sending: stop sending, then drain what arrives
  // for a moment, so that closing does not reset the connection before the client reads the
  // answer.
  void LingeringClose() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    ArmTimer(std::chrono::seconds(2));
    Drain();
  }

  void Drain() {
    drain_.resize(16384);
    stream_.async_read_some(net::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  // Runs the handler inline for small bodies, or on the worker pool for large ones (decoding a
  // large body must not stall the other connections of this event loop). The answer is written
  // on the connection's own executor: at once when the handler answered inline on the I/O
  // thread, else posted there.
  void Handle() {
    server_->in_flight_.fetch_add(1, std::memory_order_relaxed);
    if (parser_->get().body().size() >= opts().offload_body_bytes && server_->workers()) {
      net::post(*server_->workers(), [self = shared_from_this()] {
        if (self->RunHandler()) {
          net::post(self->stream_.get_executor(), [self] { self->Write(); });
        }
      });
      return;
    }
    if (RunHandler()) Write();
  }

  // Calls the handler; returns true when it answered before returning (hres_ then holds the
  // answer, to be written by the caller).
  bool RunHandler() {
    auto& req = parser_->get();
    HttpRequest hreq;
    hreq.method = req.method_string();
    hreq.target = req.target();
    hreq.body = req.body();
    hreq.header = [&req](std::string_view name) -> std::optional<std::string_view> {
      auto it = req.find(name);
      if (it == req.end()) return std::nullopt;
      return it->value();
    };
    hreq.from_loopback = from_loopback_;
    hres_ = HttpResponse();
    answered_inline_ = false;
    in_handler_ = true;
    {
      std::lock_guard<std::mutex> lock(respond_mu_);
      handler_running_ = true;
    }
    const auto handler_thread = std::this_thread::get_id();
    auto self = shared_from_this();
    // A response from the handler's own thread while it runs is kept for the caller to write.
    // One from another thread while the handler still runs is parked for it; one after it
    // returned is posted to the connection's executor (the session then has nothing else in
    // flight, so Write never runs alongside the handler). Only the handler's thread reads
    // in_handler_.
    Responder respond = [self, handler_thread](HttpResponse r) {
      if (std::this_thread::get_id() == handler_thread && self->in_handler_) {
        self->hres_ = std::move(r);
        self->answered_inline_ = true;
        return;
      }
      {
        std::lock_guard<std::mutex> lock(self->respond_mu_);
        if (self->handler_running_) {
          self->parked_ = std::move(r);
          return;
        }
      }
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
        self->hres_ = std::move(r);
        self->Write();
      });
    };
    try {
      server_->handler_(hreq, std::move(respond));
    } catch (const std::exception& e) {
      LOG_ERROR("request handler failed: {}", e.what());
      if (!answered_inline_) {
        hres_ = HttpResponse();
        hres_.status = 500;
        hres_.body = "{\"error\":\"internal error while handling the request\"}";
        answered_inline_ = true;
      }
    }
    in_handler_ = false;
    std::lock_guard<std::mutex> lock(respond_mu_);
    handler_running_ = false;
    if (parked_) {
      hres_ = std::move(*parked_);
      parked_.reset();
      answered_inline_ = true;
    }
    return answered_inline_;
  }

  void Write() {
    auto& req = parser_->get();
    res_.emplace();
    res_->version(req.version());
    res_->result(static_cast<unsigned>(hres_.status));
    res_->set(bhttp::field::server, "inferd");
    res_->set(bhttp::field::content_type, hres_.content_type);
    for (auto& [k, v] : hres_.headers) {
      // Header values come from clients at times (request ids): never let one break the framing.
      if (v.size() > 1024 || v.find_first_of("\r\n") != std::string::npos) continue;
      res_->set(k, v);
    }
    res_->keep_alive(req.keep_alive() && !server_->closing_.load(std::memory_order_relaxed));
    if (req.method() == bhttp::verb::head) {
      res_->content_length(hres_.body.size());  // what GET would send, without the body
    } else {
      res_->body() = std::move(hres_.body);
      res_->prepare_payload();
    }
    ArmTimer(opts().request_timeout);  // a client that does not read its answer is dropped
    bhttp::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->server_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
      if (ec || !self->res_->keep_alive()) return self->Close();
      self->ReadHeader();
    });
  }

  void Close() {
    DisarmTimer();
    expiry_ = SteadyClock::time_point::max();
    timer_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  bool timed_out_ = false;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();  // of the current phase
  SteadyClock::time_point expiry_ = SteadyClock::time_point::max();    // of the pending wait
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::optional<bhttp::response<bhttp::string_body>> res_;
  HttpResponse hres_;
  bool in_handler_ = false;       // the handler is running (read on its thread only)
  bool answered_inline_ = false;  // it answered before returning
  std::mutex respond_mu_;
  bool handler_running_ = false;        // guarded by respond_mu_
  std::optional<HttpResponse> parked_;  // guarded by respond_mu_: answered from another thread
                                        // while the handler still ran
  HttpServer::BeastServer* server_;
  bool from_loopback_ = false;
  bool first_ = true;
  std::vector<char> drain_;
};

}  // namespace

base::Status HttpServer::BeastServer::Listen() {
  int n = Threads();
  beast::error_code ec;
  auto addr = net::ip::make_address(options_.host, ec);
  if (ec) return base::InvalidArgument("invalid --host '" + options_.host + "': " + ec.message());
  int contexts = options_.io_mode == HttpServerOptions::IoMode::kPerCore ? n : 1;
  uint16_t port = options_.port;
  if (contexts > 1) {
    // SO_REUSEPORT would let a second server share the port silently: first bind once without
    // it, so a port in use is an error (and port 0 gets its number).
    net::io_context probe_context;
    tcp::acceptor probe(probe_context);
    tcp::endpoint ep(addr, port);
    probe.open(ep.protocol(), ec);
    if (!ec) probe.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) probe.bind(ep, ec);
    if (ec) {
      return base::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(port) +
                               ": " + ec.message());
    }
    port = probe.local_endpoint().port();
  }
  for (int i = 0; i < contexts; ++i) {
    contexts_.push_back(std::make_unique<net::io_context>(
        options_.io_mode == HttpServerOptions::IoMode::kPerCore ? 1 : n));
    auto acc = std::make_unique<tcp::acceptor>(*contexts_.back());
    tcp::endpoint ep(addr, port);
    acc->open(ep.protocol(), ec);
    if (!ec) acc->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec && contexts > 1) {
      int one = 1;
      ::setsockopt(acc->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    }
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return base::Unavailable("cannot listen on " + options_.host + ":" + std::to_string(port) +
                               ": " + ec.message());
    }
    port = acc->local_endpoint().port();
    acceptors_.push_back(std::move(acc));
  }
  port_ = port;
  return base::Status::Ok();
}

void HttpServer::BeastServer::Accept(size_t i) {
  auto& ioc = *contexts_[options_.io_mode == HttpServerOptions::IoMode::kPerCore ? i : 0];
  // One thread runs a per-core context, so its connections need no strand; the shared context's
  // threads do.
  auto executor = options_.io_mode == HttpServerOptions::IoMode::kPerCore
                      ? net::any_io_executor(ioc.get_executor())
                      : net::any_io_executor(net::make_strand(ioc));
  acceptors_[i]->async_accept(executor, [this, i](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of file descriptors or memory: back off instead of spinning on the error.
      int64_t now = std::chrono::steady_clock::now().time_since_epoch().count();
      int64_t last = last_accept_error_log_.load();
      if (now - last > 1'000'000'000 && last_accept_error_log_.compare_exchange_strong(last, now)) {
        LOG_WARN("accept failed: {} (open connections: {}); retrying in 100 ms", ec.message(),
                 connections_.load());
      }
      accept_backoff_[i]->expires_after(std::chrono::milliseconds(100));
      accept_backoff_[i]->async_wait([this, i](beast::error_code wait_ec) {
        if (!wait_ec) Accept(i);
      });
      return;
    }
    if (options_.max_connections > 0 && connections_.load() >= options_.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);  // over the cap: refuse at once rather than queue
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), this)->Run();
    }
    Accept(i);
  });
}

void HttpServer::BeastServer::Start() {
  if (started_) return;
  started_ = true;
  int n = Threads();
  workers_ = std::make_unique<net::thread_pool>(static_cast<size_t>(n));
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    accept_backoff_.push_back(std::make_unique<net::steady_timer>(acceptors_[i]->get_executor()));
    Accept(i);
  }
  for (int t = 0; t < n; ++t) {
    auto& ioc = *contexts_[contexts_.size() == 1 ? 0 : static_cast<size_t>(t)];
    threads_.emplace_back([&ioc] { ioc.run(); });
  }
}

void HttpServer::BeastServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    auto* acc = acceptors_[i].get();
    net::post(acc->get_executor(), [acc] {
      beast::error_code ec;
      acc->close(ec);
    });
  }
  for (auto& c : contexts_) c->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  if (workers_) workers_->join();  // tasks in flight finish; their writes are never run
}

void HttpServer::Drain(bool stop_accepting) {
  server_->closing_ = true;
  if (stop_accepting) server_->StopAccepting();
}

int64_t HttpServer::in_flight() const { return server_->in_flight_.load(); }

bool HttpServer::WaitIdle(std::chrono::milliseconds timeout) const {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (server_->in_flight_.load() > 0) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

HttpServer::HttpServer(std::unique_ptr<BeastServer> server) : server_(std::move(server)) {}
HttpServer::~HttpServer() { Stop(); }

base::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Create(const HttpServerOptions& options,
                                                               Handler handler) {
  auto s = std::make_unique<BeastServer>(options, std::move(handler));
  RETURN_IF_ERROR(s->Listen());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(s)));
}

void HttpServer::Start() { server_->Start(); }
void HttpServer::Stop() { server_->Stop(); }
uint16_t HttpServer::port() const { return server_->port(); }
int64_t HttpServer::open_connections() const {
  return server_->connections_.load(std::memory_order_relaxed);
}

}  // namespace inferd::api::http
