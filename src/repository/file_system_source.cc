#include "repository/file_system_source.h"

#include <sys/stat.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <system_error>

namespace inferd::repository {

namespace fs = std::filesystem;

bool IsValidModelName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

std::optional<int64_t> ParseVersion(std::string_view name) {
  if (name.empty() || name.size() > 18) return std::nullopt;
  int64_t v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name.size(), v);
  if (ec != std::errc() || p != name.data() + name.size() || v <= 0) return std::nullopt;
  return v;
}

namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h;
}

// Name, size, inode and modification time: cheap for large model files, and a file replaced by
// rename (a new inode) is seen even within the file system's timestamp granularity.
uint64_t FileFingerprint(const fs::path& p) {
  uint64_t h = std::hash<std::string>{}(p.filename().string());
  struct stat st;
  if (::stat(p.c_str(), &st) != 0) return Mix(h, 0);
  h = Mix(h, static_cast<uint64_t>(st.st_size));
  h = Mix(h, static_cast<uint64_t>(st.st_ino));
  h = Mix(h, static_cast<uint64_t>(st.st_mtim.tv_sec) * 1'000'000'000ULL +
                 static_cast<uint64_t>(st.st_mtim.tv_nsec));
  return h;
}

// Small files (config.yaml) are fingerprinted by content, so an edit in place is always seen.
uint64_t ContentFingerprint(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Mix(std::hash<std::string>{}(content), 1);
}

uint64_t DirFingerprint(const fs::path& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());
  uint64_t h = 1469598103934665603ULL;
  for (const auto& f : files) h = Mix(h, FileFingerprint(f));
  return h;
}

}  // namespace

base::StatusOr<std::unique_ptr<FileSystemSource>> FileSystemSource::Create(
    const FileSystemSourceOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(options.root, ec)) {
    return base::NotFound("model repository '" + options.root.string() + "' is not a directory");
  }
  return std::unique_ptr<FileSystemSource>(new FileSystemSource(options));
}

base::StatusOr<std::vector<ModelOnDisk>> FileSystemSource::Scan() const {
  std::error_code ec;
  std::vector<ModelOnDisk> models;
  fs::directory_iterator it(options_.root, ec);
  if (ec) {
    return base::Unavailable("cannot read model repository '" + options_.root.string() +
                             "': " + ec.message());
  }
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const auto& entry = *it;
    std::string name = entry.path().filename().string();
    if (!entry.is_directory(ec) || !IsValidModelName(name)) continue;
    ModelOnDisk m;
    m.name = name;
    m.dir = entry.path();
    // config.yaml, or else a Triton config.pbtxt.
    for (const char* file : {"config.yaml", "config.pbtxt"}) {
      fs::path cfg = m.dir / file;
      if (fs::is_regular_file(cfg, ec)) {
        m.config_file = cfg;
        m.config_fingerprint = ContentFingerprint(cfg);
        break;
      }
    }
    std::error_code ec2;
    for (fs::directory_iterator vit(m.dir, ec2); !ec2 && vit != fs::directory_iterator();
         vit.increment(ec2)) {
      if (!vit->is_directory(ec2)) continue;
      auto v = ParseVersion(vit->path().filename().string());
      if (!v) continue;
      m.versions.push_back({*v, vit->path(), DirFingerprint(vit->path())});
    }
    std::sort(m.versions.begin(), m.versions.end(),
              [](const auto& a, const auto& b) { return a.version < b.version; });
    models.push_back(std::move(m));
  }
  std::sort(models.begin(), models.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return models;
}

}  // namespace inferd::repository
