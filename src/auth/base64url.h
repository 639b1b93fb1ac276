// Base64 (RFC 4648): base64url (section 5), as JWTs and JWKS use it, with no padding on output;
// and standard base64 (section 4), padded on output, as AWS events carry binary bodies. Decoding
// accepts padding and refuses anything else outside the alphabet.
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace inferd::auth {

std::string Base64UrlEncode(std::string_view bytes);
std::optional<std::string> Base64UrlDecode(std::string_view text);

std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace inferd::auth
