#include "repository/version_files.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/sha256.h"

namespace inferd::repository {

namespace {

base::StatusOr<FileDigest> DigestFile(const std::filesystem::path& path, std::string relative) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::Unavailable("cannot read " + path.string());
  base::Sha256 h;
  FileDigest f;
  f.path = std::move(relative);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = in.gcount();
    if (n > 0) {
      h.Update(buf.data(), static_cast<size_t>(n));
      f.bytes += n;
    }
  }
  if (in.bad()) return base::Unavailable("cannot read " + path.string());
  f.sha256 = h.FinishHex();
  return f;
}

}  // namespace

std::string Sha256Hex(std::string_view data) { return base::Sha256Hex(data); }

base::StatusOr<VersionDigest> DigestVersion(const std::filesystem::path& dir) {
  VersionDigest d;
  std::error_code ec;
  std::vector<std::pair<std::string, std::filesystem::path>> files;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) {
      files.emplace_back(std::filesystem::relative(it->path(), dir).generic_string(), it->path());
    }
  }
  if (ec) return base::Unavailable("cannot list " + dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());  // byte order, as LC_ALL=C sort
  std::string manifest;
  for (const auto& [relative, path] : files) {
    ASSIGN_OR_RETURN(FileDigest f, DigestFile(path, relative));
    manifest += f.sha256 + "  " + f.path + "\n";
    d.bytes += f.bytes;
    d.files.push_back(std::move(f));
  }
  d.sha256 = Sha256Hex(manifest);
  return d;
}

base::StatusOr<std::string> ReadLineage(const std::filesystem::path& dir) {
  const auto path = dir / "metadata.yaml";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return std::string("{}");
  const std::string where = path.string();
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    return base::InvalidArgument(where + ": invalid YAML: " + e.what());
  }
  nlohmann::json out = nlohmann::json::object();
  if (!root || root.IsNull()) return out.dump();
  if (!root.IsMap()) return base::InvalidArgument(where + ": must be a mapping of keys");
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "metrics") {
      if (!v.IsMap()) return base::InvalidArgument(where + ": 'metrics' must map names to numbers");
      nlohmann::json m = nlohmann::json::object();
      for (const auto& mv : v) {
        double x;
        if (!mv.second.IsScalar() || !YAML::convert<double>::decode(mv.second, x)) {
          return base::InvalidArgument(where + ": metric '" + mv.first.as<std::string>() +
                                       "' must be a number");
        }
        m[mv.first.as<std::string>()] = x;
      }
      out[key] = m;
    } else if (key == "tags") {
      if (!v.IsSequence()) return base::InvalidArgument(where + ": 'tags' must be a list");
      nlohmann::json t = nlohmann::json::array();
      for (const auto& tv : v) {
        if (!tv.IsScalar()) return base::InvalidArgument(where + ": tags must be strings");
        t.push_back(tv.as<std::string>());
      }
      out[key] = t;
    } else if (v.IsScalar()) {
      out[key] = v.as<std::string>();  // source_commit, training_data_hash, author, created_at...
    } else {
      return base::InvalidArgument(where + ": '" + key + "' must be a single value");
    }
  }
  return out.dump();
}

}  // namespace inferd::repository
