// Loading XGBoost models: what is accepted, and that every kind of corrupt file is refused with a
// clear status naming the problem - never a crash or a hang (run under ASan/valgrind too).
#include "backends/forest/xgboost_model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "backend/model_file.h"
#include "backends/forest/compiled_forest.h"
#include "backends/forest/forest_test_util.h"

namespace inferd::backends::forest::testing {
namespace {

namespace fs = std::filesystem;
using base::StatusCode;
using nlohmann::json;

TEST(XgboostModelTest, LoadsAFixture) {
  auto m = ParseDoc(Fixture("binary_logistic"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->objective.name, "binary:logistic");
  EXPECT_EQ(m->booster, "gbtree");
  EXPECT_EQ(m->format_version, "1.7.4");
  EXPECT_EQ(m->base_score_text, "5E-1");
  EXPECT_EQ(m->forest.num_features, 30);
  EXPECT_EQ(m->forest.num_groups, 1);
  EXPECT_EQ(m->forest.trees.size(), 15u);
  ASSERT_EQ(m->forest.base_margin.size(), 1u);
  EXPECT_EQ(m->forest.base_margin[0], 0.0f);  // logit(0.5)
}

TEST(XgboostModelTest, UbjsonGivesTheSameForestAsJson) {
  for (const char* name : {"binary_logistic", "multi_softprob", "reg_squarederror_missing"}) {
    SCOPED_TRACE(name);
    auto j = ParseBytes(ReadBytes(XgboostFixtureRoot() / name / "model.json"), ModelFormat::kJson);
    auto u = ParseBytes(ReadBytes(XgboostFixtureRoot() / name / "model.ubj"), ModelFormat::kUbjson);
    ASSERT_TRUE(j.ok()) << j.status().ToString();
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    ASSERT_EQ(j->forest.nodes.size(), u->forest.nodes.size());
    for (size_t i = 0; i < j->forest.nodes.size(); ++i) {
      const TreeNode& a = j->forest.nodes[i];
      const TreeNode& b = u->forest.nodes[i];
      EXPECT_TRUE(a.value == b.value && a.feature == b.feature && a.left == b.left &&
                  a.right == b.right && a.default_left == b.default_left)
          << "node " << i;
    }
    EXPECT_EQ(j->forest.base_margin, u->forest.base_margin);
  }
}

// The serving path (DocumentMode::kForServing: packed per-node arrays, unread ones left out,
// parsed in place from a padded buffer) builds the same forest as the full document does, for
// every fixture (1.7, 2.x and 3.1 layouts, categorical splits), and really takes that path.
TEST(XgboostModelTest, ServingPathGivesTheSameForestAsTheFullDocument) {
  size_t checked = 0;
  for (const auto& entry : fs::directory_iterator(XgboostFixtureRoot())) {
    const fs::path file = entry.path() / "model.json";
    if (!fs::exists(file)) continue;
    SCOPED_TRACE(file.string());
    const std::vector<uint8_t> bytes = ReadBytes(file);
    auto doc = ParseModelDocument(bytes, ModelFormat::kJson, DocumentMode::kFull);
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    // (Not a fallback to the full parse: the per-node arrays are packed, the unread ones gone.)
    auto packed = ParseModelDocument(bytes, ModelFormat::kJson, DocumentMode::kForServing);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    const json& t0 = (*packed)["learner"]["gradient_booster"]["model"]["trees"][0];
    EXPECT_TRUE(t0["left_children"].is_binary());
    EXPECT_TRUE(t0["split_conditions"].is_binary());
    EXPECT_FALSE(t0.contains("parents"));
    EXPECT_FALSE(t0.contains("sum_hessian"));
    auto full = ParseXgboostModel(*doc);
    // In place: a copy with the padding simdjson reads past the end.
    std::vector<uint8_t> padded(bytes.size() + backend::kModelFilePadding, '#');
    std::copy(bytes.begin(), bytes.end(), padded.begin());
    auto served = ParseXgboostModel(std::span<const uint8_t>(padded.data(), bytes.size()),
                                    ModelFormat::kJson, padded.size());
    ASSERT_EQ(full.ok(), served.ok()) << (full.ok() ? served : full).status().ToString();
    if (!full.ok()) continue;
    const TreeEnsemble& a = full->forest;
    const TreeEnsemble& b = served->forest;
    ASSERT_EQ(a.nodes.size(), b.nodes.size());
    for (size_t i = 0; i < a.nodes.size(); ++i) {
      const TreeNode& x = a.nodes[i];
      const TreeNode& y = b.nodes[i];
      ASSERT_TRUE((x.value == y.value || (std::isnan(x.value) && std::isnan(y.value))) &&
                  x.feature == y.feature && x.left == y.left && x.right == y.right &&
                  x.default_left == y.default_left && x.category_set == y.category_set)
          << "node " << i;
    }
    ASSERT_EQ(a.trees.size(), b.trees.size());
    for (size_t t = 0; t < a.trees.size(); ++t) {
      EXPECT_EQ(a.trees[t].group, b.trees[t].group);
      EXPECT_EQ(a.trees[t].weight, b.trees[t].weight);
    }
    EXPECT_EQ(a.category_sets.size(), b.category_sets.size());
    EXPECT_EQ(a.base_margin, b.base_margin);
    EXPECT_EQ(full->objective.name, served->objective.name);
    ++checked;
  }
  EXPECT_GE(checked, 10u);
}

// What the serving path does not take (a string among a tree's integers, a float where an
// integer belongs, a number out of int64's range) falls back to the full parse, whose messages
// name the element.
TEST(XgboostModelTest, ServingPathFallsBackForMessages) {
  json doc = Fixture("binary_logistic");
  Tree0(doc)["split_indices"][1] = 2.5;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree 0: split_indices[1] is a number, expected an integer");
  doc = Fixture("binary_logistic");
  Tree0(doc)["right_children"][0] = 18446744073709551615ull;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "right_children[0] is out of range");
}

// 2.x writes default_left as booleans: the serving path packs them as 0 and 1.
TEST(XgboostModelTest, ServingPathTakesBooleanDefaultLeft) {
  json doc = Fixture("binary_logistic");
  json& lefts = Tree0(doc)["default_left"];
  for (auto& v : lefts) v = v.get<int>() != 0;
  lefts[0] = true;
  const std::string text = doc.dump();
  const std::vector<uint8_t> bytes(text.begin(), text.end());
  auto packed = ParseModelDocument(bytes, ModelFormat::kJson, DocumentMode::kForServing);
  ASSERT_TRUE(packed.ok());
  const json& column =
      (*packed)["learner"]["gradient_booster"]["model"]["trees"][0]["default_left"];
  ASSERT_TRUE(column.is_binary());
  int64_t first = -1;
  std::memcpy(&first, column.get_binary().data(), sizeof first);
  EXPECT_EQ(first, 1);
  auto m = ParseText(text);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->forest.nodes[0].default_left);
}

// The arrays the serving path leaves out are still checked: malformed JSON in them is refused,
// as the full parse refuses it.
TEST(XgboostModelTest, ServingPathRefusesMalformedSkippedArrays) {
  const std::string text = Fixture("binary_logistic").dump();
  const std::string key = "\"parents\":[";
  const size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos);
  for (const std::string& bad :
       {std::string("\"parents\":[2147483647 0 0}"), std::string("\"parents\":nope"),
        "\"parents\":" + std::string(100, '[') + std::string(100, ']')}) {
    SCOPED_TRACE(bad);
    std::string broken = text;
    broken.replace(at, text.find(']', at) - at + 1, bad);
    EXPECT_STATUS(ParseText(broken), StatusCode::kDataLoss, "");
  }
}

TEST(XgboostModelTest, BaseScoreForms) {
  json doc = Fixture("multi_softprob");
  auto& bs = doc["learner"]["learner_model_param"]["base_score"];
  bs = "[1E-1,2E-1,3E-1]";
  auto m = ParseDoc(doc);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->forest.base_margin, (std::vector<double>{0.1f, 0.2f, 0.3f}));
  bs = "[2.5E-1]";
  m = ParseDoc(doc);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->forest.base_margin, (std::vector<double>{0.25f, 0.25f, 0.25f}));
  bs = "[5E-1,5E-1]";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "base_score has 2 values, expected 1 or 3");
  bs = "half";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "base_score \"half\" is not a number");

  json binary = Fixture("binary_logistic");
  binary["learner"]["learner_model_param"]["base_score"] = "1.5E0";
  EXPECT_STATUS(ParseDoc(binary), StatusCode::kInvalidArgument, "outside (0, 1)");
  binary["learner"]["learner_model_param"]["base_score"] = "3E-1";
  m = ParseDoc(binary);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->forest.base_margin[0], -std::log(1.0f / 0.3f - 1.0f));

  json gamma = Fixture("reg_gamma");
  gamma["learner"]["learner_model_param"]["base_score"] = "0E0";
  EXPECT_STATUS(ParseDoc(gamma), StatusCode::kInvalidArgument, "is not > 0");
}

TEST(XgboostModelTest, EmptyAndGarbageInput) {
  EXPECT_STATUS(ParseText(""), StatusCode::kDataLoss, "empty file");
  EXPECT_STATUS(ParseBytes({}, ModelFormat::kUbjson), StatusCode::kDataLoss, "empty file");
  EXPECT_STATUS(ParseText("hello"), StatusCode::kDataLoss, "malformed JSON at byte");
  EXPECT_STATUS(ParseText("{\"a\": 1} x"), StatusCode::kDataLoss, "malformed JSON at byte");
  EXPECT_STATUS(ParseText("[1, 2]"), StatusCode::kInvalidArgument, "expected an object");
  std::mt19937 rng(5);
  std::vector<uint8_t> garbage(4096);
  for (auto& b : garbage) b = static_cast<uint8_t>(rng());
  EXPECT_STATUS(ParseBytes(garbage, ModelFormat::kJson), StatusCode::kDataLoss, "JSON");
  EXPECT_STATUS(ParseBytes(garbage, ModelFormat::kUbjson), StatusCode::kDataLoss, "UBJSON");
}

TEST(XgboostModelTest, TruncatedFilesAreRefused) {
  for (const char* file : {"model.json", "model.ubj"}) {
    SCOPED_TRACE(file);
    const auto bytes = ReadBytes(XgboostFixtureRoot() / "binary_logistic" / file);
    const auto format = FormatForPath(file);
    const std::vector<uint8_t> half(bytes.begin(), bytes.begin() + bytes.size() / 2);
    EXPECT_STATUS(ParseBytes(half, format), StatusCode::kDataLoss,
                  format == ModelFormat::kJson ? "truncated JSON: input ends at byte "
                                               : "truncated UBJSON: input ends at byte ");
    // Every prefix (at a stride) fails cleanly.
    const size_t stride = std::max<size_t>(1, bytes.size() / 400);
    for (size_t n = 0; n < bytes.size(); n += stride) {
      const std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + n);
      EXPECT_FALSE(ParseBytes(prefix, format).ok()) << "prefix of " << n << " bytes";
    }
  }
}

TEST(XgboostModelTest, TruncatedFileErrorNamesTheFile) {
  TempDir dir;
  const auto bytes = ReadBytes(XgboostFixtureRoot() / "binary_logistic" / "model.json");
  WriteBytes(dir.path() / "model.json", bytes.data(), bytes.size() / 2);
  auto m = ReadXgboostModel(dir.path() / "model.json", 1 << 30);
  EXPECT_STATUS(m, StatusCode::kDataLoss,
                (dir.path() / "model.json").string() + ": truncated JSON: input ends at byte " +
                    std::to_string(bytes.size() / 2));
  EXPECT_STATUS(ReadXgboostModel(dir.path() / "absent.json", 1 << 30), StatusCode::kNotFound,
                "no such file");
  EXPECT_STATUS(ReadXgboostModel(dir.path(), 1 << 30), StatusCode::kInvalidArgument,
                "not a regular file");
  WriteBytes(dir.path() / "big.json", bytes.data(), bytes.size());
  EXPECT_STATUS(ReadXgboostModel(dir.path() / "big.json", 100), StatusCode::kResourceExhausted,
                "more than the limit of 100");
}

TEST(XgboostModelTest, NestingAndSizeLimits) {
  EXPECT_STATUS(ParseText(std::string(100000, '[')), StatusCode::kDataLoss,
                "nesting deeper than 64 levels");
  const std::string deep_ubj(100000, '[');
  EXPECT_STATUS(
      ParseBytes(std::vector<uint8_t>(deep_ubj.begin(), deep_ubj.end()), ModelFormat::kUbjson),
      StatusCode::kDataLoss, "nesting deeper than 64 levels");
  // UBJSON arrays that claim 2^40 elements: with and without a payload per element.
  for (std::string head : {std::string("[#L"), std::string("[$Z#L"), std::string("{#L")}) {
    std::string bytes = head + std::string("\x00\x00\x01\x00\x00\x00\x00\x00", 8);
    EXPECT_STATUS(
        ParseBytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), ModelFormat::kUbjson),
        StatusCode::kDataLoss, "claims 1099511627776 elements");
  }
  const std::string nulls = "[$Z#i\x05";
  EXPECT_STATUS(ParseBytes(std::vector<uint8_t>(nulls.begin(), nulls.end()), ModelFormat::kUbjson),
                StatusCode::kInvalidArgument, "expected an object");
  json doc = Fixture("binary_hinge");
  std::string text = doc.dump();
  text.replace(text.find("\"split_conditions\":[") + 20, 0, "1e999,");
  EXPECT_STATUS(ParseText(text), StatusCode::kDataLoss, "number overflow");
}

TEST(XgboostModelTest, UnknownObjectiveAndBooster) {
  json doc = Fixture("binary_logistic");
  doc["learner"]["objective"]["name"] = "foo";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kUnimplemented, "unknown objective 'foo'");
  doc = Fixture("binary_logistic");
  doc["learner"]["gradient_booster"] = {{"name", "gblinear"}, {"model", {{"weights", {0.5}}}}};
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kUnimplemented, "gblinear");
  doc["learner"]["gradient_booster"]["name"] = "boosty";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "unknown gradient_booster 'boosty'");
}

struct MissingFieldCase {
  std::string pointer;  // JSON pointer of the field to remove
  std::string message;  // expected in the error
};

void PrintTo(const MissingFieldCase& c, std::ostream* os) { *os << c.pointer; }

class MissingFieldTest : public ::testing::TestWithParam<MissingFieldCase> {};

TEST_P(MissingFieldTest, IsNamed) {
  json doc = Fixture("binary_logistic");
  const json::json_pointer ptr(GetParam().pointer);
  doc[ptr.parent_pointer()].erase(ptr.back());
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Fields, MissingFieldTest,
    ::testing::Values(
        MissingFieldCase{"/version", "missing field 'version'"},
        MissingFieldCase{"/learner", "missing field 'learner'"},
        MissingFieldCase{"/learner/objective", "missing field 'learner.objective'"},
        MissingFieldCase{"/learner/objective/name", "missing field 'learner.objective.name'"},
        MissingFieldCase{"/learner/learner_model_param/num_feature",
                         "missing field 'learner.learner_model_param.num_feature'"},
        MissingFieldCase{"/learner/learner_model_param/base_score",
                         "missing field 'learner.learner_model_param.base_score'"},
        MissingFieldCase{"/learner/gradient_booster/model/trees",
                         "missing field 'learner.gradient_booster.model.trees'"},
        MissingFieldCase{"/learner/gradient_booster/model/tree_info",
                         "missing field 'learner.gradient_booster.model.tree_info'"},
        MissingFieldCase{"/learner/gradient_booster/model/gbtree_model_param/num_trees",
                         "missing field "
                         "'learner.gradient_booster.model.gbtree_model_param.num_trees'"},
        MissingFieldCase{"/learner/gradient_booster/model/trees/3/left_children",
                         "tree 3: missing field 'left_children'"},
        MissingFieldCase{"/learner/gradient_booster/model/trees/3/split_conditions",
                         "tree 3: missing field 'split_conditions'"},
        MissingFieldCase{"/learner/gradient_booster/model/trees/0/tree_param/num_nodes",
                         "tree 0: missing field 'tree_param.num_nodes'"}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(XgboostModelTest, WrongTypes) {
  json doc = Fixture("binary_logistic");
  doc["learner"]["learner_model_param"]["num_feature"] = "thirty";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "field 'learner.learner_model_param.num_feature' is \"thirty\", expected an "
                "integer");
  doc = Fixture("binary_logistic");
  Tree0(doc)["left_children"][3] = "x";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree 0: left_children[3] is a string, expected an integer");
  doc = Fixture("binary_logistic");
  Tree0(doc)["split_conditions"][2] = json::array();
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree 0: split_conditions[2] is an array, expected a number");
  doc = Fixture("binary_logistic");
  doc["learner"]["gradient_booster"]["model"]["trees"] = "none";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "field 'learner.gradient_booster.model.trees' is a string, expected an array");
  doc = Fixture("binary_logistic");
  doc["version"] = {0, 1, 2};
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "field 'version' has an invalid");
}

TEST(XgboostModelTest, ArraySizes) {
  json doc = Fixture("binary_logistic");
  const size_t n = Tree0(doc)["left_children"].size();
  Tree0(doc)["left_children"].erase(n - 1);
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree 0: left_children has " + std::to_string(n - 1) + " entries, expected " +
                    std::to_string(n));
  doc = Fixture("binary_logistic");
  doc["learner"]["gradient_booster"]["model"]["trees"][4]["split_conditions"].push_back(1.0);
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "tree 4: split_conditions has");
  doc = Fixture("binary_logistic");
  doc["learner"]["gradient_booster"]["model"]["tree_info"].erase(0);
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree_info has 14 entries, expected 15 (one per tree)");
  doc = Fixture("binary_logistic");
  doc["learner"]["gradient_booster"]["model"]["gbtree_model_param"]["num_trees"] = "16";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "num_trees is 16, but there are 15 trees");
  doc = Fixture("v2_format_binary");
  doc["learner"]["gradient_booster"]["model"]["iteration_indptr"] = {0, 5};
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "iteration_indptr");
}

TEST(XgboostModelTest, BadChildren) {
  json doc = Fixture("binary_logistic");
  Tree0(doc)["left_children"][0] = 999;
  const std::string n = std::to_string(Tree0(doc)["left_children"].size());
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree 0: node 0 has left child 999, outside [0, " + n + ")");
  doc = Fixture("binary_logistic");
  Tree0(doc)["right_children"][1] = -5;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree 0: node 1 has right child -5, outside");
  doc = Fixture("binary_logistic");
  Tree0(doc)["left_children"][0] = 0;  // self loop
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree 0: node 0 is reached twice (a cycle or a shared child), again from node 0");
  doc = Fixture("binary_logistic");
  Tree0(doc)["right_children"][1] = 0;  // back edge to the root
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "node 0 is reached twice");
  doc = Fixture("binary_logistic");
  Tree0(doc)["right_children"][0] = Tree0(doc)["left_children"][0];  // shared child
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "is reached twice");
  doc = Fixture("binary_logistic");
  auto& t = Tree0(doc);
  size_t leaf = 0;
  while (t["left_children"][leaf] != -1) ++leaf;
  t["right_children"][leaf] = 1;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "node " + std::to_string(leaf) + " has no left child but right child 1");
}

TEST(XgboostModelTest, BadSplits) {
  json doc = Fixture("binary_logistic");
  Tree0(doc)["split_indices"][0] = 30;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree 0: node 0 splits on feature 30, but num_feature is 30");
  Tree0(doc)["split_indices"][0] = -1;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "splits on feature -1");
  doc = Fixture("binary_logistic");
  Tree0(doc)["default_left"][0] = 7;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument, "default_left 7, expected 0 or 1");
  doc = Fixture("binary_logistic");
  doc["learner"]["gradient_booster"]["model"]["tree_info"][2] = 1;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree_info[2] is 1, but the model has 1 output group(s) (num_class 0)");
  doc = Fixture("multi_softprob");
  doc["learner"]["gradient_booster"]["model"]["tree_info"][5] = 3;
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "tree_info[5] is 3, but the model has 3 output group(s) (num_class 3)");
}

TEST(XgboostModelTest, UnsupportedTreeKinds) {
  json doc = Fixture("binary_logistic");
  Tree0(doc)["tree_param"]["size_leaf_vector"] = "3";
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kUnimplemented, "vector-leaf");
}

TEST(XgboostModelTest, DartNeedsOneWeightPerTree) {
  json doc = Fixture("binary_logistic");
  json gbtree = doc["learner"]["gradient_booster"];
  doc["learner"]["gradient_booster"] = {{"name", "dart"}, {"gbtree", gbtree}};
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "missing field 'learner.gradient_booster.weight_drop'");
  doc["learner"]["gradient_booster"]["weight_drop"] = {1.0, 0.5};
  EXPECT_STATUS(ParseDoc(doc), StatusCode::kInvalidArgument,
                "weight_drop has 2 entries, expected 15");
  doc["learner"]["gradient_booster"]["weight_drop"] = std::vector<float>(15, 0.5f);
  auto m = ParseDoc(doc);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE(m->forest.weighted);
}

// Random corruption of real files (categorical splits included): the loader either refuses the
// bytes or builds a forest that predicts without crashing.
TEST(XgboostModelTest, RandomCorruptionNeverCrashes) {
  std::mt19937 rng(1234);
  int accepted = 0, refused = 0;
  for (const auto& [fixture, file] : {std::pair{"multi_softprob_missing", "model.json"},
                                      std::pair{"multi_softprob_missing", "model.ubj"},
                                      std::pair{"multi_softprob_categorical", "model.json"},
                                      std::pair{"multi_softprob_categorical", "model.ubj"}}) {
    const auto original = ReadBytes(XgboostFixtureRoot() / fixture / file);
    const ModelFormat format = FormatForPath(file);
    for (int i = 0; i < 300; ++i) {
      std::vector<uint8_t> bytes = original;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) {
        const size_t at = rng() % bytes.size();
        switch (rng() % 3) {
          case 0:
            bytes[at] = static_cast<uint8_t>(rng());
            break;
          case 1:
            bytes[at] = static_cast<uint8_t>("0123456789-[]{},\"E"[rng() % 18]);
            break;
          default:
            bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at));
            break;
        }
      }
      auto m = ParseBytes(bytes, format);
      if (!m.ok()) {
        EXPECT_FALSE(m.status().message().empty());
        ++refused;
        continue;
      }
      ++accepted;
      const TreeEnsemble& f = m->forest;
      std::vector<float> x(static_cast<size_t>(4 * f.num_features));
      for (size_t k = 0; k < x.size(); ++k) x[k] = k % 3 == 0 ? NAN : static_cast<float>(k) - 20;
      std::vector<float> out(static_cast<size_t>(4 * f.num_groups));
      auto compiled = CompiledForest<float>::Compile(f);
      ASSERT_TRUE(compiled.ok()) << compiled.status().ToString();
      compiled->PredictMargin(x.data(), 4, out.data());
    }
  }
  std::printf("[ corrupt ] %d corrupted files refused, %d still valid models\n", refused, accepted);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace inferd::backends::forest::testing
