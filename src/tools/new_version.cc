#include "tools/new_version.h"

#include <stdlib.h>

#include <ctime>
#include <fstream>

#include "repository/file_system_source.h"

namespace inferd::tools {

namespace fs = std::filesystem;

base::Status WriteTextFile(const fs::path& path, const std::string& text) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary);
  out << text;
  out.close();
  if (!out) return base::Unavailable("cannot write " + path.string());
  return base::Status::Ok();
}

base::StatusOr<int64_t> WriteNextVersion(
    const fs::path& model_dir, const std::vector<std::pair<std::string, std::string>>& files) {
  std::error_code ec;
  fs::create_directories(model_dir, ec);
  int64_t next = 1;
  for (fs::directory_iterator d(model_dir, ec), end; !ec && d != end; d.increment(ec)) {
    if (auto v = repository::ParseVersion(d->path().filename().string())) {
      next = std::max(next, *v + 1);
    }
  }
  const fs::path staging = model_dir / ("." + std::to_string(next) + ".tmp");
  fs::remove_all(staging, ec);
  for (const auto& [name, content] : files) {
    RETURN_IF_ERROR(WriteTextFile(staging / name, content));
  }
  const fs::path dir = model_dir / std::to_string(next);
  fs::rename(staging, dir, ec);
  if (ec) {
    fs::remove_all(staging, ec);
    return base::Unavailable("cannot create " + dir.string());
  }
  return next;
}

base::Status CopyModelFiles(const fs::path& from, const fs::path& to) {
  std::error_code ec;
  fs::create_directories(to, ec);
  if (ec) return base::Unavailable("cannot make " + to.string() + ": " + ec.message());
  for (fs::directory_iterator it(from, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code file_ec;
    if (!it->is_regular_file(file_ec)) continue;
    fs::copy_file(it->path(), to / it->path().filename(), fs::copy_options::overwrite_existing,
                  file_ec);
    if (file_ec) {
      return base::Unavailable("cannot copy " + it->path().string() + ": " + file_ec.message());
    }
  }
  if (ec) return base::Unavailable("cannot read " + from.string() + ": " + ec.message());
  return base::Status::Ok();
}

ScratchDirectory::ScratchDirectory(const std::string& prefix) {
  std::string t = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(t.data()) != nullptr) path_ = t;
}

ScratchDirectory::~ScratchDirectory() {
  std::error_code ec;
  if (!path_.empty()) fs::remove_all(path_, ec);
}

std::string UtcTimestamp() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string YamlQuoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace inferd::tools
