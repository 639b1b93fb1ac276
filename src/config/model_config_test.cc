#include "config/model_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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

TEST(ModelConfigTest, BatchingInstancesAndWarmup) {
  auto c = ParseModelConfig(R"(
max_batch_size: 64
dynamic_batching:
  max_queue_delay_us: 500
  preferred_batch_sizes: [16, 32]
  max_queue_size: 100
  priority_levels: 2
  default_timeout_us: 20000
instances: 2
warmup: {batch_sizes: [1, 8], data: [random]}
)",
                            "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE(c->dynamic_batching.has_value());
  EXPECT_EQ(c->dynamic_batching->max_queue_delay_us, 500);
  EXPECT_EQ(c->dynamic_batching->preferred_batch_sizes, (std::vector<int64_t>{16, 32}));
  EXPECT_EQ(c->dynamic_batching->max_queue_size, 100);
  EXPECT_EQ(c->dynamic_batching->priority_levels, 2);
  EXPECT_EQ(c->dynamic_batching->default_priority_level, 1);
  EXPECT_EQ(c->dynamic_batching->default_timeout_us, 20000);
  EXPECT_EQ(c->instances, 2);
  EXPECT_EQ(c->warmup.batch_sizes, (std::vector<int64_t>{1, 8}));
  EXPECT_FALSE(c->warmup.zero_data);
  EXPECT_TRUE(c->warmup.random_data);
  auto plain = ParseModelConfig("warmup: false", "m");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->dynamic_batching.has_value());
  EXPECT_FALSE(plain->warmup.enabled);
  EXPECT_TRUE(ParseModelConfig("", "m")->warmup.enabled);
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
      {"dynamic_batching: {max_queue_delay: 5}", "unknown key 'max_queue_delay'"},
      {"max_batch_size: 0\ndynamic_batching: {}", "needs max_batch_size > 0"},
      {"max_batch_size: 8\ndynamic_batching: {preferred_batch_sizes: [4, 16]}",
       "16 is not between 1 and max_batch_size 8"},
      {"dynamic_batching: {max_queue_size: -1}", "must be >= 0"},
      {"dynamic_batching: {priority_levels: 2, default_priority_level: 3}",
       "default_priority_level must be between 1 and priority_levels"},
      {"instances: 0", "instances must be between 1 and 64"},
      {"warmup: {data: [ones]}", "unknown kind 'ones'"},
      {"warmup: {batch_sizes: [0]}", "warmup.batch_sizes must be >= 1"},
      {"inputs: [{name: x, label_filename: l.txt}]", "inputs[0]: label_filename is for outputs"},
      {"rollout: {labels: {Stable: 1}}", "label 'Stable' must be lower-case letters, digits and _"},
      {"rollout: {labels: {stable: 0}}", "label 'stable': versions are >= 1"},
      {"rollout: {labels: [stable]}", "rollout.labels must map label names to versions"},
      {"rollout: {weights: {stable: 90}}", "weight for 'stable': not a version number or a label"},
      {"rollout: {canary: {version: 2}}", "unknown key 'canary'"},
      {"rollout: {shadow: {percent: 5}}", "rollout.shadow needs a version"},
      {"rollout: {shadow: {version: 2, percent: 101}}", "shadow percent must be between 0 and 100"},
      {"rollout: {shadow: {version: 2, rate: 1}}", "unknown key 'rate'"},
      {"rollout: {shadow: {version: 2, tolerance: -1}}", "tolerance must be a number >= 0"},
      {"rollout: {shadow: 2}", "rollout.shadow must be {version, percent, tolerance}"},
      {"rollout: {auto_rollback: {window_s: 0}}", "rollout.auto_rollback: window_s must be >= 1"},
      {"rollout: {auto_rollback: {signals: [speed]}}", "unknown signal 'speed' (accuracy, "},
      {"rollout: {auto_rollback: {margin: 1}}", "unknown key 'margin'"},
      {"rollout: {auto_rollback: {signals: error_rate}}", "signals must be a list"},
      {"rollout: {route_key_input: ''}", "rollout.route_key_input must name an input"},
      {"monitoring: {alerts: [{name: a, metric: speed, below: 1}]}", "unknown metric 'speed'"},
      {"monitoring: {alerts: [{name: a, metric: accuracy}]}", "needs one of above or below"},
      {"monitoring: {alerts: [{name: a, metric: drift_statistic, above: 1}]}",
       "drift_statistic needs a feature"},
      {"monitoring: {alerts: [{name: a, metric: accuracy, below: 1, window_s: 7}]}",
       "window_s 7 is not one of monitoring.windows_s"},
      {"monitoring: {webhook: 'ftp://x'}", "monitoring.webhook must be an http:// URL"},
      {"monitoring: {log_sample_rate: 2}", "log_sample_rate must be between 0 and 1"},
      {"monitoring: {drift: {numeric_method: t}}", "numeric_method must be auto, ks"},
      {"monitoring: {task: ranking}", "monitoring.task must be auto, binary"},
  };
  for (const auto& c : cases) {
    auto r = ParseModelConfig(c.yaml, "m");
    ASSERT_FALSE(r.ok()) << c.yaml;
    EXPECT_NE(r.status().message().find(c.message), std::string::npos)
        << c.yaml << " -> " << r.status().message();
  }
}

TEST(ModelConfigTest, RolloutShadow) {
  auto c = ParseModelConfig(
      "rollout: {labels: {stable: 1}, shadow: {version: 2, percent: 25, tolerance: 0.01}}", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rollout.shadow_version, 2);
  EXPECT_EQ(c->rollout.shadow_percent, 25);
  EXPECT_EQ(c->rollout.shadow_tolerance, 0.01);
  c = ParseModelConfig("rollout: {route_key_input: user_id}", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rollout.route_key_input, "user_id");
  c = ParseModelConfig("rollout: {shadow: {version: 3}}", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->rollout.shadow_percent, 100);
}

TEST(ModelConfigTest, RolloutAutoRollback) {
  auto c = ParseModelConfig("rollout: {auto_rollback: true}", "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->auto_rollback.enabled);
  EXPECT_EQ(c->auto_rollback.window, std::chrono::seconds(60));
  c = ParseModelConfig(
      "rollout: {auto_rollback: {window_s: 30, min_samples: 20, error_rate_margin: 0.05, "
      "signals: [error_rate]}}",
      "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->auto_rollback.enabled);
  EXPECT_EQ(c->auto_rollback.window, std::chrono::seconds(30));
  EXPECT_EQ(c->auto_rollback.min_samples, 20);
  EXPECT_EQ(c->auto_rollback.error_rate_margin, 0.05);
  EXPECT_EQ(c->auto_rollback.signals, std::vector<std::string>{"error_rate"});
  c = ParseModelConfig("rollout: {labels: {stable: 1}}", "m");
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->auto_rollback.enabled);
}

TEST(ModelConfigTest, Schema) {
  auto c = ParseModelConfig(R"(
schema:
  defaults: {out_of_range: clip}
  features:
    - {name: age, min: 0, max: 120, missing: {impute: constant, value: 35}}
    - name: color
      categories: {red: 4, green: 7}
      unseen: reject
      missing: reject
    - {name: size, type: categorical, categories: [s, m, l], nullable: false}
)",
                            "m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_NE(c->schema, nullptr);
  const auto& r = c->schema->rules();
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(c->features, (std::vector<std::string>{"age", "color", "size"}));
  using FR = preprocess::FeatureRule;
  EXPECT_EQ(r[0].out_of_range, FR::OutOfRange::kClip);  // from defaults
  EXPECT_EQ(r[0].missing, FR::Missing::kConstant);
  EXPECT_EQ(r[0].impute, 35);
  EXPECT_EQ(r[1].type, FR::Type::kCategorical);
  EXPECT_EQ(r[1].codes, (std::vector<double>{4, 7}));
  EXPECT_EQ(r[1].unseen, FR::Unseen::kReject);
  EXPECT_EQ(r[1].missing, FR::Missing::kReject);
  EXPECT_EQ(r[2].codes, (std::vector<double>{0, 1, 2}));
  EXPECT_FALSE(r[2].nullable);

  auto error = [](const std::string& yaml) {
    auto c = ParseModelConfig(yaml, "m");
    return c.ok() ? std::string("ok") : c.status().message();
  };
  EXPECT_EQ(error("schema: {features: [{name: a, missing: guess}]}"),
            "schema feature 'a'.missing: unknown policy 'guess' (pass, reject, mean, median, "
            "mode, constant)");
  EXPECT_EQ(error("schema: {features: [{name: a, missing: constant}]}"),
            "schema feature 'a'.missing: impute constant needs a 'value'");
  EXPECT_EQ(error("schema: {features: [{name: a, out_of_range: wrap}]}"),
            "schema feature 'a'.out_of_range: unknown policy 'wrap' (pass, clip, reject)");
  EXPECT_EQ(error("schema: {features: [{name: a, type: text}]}"),
            "schema feature 'a': unknown type 'text' (numeric, categorical)");
  EXPECT_EQ(error("schema: {features: [{name: a, missing: median}]}"),
            "schema: feature 'a': missing: impute median needs the feature in profile.json");
  EXPECT_EQ(error("schema: {features: []}"),
            "schema has no features (give schema.features or schema.profile)");
  EXPECT_EQ(error("schema: {profile: true}"),
            "schema.profile: no model directory to read profile.json from");
  EXPECT_EQ(error("schema: {profile: ../x.json}"),
            "schema.profile must be true or a file name in the model directory");
  EXPECT_EQ(error("features: [b]\nschema: {features: [{name: a}]}"),
            "features and the schema's features differ (schema: a)");
  EXPECT_NE(error("schema: {features: [{name: a, colour: 1}]}").find("unknown key 'colour'"),
            std::string::npos);
}

TEST(ModelConfigTest, SchemaFromProfile) {
  monitoring::ProfileOptions o;
  monitoring::FeatureProfiler age("age", false, o), color("color", true, o);
  for (int i = 0; i <= 40; ++i) age.AddNumber(20 + i);
  for (const char* c : {"red", "red", "blue"}) color.AddText(c);
  monitoring::Profile p;
  p.features = {age.Finish(), color.Finish()};
  const auto dir = std::filesystem::path(::testing::TempDir()) / "schema_profile_m";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "profile.json") << p.ToJson();
  std::ofstream(dir / "config.yaml") << R"(
schema:
  profile: true
  defaults: {missing: mode, unseen: reject}
  features:
    - {name: age, missing: median, out_of_range: reject}
)";
  auto c = LoadModelConfig(dir / "config.yaml", "schema_profile_m");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const auto& r = c->schema->rules();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].min, 20);
  EXPECT_EQ(r[0].max, 60);
  EXPECT_EQ(r[0].impute, 40);  // the median
  EXPECT_EQ(r[1].categories, (std::vector<std::string>{"blue", "red"}));
  EXPECT_EQ(r[1].impute, 1);  // the mode, red, has code 1
  EXPECT_EQ(r[1].unseen, preprocess::FeatureRule::Unseen::kReject);
  std::ofstream(dir / "config.yaml") << "schema: {profile: true, features: [{name: height}]}";
  c = LoadModelConfig(dir / "config.yaml", "schema_profile_m");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("schema feature 'height' is not in profile.json (its "
                                      "features: age, color)"),
            std::string::npos)
      << c.status().message();
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
