#include "repository/file_system_source.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <thread>

namespace inferd::repository {
namespace {

namespace fs = std::filesystem;

class RepoDir {
 public:
  RepoDir() {
    path_ = fs::temp_directory_path() / ("inferd-repo-" + std::to_string(std::random_device{}()));
    fs::create_directories(path_);
  }
  ~RepoDir() { fs::remove_all(path_); }
  void Write(const std::string& rel, const std::string& content) {
    fs::create_directories((path_ / rel).parent_path());
    std::ofstream(path_ / rel) << content;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(FileSystemSourceTest, ScansModelsAndVersions) {
  RepoDir repo;
  repo.Write("b/2/model.json", "{}");
  repo.Write("b/10/model.json", "{}");
  repo.Write("b/notaversion/model.json", "{}");
  repo.Write("b/0/model.json", "{}");
  repo.Write("b/config.yaml", "backend: forest\n");
  repo.Write("a/1/model.ubj", "x");
  repo.Write(".hidden/1/model.json", "{}");
  repo.Write("README.md", "not a model");
  auto src = FileSystemSource::Create({.root = repo.path()});
  ASSERT_TRUE(src.ok());
  auto models = (*src)->Scan();
  ASSERT_TRUE(models.ok());
  ASSERT_EQ(models->size(), 2u);
  EXPECT_EQ((*models)[0].name, "a");
  EXPECT_FALSE((*models)[0].config_file.has_value());
  const auto& b = (*models)[1];
  EXPECT_EQ(b.name, "b");
  ASSERT_TRUE(b.config_file.has_value());
  ASSERT_EQ(b.versions.size(), 2u);
  EXPECT_EQ(b.versions[0].version, 2);
  EXPECT_EQ(b.versions[1].version, 10);
}

TEST(FileSystemSourceTest, FingerprintChangesWithContent) {
  RepoDir repo;
  repo.Write("m/1/model.json", "{}");
  auto src = FileSystemSource::Create({.root = repo.path()}).value();
  uint64_t a = src->Scan().value()[0].versions[0].fingerprint;
  EXPECT_EQ(src->Scan().value()[0].versions[0].fingerprint, a);
  repo.Write("m/1/model.json", "{\"changed\": true}");
  EXPECT_NE(src->Scan().value()[0].versions[0].fingerprint, a);
}

TEST(FileSystemSourceTest, MissingRootIsNotFound) {
  auto src = FileSystemSource::Create({.root = "/nonexistent/inferd/repo"});
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), base::StatusCode::kNotFound);
}

TEST(FileSystemSourceTest, NamesAndVersions) {
  EXPECT_TRUE(IsValidModelName("fraud-v2.1_x"));
  EXPECT_FALSE(IsValidModelName(".git"));
  EXPECT_FALSE(IsValidModelName("a b"));
  EXPECT_FALSE(IsValidModelName(""));
  EXPECT_EQ(ParseVersion("12"), 12);
  EXPECT_EQ(ParseVersion("0"), std::nullopt);
  EXPECT_EQ(ParseVersion("-1"), std::nullopt);
  EXPECT_EQ(ParseVersion("1a"), std::nullopt);
  EXPECT_EQ(ParseVersion("99999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace inferd::repository
