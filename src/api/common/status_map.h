// The one mapping from base::StatusCode to HTTP status codes and gRPC codes.
// Thread-safety: pure functions.
#pragma once

#include "base/status.h"

namespace inferd::api {

int HttpStatusFor(base::StatusCode code);
// grpc::StatusCode numeric values (OK=0 ... UNAUTHENTICATED=16).
int GrpcCodeFor(base::StatusCode code);

}  // namespace inferd::api
