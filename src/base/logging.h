// Logging: spdlog with one process-wide format. Use LOG_INFO("x {}", y) etc.
// Thread-safety: the logger is thread-safe.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

#include "base/status.h"

namespace inferd::base {

// Sets the level ("trace", "debug", "info", "warn", "error", "off") and the line format. Logs go to
// stderr so that stdout carries only what a command is asked to print.
Status InitLogging(std::string_view level);

}  // namespace inferd::base

#define LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define LOG_INFO(...) SPDLOG_INFO(__VA_ARGS__)
#define LOG_WARN(...) SPDLOG_WARN(__VA_ARGS__)
#define LOG_ERROR(...) SPDLOG_ERROR(__VA_ARGS__)
