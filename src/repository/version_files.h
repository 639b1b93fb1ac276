// What a version directory holds, as inferd records it: every file's SHA-256 and size, and the
// version's digest, the SHA-256 of its manifest. The manifest is what `sha256sum` prints for the
// files, sorted by path (one "<hex>  <relative path>" line each, "\n"-terminated), so a user can
// check a digest with standard tools:
//   cd <model>/<version> && find . -type f | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum |
//   sha256sum
// Lineage comes from an optional <version>/metadata.yaml (source_commit, training_data_hash,
// metrics, author, created_at, tags), which is part of the digest like any other file.
// Thread-safety: pure functions over the file system.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "base/status.h"

namespace inferd::repository {

struct FileDigest {
  std::string path;    // relative to the version directory, '/'-separated
  std::string sha256;  // lower-case hex
  int64_t bytes = 0;
};

struct VersionDigest {
  std::string sha256;  // of the manifest
  int64_t bytes = 0;
  std::vector<FileDigest> files;  // sorted by path
};

// Errors: UNAVAILABLE when a file cannot be read (naming it).
base::StatusOr<VersionDigest> DigestVersion(const std::filesystem::path& dir);

// The SHA-256 of `data`, lower-case hex.
std::string Sha256Hex(std::string_view data);

// <dir>/metadata.yaml as a JSON object text ("{}" when there is none). Known keys are checked:
// source_commit, training_data_hash, author, created_at (strings), metrics (a map of numbers),
// tags (a list of strings); other keys are kept as they are (scalars as strings).
// Errors: INVALID_ARGUMENT naming the file and the key.
base::StatusOr<std::string> ReadLineage(const std::filesystem::path& dir);

}  // namespace inferd::repository
