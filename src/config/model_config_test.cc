#include "config/model_config.h"

#include <gtest/gtest.h>

namespace inferd::config {
namespace {

TEST(ModelConfigTest, EmptyGivesDefaults) {
  auto c = ParseModelConfig("", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "m");
  EXPECT_EQ(c->backend, "auto");
  EXPECT_EQ(c->max_batch_size, 256);
  EXPECT_EQ(c->version_policy.kind, VersionPolicy::Kind::kLatest);
  EXPECT_EQ(c->version_policy.latest, 1);
}

TEST(ModelConfigTest, ParsesFields) {
  auto c = ParseModelConfig(R"(
backend: forest
max_batch_size: 64
version_policy: {specific: [1, 3]}
inputs: [{name: x, datatype: FP32, shape: [-1, 4]}]
features: [a, b, c, d]
parameters: {threads: 2}
)",
                            "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->backend, "forest");
  EXPECT_EQ(c->max_batch_size, 64);
  EXPECT_EQ(c->version_policy.kind, VersionPolicy::Kind::kSpecific);
  EXPECT_EQ(c->version_policy.specific, (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(c->inputs.size(), 1u);
  EXPECT_EQ(c->inputs[0].shape, (tensor::Shape{-1, 4}));
  EXPECT_EQ(c->features.size(), 4u);
  EXPECT_EQ(c->parameters.at("threads"), "2");
}

TEST(ModelConfigTest, ErrorsNameTheProblem) {
  struct Case {
    const char* yaml;
    const char* message;
  } cases[] = {
      {"max_batch_sise: 3", "unknown key 'max_batch_sise'"},
      {"backend: tensorflow", "unknown backend 'tensorflow'"},
      {"max_batch_size: -1", "max_batch_size must be >= 0"},
      {"version_policy: {latest: 0}", "latest must be >= 1"},
      {"version_policy: {latest: 1, all: true}", "exactly one"},
      {"version_policy: {specific: []}", "non-empty list"},
      {"inputs: [{name: x, datatype: FP99}]", "unknown datatype 'FP99'"},
      {"inputs: [{datatype: FP32}]", "missing 'name'"},
      {"features: [a, a]", "duplicate name 'a'"},
      {"name: other", "differs from the model directory name"},
      {"max_batch_size: [oops", "invalid YAML"},
      {"- 1\n- 2", "must be a mapping"},
  };
  for (const auto& c : cases) {
    auto r = ParseModelConfig(c.yaml, "m");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.yaml << " -> " << r.status().message();
  }
}

TEST(VersionPolicyTest, Select) {
  VersionPolicy p;
  EXPECT_EQ(p.Select({3, 1, 2}), (std::vector<int64_t>{3}));
  p.latest = 2;
  EXPECT_EQ(p.Select({3, 1, 2}), (std::vector<int64_t>{2, 3}));
  p.latest = 5;
  EXPECT_EQ(p.Select({1}), (std::vector<int64_t>{1}));
  p.kind = VersionPolicy::Kind::kAll;
  EXPECT_EQ(p.Select({2, 1}), (std::vector<int64_t>{1, 2}));
  p.kind = VersionPolicy::Kind::kSpecific;
  p.specific = {1, 4};
  EXPECT_EQ(p.Select({1, 2, 3}), (std::vector<int64_t>{1}));
}

}  // namespace
}  // namespace inferd::config
