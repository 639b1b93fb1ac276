// Hexadecimal text for bytes (lower case out; either case in).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace inferd::base {

std::string HexEncode(const uint8_t* bytes, size_t n);
// Decodes exactly 2*n hex characters into `out[0..n)`; false (and `out` partly written) when
// `hex` has another length or a character that is not a hex digit.
bool HexDecode(std::string_view hex, uint8_t* out, size_t n);

}  // namespace inferd::base
