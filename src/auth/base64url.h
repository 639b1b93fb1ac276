// Base64url (RFC 4648 section 5), as JWTs and JWKS use it: no padding on output; decoding
// accepts padding and refuses anything else outside the alphabet.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace inferd::auth {

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace inferd::auth
