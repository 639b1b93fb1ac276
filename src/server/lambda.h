// `inferd lambda`: AWS Lambda's custom runtime. The loop of the documented Runtime API
// (2018-06-01) on $AWS_LAMBDA_RUNTIME_API: GET .../runtime/invocation/next (the event, and the
// request id in Lambda-Runtime-Aws-Request-Id), then POST .../invocation/{id}/response or
// .../invocation/{id}/error; a failed start POSTs .../runtime/init/error and exits.
// Events are API Gateway proxy events (REST API, payload 1.0: httpMethod, path, ...), HTTP API
// and function URL events (payload 2.0: requestContext.http.method, rawPath, rawQueryString), run
// through the server's own routes (Server::Handle: /v2/..., /v1/...:predict, auth and limits
// included), and answered as proxy responses {statusCode, headers, body, isBase64Encoded}.
// Anything else is an invocation error (errorType InvalidEvent) naming what is missing.
// Thread-safety: RunLambda blocks; one invocation at a time, as Lambda sends them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "server/server.h"

namespace inferd::server {

// One event's answer: the proxy response JSON (ok), or an error (an invocation error).
base::StatusOr<std::string> HandleLambdaEvent(Server& server, std::string_view event);

// The runtime loop against `runtime_api` (host:port). Returns only when the Runtime API fails
// (UNAVAILABLE, naming the call). `invocations` > 0 stops after that many (tests).
base::Status RunLambda(Server& server, const std::string& runtime_api, int64_t invocations = 0);

// Reports a failed start to the Runtime API (POST /runtime/init/error).
base::Status ReportLambdaInitError(const std::string& runtime_api, const std::string& message);

}  // namespace inferd::server
