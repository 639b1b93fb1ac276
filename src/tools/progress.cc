#include "tools/progress.h"

#include <algorithm>
#include <cinttypes>

namespace inferd::tools {

std::string ProgressMeter::Format(int64_t rows, int64_t bytes, double seconds) const {
  const double rate = seconds > 0 ? static_cast<double>(rows) / seconds : 0;
  char buf[256];
  std::string s;
  if (options_.total_bytes && *options_.total_bytes > 0) {
    double frac = std::clamp(
        static_cast<double>(bytes) / static_cast<double>(*options_.total_bytes), 0.0, 1.0);
    if (options_.bar) {
      int filled = static_cast<int>(frac * options_.width);
      s = "[" + std::string(filled, '#') + std::string(options_.width - filled, '.') + "] ";
    }
    std::snprintf(buf, sizeof buf, "%3.0f%%  ", frac * 100);
    s += buf;
  }
  std::snprintf(buf, sizeof buf, "rows %" PRId64 ", %.0f rows/s, %.1f s", rows, rate, seconds);
  s += buf;
  return s;
}

void ProgressMeter::Update(int64_t rows, int64_t bytes, double seconds) {
  if (!options_.out) return;
  std::string text = Format(rows, bytes, seconds);
  if (options_.bar) {
    std::fprintf(options_.out, "\r%s\033[K", text.c_str());
    drawn_ = true;
  } else {
    std::fprintf(options_.out, "progress: %s\n", text.c_str());
  }
  std::fflush(options_.out);
}

void ProgressMeter::Finish() {
  if (!options_.out || !drawn_) return;
  std::fprintf(options_.out, "\r\033[K");
  std::fflush(options_.out);
  drawn_ = false;
}

}  // namespace inferd::tools
