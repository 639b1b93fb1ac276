// FileSystemSource: reads a Triton-style model repository, `<root>/<model>/[config.yaml]` and
// `<root>/<model>/<version>/<model file>`, into a snapshot of what is on disk. It decides nothing
// about loading; lifecycle/ compares snapshots and applies version policies.
// Thread-safety: Scan() is const and may run on any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace inferd::repository {

struct VersionOnDisk {
  int64_t version = 0;
  std::filesystem::path dir;
  // Changes whenever a file in the directory is added, removed, resized or touched.
  uint64_t fingerprint = 0;
};

struct ModelOnDisk {
  std::string name;
  std::filesystem::path dir;
  std::optional<std::filesystem::path> config_file;  // config.yaml, else config.pbtxt, if present
  uint64_t config_fingerprint = 0;                   // 0 when there is no config file
  std::vector<VersionOnDisk> versions;               // ascending by version
};

struct FileSystemSourceOptions {
  std::filesystem::path root;  // the --model-repository directory; must exist
};

class FileSystemSource {
 public:
  // Errors: NOT_FOUND when the root is missing or not a directory.
  static base::StatusOr<std::unique_ptr<FileSystemSource>> Create(
      const FileSystemSourceOptions& options);

  // Lists the models (sorted by name). Directories whose names start with '.' are skipped, and so
  // are version entries that are not positive decimal integers (as Triton does). Errors:
  // UNAVAILABLE when the root cannot be read at all.
  base::StatusOr<std::vector<ModelOnDisk>> Scan() const;
  const std::filesystem::path& root() const { return options_.root; }

 private:
  explicit FileSystemSource(FileSystemSourceOptions options) : options_(std::move(options)) {}
  FileSystemSourceOptions options_;
};

// A valid model name: 1-128 characters of [A-Za-z0-9_.-], not starting with '.'.
bool IsValidModelName(std::string_view name);
// Parses a version directory name ("1", "42"); nullopt for anything else ("01" is accepted as 1).
std::optional<int64_t> ParseVersion(std::string_view name);

}  // namespace inferd::repository
