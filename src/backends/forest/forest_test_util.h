// Test helpers for the forest engine: fixture files, CSV matrices, a thin wrapper over
// libxgboost's C API (the reference implementation) and the output comparison used by the parity
// tests. Test-only code.
// Thread-safety: none of these are meant for concurrent use.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backends/forest/objective.h"
#include "backends/forest/xgboost_model.h"
#include "base/status.h"

namespace inferd::backends::forest::testing {

// ${INFERD_SOURCE_DIR}/tests/fixtures/xgboost
std::filesystem::path XgboostFixtureRoot();

std::string ReadText(const std::filesystem::path& path);
std::vector<uint8_t> ReadBytes(const std::filesystem::path& path);
void WriteBytes(const std::filesystem::path& path, const void* data, size_t size);
inline void WriteText(const std::filesystem::path& path, const std::string& text) {
  WriteBytes(path, text.data(), text.size());
}

// A fresh directory under the system temp dir, removed with its content on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// Row-major float matrix.
struct Matrix {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<float> values;
  float at(int64_t r, int64_t c) const { return values[r * cols + c]; }
};

// Reads a comma-separated file of numbers (an empty field is NaN), skipping a header line when
// `header` is true. Every line must have the same number of fields.
base::StatusOr<Matrix> ReadCsv(const std::filesystem::path& path, bool header);

// libxgboost's last error message.
std::string XgbLastError();

// A libxgboost booster loaded from a model file.
class XgbBooster {
 public:
  // Errors: INTERNAL with libxgboost's message when it cannot load the file.
  static base::StatusOr<std::unique_ptr<XgbBooster>> Load(const std::filesystem::path& path);
  // Takes ownership of a booster handle (BoosterHandle).
  explicit XgbBooster(void* handle) : handle_(handle) {}
  ~XgbBooster();
  XgbBooster(const XgbBooster&) = delete;
  XgbBooster& operator=(const XgbBooster&) = delete;

  // XGBoosterPredictFromDMatrix over a DMatrix made with missing = NaN: type 0 (normal) or 1
  // (margin). The result has x.rows rows.
  base::StatusOr<Matrix> Predict(const Matrix& x, bool margin) const;
  void* handle() const { return handle_; }

 private:
  void* handle_;
};

// Largest differences seen, for the report. |got - want| is compared to 1e-6 * max(1, |want|).
struct DiffStats {
  double max_abs = 0;
  double max_rel = 0;  // |got - want| / max(1, |want|)
  int64_t values = 0;
  int64_t exact = 0;  // bit-identical (or both NaN)
  void Merge(const DiffStats& o);
  std::string ToString() const;
};

inline constexpr double kTolerance = 1e-6;

// Differences split by kind: `direct` are values libxgboost itself returns (margin, prediction,
// softprob probabilities, binary p, labels as floats); `derived` are values inferd computes on
// top (binary 1 - p, multi:softmax probabilities, checked against a double softmax).
struct ParityStats {
  DiffStats direct;
  DiffStats derived;
  void Merge(const ParityStats& o) {
    direct.Merge(o.direct);
    derived.Merge(o.derived);
  }
};

// Checks every output of `model` on `x` against a reference prediction (`predict`: libxgboost's
// normal output, [rows, 1] or [rows, C]) and margin ([rows, groups]), per the output table of
// forest_backend.h; `task` says how to read them. Adds to `stats`. Uses gtest assertions.
void ExpectMatchesReference(const backend::LoadedModel& model, Task task, const Matrix& x,
                            const Matrix& predict, const Matrix& margin, ParityStats* stats);

// Largest |a - b| / max(1, |b|) over two equally sized matrices (infinity if sizes differ).
double MaxRelDiff(const Matrix& a, const Matrix& b);

// Loads `path` with a fresh ForestBackend and an empty config.
base::StatusOr<std::unique_ptr<backend::LoadedModel>> LoadWithForest(
    const std::filesystem::path& path);

// A hand-written XGBoost 1.7 JSON tree: arrays by node id (-1 children = leaf; the leaf value is
// in split_conditions).
struct TreeSpec {
  std::vector<int> left, right, split_indices;
  std::vector<float> split_conditions;
  std::vector<int> default_left;
};
// One split on `feature` at `threshold`: node 1 (left) = left_leaf, node 2 (right) = right_leaf.
TreeSpec Stump(int feature, float threshold, float left_leaf, float right_leaf, bool default_left);
TreeSpec Leaf(float value);
// A whole model document in 1.7 layout.
std::string MakeModelJson(const std::string& objective, int num_feature, int num_class,
                          const std::string& base_score, const std::vector<TreeSpec>& trees,
                          const std::vector<int>& tree_info);

// Task of a model from its signature's `objective` property.
Task TaskOf(const backend::LoadedModel& model);

// XGBoost model documents for loader tests.
nlohmann::json Fixture(const std::string& name);  // a fixture's model.json
base::StatusOr<XgboostModel> ParseBytes(const std::vector<uint8_t>& bytes, ModelFormat format);
base::StatusOr<XgboostModel> ParseText(const std::string& text);  // JSON text
base::StatusOr<XgboostModel> ParseDoc(const nlohmann::json& doc);
nlohmann::json& Tree0(nlohmann::json& doc);  // the first tree of a model document

// Expects `expr` (a StatusOr) to fail with `status_code` and a message containing `substring`.
#define EXPECT_STATUS(expr, status_code, substring)                                          \
  do {                                                                                       \
    const auto& _r = (expr);                                                                 \
    ASSERT_FALSE(_r.ok()) << "expected an error containing: " << (substring);                \
    EXPECT_EQ(_r.status().code(), (status_code)) << _r.status().ToString();                  \
    EXPECT_NE(_r.status().message().find(substring), std::string::npos)                      \
        << "message: " << _r.status().message() << "\nexpected to contain: " << (substring); \
  } while (0)

}  // namespace inferd::backends::forest::testing
