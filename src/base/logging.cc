#include "base/logging.h"

#include <spdlog/sinks/base_sink.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <mutex>
#include <string>

namespace inferd::base {

namespace {

bool TokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '=' || c == '+' || c == '/' || c == '~';
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

// Writes formatted lines, redacted, to stderr.
class RedactingStderrSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    const std::string line = RedactSecrets(std::string_view(formatted.data(), formatted.size()));
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

std::string RedactSecrets(std::string_view t) {
  std::string out;
  out.reserve(t.size());
  size_t i = 0;
  auto skip_token = [&](size_t from) {
    size_t j = from;
    while (j < t.size() && TokenChar(t[j])) ++j;
    return j;
  };
  while (i < t.size()) {
    const std::string_view rest = t.substr(i);
    const bool boundary = i == 0 || !TokenChar(t[i - 1]);
    // Header-like "name: value" and "Bearer value" / "Basic value": the value goes.
    bool masked = false;
    for (std::string_view prefix :
         {"bearer ", "basic ", "x-api-key: ", "x-api-key=", "authorization: ", "token="}) {
      if (boundary && StartsWithNoCase(rest, prefix)) {
        size_t j = i + prefix.size();
        while (j < t.size() && t[j] == ' ') ++j;
        if (prefix == "authorization: ") {
          out.append(rest.substr(0, prefix.size()));
          i += prefix.size();
          masked = true;  // the scheme and its value are handled on the next turns
          break;
        }
        const size_t end = skip_token(j);
        if (end > j) {
          out.append(t.substr(i, j - i)).append("[redacted]");
          i = end;
          masked = true;
        }
        break;
      }
    }
    if (masked) continue;
    // inferd API keys and JWTs anywhere.
    if (boundary && (rest.starts_with("ik_") || rest.starts_with("eyJ"))) {
      const size_t end = skip_token(i);
      const bool jwt = rest.starts_with("eyJ") &&
                       std::count(t.begin() + static_cast<std::ptrdiff_t>(i),
                                  t.begin() + static_cast<std::ptrdiff_t>(end), '.') >= 2;
      if ((rest.starts_with("ik_") && end - i >= 16) || jwt) {
        out.append(jwt ? "[redacted jwt]" : "ik_[redacted]");
        i = end;
        continue;
      }
    }
    // scheme://user:password@host
    if (rest.starts_with("://")) {
      const size_t at = t.find('@', i + 3);
      const size_t colon = t.find(':', i + 3);
      const size_t stop = t.find_first_of("/ \t\n\"'", i + 3);
      if (at != std::string_view::npos && colon != std::string_view::npos && colon < at &&
          (stop == std::string_view::npos || at < stop)) {
        out.append(t.substr(i, colon + 1 - i)).append("[redacted]");
        i = at;
        continue;
      }
    }
    out += t[i++];
  }
  return out;
}

Status InitLogging(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return InvalidArgument("unknown log level '" + std::string(level) +
                           "' (want trace, debug, info, warn, error or off)");
  }
  auto logger = std::make_shared<spdlog::logger>("inferd", std::make_shared<RedactingStderrSink>());
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace inferd::base
