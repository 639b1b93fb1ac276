#include "backend/model_file.h"

#include <fstream>

namespace inferd::backend {

using base::InvalidArgument;

base::StatusOr<std::string> ReadModelFile(const std::filesystem::path& path, int64_t max_bytes) {
  const std::string name = path.string();
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(status)) return base::NotFound(name + ": no such file");
  if (!std::filesystem::is_regular_file(status)) {
    return InvalidArgument(name + ": not a regular file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::Internal(name + ": cannot open for reading");
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  in.seekg(0, std::ios::beg);
  if (size < 0) return base::Internal(name + ": cannot determine the file size");
  if (size > max_bytes) {
    return base::ResourceExhausted(name + ": " + std::to_string(size) +
                                   " bytes, more than the limit of " + std::to_string(max_bytes));
  }
  // With room beyond the end: a JSON parser may read its padding in place (ParseModelDocument).
  // (Zeroed: the padding is read, if never used.)
  std::string bytes(static_cast<size_t>(size) + kModelFilePadding, '\0');
  bytes.resize(static_cast<size_t>(size));
  if (size > 0 && !in.read(bytes.data(), size)) return base::Internal(name + ": read error");
  return bytes;
}

}  // namespace inferd::backend
