#include "monitoring/process_metrics.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace inferd::monitoring {
namespace {

// Fields of /proc/self/stat after the command name: index 0 is field 3 (state).
std::vector<std::string> StatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  std::getline(in, line);
  auto close = line.rfind(')');
  std::vector<std::string> out;
  if (close == std::string::npos) return out;
  std::istringstream ss(line.substr(close + 2));
  std::string f;
  while (ss >> f) out.push_back(f);
  return out;
}

double Field(const std::vector<std::string>& f, size_t stat_field) {
  size_t i = stat_field - 3;
  return i < f.size() ? std::stod(f[i]) : 0;
}

}  // namespace

void RegisterProcessMetrics(MetricsRegistry* registry) {
  static const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double start_time =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  registry->AddCallbackGauge("process_resident_memory_bytes", "Resident memory size in bytes.", {},
                             [] {
                               auto f = StatFields();
                               return MetricsRegistry::GaugeSamples{{{}, Field(f, 24) * page}};
                             });
  registry->AddCallbackGauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", {},
                             [] {
                               auto f = StatFields();
                               return MetricsRegistry::GaugeSamples{{{}, Field(f, 23)}};
                             });
  registry->AddCallbackGauge("process_cpu_seconds", "User and system CPU time spent, seconds.", {},
                             [] {
                               auto f = StatFields();
                               double t = (Field(f, 14) + Field(f, 15)) / ticks;
                               return MetricsRegistry::GaugeSamples{{{}, t}};
                             });
  registry->AddCallbackGauge("process_open_fds", "Open file descriptors.", {}, [] {
    double n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      ++n;
    }
    return MetricsRegistry::GaugeSamples{{{}, n}};
  });
  registry->AddCallbackGauge("process_start_time_seconds",
                             "Start time of the process since the Unix epoch, seconds.", {}, [] {
                               return MetricsRegistry::GaugeSamples{{{}, start_time}};
                             });
}

}  // namespace inferd::monitoring
