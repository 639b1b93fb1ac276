// `inferd profile`: the training reference of a model from its training data (a CSV file with a
// header): per feature column, then the label column, then — with a model — its predictions on the
// same rows (monitoring/profile.h says what a profile holds).
// Thread-safety: reentrant.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "monitoring/profile.h"

namespace inferd::tools {

struct ProfileToolOptions {
  std::filesystem::path data;  // CSV with a header row; required
  std::string label;           // the label column; empty: none
  // The feature columns in the model's input order; empty: every column but the label, in file
  // order.
  std::vector<std::string> features;
  std::vector<std::string> categorical;  // columns to treat as categorical whatever their values
  // A model (file, version or model directory, as `inferd predict` takes) whose predictions on the
  // rows are profiled too; empty: none. Needs numeric features and a model with one [-1, F] input.
  std::filesystem::path model;
  const backend::BackendRegistry* backends = nullptr;  // required with `model`
  monitoring::ProfileOptions profile;
};

// Errors: NOT_FOUND (the data file), INVALID_ARGUMENT naming the line, column or option (a row
// with another field count than the header, an unknown column, no rows, a text feature with a
// model), and the model's load and run errors.
base::StatusOr<monitoring::Profile> BuildProfile(const ProfileToolOptions& options);

}  // namespace inferd::tools
