#include "repository/single_model.h"

#include <cctype>
#include <fstream>
#include <vector>

#include "repository/file_system_source.h"

namespace inferd::repository {

namespace fs = std::filesystem;
using base::InvalidArgument;

namespace {

constexpr const char* kModelFiles[] = {"model.bst", "model.json", "model.ubj", "model.txt",
                                       "model.onnx"};
// Files of the model directory rather than of the version.
constexpr const char* kModelLevel[] = {"config.yaml", "config.pbtxt", "profile.json"};

}  // namespace

base::StatusOr<std::string> ServedFileName(const fs::path& file) {
  const std::string name = file.filename().string();
  if (name != "model.bst") return name;
  std::ifstream in(file, std::ios::binary);
  if (!in) return base::NotFound("cannot read " + file.string());
  char head[64] = {};
  in.read(head, sizeof head);
  const size_t n = static_cast<size_t>(in.gcount());
  size_t i = 0;
  while (i < n && std::isspace(static_cast<unsigned char>(head[i]))) ++i;
  if (n - i >= 4 && std::string(head + i, 4) == "tree") return std::string("model.txt");
  if (i < n && head[i] == '{') {
    // JSON: a key string or the end follows; UBJSON: a length marker or a container option.
    size_t j = i + 1;
    while (j < n && std::isspace(static_cast<unsigned char>(head[j]))) ++j;
    if (j < n && (head[j] == '"' || head[j] == '}')) return std::string("model.json");
    if (j < n && std::string("iUIlL$#").find(head[j]) != std::string::npos) {
      return std::string("model.ubj");
    }
  }
  if (n >= 4 && (std::string(head, 4) == "binf" || static_cast<unsigned char>(head[0]) < 0x20)) {
    return InvalidArgument(file.string() +
                           " is XGBoost's legacy binary format, which inferd does not read: save "
                           "the model as JSON or UBJSON (booster.save_model('model.json'))");
  }
  return InvalidArgument(file.string() +
                         " is neither an XGBoost JSON/UBJSON model nor a LightGBM text model");
}

base::StatusOr<SingleModelLayout> MakeSingleModelRepository(const fs::path& model_dir,
                                                            const std::string& name,
                                                            const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(model_dir, ec)) {
    return base::NotFound("--model-dir " + model_dir.string() + " is not a directory");
  }
  if (!IsValidModelName(name)) {
    return InvalidArgument("--model-name '" + name +
                           "' is not a valid model name (letters, digits, '-', '_', '.')");
  }
  std::vector<std::string> found;
  for (const char* f : kModelFiles) {
    if (fs::is_regular_file(model_dir / f, ec)) found.push_back(f);
  }
  if (found.empty()) {
    return base::NotFound(model_dir.string() +
                          " holds no model file (looked for model.bst, model.json, model.ubj, "
                          "model.txt, model.onnx)");
  }
  if (found.size() > 1) {
    std::string list;
    for (const auto& f : found) list += (list.empty() ? "" : ", ") + f;
    return InvalidArgument(model_dir.string() + " holds several model files (" + list +
                           "): leave one");
  }
  SingleModelLayout layout;
  layout.repository = root;
  layout.model_file = found[0];
  ASSIGN_OR_RETURN(layout.served_as, ServedFileName(model_dir / found[0]));
  fs::remove_all(root, ec);
  const fs::path version = root / name / "1";
  fs::create_directories(version, ec);
  if (ec) return base::Unavailable("cannot create " + version.string() + ": " + ec.message());
  const fs::path source = fs::absolute(model_dir, ec);
  for (fs::directory_iterator it(source, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code ec2;
    if (!it->is_regular_file(ec2)) continue;
    const std::string f = it->path().filename().string();
    if (f.empty() || f[0] == '.') continue;
    bool model_level = false;
    for (const char* m : kModelLevel) model_level |= f == m;
    bool other_model = false;
    for (const char* m : kModelFiles) other_model |= f == m && f != layout.model_file;
    if (other_model) continue;
    const fs::path link =
        model_level ? root / name / f : version / (f == layout.model_file ? layout.served_as : f);
    fs::create_symlink(it->path(), link, ec2);
    if (ec2) return base::Unavailable("cannot link " + link.string() + ": " + ec2.message());
  }
  return layout;
}

}  // namespace inferd::repository
