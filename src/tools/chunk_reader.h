// ChunkReader: reads a text file (or stdin) sequentially in chunks of whole lines, with large
// read(2) calls, so that a file of any size is processed in memory bounded by the chunk size.
// Thread-safety: not thread-safe (callers serialize Next/PeekLine/SkipLine); bytes_read() may be
// called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace inferd::tools {

struct ChunkReaderOptions {
  // The file to read; "-" reads standard input.
  std::filesystem::path path;
  // Bytes asked of each read(2) call. Default 1 MiB. Must be > 0.
  size_t read_bytes = size_t{1} << 20;
  // A line longer than this is an error (it would otherwise grow a chunk without bound). Default
  // 64 MiB. Must be > 0.
  size_t max_line_bytes = size_t{64} << 20;
};

// A run of whole lines of the input.
struct Chunk {
  std::string text;        // the lines, each ending in '\n' except possibly the file's last
  int64_t first_line = 0;  // 1-based line number of text's first line
  int64_t lines = 0;       // lines in text
  int64_t index = 0;       // 0-based position of the chunk in the input
};

class ChunkReader {
 public:
  // Opens the file. Errors: NOT_FOUND when it does not exist, INVALID_ARGUMENT when it is a
  // directory, UNAVAILABLE when it cannot be opened.
  static base::StatusOr<std::unique_ptr<ChunkReader>> Open(const ChunkReaderOptions& options);
  ~ChunkReader();
  ChunkReader(const ChunkReader&) = delete;
  ChunkReader& operator=(const ChunkReader&) = delete;

  // The next line (without its terminator; a UTF-8 byte order mark at the start of the file is
  // dropped), without consuming it; nullopt at the end of the input. The view is valid until the
  // next call of any other method. Errors: UNAVAILABLE on a read error, INVALID_ARGUMENT for a
  // line over max_line_bytes.
  base::StatusOr<std::optional<std::string_view>> PeekLine();
  // Consumes the line PeekLine returned. Precondition: PeekLine returned a line.
  void SkipLine();

  // Fills `chunk` (reusing its buffer) with the next lines, at most `max_lines` (> 0). Returns
  // false, leaving `chunk` empty, at the end of the input. Errors as PeekLine.
  base::StatusOr<bool> Next(int64_t max_lines, Chunk* chunk);

  // Bytes consumed so far (handed out in chunks or skipped).
  int64_t bytes_read() const { return consumed_.load(std::memory_order_relaxed); }
  // The file's size when it is a regular file.
  std::optional<int64_t> file_size() const { return file_size_; }

 private:
  ChunkReader(const ChunkReaderOptions& options, int fd, std::optional<int64_t> size);
  // Appends up to read_bytes from the file to pending_; false at end of file.
  base::StatusOr<bool> ReadMore();

  ChunkReaderOptions options_;
  int fd_ = -1;
  bool owns_fd_ = false;
  bool eof_ = false;
  bool at_start_ = true;
  std::optional<int64_t> file_size_;
  std::string pending_;  // read from the file but not yet handed out
  size_t pending_begin_ = 0;
  int64_t next_line_ = 1;
  int64_t next_index_ = 0;
  std::atomic<int64_t> consumed_{0};
};

}  // namespace inferd::tools
