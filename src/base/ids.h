// Request ids: short random identifiers for responses that the client gave no id for.
// Thread-safety: thread-safe (a generator per thread).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace inferd::base {

// 32 lowercase hex characters: the wall clock in milliseconds (48 bits, so ids sort by time, as
// UUIDv7 does, and stores index them by appending) then 80 random bits.
std::string NewRequestId();

// The time in an id NewRequestId made, when the id is one and the time is plausible (after 2020,
// not far in the future).
std::optional<int64_t> RequestIdTimeMs(const std::string& id);

}  // namespace inferd::base
