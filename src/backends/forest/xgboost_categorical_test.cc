// Categorical splits in XGBoost models (split_type 1, `enable_categorical`): the fixtures load
// and evaluate as libxgboost 1.7.4 does, the decision rule matches libxgboost on edge values
// (NaN, negative, fractional, unseen and huge categories), malformed categories* arrays are
// refused with a message naming the problem, and JSON's bare NaN/Infinity tokens are read.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "backends/forest/forest_test_util.h"
#include "backends/forest/model_document.h"
#include "backends/forest/tree_ensemble.h"
#include "backends/forest/xgboost_model.h"

namespace inferd::backends::forest::testing {
namespace {

namespace fs = std::filesystem;
using base::StatusCode;
using nlohmann::json;

const char* const kCategoricalFixtures[] = {"binary_categorical", "binary_categorical_onehot",
                                            "multi_softprob_categorical",
                                            "reg_categorical_missing"};

// A categorical fixture as nlohmann::json, which cannot read the bare NaN tokens libxgboost
// writes as the split condition of categorical nodes: they become 0 (unused there).
json CategoricalFixture(const std::string& name) {
  std::string text = ReadText(XgboostFixtureRoot() / name / "model.json");
  for (size_t at = text.find("NaN"); at != std::string::npos; at = text.find("NaN", at)) {
    text.replace(at, 3, "0");
  }
  return json::parse(text);
}

// The index of the first tree node with split_type 1.
size_t FirstCategoricalNode(const json& tree) {
  size_t n = 0;
  while (tree["split_type"][n] != 1) ++n;
  return n;
}

TEST(XgboostCategoricalTest, LoadsCategoricalFixturesAndMatchesTheirMargins) {
  for (const char* name : kCategoricalFixtures) {
    SCOPED_TRACE(name);
    const fs::path dir = XgboostFixtureRoot() / name;
    auto j = ParseBytes(ReadBytes(dir / "model.json"), ModelFormat::kJson);
    auto u = ParseBytes(ReadBytes(dir / "model.ubj"), ModelFormat::kUbjson);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    const TreeEnsemble& f = j->forest;
    ASSERT_FALSE(f.category_sets.empty());
    EXPECT_TRUE(f.HasSpecialSplits());
    ASSERT_EQ(f.nodes.size(), u->forest.nodes.size());
    ASSERT_EQ(f.category_sets.size(), u->forest.category_sets.size());
    size_t categorical = 0;
    for (size_t i = 0; i < f.nodes.size(); ++i) {
      const TreeNode& a = f.nodes[i];
      const TreeNode& b = u->forest.nodes[i];
      EXPECT_TRUE(a.value == b.value && a.feature == b.feature && a.left == b.left &&
                  a.right == b.right && a.default_left == b.default_left &&
                  a.category_set == b.category_set)
          << "node " << i;
      if (!a.is_categorical()) continue;
      ++categorical;
      EXPECT_EQ(a.value, 0.0);  // the stored NaN split condition is not kept
      const CategorySet& cs = f.category_sets[static_cast<size_t>(a.category_set)];
      EXPECT_FALSE(cs.in_set_goes_left);
      EXPECT_TRUE(cs.invalid_goes_left);
      EXPECT_EQ(cs.bits, u->forest.category_sets[static_cast<size_t>(a.category_set)].bits);
      ASSERT_FALSE(cs.bits.empty());
      EXPECT_NE(cs.bits.back(), 0u);  // sized by the largest category
    }
    const auto meta = json::parse(ReadText(dir / "meta.json"));
    EXPECT_EQ(categorical, meta["categorical_split_nodes"].get<size_t>());

    // The plain evaluator on the parsed ensemble reproduces libxgboost's margins bit for bit,
    // edge rows included.
    auto x = ReadCsv(dir / "input.csv", /*header=*/true);
    auto margin = ReadCsv(dir / "margin.csv", /*header=*/false);
    ASSERT_TRUE(x.ok() && margin.ok());
    ASSERT_EQ(margin->cols, f.num_groups);
    std::vector<float> out(static_cast<size_t>(x->rows * f.num_groups));
    ReferencePredictMargin<float>(f, x->values.data(), x->rows, out.data());
    for (size_t i = 0; i < out.size(); ++i) {
      EXPECT_EQ(out[i], margin->values[i]) << "row " << i / f.num_groups;
    }
  }
}

// A one-tree model: node 0 splits feature 0 on `categories`; left leaf -1, right leaf +1.
std::string CategoricalStump(const std::vector<int>& categories, int default_left) {
  json doc = CategoricalFixture("binary_categorical");
  json& model = doc["learner"]["gradient_booster"]["model"];
  json tree = model["trees"][0];
  tree["tree_param"]["num_nodes"] = "3";
  tree["left_children"] = {1, -1, -1};
  tree["right_children"] = {2, -1, -1};
  tree["parents"] = {2147483647, 0, 0};
  tree["split_indices"] = {0, 0, 0};
  tree["split_conditions"] = {12345.0, -1.0, 1.0};  // 12345 becomes NaN below, as xgboost writes
  tree["default_left"] = {default_left, 0, 0};
  tree["split_type"] = {1, 0, 0};
  tree["base_weights"] = {0.0, -1.0, 1.0};
  tree["loss_changes"] = {1.0, 0.0, 0.0};
  tree["sum_hessian"] = {10.0, 5.0, 5.0};
  tree["categories"] = categories;
  tree["categories_nodes"] = {0};
  tree["categories_segments"] = {0};
  tree["categories_sizes"] = {categories.size()};
  model["trees"] = json::array({tree});
  model["tree_info"] = {0};
  model["gbtree_model_param"]["num_trees"] = "1";
  doc["learner"]["learner_model_param"]["base_score"] = "5E-1";
  std::string text = doc.dump();
  const size_t at = text.find("12345.0");
  EXPECT_NE(at, std::string::npos);
  text.replace(at, 7, "NaN");
  return text;
}

// The decision rule against libxgboost itself, on the values that matter.
TEST(XgboostCategoricalTest, CategoricalDecisionsMatchLibxgboost) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::vector<float> values = {
      nan,    -1e10f, -2,     -1,  -0.5f, -1e-45f,  -0.0f,    0,
      1e-45f, 0.5f,   0.999f, 1,   1.5f,  2,        2.5f,     3,
      3.9f,   31,     32,     33,  39,    40,       40.5f,    41,
      63,     64,     65,     100, 1e6f,  16777215, 16777216, 2147483648.0f,
      1e10f,  3e38f};
  Matrix x{static_cast<int64_t>(values.size()), 6, {}};
  for (float v : values) x.values.insert(x.values.end(), {v, 0, 0, 0, 0, 0});
  TempDir dir;
  for (const std::vector<int>& categories : {std::vector<int>{1, 3, 40}, std::vector<int>{0},
                                             std::vector<int>{5}, std::vector<int>{0, 16777215}}) {
    for (int default_left : {0, 1}) {
      SCOPED_TRACE("categories " + json(categories).dump() + " default_left " +
                   std::to_string(default_left));
      const std::string text = CategoricalStump(categories, default_left);
      auto m = ParseText(text);
      ASSERT_TRUE(m.ok()) << m.status().ToString();
      ASSERT_EQ(m->forest.category_sets.size(), 1u);
      WriteText(dir.path() / "stump.json", text);
      auto booster = XgbBooster::Load(dir.path() / "stump.json");
      ASSERT_TRUE(booster.ok()) << booster.status().ToString();
      auto want = (*booster)->Predict(x, /*margin=*/true);
      ASSERT_TRUE(want.ok()) << want.status().ToString();
      std::vector<float> got(values.size());
      ReferencePredictMargin<float>(m->forest, x.values.data(), x.rows, got.data());
      for (size_t i = 0; i < values.size(); ++i) {
        EXPECT_EQ(got[i], want->values[i]) << "value " << values[i];
        const bool in_set = !std::isnan(values[i]) && values[i] >= 0 && values[i] < 16777216.0f &&
                            std::find(categories.begin(), categories.end(),
                                      static_cast<int>(values[i])) != categories.end();
        const bool left = std::isnan(values[i]) ? default_left != 0 : !in_set;
        EXPECT_EQ(got[i], left ? 0.0f - 1.0f : 0.0f + 1.0f) << "value " << values[i];
      }
    }
  }
}

TEST(XgboostCategoricalTest, MalformedCategoricalArraysAreRefused) {
  const json original = CategoricalFixture("binary_categorical");
  json doc = original;
  json& t = Tree0(doc);
  const size_t cat_node = FirstCategoricalNode(t);
  ASSERT_EQ(t["categories_nodes"][0], cat_node);
  const std::string node = "node " + std::to_string(cat_node);
  size_t num_node = 0;  // a numerical split
  while (t["split_type"][num_node] != 0 || t["left_children"][num_node] == -1) ++num_node;
  const size_t num_cat_nodes = t["categories_nodes"].size();
  ASSERT_GE(num_cat_nodes, 2u);

  auto expect = [&](const std::function<void(json&)>& edit, StatusCode code,
                    const std::string& substring) {
    json d = original;
    edit(Tree0(d));
    EXPECT_STATUS(ParseDoc(d), code, substring);
  };
  expect([](json& t) { t.erase("categories"); }, StatusCode::kInvalidArgument,
         "tree 0: missing field 'categories'");
  expect([](json& t) { t.erase("categories_nodes"); }, StatusCode::kInvalidArgument,
         "missing field 'categories_nodes'");
  expect([](json& t) { t["categories_sizes"] = "3"; }, StatusCode::kInvalidArgument,
         "field 'categories_sizes' is a string, expected an array");
  expect([](json& t) { t["categories_segments"].erase(0); }, StatusCode::kInvalidArgument,
         "categories_segments has " + std::to_string(num_cat_nodes - 1) + " entries, expected " +
             std::to_string(num_cat_nodes) + " (one per categories_nodes entry)");
  expect([](json& t) { t["categories_sizes"].push_back(1); }, StatusCode::kInvalidArgument,
         "categories_sizes has " + std::to_string(num_cat_nodes + 1) + " entries");
  // Node lists that do not match split_type.
  expect([&](json& t) { t["split_type"][cat_node] = 0; }, StatusCode::kInvalidArgument,
         "categories_nodes[0] is " + node + ", which is not a categorical split (split_type 0)");
  expect([&](json& t) { t["split_type"][num_node] = 1; }, StatusCode::kInvalidArgument,
         "node " + std::to_string(num_node) +
             " is a categorical split (split_type 1) but is not listed in categories_nodes");
  expect([](json& t) { t.erase("split_type"); }, StatusCode::kInvalidArgument,
         "which is not a categorical split (split_type absent)");
  expect(
      [](json& t) { t["categories_nodes"][1] = t["categories_nodes"][0]; },
      StatusCode::kInvalidArgument,
      "categories_nodes[1] is " + std::to_string(cat_node) + ", expected ascending node ids below");
  expect([](json& t) { t["categories_nodes"][0] = -1; }, StatusCode::kInvalidArgument,
         "categories_nodes[0] is -1, expected ascending node ids below");
  expect([](json& t) { t["categories_nodes"][0] = 100000; }, StatusCode::kInvalidArgument,
         "categories_nodes[0] is 100000, expected ascending node ids below");
  expect(
      [](json& t) {
        t["categories_nodes"] = json::array();
        t["categories_segments"] = json::array();
        t["categories_sizes"] = json::array();
      },
      StatusCode::kInvalidArgument, "is a categorical split (split_type 1) but is not listed");
  // Segments and sizes outside `categories`.
  expect([](json& t) { t["categories_sizes"][0] = 0; }, StatusCode::kInvalidArgument,
         node +
             ": categories_segments[0] 0 and categories_sizes[0] 0 do not give a non-empty "
             "range inside categories");
  expect([](json& t) { t["categories_segments"][0] = -1; }, StatusCode::kInvalidArgument,
         "categories_segments[0] -1 and categories_sizes[0]");
  expect([](json& t) { t["categories_sizes"].back() = 1000000; }, StatusCode::kInvalidArgument,
         "categories_sizes[" + std::to_string(num_cat_nodes - 1) +
             "] 1000000 do not give a non-empty range inside categories");
  expect([](json& t) { t["categories_segments"].back() = int64_t{1} << 62; },
         StatusCode::kInvalidArgument, "do not give a non-empty range inside categories");
  // Category values.
  expect([](json& t) { t["categories"][0] = -1; }, StatusCode::kInvalidArgument,
         "tree 0: categories[0] is -1, expected 0 to 16777215");
  expect([](json& t) { t["categories"][0] = 16777216; }, StatusCode::kInvalidArgument,
         "categories[0] is 16777216, expected 0 to 16777215");
  expect([](json& t) { t["categories"][0] = 2.5; }, StatusCode::kInvalidArgument,
         "categories[0] is a number, expected an integer");
  expect([](json& t) { t["categories"][0] = "3"; }, StatusCode::kInvalidArgument,
         "categories[0] is a string, expected an integer");
  // A categorical split still needs a valid feature and default_left.
  expect([&](json& t) { t["split_indices"][cat_node] = 6; }, StatusCode::kInvalidArgument,
         node + " splits on feature 6, but num_feature is 6");
  expect([&](json& t) { t["default_left"][cat_node] = 2; }, StatusCode::kInvalidArgument,
         node + " has default_left 2, expected 0 or 1");
  expect([&](json& t) { t["split_type"][num_node] = 2; }, StatusCode::kInvalidArgument,
         "node " + std::to_string(num_node) +
             " has split_type 2, expected 0 (numerical) or 1 (categorical)");
}

TEST(XgboostCategoricalTest, CategoricalArraysAreOptionalWithoutCategoricalSplits) {
  json doc = Fixture("binary_logistic");
  for (const char* key :
       {"categories", "categories_nodes", "categories_segments", "categories_sizes"}) {
    Tree0(doc).erase(key);
  }
  EXPECT_TRUE(ParseDoc(doc).ok());
  Tree0(doc).erase("split_type");
  EXPECT_TRUE(ParseDoc(doc).ok());
  doc = Fixture("binary_logistic");
  Tree0(doc)["categories_nodes"] = {0};
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "categories_segments has 0 entries, expected 1");
}

// Many splits on a category near 2^24 would need 2 MiB of bits each.
TEST(XgboostCategoricalTest, CategorySetMemoryIsBounded) {
  json doc = CategoricalFixture("binary_categorical");
  size_t nodes = 0;
  for (json& tree : doc["learner"]["gradient_booster"]["model"]["trees"]) {
    for (json& c : tree["categories"]) c = 16777215;
    nodes += tree["categories_nodes"].size();
  }
  ASSERT_GT(nodes, 64u);  // 64 x 2 MiB is the limit
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kResourceExhausted,
                "the category sets of the model need more than 128 MiB");
}

TEST(XgboostCategoricalTest, NonFiniteJsonTokens) {
  const std::string text =
      R"({"a":[NaN,Infinity,-Infinity,1.5,0e0001,-0E0],"s":"NaN Infinity \"NaN","b":NaN})";
  auto doc = ParseModelDocument(
      std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()), ModelFormat::kJson);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  const ModelJson& a = (*doc)["a"];
  ASSERT_EQ(a.size(), 6u);
  EXPECT_TRUE(std::isnan(a[0].get<float>()));
  EXPECT_EQ(a[1].get<float>(), std::numeric_limits<float>::infinity());
  EXPECT_EQ(a[2].get<float>(), -std::numeric_limits<float>::infinity());
  EXPECT_EQ(a[3].get<float>(), 1.5f);
  EXPECT_EQ(a[4].get<float>(), 0.0f);  // a literal that looks like the replacement is still 0
  EXPECT_EQ(a[5].get<float>(), 0.0f);
  EXPECT_EQ((*doc)["s"].get<std::string>(), "NaN Infinity \"NaN");
  EXPECT_TRUE(std::isnan((*doc)["b"].get<float>()));
  for (const char* bad : {"[NaNa]", "[nan]", "[Inf]", "[-NaN]", "[+Infinity]", "[1NaN]",
                          "[--Infinity]", "[NaN1]", "[0.NaN]", "{\"a\"NaN}", "[01]", "[1.]", "[.5]",
                          "[1e]", "[+1]", "[-]", "[1]x", "{\"a\":1}}"}) {
    const std::string t = bad;
    EXPECT_FALSE(ParseModelDocument(std::span(reinterpret_cast<const uint8_t*>(t.data()), t.size()),
                                    ModelFormat::kJson)
                     .ok())
        << bad;
  }
}

}  // namespace
}  // namespace inferd::backends::forest::testing
