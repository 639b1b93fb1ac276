#include "backends/forest/forest_test_util.h"

#include <unistd.h>
#include <xgboost/c_api.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "backends/forest/forest_backend.h"

namespace inferd::backends::forest::testing {

using base::StatusOr;
using tensor::Tensor;

std::filesystem::path XgboostFixtureRoot() {
  return std::filesystem::path(INFERD_SOURCE_DIR) / "tests" / "fixtures" / "xgboost";
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<uint8_t> ReadBytes(const std::filesystem::path& path) {
  const std::string s = ReadText(path);
  return std::vector<uint8_t>(s.begin(), s.end());
}

void WriteBytes(const std::filesystem::path& path, const void* data, size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ =
      std::filesystem::temp_directory_path() / ("inferd_forest_test_" + std::to_string(::getpid()) +
                                                "_" + std::to_string(counter.fetch_add(1)));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

StatusOr<Matrix> ReadCsv(const std::filesystem::path& path, bool header) {
  std::ifstream in(path);
  if (!in) return base::NotFound(path.string() + ": cannot open");
  Matrix m;
  std::string line;
  bool first = true;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (first && header) {
      first = false;
      continue;
    }
    first = false;
    if (line.empty()) continue;
    int64_t cols = 0;
    size_t start = 0;
    while (true) {
      const size_t comma = line.find(',', start);
      const std::string field =
          line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (field.empty()) {
        m.values.push_back(std::nanf(""));
      } else {
        char* end = nullptr;
        const double v = std::strtod(field.c_str(), &end);
        if (end != field.c_str() + field.size()) {
          return base::InvalidArgument(path.string() + ": bad number '" + field + "'");
        }
        m.values.push_back(static_cast<float>(v));
      }
      ++cols;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (m.rows == 0) m.cols = cols;
    if (cols != m.cols) {
      return base::InvalidArgument(path.string() + ": row " + std::to_string(m.rows) + " has " +
                                   std::to_string(cols) + " fields, expected " +
                                   std::to_string(m.cols));
    }
    ++m.rows;
  }
  return m;
}

std::string XgbLastError() { return XGBGetLastError(); }

StatusOr<std::unique_ptr<XgbBooster>> XgbBooster::Load(const std::filesystem::path& path) {
  BoosterHandle h = nullptr;
  if (XGBoosterCreate(nullptr, 0, &h) != 0) return base::Internal(XgbLastError());
  auto booster = std::make_unique<XgbBooster>(h);
  if (XGBoosterLoadModel(h, path.c_str()) != 0) return base::Internal(XgbLastError());
  return booster;
}

XgbBooster::~XgbBooster() { XGBoosterFree(handle_); }

StatusOr<Matrix> XgbBooster::Predict(const Matrix& x, bool margin) const {
  DMatrixHandle dm = nullptr;
  if (XGDMatrixCreateFromMat(x.values.data(), static_cast<bst_ulong>(x.rows),
                             static_cast<bst_ulong>(x.cols), std::nanf(""), &dm) != 0) {
    return base::Internal(XgbLastError());
  }
  const std::string config = std::string(R"({"type": )") + (margin ? "1" : "0") +
                             R"(, "training": false, "iteration_begin": 0, "iteration_end": 0,)"
                             R"( "strict_shape": false, "cache_id": 0})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  const int rc = XGBoosterPredictFromDMatrix(handle_, dm, config.c_str(), &shape, &dim, &result);
  if (rc != 0) {
    const std::string err = XgbLastError();
    XGDMatrixFree(dm);
    return base::Internal(err);
  }
  size_t size = 1;
  for (bst_ulong i = 0; i < dim; ++i) size *= shape[i];
  Matrix out;
  out.rows = x.rows;
  out.cols = x.rows == 0 ? 0 : static_cast<int64_t>(size) / x.rows;
  out.values.assign(result, result + size);
  XGDMatrixFree(dm);
  return out;
}

void DiffStats::Merge(const DiffStats& o) {
  max_abs = std::max(max_abs, o.max_abs);
  max_rel = std::max(max_rel, o.max_rel);
  values += o.values;
  exact += o.exact;
}

std::string DiffStats::ToString() const {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "%lld values, %lld bit-identical, max |diff| %.3g, max rel %.3g",
                static_cast<long long>(values), static_cast<long long>(exact), max_abs, max_rel);
  return buf;
}

namespace {

void ExpectNear(const std::string& what, int64_t index, float got, float want, DiffStats* stats) {
  ++stats->values;
  if ((std::isnan(got) && std::isnan(want)) || std::memcmp(&got, &want, sizeof(float)) == 0) {
    ++stats->exact;
    return;
  }
  const double diff = std::fabs(static_cast<double>(got) - static_cast<double>(want));
  const double rel = diff / std::max(1.0, std::fabs(static_cast<double>(want)));
  stats->max_abs = std::max(stats->max_abs, diff);
  stats->max_rel = std::max(stats->max_rel, rel);
  EXPECT_LE(rel, kTolerance) << what << "[" << index << "]: got " << got << ", want " << want;
}

void ExpectFloats(const std::string& what, std::span<const float> got,
                  const std::vector<float>& want, DiffStats* stats) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    ExpectNear(what, static_cast<int64_t>(i), got[i], want[i], stats);
  }
}

// Softmax in double, the check for multi:softmax's probabilities (libxgboost has none).
std::vector<float> SoftmaxRows(const Matrix& margin) {
  std::vector<float> out(margin.values.size());
  for (int64_t r = 0; r < margin.rows; ++r) {
    double mx = -INFINITY, sum = 0;
    for (int64_t c = 0; c < margin.cols; ++c) mx = std::max<double>(mx, margin.at(r, c));
    for (int64_t c = 0; c < margin.cols; ++c) sum += std::exp(margin.at(r, c) - mx);
    for (int64_t c = 0; c < margin.cols; ++c) {
      out[r * margin.cols + c] = static_cast<float>(std::exp(margin.at(r, c) - mx) / sum);
    }
  }
  return out;
}

}  // namespace

double MaxRelDiff(const Matrix& a, const Matrix& b) {
  if (a.values.size() != b.values.size()) return INFINITY;
  double worst = 0;
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (std::isnan(a.values[i]) && std::isnan(b.values[i])) continue;
    const double d = std::fabs(static_cast<double>(a.values[i]) - b.values[i]) /
                     std::max(1.0, std::fabs(static_cast<double>(b.values[i])));
    worst = std::max(worst, std::isnan(d) ? INFINITY : d);
  }
  return worst;
}

void ExpectMatchesReference(const backend::LoadedModel& model, Task task, const Matrix& x,
                            const Matrix& predict, const Matrix& margin, ParityStats* stats) {
  DiffStats* direct = &stats->direct;
  DiffStats* derived = &stats->derived;
  const backend::ModelSignature& sig = model.signature();
  ASSERT_EQ(sig.inputs.size(), 1u);
  Tensor input(sig.inputs[0].name, tensor::DataType::kFp32, {x.rows, x.cols});
  std::copy(x.values.begin(), x.values.end(), input.data<float>().begin());
  std::vector<std::string> names;
  for (const auto& o : sig.outputs) names.push_back(o.name);
  auto result = model.Execute(std::span<const Tensor>(&input, 1), names);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  std::map<std::string, const Tensor*> out;
  for (const Tensor& t : *result) out[t.name()] = &t;
  ASSERT_EQ(out.size(), names.size());
  ASSERT_EQ(predict.rows, x.rows);
  ASSERT_EQ(margin.rows, x.rows);

  ExpectFloats("margin", out["margin"]->data<float>(), margin.values, direct);
  switch (task) {
    case Task::kBinary: {
      ASSERT_EQ(predict.cols, 1);
      std::vector<float> p0, p1;
      auto probs = out["probabilities"]->data<float>();
      for (int64_t r = 0; r < x.rows; ++r) {
        p0.push_back(probs[2 * r]);
        p1.push_back(probs[2 * r + 1]);
      }
      std::vector<float> one_minus(predict.values);
      for (float& v : one_minus) v = 1.0f - v;
      ExpectFloats("probabilities[:,1]", p1, predict.values, direct);
      ExpectFloats("probabilities[:,0]", p0, one_minus, derived);
      auto labels = out["label"]->data<int64_t>();
      for (int64_t r = 0; r < x.rows; ++r) {
        EXPECT_EQ(labels[r], predict.values[r] > 0.5f ? 1 : 0) << "label[" << r << "]";
      }
      break;
    }
    case Task::kMultiProb: {
      ExpectFloats("probabilities", out["probabilities"]->data<float>(), predict.values, direct);
      auto labels = out["label"]->data<int64_t>();
      for (int64_t r = 0; r < x.rows; ++r) {
        auto row = predict.values.begin() + r * predict.cols;
        EXPECT_EQ(labels[r], std::max_element(row, row + predict.cols) - row)
            << "label[" << r << "]";
      }
      break;
    }
    case Task::kMultiIndex: {
      ASSERT_EQ(predict.cols, 1);
      auto labels = out["label"]->data<int64_t>();
      for (int64_t r = 0; r < x.rows; ++r) {
        EXPECT_EQ(static_cast<float>(labels[r]), predict.values[r]) << "label[" << r << "]";
      }
      ExpectFloats("probabilities", out["probabilities"]->data<float>(), SoftmaxRows(margin),
                   derived);
      break;
    }
    case Task::kHinge: {
      auto labels = out["label"]->data<int64_t>();
      for (int64_t r = 0; r < x.rows; ++r) {
        EXPECT_EQ(static_cast<float>(labels[r]), predict.values[r]) << "label[" << r << "]";
      }
      ExpectFloats("prediction", out["prediction"]->data<float>(), predict.values, direct);
      break;
    }
    case Task::kRegression:
      ExpectFloats("prediction", out["prediction"]->data<float>(), predict.values, direct);
      break;
  }
}

StatusOr<std::unique_ptr<backend::LoadedModel>> LoadWithForest(const std::filesystem::path& path) {
  ASSIGN_OR_RETURN(auto backend, ForestBackend::Create({}));
  config::ModelConfig config;
  backend::LoadRequest request{"test", 1, path, &config};
  return backend->Load(request);
}

TreeSpec Stump(int feature, float threshold, float left_leaf, float right_leaf, bool default_left) {
  return TreeSpec{{1, -1, -1},
                  {2, -1, -1},
                  {feature, 0, 0},
                  {threshold, left_leaf, right_leaf},
                  {default_left ? 1 : 0, 0, 0}};
}

TreeSpec Leaf(float value) { return TreeSpec{{-1}, {-1}, {0}, {value}, {0}}; }

std::string MakeModelJson(const std::string& objective, int num_feature, int num_class,
                          const std::string& base_score, const std::vector<TreeSpec>& trees,
                          const std::vector<int>& tree_info) {
  nlohmann::json tree_array = nlohmann::json::array();
  for (size_t i = 0; i < trees.size(); ++i) {
    const TreeSpec& t = trees[i];
    const size_t n = t.left.size();
    tree_array.push_back({
        {"id", i},
        {"tree_param",
         {{"num_nodes", std::to_string(n)},
          {"num_feature", std::to_string(num_feature)},
          {"num_deleted", "0"},
          {"size_leaf_vector", "0"}}},
        {"left_children", t.left},
        {"right_children", t.right},
        {"parents", std::vector<int>(n, 0)},
        {"split_indices", t.split_indices},
        {"split_conditions", t.split_conditions},
        {"split_type", std::vector<int>(n, 0)},
        {"default_left", t.default_left},
        {"base_weights", std::vector<float>(n, 0.0f)},
        {"loss_changes", std::vector<float>(n, 0.0f)},
        {"sum_hessian", std::vector<float>(n, 0.0f)},
        {"categories", nlohmann::json::array()},
        {"categories_nodes", nlohmann::json::array()},
        {"categories_segments", nlohmann::json::array()},
        {"categories_sizes", nlohmann::json::array()},
    });
  }
  nlohmann::json model = {
      {"version", {1, 7, 4}},
      {"learner",
       {{"attributes", nlohmann::json::object()},
        {"feature_names", nlohmann::json::array()},
        {"feature_types", nlohmann::json::array()},
        {"objective", {{"name", objective}}},
        {"learner_model_param",
         {{"base_score", base_score},
          {"boost_from_average", "1"},
          {"num_class", std::to_string(num_class)},
          {"num_feature", std::to_string(num_feature)},
          {"num_target", "1"}}},
        {"gradient_booster",
         {{"name", "gbtree"},
          {"model",
           {{"gbtree_model_param",
             {{"num_parallel_tree", "1"},
              {"num_trees", std::to_string(trees.size())},
              {"size_leaf_vector", "0"}}},
            {"tree_info", tree_info},
            {"trees", tree_array}}}}}}},
  };
  return model.dump();
}

Task TaskOf(const backend::LoadedModel& model) {
  auto objective = FindObjective(model.signature().properties.at("objective"));
  CHECK(objective.ok());
  return objective->task;
}

nlohmann::json Fixture(const std::string& name) {
  return nlohmann::json::parse(ReadText(XgboostFixtureRoot() / name / "model.json"));
}

base::StatusOr<XgboostModel> ParseBytes(const std::vector<uint8_t>& bytes, ModelFormat format) {
  return ParseXgboostModel(bytes, format);
}

base::StatusOr<XgboostModel> ParseText(const std::string& text) {
  return ParseBytes(std::vector<uint8_t>(text.begin(), text.end()), ModelFormat::kJson);
}

base::StatusOr<XgboostModel> ParseDoc(const nlohmann::json& doc) { return ParseText(doc.dump()); }

nlohmann::json& Tree0(nlohmann::json& doc) {
  return doc["learner"]["gradient_booster"]["model"]["trees"][0];
}

}  // namespace inferd::backends::forest::testing
