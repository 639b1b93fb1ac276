// Backend and LoadedModel: the interfaces between the serving core and the engines. This module
// holds no engine code; server/ is the only place that names concrete backends.
// Thread-safety: Backend::Load may be called from several threads at once; LoadedModel::Execute is
// thread-safe and const (a loaded model never changes).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/model_config.h"
#include "tensor/tensor.h"

namespace inferd::backend {

// What a loaded model takes and gives, filled by the backend from the model file.
struct ModelSignature {
  std::string platform;                     // e.g. "xgboost_json", "xgboost_ubj"
  std::vector<config::TensorSpec> inputs;   // batch dimension is -1
  std::vector<config::TensorSpec> outputs;  // includes on-request outputs (default_output=false)
  std::map<std::string, std::string> properties;  // shown in metadata, e.g. objective, num_trees
};

class LoadedModel {
 public:
  virtual ~LoadedModel() = default;
  virtual const ModelSignature& signature() const = 0;

  // Runs the model on one batch.
  // Preconditions (checked by the caller, inference/): `inputs` holds one tensor per
  // signature().inputs entry, in that order, with the declared dtype and a shape matching the
  // declared one (batch dimension >= 1); every name in `requested_outputs` is one of
  // signature().outputs. An empty `requested_outputs` means every default output.
  // Returns the outputs in the order requested (signature order when empty).
  virtual base::StatusOr<std::vector<tensor::Tensor>> Execute(
      std::span<const tensor::Tensor> inputs,
      std::span<const std::string> requested_outputs) const = 0;
};

struct LoadRequest {
  std::string model_name;
  int64_t version = 0;
  std::filesystem::path model_file;             // the file FindModelFile() chose
  const config::ModelConfig* config = nullptr;  // never null
};

class Backend {
 public:
  virtual ~Backend() = default;
  // "forest", "onnx": the name config.yaml's `backend` uses.
  virtual std::string_view name() const = 0;
  // The model file this backend would load from a version directory, if any.
  virtual std::optional<std::filesystem::path> FindModelFile(
      const std::filesystem::path& version_dir) const = 0;
  // Whether this backend loads model files of this name (e.g. "model.json").
  virtual bool LoadsFileName(std::string_view file_name) const = 0;
  // Loads a model. Errors: NOT_FOUND (file missing), INVALID_ARGUMENT or DATA_LOSS (malformed or
  // truncated file, with the place), UNIMPLEMENTED (an objective or feature the engine lacks).
  virtual base::StatusOr<std::unique_ptr<LoadedModel>> Load(const LoadRequest& request) const = 0;
};

// The set of backends the server was built with. Thread-safety: immutable after set-up.
class BackendRegistry {
 public:
  void Register(std::unique_ptr<Backend> backend);
  // The backend named `name`; NOT_FOUND lists the known ones.
  base::StatusOr<const Backend*> Find(std::string_view name) const;
  // For backend "auto": the first backend that finds a model file in `version_dir`.
  // NOT_FOUND names the files looked for.
  struct Match {
    const Backend* backend;
    std::filesystem::path model_file;
  };
  base::StatusOr<Match> Resolve(std::string_view backend_name,
                                const std::filesystem::path& version_dir) const;
  // The backend that loads a model file named `file_name` (the first that does, for "auto").
  // NOT_FOUND when none does.
  base::StatusOr<const Backend*> ForFileName(std::string_view backend_name,
                                             std::string_view file_name) const;

 private:
  std::vector<std::unique_ptr<Backend>> backends_;
};

}  // namespace inferd::backend
