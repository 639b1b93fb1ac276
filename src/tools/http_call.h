// One HTTP/1.1 request to a running server (the CLI's management commands).
// Thread-safety: a pure function over a socket of its own.
#pragma once

#include <string>

#include "base/status.h"

namespace inferd::tools {

struct HttpReply {
  int status = 0;
  std::string body;
};

// `server`: http://host:port (the scheme may be left out). `bearer`, when not empty, is sent as
// `Authorization: Bearer ...` (an API key or a JWT). Errors: INVALID_ARGUMENT for a bad URL;
// UNAVAILABLE when the server cannot be reached or answers something that is not HTTP.
base::StatusOr<HttpReply> HttpCall(const std::string& server, const std::string& method,
                                   const std::string& path, const std::string& body = "",
                                   const std::string& bearer = "");

}  // namespace inferd::tools
