#include "tools/local_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "backends/forest/forest_backend.h"

namespace inferd::tools {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

fs::path Fixture(const std::string& name) {
  return fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/xgboost" / name;
}

class LocalModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "local-model-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
    registry_.Register(backends::forest::ForestBackend::Create({.threads = 1}).value());
  }
  void TearDown() override { fs::remove_all(dir_); }

  // <dir>/<model>/<version>/<file> from a fixture's model.json.
  fs::path AddVersion(const std::string& model, int version, const std::string& fixture,
                      const std::string& file = "model.json") {
    fs::path d = dir_ / model / std::to_string(version);
    fs::create_directories(d);
    fs::copy_file(Fixture(fixture) / file, d / file);
    return d;
  }
  base::StatusOr<LocalModel> Load(const fs::path& path, std::optional<int64_t> version = {}) {
    return LoadLocalModel({.path = path, .version = version, .backends = &registry_});
  }

  fs::path dir_;
  backend::BackendRegistry registry_;
};

TEST_F(LocalModelTest, ModelFile) {
  auto m = Load(Fixture("binary_logistic") / "model.json");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->name, "binary_logistic");
  EXPECT_EQ(m->version, 0);
  EXPECT_EQ(m->backend, "forest");
  EXPECT_EQ(m->model->signature().inputs[0].shape, (tensor::Shape{-1, 30}));
}

TEST_F(LocalModelTest, UbjFileBesideAJsonFile) {
  fs::path d = AddVersion("m", 1, "multi_softprob");
  fs::copy_file(Fixture("binary_logistic") / "model.ubj", d / "model.ubj");
  auto m = Load(d / "model.ubj");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->model_file.filename(), "model.ubj");
  EXPECT_EQ(m->model->signature().inputs[0].shape, (tensor::Shape{-1, 30}));
  EXPECT_EQ(m->version, 1);
  EXPECT_EQ(m->name, "m");
}

TEST_F(LocalModelTest, ModelDirectoryTakesTheHighestVersionOrTheOneAskedFor) {
  AddVersion("m", 1, "multi_softprob");
  AddVersion("m", 3, "binary_logistic");
  fs::create_directories(dir_ / "m" / "notes");
  auto m = Load(dir_ / "m");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->version, 3);
  EXPECT_EQ(m->model->signature().inputs[0].shape, (tensor::Shape{-1, 30}));
  m = Load(dir_ / "m/", 1);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->version, 1);
  EXPECT_EQ(m->model->signature().inputs[0].shape, (tensor::Shape{-1, 4}));
  m = Load(dir_ / "m", 2);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), base::StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("has no version 2 (it has 1, 3)"));
}

TEST_F(LocalModelTest, ConfigOfTheModelDirectoryApplies) {
  fs::path v = AddVersion("iris", 2, "multi_softprob");
  std::ofstream(dir_ / "iris" / "config.yaml")
      << "inputs: [{name: features, datatype: FP32, shape: [-1, 4]}]\n"
         "features: [sepal_length, sepal_width, petal_length, petal_width]\n";
  for (const fs::path& p : {dir_ / "iris", v, v / "model.json"}) {
    auto m = Load(p);
    ASSERT_TRUE(m.ok()) << p << ": " << m.status().message();
    EXPECT_EQ(m->name, "iris");
    EXPECT_EQ(m->version, 2);
    EXPECT_EQ(m->config.features.size(), 4u);
    EXPECT_EQ(m->model->signature().inputs[0].name, "features");
  }
}

TEST_F(LocalModelTest, Errors) {
  auto m = Load(dir_ / "nothing");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), base::StatusCode::kNotFound);
  EXPECT_THAT(m.status().message(), HasSubstr("does not exist"));

  fs::create_directories(dir_ / "empty");
  m = Load(dir_ / "empty");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), base::StatusCode::kNotFound);

  std::ofstream(dir_ / "data.bin") << "x";
  m = Load(dir_ / "data.bin");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("no backend loads a model file named 'data.bin'"));

  m = Load(Fixture("binary_logistic") / "model.json", 1);
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("applies to a model directory"));

  fs::path d = AddVersion("broken", 1, "binary_logistic");
  std::ofstream(d / "model.json", std::ios::trunc) << "{\"learner\": ";
  m = Load(dir_ / "broken");
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(), HasSubstr("model.json"));
}

}  // namespace
}  // namespace inferd::tools
