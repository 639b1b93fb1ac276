// Request ids: short random identifiers for responses that the client gave no id for.
// Thread-safety: thread-safe (a generator per thread).
#pragma once

#include <string>

namespace inferd::base {

// 32 lowercase hex characters (128 random bits).
std::string NewRequestId();

}  // namespace inferd::base
