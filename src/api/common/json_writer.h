// JsonWriter: appends compact JSON to a string, fast enough for response bodies. The caller is
// responsible for well-formed nesting (Begin/End pairs, Key before values inside objects).
// Thread-safety: one writer per thread.
#pragma once

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>

namespace inferd::api {

class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject() { return Open('{'); }
  JsonWriter& EndObject() { return Close('}'); }
  JsonWriter& BeginArray() { return Open('['); }
  JsonWriter& EndArray() { return Close(']'); }
  JsonWriter& Key(std::string_view k) {
    Sep();
    String(k);
    *out_ += ':';
    after_key_ = true;
    return *this;
  }
  JsonWriter& Str(std::string_view s) {
    Sep();
    String(s);
    return *this;
  }
  JsonWriter& Bool(bool b) {
    Sep();
    *out_ += b ? "true" : "false";
    return *this;
  }
  JsonWriter& Null() {
    Sep();
    *out_ += "null";
    return *this;
  }
  template <typename T>
  JsonWriter& Number(T v) {
    Sep();
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(v)) {
        *out_ += "null";  // JSON has no NaN or Infinity
        return *this;
      }
    }
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out_->append(buf, r.ptr);
    return *this;
  }
  // Inserts already-serialized JSON as one value.
  JsonWriter& Raw(std::string_view json) {
    Sep();
    *out_ += json;
    return *this;
  }

 private:
  JsonWriter& Open(char c) {
    Sep();
    *out_ += c;
    first_ = true;
    return *this;
  }
  JsonWriter& Close(char c) {
    *out_ += c;
    first_ = false;
    return *this;
  }
  void Sep() {
    if (after_key_) {
      after_key_ = false;
      first_ = false;
      return;
    }
    if (!first_ && !out_->empty()) *out_ += ',';
    first_ = false;
  }
  // Length of the valid UTF-8 sequence starting at s[i] (0 when invalid: overlong, surrogate,
  // beyond U+10FFFF, or truncated).
  static size_t Utf8Length(std::string_view s, size_t i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 2;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 3;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + n > s.size()) return 0;
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    return n;
  }

  // Escapes as JSON requires; bytes that are not valid UTF-8 become U+FFFD, so the output is
  // always valid JSON text whatever a client put in a name or path.
  void String(std::string_view s) {
    *out_ += '"';
    for (size_t i = 0; i < s.size(); ++i) {
      // A run of bytes that need no escaping goes in with one append.
      size_t run = i;
      while (run < s.size()) {
        const auto b = static_cast<unsigned char>(s[run]);
        if (b < 0x20 || b >= 0x80 || b == '"' || b == '\\') break;
        ++run;
      }
      if (run > i) {
        out_->append(s.data() + i, run - i);
        i = run - 1;
        continue;
      }
      char ch = s[i];
      unsigned char c = static_cast<unsigned char>(ch);
      if (c >= 0x80) {
        size_t n = Utf8Length(s, i);
        if (n == 0) {
          *out_ += "\\ufffd";
        } else {
          out_->append(s.substr(i, n));
          i += n - 1;
        }
        continue;
      }
      switch (c) {
        case '"':
          *out_ += "\\\"";
          break;
        case '\\':
          *out_ += "\\\\";
          break;
        case '\n':
          *out_ += "\\n";
          break;
        case '\r':
          *out_ += "\\r";
          break;
        case '\t':
          *out_ += "\\t";
          break;
        default:
          if (c < 0x20) {
            static constexpr char kHex[] = "0123456789abcdef";
            *out_ += "\\u00";
            *out_ += kHex[c >> 4];
            *out_ += kHex[c & 15];
          } else {
            *out_ += ch;
          }
      }
    }
    *out_ += '"';
  }

  std::string* out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace inferd::api
