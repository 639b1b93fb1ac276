// Writing a model's next version (`inferd optimize`, `inferd search`): its files are written
// under a temporary name in the model directory and renamed when complete, so that a server
// polling the repository never sees half a version. metadata.yaml helpers for the lineage.
// Thread-safety: functions over the file system; two writers of one model race for the number.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"

namespace inferd::tools {

// Writes `files` (name, content) as version max(existing) + 1 of `model_dir` (created when
// missing); returns the version. Errors: UNAVAILABLE naming the path that could not be written.
base::StatusOr<int64_t> WriteNextVersion(
    const std::filesystem::path& model_dir,
    const std::vector<std::pair<std::string, std::string>>& files);

// Writes `text` to `path`, creating its directory. Errors: UNAVAILABLE naming the path.
base::Status WriteTextFile(const std::filesystem::path& path, const std::string& text);

// Copies the files at the top of model directory `from` (config.yaml, profile.json, label files:
// what its config may name; not the version directories) into `to`, created: a scratch copy of the
// model (`inferd tune`, `optimize`) then loads as the original does. Errors: UNAVAILABLE naming
// the path.
base::Status CopyModelFiles(const std::filesystem::path& from, const std::filesystem::path& to);

// A new directory under the system's temporary directory, removed with its contents when this
// goes out of scope; path() is empty when it could not be made.
class ScratchDirectory {
 public:
  explicit ScratchDirectory(const std::string& prefix);
  ~ScratchDirectory();
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// "2026-11-26T20:49:07Z" (now, UTC).
std::string UtcTimestamp();
// `s` as a double-quoted YAML scalar.
std::string YamlQuoted(const std::string& s);

}  // namespace inferd::tools
