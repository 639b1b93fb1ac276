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

// age numeric 0..120 (median imputed), color categorical red/green/blue with codes 0/1/2.
Schema NamedSchema(FR::Unseen unseen = FR::Unseen::kMissing) {
  FeatureRule age{.name = "age", .min = 0, .max = 120};
  age.missing = FR::Missing::kConstant;
  age.impute = 35;
  FeatureRule color{.name = "color", .type = FR::Type::kCategorical};
  color.categories = {"red", "green", "blue"};
  color.unseen = unseen;
  auto s = Schema::Make({age, color});
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

tensor::Tensor Strings(std::string name, tensor::Shape shape, std::vector<std::string> v) {
  std::vector<uint8_t> bytes;
  for (const auto& e : v) tensor::AppendBytesElement(e, &bytes);
  return *tensor::Tensor::Bytes(std::move(name), std::move(shape), std::move(bytes));
}

template <typename T>
tensor::Tensor Numbers(std::string name, tensor::DataType dt, tensor::Shape shape,
                       std::vector<T> v) {
  tensor::Tensor t(std::move(name), dt, std::move(shape));
  std::copy(v.begin(), v.end(), t.data<T>().begin());
  return t;
}

TEST(SchemaTest, CategoryCodesAreNumbersOrPositions) {
  const Schema s = NamedSchema();
  EXPECT_EQ(s.rules()[1].codes, (std::vector<double>{0, 1, 2}));
  FeatureRule numeric_names{.name = "k", .type = FR::Type::kCategorical};
  numeric_names.categories = {"3", "10", "7"};
  auto k = Schema::Make({numeric_names});
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->rules()[0].codes, (std::vector<double>{3, 10, 7}));
  numeric_names.codes = {1, 1, 2};
  EXPECT_NE(Schema::Make({numeric_names}).status().message().find("not finite or not unique"),
            std::string::npos);
}

TEST(SchemaTest, AssemblesNamedColumnsAndMapsStrings) {
  const Schema s = NamedSchema();
  std::vector<tensor::Tensor> in;
  in.push_back(Strings("color", {3}, {"blue", "", "purple"}));
  in.push_back(Numbers<int64_t>("age", tensor::DataType::kInt64, {3, 1}, {30, 41, 200}));
  Actions a;
  auto t = s.Assemble(std::move(in), "input", tensor::DataType::kFp32, &a);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (tensor::Shape{3, 2}));
  EXPECT_EQ(t->name(), "input");
  auto d = t->data<float>();
  EXPECT_EQ(d[0], 30);
  EXPECT_EQ(d[1], 2);  // blue
  EXPECT_TRUE(std::isnan(d[3]));
  EXPECT_TRUE(std::isnan(d[5]));  // purple: unseen -> missing
  EXPECT_EQ(a.unseen[1], 1u);
  ASSERT_TRUE(s.Apply(*t, &a).ok());
  EXPECT_EQ(d[4], 200);  // out_of_range: pass

  // A column not sent is missing in every row; the missing policy fills it.
  std::vector<tensor::Tensor> only_color;
  only_color.push_back(Strings("color", {2}, {"red", "green"}));
  auto t2 = s.Assemble(std::move(only_color), "input", tensor::DataType::kFp64);
  ASSERT_TRUE(t2.ok());
  ASSERT_TRUE(s.Apply(*t2).ok());
  EXPECT_EQ(t2->data<double>()[0], 35);
  EXPECT_EQ(t2->data<double>()[3], 1);
}

TEST(SchemaTest, AssemblesThePositionalTensorAsNumbersOrText) {
  const Schema s = NamedSchema();
  std::vector<tensor::Tensor> in;
  in.push_back(Numbers<double>("input", tensor::DataType::kFp64, {2}, {50, 1}));
  auto t = s.Assemble(std::move(in), "input", tensor::DataType::kFp32);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->shape(), (tensor::Shape{1, 2}));
  EXPECT_EQ(t->data<float>()[1], 1);
  in.clear();
  in.push_back(Strings("input", {2, 2}, {"7.5", "green", " 8 ", "2"}));
  t = s.Assemble(std::move(in), "input", tensor::DataType::kFp32);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(std::vector<float>(t->data<float>().begin(), t->data<float>().end()),
            (std::vector<float>{7.5, 1, 8, 2}));  // "2" is blue's code
}

TEST(SchemaTest, AssembleErrorsNameTheProblem) {
  const Schema s = NamedSchema(FR::Unseen::kReject);
  auto error = [&](std::vector<tensor::Tensor> in) {
    auto t = s.Assemble(std::move(in), "input", tensor::DataType::kFp32);
    return t.ok() ? std::string("ok") : t.status().message();
  };
  std::vector<tensor::Tensor> in;
  in.push_back(Strings("age", {1}, {"old"}));
  EXPECT_EQ(error(std::move(in)),
            "row 0, feature 'age': 'old' is not a number (wrong type: reject)");
  in.clear();
  in.push_back(Strings("color", {2}, {"red", "teal"}));
  EXPECT_EQ(error(std::move(in)),
            "row 1, feature 'color': category 'teal' is not one of the schema's (unseen: reject)");
  in.clear();
  in.push_back(Numbers<float>("height", tensor::DataType::kFp32, {1}, {1}));
  EXPECT_EQ(error(std::move(in)),
            "'height' is neither the model's input 'input' nor one of its features (age, color)");
  in.clear();
  in.push_back(Numbers<float>("age", tensor::DataType::kFp32, {2}, {1, 2}));
  in.push_back(Strings("color", {1}, {"red"}));
  EXPECT_EQ(error(std::move(in)), "feature column 'color' has 1 rows, the others 2");
  in.clear();
  in.push_back(Numbers<float>("input", tensor::DataType::kFp32, {1, 3}, {1, 2, 3}));
  EXPECT_EQ(error(std::move(in)),
            "input 'input': expected shape [-1,2] (features: age, color), got [1,3]");
  in.clear();
  in.push_back(Numbers<float>("age", tensor::DataType::kFp32, {1}, {1}));
  in.push_back(Numbers<float>("age", tensor::DataType::kFp32, {1}, {1}));
  EXPECT_EQ(error(std::move(in)), "feature 'age' is given twice");
  in.clear();
  in.push_back(Numbers<float>("age", tensor::DataType::kFp32, {1, 2}, {1, 2}));
  EXPECT_EQ(error(std::move(in)),
            "feature column 'age': expected shape [rows] or [rows,1], got [1,2]");
  EXPECT_NE(error({}).find("the request has no inputs"), std::string::npos);
}

}  // namespace
}  // namespace inferd::preprocess
