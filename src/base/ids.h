// Request ids: short random identifiers for responses that the client gave no id for.
// Thread-safety: thread-safe (a generator per thread).
#pragma once

#include <string>

namespace inferd::base {

// 32 lowercase hex characters: the wall clock in milliseconds (48 bits, so ids sort by time, as
// UUIDv7 does, and stores index them by appending) then 80 random bits.
std::string NewRequestId();

}  // namespace inferd::base
