#include "server/lambda.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <future>
#include <map>
#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "base/logging.h"

namespace inferd::server {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

constexpr const char* kApi = "/2018-06-01/runtime";

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A blocking HTTP/1.1 client on one keep-alive connection to the Runtime API.
class RuntimeClient {
 public:
  explicit RuntimeClient(std::string api) : api_(std::move(api)) {}
  ~RuntimeClient() { Close(); }

  struct Reply {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
  };

  StatusOr<Reply> Call(const std::string& method, const std::string& path,
                       const std::string& body = "", const std::string& extra_header = "") {
    // A connection the runtime closed is opened again, once.
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (fd_ < 0) RETURN_IF_ERROR(Connect());
      std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + api_ +
                        "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" +
                        (body.empty() ? "" : "Content-Type: application/json\r\n") + extra_header +
                        "\r\n" + body;
      if (!SendAll(req)) {
        Close();
        continue;
      }
      auto reply = Read();
      if (reply.ok() || attempt == 1) return reply;
      Close();
    }
    return base::Unavailable("the Runtime API at " + api_ + " closed the connection");
  }

 private:
  Status Connect() {
    const size_t colon = api_.rfind(':');
    if (colon == std::string::npos) {
      return InvalidArgument("AWS_LAMBDA_RUNTIME_API '" + api_ + "' is not host:port");
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_socktype = SOCK_STREAM;
    const std::string host = api_.substr(0, colon), port = api_.substr(colon + 1);
    if (getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
      return base::Unavailable("cannot resolve the Runtime API " + api_);
    }
    fd_ = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    const int rc = fd_ < 0 ? -1 : connect(fd_, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0) {
      Close();
      return base::Unavailable("cannot connect to the Runtime API " + api_);
    }
    return Status::Ok();
  }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.clear();
  }
  bool SendAll(const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    return true;
  }
  bool Fill() {
    char chunk[65536];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  StatusOr<Reply> Read() {
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (buffer_.size() > (1 << 20) || !Fill()) {
        return base::Unavailable("the Runtime API closed the connection");
      }
    }
    Reply r;
    const std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) {
      return base::Unavailable("the Runtime API answered '" + status_line + "'");
    }
    r.status = std::atoi(status_line.c_str() + 9);
    for (size_t pos = line_end; pos != std::string::npos && pos < head.size();) {
      const size_t next = head.find("\r\n", pos + 2);
      const std::string line =
          head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        r.headers[Lower(line.substr(0, colon))] = value;
      }
      pos = next;
    }
    const size_t length = r.headers.contains("content-length")
                              ? static_cast<size_t>(std::stoull(r.headers["content-length"]))
                              : 0;
    if (length > (size_t{1} << 30))
      return base::Unavailable("the Runtime API's answer is too large");
    while (buffer_.size() < length) {
      if (!Fill()) return base::Unavailable("the Runtime API closed the connection mid-answer");
    }
    r.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return r;
  }

  std::string api_;
  int fd_ = -1;
  std::string buffer_;
};

std::string PercentEncode(const std::string& s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Text(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

}  // namespace

StatusOr<std::string> HandleLambdaEvent(Server& server, std::string_view event) {
  const nlohmann::json e = nlohmann::json::parse(event, nullptr, false);
  if (!e.is_object()) return InvalidArgument("the event is not a JSON object");
  std::string method, path, query;
  if (e.contains("requestContext") && e["requestContext"].is_object() &&
      e["requestContext"].contains("http") && e["requestContext"]["http"].is_object()) {
    // HTTP API / function URL, payload 2.0.
    method = Text(e["requestContext"]["http"], "method");
    path = Text(e, "rawPath");
    if (path.empty()) path = Text(e["requestContext"]["http"], "path");
    query = Text(e, "rawQueryString");
  } else if (e.contains("httpMethod")) {
    // API Gateway REST API, payload 1.0.
    method = Text(e, "httpMethod");
    path = Text(e, "path");
    auto add = [&](const std::string& k, const std::string& v) {
      query += (query.empty() ? "" : "&") + PercentEncode(k) + "=" + PercentEncode(v);
    };
    if (e.contains("multiValueQueryStringParameters") &&
        e["multiValueQueryStringParameters"].is_object()) {
      for (auto it = e["multiValueQueryStringParameters"].begin();
           it != e["multiValueQueryStringParameters"].end(); ++it) {
        if (!it->is_array()) continue;
        for (const auto& v : *it) {
          if (v.is_string()) add(it.key(), v.get<std::string>());
        }
      }
    } else if (e.contains("queryStringParameters") && e["queryStringParameters"].is_object()) {
      for (auto it = e["queryStringParameters"].begin(); it != e["queryStringParameters"].end();
           ++it) {
        if (it->is_string()) add(it.key(), it->get<std::string>());
      }
    }
  } else {
    return InvalidArgument(
        "the event is not an API Gateway or function URL request (no httpMethod, and no "
        "requestContext.http)");
  }
  if (method.empty() || path.empty() || path[0] != '/') {
    return InvalidArgument("the event names no method or no path");
  }
  std::map<std::string, std::string> headers;
  if (e.contains("headers") && e["headers"].is_object()) {
    for (auto it = e["headers"].begin(); it != e["headers"].end(); ++it) {
      if (it->is_string()) headers[Lower(it.key())] = it->get<std::string>();
    }
  }
  std::string body = Text(e, "body");
  if (e.contains("isBase64Encoded") && e["isBase64Encoded"].is_boolean() &&
      e["isBase64Encoded"].get<bool>()) {
    auto decoded = auth::Base64Decode(body);
    if (!decoded) return InvalidArgument("the body is not base64");
    body = std::move(*decoded);
  }
  const std::string target = path + (query.empty() ? "" : "?" + query);
  api::http::HttpRequest req;
  req.method = method;
  req.target = target;
  req.body = body;
  req.header = [&headers](std::string_view name) -> std::optional<std::string_view> {
    auto it = headers.find(Lower(std::string(name)));
    if (it == headers.end()) return std::nullopt;
    return std::string_view(it->second);
  };
  req.from_loopback = false;
  req.peer = "lambda";
  std::promise<api::http::HttpResponse> answered;
  auto future = answered.get_future();
  server.Handle(req, [&answered](api::http::HttpResponse r) { answered.set_value(std::move(r)); });
  const api::http::HttpResponse r = future.get();
  nlohmann::json out;
  out["statusCode"] = r.status;
  nlohmann::json h = nlohmann::json::object();
  h["content-type"] = r.content_type;
  for (const auto& [k, v] : r.headers) h[Lower(k)] = v;
  out["headers"] = h;
  // JSON and text go as they are; anything else (the binary tensor extension's answers) in base64,
  // as the proxy response's body is a JSON string.
  const bool text = r.content_type.starts_with("application/json") ||
                    r.content_type.starts_with("text/") || r.body.empty();
  out["body"] = text ? r.body : auth::Base64Encode(r.body);
  out["isBase64Encoded"] = !text;
  return out.dump();
}

Status RunLambda(Server& server, const std::string& runtime_api, int64_t invocations) {
  RuntimeClient client(runtime_api);
  for (int64_t n = 0; invocations == 0 || n < invocations; ++n) {
    ASSIGN_OR_RETURN(auto next, client.Call("GET", std::string(kApi) + "/invocation/next"));
    if (next.status != 200) {
      return base::Unavailable("GET invocation/next answered " + std::to_string(next.status) +
                               ": " + next.body);
    }
    const std::string id = next.headers["lambda-runtime-aws-request-id"];
    if (id.empty()) {
      return base::Unavailable("the invocation has no Lambda-Runtime-Aws-Request-Id");
    }
    auto answer = HandleLambdaEvent(server, next.body);
    StatusOr<RuntimeClient::Reply> posted = base::Internal("not posted");
    if (answer.ok()) {
      posted = client.Call("POST", std::string(kApi) + "/invocation/" + id + "/response", *answer);
    } else {
      const std::string error = nlohmann::json({{"errorMessage", answer.status().message()},
                                                {"errorType", "InvalidEvent"}})
                                    .dump();
      posted = client.Call("POST", std::string(kApi) + "/invocation/" + id + "/error", error,
                           "Lambda-Runtime-Function-Error-Type: InvalidEvent\r\n");
    }
    if (!posted.ok()) return posted.status();
    if (posted->status / 100 != 2) {
      LOG_WARN("the Runtime API refused the answer to {}: {} {}", id, posted->status, posted->body);
    }
  }
  return Status::Ok();
}

Status ReportLambdaInitError(const std::string& runtime_api, const std::string& message) {
  RuntimeClient client(runtime_api);
  const std::string error =
      nlohmann::json({{"errorMessage", message}, {"errorType", "InitError"}}).dump();
  ASSIGN_OR_RETURN(auto r, client.Call("POST", std::string(kApi) + "/init/error", error,
                                       "Lambda-Runtime-Function-Error-Type: InitError\r\n"));
  if (r.status / 100 != 2)
    return base::Unavailable("init/error answered " + std::to_string(r.status));
  return Status::Ok();
}

}  // namespace inferd::server
