#include "base/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <string>

namespace inferd::base {

Status InitLogging(std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return InvalidArgument("unknown log level '" + std::string(level) +
                           "' (want trace, debug, info, warn, error or off)");
  }
  auto logger = spdlog::stderr_logger_mt("inferd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  logger->set_level(lvl);
  spdlog::set_default_logger(logger);
  return Status::Ok();
}

}  // namespace inferd::base
