// Logging: spdlog with one process-wide format. Use LOG_INFO("x {}", y) etc.
// Thread-safety: the logger is thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "base/status.h"

namespace inferd::base {

// Sets the level ("trace", "debug", "info", "warn", "error", "off") and the line format. Logs go to
// stderr so that stdout carries only what a command is asked to print. Every line passes through
// RedactSecrets first, so that no code path can log a credential.
Status InitLogging(std::string_view level);

// `text` with credentials masked: inferd API keys (ik_...), JWTs (eyJ...x.y.z), what follows
// "Bearer " and "Basic ", X-API-Key / Authorization header values, and the password of a URL
// (scheme://user:password@host).
std::string RedactSecrets(std::string_view text);

}  // namespace inferd::base

#define LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
