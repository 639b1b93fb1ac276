#include "repository/version_files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

namespace inferd::repository {
namespace {

namespace fs = std::filesystem;

class VersionFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("inferd_vf_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& rel, const std::string& content) {
    fs::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary) << content;
  }
  // What the shell's own tools say (the documented way to check a digest).
  std::string Shell(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(("cd '" + dir_.string() + "' && " + cmd).c_str(), "r");
    char buf[256];
    while (p && std::fgets(buf, sizeof buf, p)) out += buf;
    if (p) ::pclose(p);
    return out;
  }
  fs::path dir_;
};

TEST_F(VersionFilesTest, TheSha256OfKnownText) {
  // FIPS 180-2's example.
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_F(VersionFilesTest, DigestMatchesSha256sumOfTheSortedFiles) {
  Write("model.json", "{\"learner\": {}}");
  Write("metadata.yaml", "author: ana\n");
  Write("assets/vocab.txt", std::string(200000, 'x'));
  auto d = DigestVersion(dir_);
  ASSERT_TRUE(d.ok()) << d.status().message();
  ASSERT_EQ(d->files.size(), 3u);
  EXPECT_EQ(d->files[0].path, "assets/vocab.txt");
  EXPECT_EQ(d->files[2].path, "model.json");
  EXPECT_EQ(d->bytes, 200000 + 15 + 12);
  EXPECT_EQ(d->files[2].sha256 + "  model.json\n", Shell("sha256sum model.json"));
  const std::string want =
      Shell("find . -type f | sed 's|^\\./||' | LC_ALL=C sort | xargs sha256sum | sha256sum");
  EXPECT_EQ(d->sha256 + "  -\n", want);
  // Any change shows.
  Write("assets/vocab.txt", std::string(200000, 'y'));
  EXPECT_NE(DigestVersion(dir_)->sha256, d->sha256);
}

TEST_F(VersionFilesTest, LineageFromMetadataYaml) {
  EXPECT_EQ(*ReadLineage(dir_), "{}");
  Write("metadata.yaml",
        "source_commit: 3f2a9c1\ntraining_data_hash: sha256:abcd\nauthor: Ana\n"
        "created_at: 2026-11-20T10:00:00Z\nmetrics: {auc: 0.97, logloss: 0.11}\n"
        "tags: [fraud, weekly]\nticket: ML-42\n");
  auto l = ReadLineage(dir_);
  ASSERT_TRUE(l.ok()) << l.status().message();
  auto j = nlohmann::json::parse(*l);
  EXPECT_EQ(j["source_commit"], "3f2a9c1");
  EXPECT_EQ(j["created_at"], "2026-11-20T10:00:00Z");
  EXPECT_DOUBLE_EQ(j["metrics"]["auc"].get<double>(), 0.97);
  EXPECT_EQ(j["tags"], nlohmann::json::array({"fraud", "weekly"}));
  EXPECT_EQ(j["ticket"], "ML-42");  // other keys are kept

  struct Case {
    const char* yaml;
    const char* message;
  } cases[] = {
      {"metrics: [0.9]", "'metrics' must map names to numbers"},
      {"metrics: {auc: high}", "metric 'auc' must be a number"},
      {"tags: fraud", "'tags' must be a list"},
      {"author: {name: x}", "'author' must be a single value"},
      {"- a\n- b", "must be a mapping"},
      {"author: [unclosed", "invalid YAML"},
  };
  for (const auto& c : cases) {
    Write("metadata.yaml", c.yaml);
    auto bad = ReadLineage(dir_);
    ASSERT_FALSE(bad.ok()) << c.yaml;
    EXPECT_NE(bad.status().message().find(c.message), std::string::npos)
        << c.yaml << " -> " << bad.status().message();
    EXPECT_NE(bad.status().message().find("metadata.yaml"), std::string::npos);
  }
}

}  // namespace
}  // namespace inferd::repository
