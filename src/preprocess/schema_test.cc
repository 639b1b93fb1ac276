#include "preprocess/schema.h"

#include <gtest/gtest.h>

#include <cmath>

namespace inferd::preprocess {
namespace {

using FR = FeatureRule;

// A profile of age (numeric, 20..60, mean 40), color (categories 0, 1, 2; 1 most frequent).
monitoring::Profile MakeProfile() {
  monitoring::ProfileOptions o;
  monitoring::FeatureProfiler age("age", false, o), color("color", false, o);
  for (int i = 0; i <= 40; ++i) age.AddNumber(20 + i);
  for (int i = 0; i < 10; ++i) color.AddNumber(i % 4 == 0 ? 0 : i % 4 == 3 ? 2 : 1);
  age.AddMissing();
  monitoring::Profile p;
  p.features = {age.Finish(), color.Finish()};
  return p;
}

TEST(SchemaTest, ProposedFromAProfilePassesTheTrainingData) {
  const auto profile = MakeProfile();
  auto rules = Schema::Proposed(profile);
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].min, 20);
  EXPECT_EQ(rules[0].max, 60);
  EXPECT_TRUE(rules[0].nullable);
  EXPECT_EQ(rules[1].type, FR::Type::kCategorical);
  EXPECT_EQ(rules[1].categories, (std::vector<std::string>{"0", "1", "2"}));
  auto s = Schema::Make(rules, &profile);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<float> rows = {30, 1, std::nanf(""), 2, 99, 0};
  EXPECT_TRUE(s->Apply(rows, 3).ok());  // all policies pass: nothing changes
  EXPECT_EQ(rows[4], 99);
  EXPECT_TRUE(std::isnan(rows[2]));
}

TEST(SchemaTest, PoliciesImputeClipAndReject) {
  const auto profile = MakeProfile();
  auto rules = Schema::Proposed(profile);
  rules[0].missing = FR::Missing::kMedian;
  rules[0].out_of_range = FR::OutOfRange::kClip;
  rules[1].missing = FR::Missing::kMode;
  rules[1].unseen = FR::Unseen::kMissing;
  auto s = Schema::Make(rules, &profile);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::vector<float> rows = {std::nanf(""), 7, 99, 2, 5, std::nanf("")};
  Actions a;
  ASSERT_TRUE(s->Apply(rows, 3, &a).ok());
  EXPECT_EQ(rows[0], 40);  // the median
  EXPECT_EQ(rows[1], 1);   // unseen 7 -> missing -> the mode
  EXPECT_EQ(rows[2], 60);  // clipped
  EXPECT_EQ(rows[4], 20);
  EXPECT_EQ(rows[5], 1);
  EXPECT_EQ(a.imputed, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(a.clipped, (std::vector<uint64_t>{2, 0}));
  EXPECT_EQ(a.unseen, (std::vector<uint64_t>{0, 1}));

  rules[0].out_of_range = FR::OutOfRange::kReject;
  rules[1].unseen = FR::Unseen::kReject;
  s = Schema::Make(rules, &profile);
  ASSERT_TRUE(s.ok());
  std::vector<float> bad = {30, 1, 61, 1};
  EXPECT_EQ(s->Apply(bad, 2).message(),
            "row 1, feature 'age': 61 is above the maximum 60 (out_of_range: reject)");
  bad = {30, 4};
  EXPECT_EQ(s->Apply(bad, 1).message(),
            "row 0, feature 'color': category 4 is not one of the schema's (unseen: reject)");
  rules[0].missing = FR::Missing::kReject;
  s = Schema::Make(rules, &profile);
  bad = {std::nanf(""), 1};
  EXPECT_EQ(s->Apply(bad, 1).message(),
            "row 0, feature 'age': the value is missing (missing: reject)");
  rules[0].missing = FR::Missing::kPass;
  rules[0].nullable = false;
  s = Schema::Make(rules, &profile);
  EXPECT_EQ(s->Apply(bad, 1).message(),
            "row 0, feature 'age': a value is required (nullable: false)");
  bad = {INFINITY, 1};
  EXPECT_EQ(s->Apply(bad, 1).message(), "row 0, feature 'age': the value is infinite");
  EXPECT_NE(s->Apply(bad, 2).message().find("the schema has 2 features; got 2 values for 2 rows"),
            std::string::npos);
}

TEST(SchemaTest, BadRulesNameTheProblem) {
  const auto profile = MakeProfile();
  auto check = [&](FeatureRule r, const std::string& message) {
    auto s = Schema::Make({r}, &profile);
    ASSERT_FALSE(s.ok()) << message;
    EXPECT_NE(s.status().message().find(message), std::string::npos) << s.status().message();
  };
  FeatureRule r;
  check(r, "a feature has no name");
  r.name = "age";
  r.min = 5;
  r.max = 1;
  check(r, "feature 'age': min 5 is above max 1");
  r = FeatureRule{};
  r.name = "color";
  r.type = FR::Type::kCategorical;
  check(r, "a categorical feature needs its categories");
  r = FeatureRule{};
  r.name = "height";
  r.missing = FR::Missing::kMean;
  check(r, "missing: impute mean needs the feature in profile.json");
  r.name = "color";
  check(r, "mean and median are for numeric features");
  auto twice = Schema::Make({FeatureRule{.name = "a"}, FeatureRule{.name = "a"}});
  EXPECT_NE(twice.status().message().find("'a' appears twice"), std::string::npos);
}

}  // namespace
}  // namespace inferd::preprocess
