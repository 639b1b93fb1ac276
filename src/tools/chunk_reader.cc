#include "tools/chunk_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace inferd::tools {

using base::Status;
using base::StatusOr;

namespace {

Status LineTooLong(int64_t line, size_t limit) {
  return base::InvalidArgument("line " + std::to_string(line) + " is longer than " +
                               std::to_string(limit) + " bytes");
}

}  // namespace

StatusOr<std::unique_ptr<ChunkReader>> ChunkReader::Open(const ChunkReaderOptions& options) {
  if (options.read_bytes == 0 || options.max_line_bytes == 0) {
    return base::InvalidArgument("ChunkReader: read_bytes and max_line_bytes must be > 0");
  }
  if (options.path == "-") {
    return std::unique_ptr<ChunkReader>(new ChunkReader(options, 0, std::nullopt));
  }
  const std::string path = options.path.string();
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      return base::NotFound("input file " + path + " does not exist");
    }
    return base::Unavailable("cannot read input file " + path + ": " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) {
    return base::InvalidArgument("input " + path + " is a directory, expected a file");
  }
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return base::Unavailable("cannot open input file " + path + ": " + std::strerror(errno));
  }
  std::optional<int64_t> size;
  if (S_ISREG(st.st_mode)) {
    size = static_cast<int64_t>(st.st_size);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  }
  auto reader = std::unique_ptr<ChunkReader>(new ChunkReader(options, fd, size));
  reader->owns_fd_ = true;
  return reader;
}

ChunkReader::ChunkReader(const ChunkReaderOptions& options, int fd, std::optional<int64_t> size)
    : options_(options), fd_(fd), file_size_(size) {}

ChunkReader::~ChunkReader() {
  if (owns_fd_) ::close(fd_);
}

StatusOr<bool> ChunkReader::ReadMore() {
  if (eof_) return false;
  const size_t old = pending_.size();
  pending_.resize(old + options_.read_bytes);
  ssize_t n;
  do {
    n = ::read(fd_, pending_.data() + old, options_.read_bytes);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int err = errno;
    pending_.resize(old);
    return base::Unavailable("reading " + options_.path.string() + ": " + std::strerror(err));
  }
  pending_.resize(old + static_cast<size_t>(n));
  if (n == 0) eof_ = true;
  if (at_start_ && (pending_.size() - pending_begin_ >= 3 || eof_)) {
    at_start_ = false;
    if (pending_.size() - pending_begin_ >= 3 &&
        std::memcmp(pending_.data() + pending_begin_, "\xEF\xBB\xBF", 3) == 0) {
      pending_begin_ += 3;
      consumed_.fetch_add(3, std::memory_order_relaxed);
    }
  }
  return n > 0;
}

StatusOr<std::optional<std::string_view>> ChunkReader::PeekLine() {
  size_t scan = pending_begin_;
  while (true) {
    const char* base = pending_.data();
    const void* nl = std::memchr(base + scan, '\n', pending_.size() - scan);
    if (nl || eof_) {
      size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - base) : pending_.size();
      if (!nl && end == pending_begin_) return std::optional<std::string_view>();
      std::string_view line(base + pending_begin_, end - pending_begin_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      return std::optional<std::string_view>(line);
    }
    scan = pending_.size();
    if (scan - pending_begin_ > options_.max_line_bytes) {
      return LineTooLong(next_line_, options_.max_line_bytes);
    }
    auto more = ReadMore();
    if (!more.ok()) return more.status();
  }
}

void ChunkReader::SkipLine() {
  const void* nl =
      std::memchr(pending_.data() + pending_begin_, '\n', pending_.size() - pending_begin_);
  size_t next = nl ? static_cast<size_t>(static_cast<const char*>(nl) - pending_.data()) + 1
                   : pending_.size();
  consumed_.fetch_add(static_cast<int64_t>(next - pending_begin_), std::memory_order_relaxed);
  pending_begin_ = next;
  ++next_line_;
}

StatusOr<bool> ChunkReader::Next(int64_t max_lines, Chunk* chunk) {
  CHECK(max_lines > 0);
  while (at_start_) {  // the first bytes are read into pending_, where a byte order mark is dropped
    auto more = ReadMore();
    if (!more.ok()) return more.status();
  }
  std::string& t = chunk->text;
  chunk->lines = 0;
  chunk->first_line = next_line_;
  chunk->index = next_index_;
  // The unconsumed bytes move into the chunk; the file is read after them, into the chunk's own
  // buffer, and what lies past the last line taken goes back to pending_.
  t.assign(pending_, pending_begin_, std::string::npos);
  pending_.clear();
  pending_begin_ = 0;
  size_t scan = 0;  // everything before `scan` is whole lines
  size_t searched = 0;
  int64_t lines = 0;
  while (lines < max_lines) {
    const void* nl = std::memchr(t.data() + searched, '\n', t.size() - searched);
    if (nl) {
      ++lines;
      scan = searched = static_cast<size_t>(static_cast<const char*>(nl) - t.data()) + 1;
      continue;
    }
    searched = t.size();
    if (t.size() - scan > options_.max_line_bytes) {
      t.clear();
      return LineTooLong(next_line_ + lines, options_.max_line_bytes);
    }
    if (eof_) {
      if (scan < t.size()) {
        ++lines;
        scan = t.size();
      }
      break;
    }
    // Read straight into the chunk: swap buffers so ReadMore appends to it.
    pending_.swap(t);
    auto more = ReadMore();
    pending_.swap(t);
    if (!more.ok()) {
      t.clear();
      return more.status();
    }
  }
  pending_.assign(t, scan, std::string::npos);
  t.resize(scan);
  consumed_.fetch_add(static_cast<int64_t>(scan), std::memory_order_relaxed);
  next_line_ += lines;
  chunk->lines = lines;
  if (lines == 0) return false;
  ++next_index_;
  return true;
}

}  // namespace inferd::tools
