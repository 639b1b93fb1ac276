// ModelManager with the real forest backend on a temporary repository.
#include "lifecycle/model_manager.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "backends/forest/forest_backend.h"

namespace inferd::lifecycle {
namespace {

namespace fs = std::filesystem;

fs::path Fixture(const std::string& name) {
  return fs::path(INFERD_SOURCE_DIR) / "tests/fixtures/xgboost" / name / "model.json";
}

class ModelManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("inferd-mm-" + std::to_string(std::random_device{}()));
    fs::create_directories(root_);
    backends_.Register(backends::forest::ForestBackend::Create({}).value());
  }
  void TearDown() override {
    if (manager_) manager_->Stop();
    fs::remove_all(root_);
  }
  void AddVersion(const std::string& model, int v, const std::string& fixture) {
    fs::create_directories(root_ / model / std::to_string(v));
    fs::copy_file(Fixture(fixture), root_ / model / std::to_string(v) / "model.json",
                  fs::copy_options::overwrite_existing);
  }
  void Write(const fs::path& rel, const std::string& content) {
    fs::create_directories((root_ / rel).parent_path());
    std::ofstream(root_ / rel) << content;
  }
  void StartManager() {
    source_ = repository::FileSystemSource::Create({.root = root_}).value();
    ModelManagerOptions o;
    o.source = source_.get();
    o.backends = &backends_;
    o.metrics = &metrics_;
    manager_ = ModelManager::Create(o).value();
    ASSERT_TRUE(manager_->Start().ok());
  }
  int64_t ServedVersion(const std::string& model) {
    auto h = manager_->Get(model);
    return h.ok() ? h->version : -1;
  }
  std::string StateOf(const std::string& model, int64_t v, std::string* reason = nullptr) {
    for (const auto& e : manager_->Index()) {
      if (e.name == model && e.version == v) {
        if (reason) *reason = e.reason;
        return e.state;
      }
    }
    return "";
  }

  fs::path root_;
  backend::BackendRegistry backends_;
  monitoring::MetricsRegistry metrics_;
  std::unique_ptr<repository::FileSystemSource> source_;
  std::unique_ptr<ModelManager> manager_;
};

TEST_F(ModelManagerTest, LatestVersionServesAndSwapsOnPoll) {
  AddVersion("m", 1, "binary_logistic");
  StartManager();
  EXPECT_EQ(ServedVersion("m"), 1);
  auto held = manager_->Get("m").value();
  AddVersion("m", 2, "binary_logistic_base_score");
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(ServedVersion("m"), 2);
  // Version 1 is unloaded from the manager but the held handle still works.
  EXPECT_EQ(manager_->Get("m", 1).status().code(), base::StatusCode::kUnavailable);
  tensor::Tensor in("input", tensor::DataType::kFp32, {1, 30});
  std::vector<tensor::Tensor> inputs;
  inputs.push_back(std::move(in));
  EXPECT_TRUE(held.model->Execute(inputs, {}).ok());
  EXPECT_EQ(*manager_->ReadyVersions("m"), (std::vector<int64_t>{2}));
}

TEST_F(ModelManagerTest, BrokenVersionNeverReplacesAWorkingOne) {
  AddVersion("m", 1, "binary_logistic");
  StartManager();
  Write("m/2/model.json", "{\"learner\":");
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(ServedVersion("m"), 1);
  std::string reason;
  EXPECT_EQ(StateOf("m", 2, &reason), "UNAVAILABLE");
  EXPECT_FALSE(reason.empty());
  // Not retried while unchanged.
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(metrics_.RenderPrometheus().find(
                "inferd_model_loads_total{model=\"m\",outcome=\"failure\"} 2"),
            std::string::npos);
  // Repaired: retried and swapped in.
  AddVersion("m", 2, "binary_logistic_base_score");
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(ServedVersion("m"), 2);
  EXPECT_EQ(StateOf("m", 2), "READY");
}

TEST_F(ModelManagerTest, RemovingTheNewestBringsBackThePrevious) {
  AddVersion("m", 1, "binary_logistic");
  AddVersion("m", 2, "binary_logistic_base_score");
  StartManager();
  EXPECT_EQ(ServedVersion("m"), 2);
  EXPECT_EQ(StateOf("m", 1), "UNAVAILABLE");  // not selected by the policy
  fs::remove_all(root_ / "m" / "2");
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(ServedVersion("m"), 1);
  EXPECT_EQ(manager_->Get("m", 2).status().code(), base::StatusCode::kNotFound);
}

TEST_F(ModelManagerTest, PoliciesAllAndSpecific) {
  AddVersion("all", 1, "binary_logistic");
  AddVersion("all", 2, "binary_logistic");
  Write("all/config.yaml", "version_policy: {all: true}\n");
  AddVersion("some", 1, "binary_logistic");
  AddVersion("some", 2, "binary_logistic");
  AddVersion("some", 3, "binary_logistic");
  Write("some/config.yaml", "version_policy: {specific: [1, 3]}\n");
  StartManager();
  EXPECT_EQ(*manager_->ReadyVersions("all"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(*manager_->ReadyVersions("some"), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(manager_->Get("some", 2).status().code(), base::StatusCode::kUnavailable);
  EXPECT_TRUE(manager_->AllModelsReady());
}

TEST_F(ModelManagerTest, ConfigChangeRetriesFailedAndReloadsReadyVersions) {
  AddVersion("m", 1, "multi_softprob");
  Write("m/config.yaml", "inputs: [{name: x, datatype: FP32, shape: [-1, 5]}]\n");
  StartManager();
  std::string reason;
  EXPECT_EQ(StateOf("m", 1, &reason), "UNAVAILABLE");
  EXPECT_NE(reason.find("5"), std::string::npos) << reason;
  // Fixed config: the version is retried although its files did not change.
  Write("m/config.yaml", "inputs: [{name: x, datatype: FP32, shape: [-1, 4]}]\n");
  ASSERT_TRUE(manager_->PollOnce().ok());
  ASSERT_EQ(StateOf("m", 1), "READY");
  EXPECT_EQ(manager_->Get("m")->model->signature().inputs[0].name, "x");
  // Renamed input: the ready version is reloaded with the new config.
  Write("m/config.yaml", "inputs: [{name: features, datatype: FP32, shape: [-1, 4]}]\n");
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(manager_->Get("m")->model->signature().inputs[0].name, "features");
  // A config the model cannot take: the version keeps serving its previous load, and says so.
  Write("m/config.yaml", "inputs: [{name: y, datatype: FP32, shape: [-1, 9]}]\n");
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_EQ(StateOf("m", 1, &reason), "READY");
  EXPECT_NE(reason.find("config change not applied"), std::string::npos) << reason;
  EXPECT_EQ(manager_->Get("m")->model->signature().inputs[0].name, "features");
}

TEST_F(ModelManagerTest, ErrorsForUnknownAndBrokenModels) {
  AddVersion("ok", 1, "multi_softprob");
  Write("cfg/config.yaml", "backend: nope\n");
  AddVersion("cfg", 1, "multi_softprob");
  fs::create_directories(root_ / "empty");
  StartManager();
  EXPECT_EQ(manager_->Get("nope").status().code(), base::StatusCode::kNotFound);
  EXPECT_EQ(manager_->Get("ok", 5).status().code(), base::StatusCode::kNotFound);
  auto cfg = manager_->Get("cfg");
  EXPECT_EQ(cfg.status().code(), base::StatusCode::kUnavailable);
  EXPECT_NE(cfg.status().message().find("unknown backend 'nope'"), std::string::npos)
      << cfg.status().message();
  EXPECT_EQ(manager_->Get("empty").status().code(), base::StatusCode::kUnavailable);
  EXPECT_FALSE(manager_->AllModelsReady());
  fs::remove_all(root_ / "cfg");
  fs::remove_all(root_ / "empty");
  ASSERT_TRUE(manager_->PollOnce().ok());
  EXPECT_TRUE(manager_->AllModelsReady());
  EXPECT_EQ(manager_->Get("cfg").status().code(), base::StatusCode::kNotFound);
}

}  // namespace
}  // namespace inferd::lifecycle
