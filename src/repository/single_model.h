// KServe's way of handing over a model: its files lie directly in one directory (the storage
// initializer's /mnt/models), without version folders, under KServe's file names. For
// `inferd serve --model-dir DIR --model-name NAME`, this lays out a one-model repository of
// symbolic links: <root>/NAME/1/<model file> (and the directory's other files), with config.yaml,
// config.pbtxt and profile.json (when DIR has them) at <root>/NAME/.
// `model.bst` (what KServe's XGBoost and LightGBM servers load) is recognised by its content:
// XGBoost JSON, XGBoost UBJSON or a LightGBM text model; XGBoost's legacy binary format is refused
// with a message saying how to re-save it.
// Thread-safety: functions over the file system.
#pragma once

#include <filesystem>
#include <string>

#include "base/status.h"

namespace inferd::repository {

struct SingleModelLayout {
  std::filesystem::path repository;  // <root>: pass it as the model repository
  std::string model_file;            // the file found in the directory, e.g. "model.bst"
  std::string served_as;             // its name in the layout, e.g. "model.json"
};

// The name a model file is served under: model.json, model.ubj, model.txt or model.onnx as they
// are; model.bst by its content. Errors: INVALID_ARGUMENT naming the file and what it holds.
base::StatusOr<std::string> ServedFileName(const std::filesystem::path& file);

// Lays out <root>/<name>/ for the model in `model_dir` (`root` is created, and emptied first).
// Errors: NOT_FOUND (the directory, or no model file in it: the names looked for), INVALID_ARGUMENT
// (an invalid model name, several model files, an unrecognised model.bst), UNAVAILABLE (the links
// cannot be made).
base::StatusOr<SingleModelLayout> MakeSingleModelRepository(const std::filesystem::path& model_dir,
                                                            const std::string& name,
                                                            const std::filesystem::path& root);

}  // namespace inferd::repository
