#include "rollout/routing.h"

#include <gtest/gtest.h>

#include <random>

namespace inferd::rollout {
namespace {

Policy Canary(int64_t stable_weight, int64_t canary_weight) {
  Policy p;
  p.labels = {{"stable", 2}, {"canary", 3}};
  p.weights = {{"stable", stable_weight}, {"canary", canary_weight}};
  return p;
}

TEST(RoutingTest, SplitFollowsTheWeights) {
  const Policy p = Canary(90, 10);
  ASSERT_TRUE(Validate(p).ok());
  std::mt19937_64 rng(11);
  int canary = 0;
  const int n = 10000;
  for (int i = 0; i < n; ++i) {
    auto v = Choose(p, {1, 2, 3}, "", rng());
    ASSERT_TRUE(v);
    ASSERT_TRUE(*v == 2 || *v == 3);
    canary += *v == 3;
  }
  // Binomial(10000, 0.1): sd 30; 5 sd either side.
  EXPECT_NEAR(canary, 1000, 150);
  // By route key: each key keeps its version, and the keys split as the weights say.
  int keyed = 0;
  for (int i = 0; i < n; ++i) {
    const std::string key = "user-" + std::to_string(i);
    const auto v = Choose(p, {2, 3}, key, rng());
    EXPECT_EQ(v, Choose(p, {2, 3}, key, rng())) << key;  // sticky whatever the random draw
    keyed += *v == 3;
  }
  EXPECT_NEAR(keyed, 1000, 150);
}

TEST(RoutingTest, TargetsThatAreNotReadyGiveTheirShareToTheOthers) {
  const Policy p = Canary(50, 50);
  std::mt19937_64 rng(3);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Choose(p, {1, 2}, "", rng()), 2);  // canary 3 not ready
  EXPECT_EQ(Choose(p, {1}, "", rng()), std::nullopt);  // none ready: the caller serves the latest
  Policy none;
  EXPECT_EQ(Choose(none, {1, 2}, "", rng()), std::nullopt);  // no weights
  // Weight 0 is no traffic; versions may be named directly and repeated targets add up.
  Policy direct;
  direct.labels = {{"stable", 1}};
  direct.weights = {{"stable", 0}, {"2", 1}, {"1", 0}};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(Choose(direct, {1, 2}, "", rng()), 2);
}

TEST(RoutingTest, ValidationNamesTheProblem) {
  struct Case {
    Policy policy;
    const char* message;
  } cases[] = {
      {{{{"Stable", 1}}, {}}, "label 'Stable' must be lower-case letters, digits and _"},
      {{{{"stable", 0}}, {}}, "label 'stable': versions are >= 1"},
      {{{}, {{"blue", 10}}}, "weight for 'blue': not a version number or a label"},
      {{{{"stable", 1}}, {{"stable", -1}}}, "must be between 0 and 1000000"},
      {{{{"stable", 1}}, {{"stable", 0}}}, "the weights add up to 0"},
  };
  for (const auto& c : cases) {
    auto st = Validate(c.policy);
    ASSERT_FALSE(st.ok()) << c.message;
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.message();
  }
  EXPECT_EQ(TargetVersion(Canary(1, 1), "canary"), 3);
  EXPECT_EQ(TargetVersion(Canary(1, 1), "7"), 7);
  EXPECT_EQ(TargetVersion(Canary(1, 1), "0"), std::nullopt);
  EXPECT_EQ(TargetVersion(Canary(1, 1), "7x"), std::nullopt);
}

TEST(RoutingTest, ShadowRoundTripsThroughJson) {
  Policy p = Canary(90, 10);
  p.shadow_version = 4;
  p.shadow_percent = 25;
  p.shadow_tolerance = 0.5;
  p.route_key_input = "user_id";
  ASSERT_TRUE(Validate(p).ok());
  auto back = PolicyFromJson(PolicyToJson(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->shadow_version, 4);
  EXPECT_EQ(back->shadow_percent, 25);
  EXPECT_EQ(back->shadow_tolerance, 0.5);
  EXPECT_EQ(back->labels, p.labels);
  EXPECT_EQ(back->route_key_input, "user_id");
  EXPECT_FALSE(PolicyFromJson(R"({"route_key_input": 3})").ok());
  // Without a percent, everything is mirrored.
  auto all = PolicyFromJson(R"({"shadow": {"version": 2}})");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->shadow_percent, 100);
  for (const char* bad : {R"({"shadow": 2})", R"({"shadow": {"version": 2, "rate": 1}})",
                          R"({"shadow": {"version": 2, "percent": 0.5}})"}) {
    EXPECT_FALSE(PolicyFromJson(bad).ok()) << bad;
  }
  p.shadow_percent = 101;
  EXPECT_NE(Validate(p).message().find("shadow percent must be between 0 and 100"),
            std::string::npos);
  p.shadow_percent = 10;
  p.shadow_version = 0;
  EXPECT_NE(Validate(p).message().find("shadow needs a version"), std::string::npos);
}

TEST(RoutingTest, TheTableSwapsWholePolicies) {
  RolloutTable t;
  EXPECT_EQ(t.Override("m"), nullptr);
  auto p = std::make_shared<const Policy>(Canary(90, 10));
  t.SetOverride("m", p);
  auto held = t.Override("m");
  t.SetOverride("m", std::make_shared<const Policy>(Canary(0, 100)));
  EXPECT_EQ(held->weights[0].second, 90);  // a reader keeps the policy it took
  EXPECT_EQ(t.Override("m")->weights[0].second, 0);
  t.SetOverride("m", nullptr);
  EXPECT_EQ(t.Override("m"), nullptr);
}

}  // namespace
}  // namespace inferd::rollout
