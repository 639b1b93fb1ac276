#include "backends/onnx/onnx_backend.h"

#include "backend/model_file.h"
#include "backends/onnx/onnx_model.h"

namespace inferd::backends::onnx {

std::optional<std::filesystem::path> OnnxBackend::FindModelFile(
    const std::filesystem::path& version_dir) const {
  std::error_code ec;
  const auto p = version_dir / "model.onnx";
  if (std::filesystem::is_regular_file(p, ec)) return p;
  return std::nullopt;
}

base::StatusOr<std::unique_ptr<backend::LoadedModel>> OnnxBackend::Load(
    const backend::LoadRequest& request) const {
  const std::string file = request.model_file.string();
  ASSIGN_OR_RETURN(std::string bytes,
                   backend::ReadModelFile(request.model_file, options_.max_model_file_bytes));
  auto info = InspectOnnxModel(bytes);
  if (!info.ok()) return info.status().WithContext(file);
  if (!info->unsupported.empty()) {
    return base::Unimplemented(file + ": " + DescribeUnsupported(info->unsupported));
  }
  return base::Unimplemented(file + ": the ONNX engine cannot run graphs yet");
}

}  // namespace inferd::backends::onnx
