// ProgressMeter: the progress display of a long-running tool on stderr - a bar redrawn in place
// on a terminal, or plain lines for logs.
// Thread-safety: not thread-safe; one reporting thread calls Update and Finish.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace inferd::tools {

struct ProgressMeterOptions {
  std::FILE* out = stderr;             // not owned; nullptr prints nothing
  bool bar = false;                    // true: redraw one line with '\r'; false: a line per Update
  std::optional<int64_t> total_bytes;  // input size, for the percentage; nullopt when unknown
  int width = 30;                      // bar width in characters
};

class ProgressMeter {
 public:
  explicit ProgressMeter(const ProgressMeterOptions& options) : options_(options) {}
  // Shows `rows` done, `bytes` of the input consumed, after `seconds`.
  void Update(int64_t rows, int64_t bytes, double seconds);
  // Erases the bar (a terminal line), so that the summary that follows starts a clean line.
  void Finish();

  // The text of one report, without '\r' or '\n' (exposed for tests).
  std::string Format(int64_t rows, int64_t bytes, double seconds) const;

 private:
  ProgressMeterOptions options_;
  bool drawn_ = false;
};

}  // namespace inferd::tools
