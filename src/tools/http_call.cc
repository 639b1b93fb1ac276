#include "tools/http_call.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>

namespace inferd::tools {

base::StatusOr<HttpReply> HttpCall(const std::string& server, const std::string& method,
                                   const std::string& path, const std::string& body,
                                   const std::string& bearer) {
  std::string rest = server;
  if (rest.rfind("http://", 0) == 0) rest = rest.substr(7);
  if (rest.rfind("https://", 0) == 0) {
    return base::InvalidArgument("https is not supported yet: " + server);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) rest.resize(slash);
  std::string host = rest, port = "80";
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  if (host.empty()) return base::InvalidArgument("no host in '" + server + "'");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &res) != 0 || res == nullptr) {
    return base::InvalidArgument("cannot resolve '" + host + ":" + port + "'");
  }
  int fd = ::socket(res->ai_family, SOCK_STREAM, 0);
  if (fd >= 0) {  // a peer that stops answering does not hold the caller forever
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }
  const bool connected = fd >= 0 && ::connect(fd, res->ai_addr, res->ai_addrlen) == 0;
  ::freeaddrinfo(res);
  if (!connected) {
    if (fd >= 0) ::close(fd);
    return base::Unavailable("cannot connect to " + server + ": " + std::strerror(errno));
  }
  const std::string req = method + " " + path + " HTTP/1.1\r\nHost: " + rest +
                          "\r\nContent-Type: application/json\r\nConnection: close\r\n" +
                          (bearer.empty() ? "" : "Authorization: Bearer " + bearer + "\r\n") +
                          "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t sent = 0; sent < req.size();) {
    ssize_t n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return base::Unavailable("the connection to " + server + " failed");
    }
    sent += static_cast<size_t>(n);
  }
  std::string in;
  char buf[65536];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) in.append(buf, static_cast<size_t>(n));
  ::close(fd);
  const size_t end = in.find("\r\n\r\n");
  if (in.compare(0, 5, "HTTP/") != 0 || end == std::string::npos || in.size() < 12) {
    return base::Unavailable(server + " did not answer HTTP");
  }
  return HttpReply{std::atoi(in.c_str() + 9), in.substr(end + 4)};
}

}  // namespace inferd::tools
