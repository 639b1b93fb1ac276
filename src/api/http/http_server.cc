#include "api/http/http_server.h"

// Asio needs <utility> first with g++ 12 in C++20 mode.
#include <utility>
// clang-format off
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <time.h>

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
namespace ssl = net::ssl;
using TlsStream = ssl::stream<tcp::socket>;

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

  // TLS: the context new connections use (null: plain HTTP); a reload swaps it, and connections
  // keep the one they started with.
  std::shared_ptr<ssl::context> Tls() const {
    std::lock_guard<std::mutex> lock(tls_mu_);
    return tls_;
  }
  void SetTls(std::shared_ptr<ssl::context> c) {
    std::lock_guard<std::mutex> lock(tls_mu_);
    tls_ = std::move(c);
  }

 private:
  mutable std::mutex tls_mu_;
  std::shared_ptr<ssl::context> tls_;

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

// The last OpenSSL error, readable ("no such file", "key values mismatch", ...).
std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// TLS 1.2 suites with forward secrecy and AEAD; TLS 1.3 keeps OpenSSL's (all AEAD).
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

base::StatusOr<std::shared_ptr<ssl::context>> MakeTlsContext(const TlsFiles& files) {
  ERR_clear_error();
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(
      c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_cipher_list(c, kTls12Ciphers) != 1) {
    return base::Internal("TLS ciphers: " + OpenSslError());
  }
  if (SSL_CTX_use_certificate_chain_file(c, files.cert_file.c_str()) != 1) {
    return base::InvalidArgument("TLS certificate " + files.cert_file + ": " + OpenSslError());
  }
  if (SSL_CTX_use_PrivateKey_file(c, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    const std::string why = OpenSslError();
    if (why.find("mismatch") != std::string::npos) {
      return base::InvalidArgument("TLS key " + files.key_file +
                                   " does not match the certificate " + files.cert_file);
    }
    return base::InvalidArgument("TLS key " + files.key_file + ": " + why);
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    return base::InvalidArgument("TLS key " + files.key_file + " does not match the certificate " +
                                 files.cert_file);
  }
  static const unsigned char kSessionContext[] = "inferd";
  SSL_CTX_set_session_id_context(c, kSessionContext, sizeof kSessionContext - 1);
  if (!files.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(c, files.client_ca_file.c_str(), nullptr) != 1) {
      return base::InvalidArgument("TLS client CA " + files.client_ca_file + ": " + OpenSslError());
    }
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str())) {
      SSL_CTX_set_client_CA_list(c, names);
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return ctx;
}

// Deadlines (seconds long) need no precise time: CLOCK_MONOTONIC_COARSE, read without a TSC
// read, on the same time base as steady_clock (CLOCK_MONOTONIC).
SteadyClock::time_point CoarseNow() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return SteadyClock::time_point(std::chrono::seconds(ts.tv_sec) +
                                 std::chrono::nanoseconds(ts.tv_nsec));
}

// What a request's parse leaves, per connection and reused from request to request: the request
// line and header fields as offsets into one string, and the body (capacity kept, so a
// keep-alive connection in steady state allocates nothing here).
struct RequestData {
  bhttp::verb method = bhttp::verb::unknown;
  unsigned version = 11;
  bool line_seen = false;
  std::string text;  // method, target, then each field's name and value
  struct Span {
    uint32_t at = 0, size = 0;
  };
  Span method_str, target;
  struct Field {
    Span name, value;
  };
  std::vector<Field> fields;
  std::string body;

  void Clear() {
    method = bhttp::verb::unknown;
    line_seen = false;
    text.clear();
    fields.clear();
    body.clear();
  }
  std::string_view View(Span s) const { return std::string_view(text).substr(s.at, s.size); }
  Span Add(std::string_view v) {
    Span s{static_cast<uint32_t>(text.size()), static_cast<uint32_t>(v.size())};
    text.append(v);
    return s;
  }
  std::optional<std::string_view> Header(std::string_view name) const {
    for (const auto& f : fields) {
      if (beast::iequals(View(f.name), name)) return View(f.value);
    }
    return std::nullopt;
  }
};

// Beast's HTTP/1.1 parser (limits, chunked bodies, keep-alive rules) writing into RequestData.
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  explicit RequestParser(RequestData* data) : d_(*data) { d_.Clear(); }

 private:
  void on_request_impl(bhttp::verb method, beast::string_view method_str, beast::string_view target,
                       int version, beast::error_code&) override {
    d_.method = method;
    d_.version = static_cast<unsigned>(version);
    d_.method_str = d_.Add(std::string_view(method_str.data(), method_str.size()));
    d_.target = d_.Add(std::string_view(target.data(), target.size()));
    d_.line_seen = true;
  }
  void on_response_impl(int, beast::string_view, int, beast::error_code& ec) override {
    ec = bhttp::error::bad_method;  // never: this parses requests
  }
  void on_field_impl(bhttp::field, beast::string_view name, beast::string_view value,
                     beast::error_code&) override {
    RequestData::Field f;
    f.name = d_.Add(std::string_view(name.data(), name.size()));
    f.value = d_.Add(std::string_view(value.data(), value.size()));
    d_.fields.push_back(f);
  }
  void on_header_impl(beast::error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         beast::error_code&) override {
    if (length) d_.body.reserve(static_cast<size_t>(*length));
  }
  size_t on_body_impl(beast::string_view body, beast::error_code&) override {
    d_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
  size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
    d_.body.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(beast::error_code&) override {}

  RequestData& d_;
};

// One connection. Requests are parsed by Beast's parser straight from the connection's buffer
// (no composed read operations), and answers are serialized here: a small answer is one string
// sent at once on the non-blocking socket, a large one a gather write of header and body. Per
// request, a read and a write syscall and no allocation beyond the message itself once the
// connection's buffers have grown.
// Stream is tcp::socket (HTTP) or TlsStream (HTTPS: the TLS handshake comes first, and answers
// are written with asynchronous writes through the TLS layer).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  using std::enable_shared_from_this<Session<Stream>>::shared_from_this;

  Session(tcp::socket&& socket, HttpServer::BeastServer* server,
          std::shared_ptr<ssl::context> tls = nullptr)
      : tls_(std::move(tls)),
        socket_(MakeStream(std::move(socket), tls_.get())),
        timer_(socket_.get_executor()),
        server_(server) {
    server_->connections_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    const auto peer = Sock().remote_endpoint(ec);
    from_loopback_ = !ec && peer.address().is_loopback();
    if (!ec) peer_ = peer.address().to_string();
    Sock().non_blocking(true, ec);  // (write_some in Write never blocks the event loop)
  }
  ~Session() { server_->connections_.fetch_sub(1, std::memory_order_relaxed); }

  static constexpr size_t kInlineBodyBytes = 16 << 10;

  void Run() {
    net::dispatch(socket_.get_executor(), [self = shared_from_this()] {
      if constexpr (kTls) {
        // The handshake has the request timeout; a client that fails it is dropped.
        self->ArmTimer(self->opts().request_timeout);
        self->socket_.async_handshake(ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) {
            LOG_DEBUG("TLS handshake with {} failed: {}", self->peer_, ec.message());
            return self->Close();
          }
          self->StartRequest();
        });
      } else {
        self->StartRequest();
      }
    });
  }

 private:
  static Stream MakeStream(tcp::socket&& socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return std::move(socket);
    }
  }
  tcp::socket& Sock() {
    if constexpr (kTls) {
      return socket_.next_layer();
    } else {
      return socket_;
    }
  }

  const HttpServerOptions& opts() const { return server_->options_; }

  // A new request: a fresh parser over what is already buffered (pipelined requests), else a read.
  void StartRequest() {
    parser_.emplace(&req_);
    parser_->header_limit(static_cast<uint32_t>(opts().max_header_bytes));
    parser_->body_limit(opts().max_request_bytes);
    parser_->eager(true);
    header_seen_ = false;
    ArmTimer(first_ || buffer_.size() > 0 ? opts().request_timeout : opts().idle_timeout);
    Parse();
  }

  // Feeds the buffered bytes to the parser; reads more while the request is incomplete.
  void Parse() {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      beast::error_code ec;
      const size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == bhttp::error::need_more) break;
      if (ec) return OnReadError(ec);
      if (!header_seen_ && parser_->is_header_done()) {
        header_seen_ = true;
        if (!OnHeader()) return;
      }
      if (used == 0) break;
    }
    if (parser_->is_done()) {
      DisarmTimer();
      return Handle();
    }
    Read();
  }

  void Read() {
    // Room for a typical request at once (larger reads once a body is coming); the buffer keeps
    // its size across requests.
    const size_t want = parser_->is_header_done() ? 65536 : 4096;
    auto space = buffer_.prepare(std::max(want, buffer_.capacity() - buffer_.size()));
    socket_.async_read_some(space, [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) return self->OnReadError(ec);
      self->buffer_.commit(n);
      self->Parse();
    });
  }

  // Deadlines run on their own timer, so that on expiry the socket stays open for a 408 answer:
  // the timer cancels the pending read, which then sees timed_out_.
  // The timer is lazy: a new phase only moves deadline_, and the pending wait, when it fires
  // before the deadline, waits again for the rest. Only a deadline earlier than the pending wait
  // resets the timer, so a keep-alive connection in steady state costs no timer call per request.
  void ArmTimer(std::chrono::milliseconds d) {
    timed_out_ = false;
    deadline_ = CoarseNow() + d;
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
      self->Sock().cancel(ignored);
    });
  }

  // The request line and headers are in: checks the URL, answers Expect: 100-continue. Returns
  // false when an answer (or a write) has taken over the connection.
  bool OnHeader() {
    first_ = false;
    // Beast enforces its header limit on what one parse call scans; a block that arrived whole
    // is measured here (the request line and each field with its ": " and CRLF).
    if (const size_t block = req_.text.size() + 4 * req_.fields.size() + 16;
        block > opts().max_header_bytes) {
      SendError(431, "request header block is over the limit of " +
                         std::to_string(opts().max_header_bytes) + " bytes");
      return false;
    }
    if (req_.target.size > opts().max_url_bytes) {
      SendError(414, "request URL is " + std::to_string(req_.target.size) +
                         " bytes; the limit is " + std::to_string(opts().max_url_bytes));
      return false;
    }
    ArmTimer(opts().request_timeout);
    if (!parser_->is_done() && beast::iequals(req_.Header("Expect").value_or(""), "100-continue")) {
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(socket_, net::buffer(kContinue),
                       [self = shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->Parse();
                       });
      return false;
    }
    return true;
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
    if (ec == net::error::eof && parser_ && (parser_->got_some() || buffer_.size() > 0)) {
      return Close();  // the client gave up mid-request: nobody to answer
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
      bool line_parsed = req_.line_seen;
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
    std::string body = "{\"error\":\"";
    for (char c : message) {
      if (c == '"' || c == '\\') body += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) body += c;
    }
    body += "\"}";
    hres_ = HttpResponse();
    hres_.status = status;
    hres_.body = std::move(body);
    hres_.headers.emplace_back("inferd-request-id", base::NewRequestId());
    Serialize(/*version=*/11, /*keep_alive=*/false, /*head=*/false);
    ArmTimer(std::chrono::seconds(5));
    net::async_write(
        socket_, std::array<net::const_buffer, 2>{net::buffer(head_), net::buffer(hres_.body)},
        [self = shared_from_this()](beast::error_code, size_t) { self->LingeringClose(); });
  }

  // After an error answer the client may still be sending: stop sending, then drain what arrives
  // for a moment, so that closing does not reset the connection before the client reads the
  // answer.
  void LingeringClose() {
    beast::error_code ec;
    Sock().shutdown(tcp::socket::shutdown_send, ec);
    ArmTimer(std::chrono::seconds(2));
    Drain();
  }

  void Drain() {
    drain_.resize(16384);
    Sock().async_read_some(net::buffer(drain_),
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
    if (req_.body.size() >= opts().offload_body_bytes && server_->workers()) {
      net::post(*server_->workers(), [self = shared_from_this()] {
        if (self->RunHandler()) {
          net::post(self->socket_.get_executor(), [self] { self->Write(); });
        }
      });
      return;
    }
    if (RunHandler()) Write();
  }

  // Calls the handler; returns true when it answered before returning (hres_ then holds the
  // answer, to be written by the caller).
  bool RunHandler() {
    HttpRequest hreq;
    hreq.method = req_.View(req_.method_str);
    hreq.target = req_.View(req_.target);
    hreq.body = req_.body;
    const RequestData* req = &req_;
    hreq.header = [req](std::string_view name) { return req->Header(name); };
    hreq.from_loopback = from_loopback_;
    hreq.peer = peer_;
    hres_ = HttpResponse();
    answered_inline_ = false;
    in_handler_ = true;
    {
      std::lock_guard<std::mutex> lock(respond_mu_);
      handler_running_ = true;
    }
    handler_thread_ = std::this_thread::get_id();
    // A response from the handler's own thread while it runs is kept for the caller to write.
    // One from another thread while the handler still runs is parked for it; one after it
    // returned is posted to the connection's executor (the session then has nothing else in
    // flight, so Write never runs alongside the handler). Only the handler's thread reads
    // in_handler_.
    Responder respond = [self = shared_from_this()](HttpResponse r) {
      if (std::this_thread::get_id() == self->handler_thread_ && self->in_handler_) {
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
      net::post(self->socket_.get_executor(), [self, r = std::move(r)]() mutable {
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

  // The status line and headers of hres_ into head_.
  void Serialize(unsigned version, bool keep_alive, bool head) {
    head_.clear();
    head_ += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    head_ += std::to_string(hres_.status);
    head_ += ' ';
    const auto reason = bhttp::obsolete_reason(static_cast<bhttp::status>(hres_.status));
    head_.append(reason.data(), reason.size());
    head_ += "\r\nServer: inferd\r\nContent-Type: ";
    head_ += hres_.content_type;
    head_ += "\r\nContent-Length: ";
    head_ += std::to_string(hres_.body.size());  // HEAD: what GET would send, without the body
    head_ += "\r\n";
    for (const auto& [k, v] : hres_.headers) {
      // Header values come from clients at times (request ids): never let one break the framing.
      if (v.size() > 1024 || v.find_first_of("\r\n") != std::string::npos ||
          k.find_first_of("\r\n:") != std::string::npos) {
        continue;
      }
      head_ += k;
      head_ += ": ";
      head_ += v;
      head_ += "\r\n";
    }
    if (!keep_alive) {
      head_ += "Connection: close\r\n";
    } else if (version == 10) {
      head_ += "Connection: keep-alive\r\n";
    }
    head_ += "\r\n";
    if (head) hres_.body.clear();
  }

  void Write() {
    keep_alive_ = parser_->keep_alive() && !server_->closing_.load(std::memory_order_relaxed);
    Serialize(req_.version, keep_alive_, req_.method == bhttp::verb::head);
    // A small answer goes out in one buffer, written at once when the socket takes it (the usual
    // case): no write operation, no trip through the event loop's queue.
    if (hres_.body.size() <= kInlineBodyBytes) {
      head_ += hres_.body;
      hres_.body.clear();
    }
    if (hres_.body.empty() && !kTls) {
      beast::error_code ec;
      const size_t n = Sock().write_some(net::buffer(head_), ec);
      if (!ec && n == head_.size()) return Written(/*inline_write=*/true);
      if (ec && ec != net::error::would_block && ec != net::error::try_again) {
        server_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
        return Close();
      }
      head_.erase(0, ec ? 0 : n);
    }
    ArmTimer(opts().request_timeout);  // a client that does not read its answer is dropped
    net::async_write(socket_,
                     std::array<net::const_buffer, 2>{net::buffer(head_), net::buffer(hres_.body)},
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) {
                         self->server_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
                         return self->Close();
                       }
                       self->Written(/*inline_write=*/false);
                     });
  }

  // The answer is out: next request, or close.
  void Written(bool inline_write) {
    server_->in_flight_.fetch_sub(1, std::memory_order_relaxed);
    if (!keep_alive_) return Close();
    // Pipelined requests already buffered are started from the event loop, so that a long
    // pipeline does not recurse through inline writes.
    if (inline_write && buffer_.size() > 0) {
      return net::post(socket_.get_executor(),
                       [self = shared_from_this()] { self->StartRequest(); });
    }
    StartRequest();
  }

  void Close() {
    DisarmTimer();
    expiry_ = SteadyClock::time_point::max();
    timer_.cancel();
    beast::error_code ec;
    Sock().shutdown(tcp::socket::shutdown_send, ec);
    Sock().close(ec);
  }

  std::shared_ptr<ssl::context> tls_;  // (kept alive for the connection's TLS state)
  Stream socket_;
  net::steady_timer timer_;
  bool timed_out_ = false;
  SteadyClock::time_point deadline_ = SteadyClock::time_point::max();  // of the current phase
  SteadyClock::time_point expiry_ = SteadyClock::time_point::max();    // of the pending wait
  beast::flat_buffer buffer_;
  RequestData req_;
  std::optional<RequestParser> parser_;
  bool header_seen_ = false;
  HttpResponse hres_;
  std::string head_;  // the answer's status line and headers
  bool keep_alive_ = true;
  bool in_handler_ = false;       // the handler is running (read on its thread only)
  bool answered_inline_ = false;  // it answered before returning
  std::thread::id handler_thread_;
  std::mutex respond_mu_;
  bool handler_running_ = false;        // guarded by respond_mu_
  std::optional<HttpResponse> parked_;  // guarded by respond_mu_: answered from another thread
                                        // while the handler still ran
  HttpServer::BeastServer* server_;
  bool from_loopback_ = false;
  std::string peer_;
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
      if (auto tls = Tls()) {
        std::make_shared<Session<TlsStream>>(std::move(socket), this, std::move(tls))->Run();
      } else {
        std::make_shared<Session<tcp::socket>>(std::move(socket), this)->Run();
      }
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
    const bool own_loop = contexts_.size() > 1 || n == 1;
    threads_.emplace_back([this, &ioc, own_loop] {
      if (own_loop && options_.on_loop_thread) {
        options_.on_loop_thread(
            [&ioc](std::function<void()> task) { net::post(ioc, std::move(task)); });
      }
      ioc.run();
    });
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
  if (options.tls) {
    ASSIGN_OR_RETURN(auto ctx, MakeTlsContext(*options.tls));
    s->SetTls(std::move(ctx));
  }
  RETURN_IF_ERROR(s->Listen());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(s)));
}

base::Status HttpServer::ReloadTls() {
  if (!server_->options_.tls) return base::Status::Ok();
  ASSIGN_OR_RETURN(auto ctx, MakeTlsContext(*server_->options_.tls));
  server_->SetTls(std::move(ctx));
  return base::Status::Ok();
}

void HttpServer::Start() { server_->Start(); }
void HttpServer::Stop() { server_->Stop(); }
uint16_t HttpServer::port() const { return server_->port(); }
int64_t HttpServer::open_connections() const {
  return server_->connections_.load(std::memory_order_relaxed);
}

}  // namespace inferd::api::http
