// End-to-end: a model's schema at serving time. The XGBoost categorical fixture (f0-f2 category
// codes, f3-f5 numbers) is served under a schema naming its features store, month, size, x3, x4,
// x5 — month and size by names (jan.., small..). Requests in every form the schema allows
// (positional tensor, named columns with strings, TF Serving objects) give libxgboost's answers;
// policies impute, clip and reject with messages naming the row, feature and rule; every action is
// counted in /metrics; and `inferd predict` applies the same schema to a CSV with the same results.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                         "jul", "aug", "sep", "oct", "nov", "dec"};
const char* kSizes[] = {"small", "medium", "large"};

std::string SchemaConfig() {
  std::string stores;
  for (int i = 0; i < 40; ++i) stores += (i ? ", " : "") + std::to_string(i);
  std::string months;
  for (int i = 0; i < 12; ++i)
    months += (i ? ", " : "") + std::string(kMonths[i]) + ": " + std::to_string(i);
  return "schema:\n"
         "  features:\n"
         "    - {name: store, categories: [" +
         stores +
         "]}\n"
         "    - {name: month, categories: {" +
         months +
         "}, unseen: reject}\n"
         "    - {name: size, categories: {small: 0, medium: 1, large: 2}, unseen: reject, "
         "missing: reject}\n"
         "    - {name: x3, min: -3, max: 3, out_of_range: clip, missing: {impute: constant, "
         "value: 0.5}}\n"
         "    - {name: x4, min: -3, max: 3, out_of_range: reject}\n"
         "    - {name: x5, nullable: false}\n";
}

class SchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddModel(repo_.path(), "cat", 1, "binary_categorical");
    WriteFile(repo_.path() / "cat" / "config.yaml", SchemaConfig());
    // The same model without a schema: the reference answers.
    AddModel(repo_.path(), "plain", 1, "binary_categorical");
    server_ = ServerProcess::Start(repo_.path());
    const auto all = ReadCsv(FixtureDir("binary_categorical") / "input.csv", true);
    rows_.assign(all.begin(), all.begin() + 80);  // the ordinary rows (no missing values)
  }

  // The probability of class 1 for each row of a v2 answer.
  static std::vector<double> Probabilities(const HttpResult& r) {
    std::vector<double> out;
    const json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded()) return out;
    for (const auto& o : j["outputs"]) {
      if (o["name"] == "probabilities") {
        for (size_t i = 1; i < o["data"].size(); i += 2) out.push_back(o["data"][i].get<double>());
      }
    }
    return out;
  }

  HttpResult Infer(const std::string& model, const std::string& body) {
    return Http(server_->port(), "POST", "/v2/models/" + model + "/infer", body);
  }

  // The answer of the model without schema to `rows`.
  std::vector<double> Reference(const std::vector<std::vector<double>>& rows) {
    auto r = Infer("plain", V2Request(rows));
    EXPECT_EQ(r.status, 200) << r.body;
    return Probabilities(r);
  }

  // Named columns: store and x3..x5 as numbers, month and size as their names.
  static std::string NamedColumns(const std::vector<std::vector<double>>& rows) {
    json inputs = json::array();
    const std::vector<std::string> names = {"store", "month", "size", "x3", "x4", "x5"};
    for (size_t f = 0; f < names.size(); ++f) {
      json data = json::array();
      for (const auto& r : rows) {
        if (f == 1) {
          data.push_back(kMonths[static_cast<int>(r[f])]);
        } else if (f == 2) {
          data.push_back(kSizes[static_cast<int>(r[f])]);
        } else if (f == 0) {
          data.push_back(static_cast<int64_t>(r[f]));
        } else {
          data.push_back(r[f]);
        }
      }
      const bool text = f == 1 || f == 2;
      inputs.push_back({{"name", names[f]},
                        {"datatype", text ? "BYTES" : (f == 0 ? "INT64" : "FP64")},
                        {"shape", {rows.size()}},
                        {"data", data}});
    }
    return json{{"inputs", inputs}}.dump();
  }

  uint64_t Counted(const std::string& feature, const std::string& action) {
    const std::string text = Http(server_->port(), "GET", "/metrics").body;
    const std::regex re("inferd_schema_actions_total\\{model=\"cat\",feature=\"" + feature +
                        "\",action=\"" + action + "\"\\} ([0-9]+)");
    std::smatch m;
    return std::regex_search(text, m, re) ? std::stoull(m[1]) : 0;
  }

  TempDir repo_;
  std::unique_ptr<ServerProcess> server_;
  std::vector<std::vector<double>> rows_;
};

TEST_F(SchemaTest, EveryRequestFormGivesTheModelsAnswers) {
  const auto want = Reference(rows_);
  ASSERT_EQ(want.size(), rows_.size());
  // The positional tensor: valid rows pass unchanged.
  auto positional = Infer("cat", V2Request(rows_));
  ASSERT_EQ(positional.status, 200) << positional.body;
  EXPECT_EQ(Probabilities(positional), want);
  // Named columns, categories by name (BYTES).
  auto named = Infer("cat", NamedColumns(rows_));
  ASSERT_EQ(named.status, 200) << named.body;
  EXPECT_EQ(Probabilities(named), want);
  // TF Serving rows as objects, in any key order, categories by name.
  json instances = json::array();
  for (const auto& r : rows_) {
    instances.push_back({{"x5", r[5]},
                         {"size", kSizes[static_cast<int>(r[2])]},
                         {"store", r[0]},
                         {"month", kMonths[static_cast<int>(r[1])]},
                         {"x3", r[3]},
                         {"x4", r[4]}});
  }
  auto v1 = Http(server_->port(), "POST", "/v1/models/cat:predict",
                 json{{"instances", instances}}.dump());
  ASSERT_EQ(v1.status, 200) << v1.body;
  const json preds = json::parse(v1.body)["predictions"];
  ASSERT_EQ(preds.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(preds[i]["probabilities"][1].get<double>(), want[i]) << i;
  }
  // TF Serving columns.
  json columns = json::object();
  for (const auto& name : {"store", "x3", "x4", "x5"}) columns[name] = json::array();
  columns["month"] = json::array();
  columns["size"] = json::array();
  for (const auto& r : rows_) {
    columns["store"].push_back(r[0]);
    columns["month"].push_back(kMonths[static_cast<int>(r[1])]);
    columns["size"].push_back(r[2]);  // a code is accepted as well as a name
    columns["x3"].push_back(r[3]);
    columns["x4"].push_back(r[4]);
    columns["x5"].push_back(r[5]);
  }
  auto v1c =
      Http(server_->port(), "POST", "/v1/models/cat:predict", json{{"inputs", columns}}.dump());
  ASSERT_EQ(v1c.status, 200) << v1c.body;
  const json outs = json::parse(v1c.body)["outputs"]["probabilities"];
  ASSERT_EQ(outs.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(outs[i][1].get<double>(), want[i]) << i;
}

TEST_F(SchemaTest, PoliciesImputeClipAndCount) {
  // x3 missing -> the constant 0.5; x3 = 40 -> clipped to 3; store 17 is a known category.
  std::vector<std::vector<double>> rows = {rows_[0], rows_[1], rows_[2]};
  rows[0][3] = std::nan("");
  rows[1][3] = 40;
  auto fixed = rows;
  fixed[0][3] = 0.5;
  fixed[1][3] = 3;
  const auto want = Reference(fixed);
  auto r = Infer("cat", V2Request(rows));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Probabilities(r), want);
  // A store code outside the categories: unseen -> missing (passed to the model as NaN).
  rows = {rows_[3]};
  rows[0][0] = 45;
  auto missing_store = rows;
  missing_store[0][0] = std::nan("");
  EXPECT_EQ(Probabilities(Infer("cat", V2Request(rows))), Reference(missing_store));
  // TF Serving objects that leave x3 out: missing there, imputed.
  json row = {{"store", rows_[4][0]},
              {"month", "mar"},
              {"size", "large"},
              {"x4", rows_[4][4]},
              {"x5", rows_[4][5]}};
  auto imputed = rows_[4];
  imputed[1] = 2, imputed[2] = 2, imputed[3] = 0.5;
  auto v1 =
      Http(server_->port(), "POST", "/v1/models/cat:predict", json{{"instances", {row}}}.dump());
  ASSERT_EQ(v1.status, 200) << v1.body;
  EXPECT_EQ(json::parse(v1.body)["predictions"][0]["probabilities"][1].get<double>(),
            Reference({imputed})[0]);
  EXPECT_EQ(Counted("x3", "imputed"), 2u);
  EXPECT_EQ(Counted("x3", "clipped"), 1u);
  EXPECT_EQ(Counted("store", "unseen"), 1u);
}

TEST_F(SchemaTest, RejectionsNameTheRowFeatureAndRule) {
  auto error = [&](const std::string& body, const std::string& path = "/v2/models/cat/infer") {
    auto r = Http(server_->port(), "POST", path, body);
    EXPECT_EQ(r.status, 400) << body << " -> " << r.body;
    const json j = json::parse(r.body, nullptr, false);
    return j.is_discarded() || !j.contains("error") ? r.body : j["error"].get<std::string>();
  };
  auto rows = std::vector<std::vector<double>>{rows_[0], rows_[1]};
  rows[1][4] = 9;
  EXPECT_EQ(error(V2Request(rows)),
            "row 1, feature 'x4': 9 is above the maximum 3 (out_of_range: reject)");
  rows[1][4] = rows_[1][4];
  rows[0][5] = std::nan("");
  EXPECT_EQ(error(V2Request(rows)), "row 0, feature 'x5': a value is required (nullable: false)");
  rows[0][5] = rows_[0][5];
  rows[0][2] = 7;
  EXPECT_EQ(error(V2Request(rows)),
            "row 0, feature 'size': category 7 is not one of the schema's (unseen: reject)");
  json named = json::parse(NamedColumns({rows_[0], rows_[1]}));
  named["inputs"][1]["data"][1] = "smarch";
  EXPECT_EQ(error(named.dump()),
            "row 1, feature 'month': category 'smarch' is not one of the schema's (unseen: "
            "reject)");
  named = json::parse(NamedColumns({rows_[0]}));
  named["inputs"][3] = {{"name", "x3"}, {"datatype", "BYTES"}, {"shape", {1}}, {"data", {"tall"}}};
  EXPECT_EQ(error(named.dump()),
            "row 0, feature 'x3': 'tall' is not a number (wrong type: reject)");
  named["inputs"][3]["name"] = "height";
  EXPECT_EQ(error(named.dump()),
            "'height' is neither the model's input 'input' nor one of its features (store, "
            "month, size, x3, x4, x5)");
  EXPECT_EQ(error(R"({"instances":[{"store":1,"month":"jan","size":"small","x3":0,"x4":0,"x5":0},
                                   {"store":1,"month":"jan","x3":0,"x4":0,"x5":0}]})",
                  "/v1/models/cat:predict"),
            "row 1, feature 'size': the value is missing (missing: reject)");
  EXPECT_THAT(error(R"({"instances":[{"store":1,"colour":"red"}]})", "/v1/models/cat:predict"),
              HasSubstr("model has no input 'colour' (inputs: input, store, month, size"));
  EXPECT_GE(Counted("x4", "rejected"), 1u);
  EXPECT_GE(Counted("month", "rejected"), 1u);
  // Nothing broke: the server still answers.
  EXPECT_EQ(Infer("cat", V2Request({rows_[0]})).status, 200);
}

TEST_F(SchemaTest, PredictAppliesTheSameSchema) {
  // A CSV with a header naming the features; month and size by name, a missing x3, a clipped x3.
  std::ostringstream csv;
  csv << "x5,store,month,size,x3,x4\n";
  std::vector<std::vector<double>> served;
  for (size_t i = 0; i < 20; ++i) {
    auto r = rows_[i];
    std::string x3 = std::to_string(r[3]);
    if (i == 3) x3 = "", r[3] = std::nan("");
    if (i == 5) x3 = "12", r[3] = 12;
    char x[3][32];
    std::snprintf(x[0], sizeof x[0], "%.9g", rows_[i][5]);
    std::snprintf(x[1], sizeof x[1], "%.9g", rows_[i][4]);
    std::snprintf(x[2], sizeof x[2], "%.9g", rows_[i][3]);
    csv << x[0] << "," << r[0] << "," << kMonths[static_cast<int>(r[1])] << ","
        << kSizes[static_cast<int>(r[2])] << "," << (i == 3 || i == 5 ? x3 : x[2]) << "," << x[1]
        << "\n";
    served.push_back(r);
  }
  TempDir dir;
  WriteFile(dir.path() / "in.csv", csv.str());
  auto run =
      RunInferd({"predict", (repo_.path() / "cat").string(), "--input",
                 (dir.path() / "in.csv").string(), "--output", (dir.path() / "out.csv").string()});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  EXPECT_THAT(run.err, HasSubstr("schema: x3 imputed 1, clipped 1"));
  const auto out = ReadCsv(dir.path() / "out.csv", true);
  auto r = Infer("cat", V2Request(served));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto want = Probabilities(r);
  ASSERT_EQ(out.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(out[i][1], want[i]) << i;

  // A rejection stops predict, naming the line and feature, and leaves no output.
  WriteFile(dir.path() / "bad.csv",
            "store,month,size,x3,x4,x5\n1,jan,small,0,0,0\n1,jan,huge,0,0,0\n");
  run = RunInferd({"predict", (repo_.path() / "cat").string(), "--input",
                   (dir.path() / "bad.csv").string(), "--output",
                   (dir.path() / "bad_out.csv").string()});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("line 3, column 3, feature 'size': category 'huge' is not one "
                                 "of the schema's (unseen: reject)"));
  EXPECT_FALSE(fs::exists(dir.path() / "bad_out.csv"));
}

TEST(SchemaLoadTest, ASchemaThatDoesNotFitTheModelKeepsTheVersionOut) {
  TempDir repo;
  AddModel(repo.path(), "cat", 1, "binary_categorical");
  WriteFile(repo.path() / "cat" / "config.yaml", "schema: {features: [{name: a}, {name: b}]}\n");
  AddModel(repo.path(), "ok", 1, "binary_categorical");
  auto server = ServerProcess::Start(repo.path());
  auto index = Http(server->port(), "POST", "/v2/repository/index", "{}");
  EXPECT_THAT(index.body, HasSubstr("the schema's 2 features (a, b) need an FP32 or FP64 input of "
                                    "shape [-1,2]; input 'input' is FP32 [-1,6]"));
  EXPECT_THAT(Http(server->port(), "GET", "/v2/models/cat/ready").body,
              HasSubstr("\"ready\":false"));
  EXPECT_EQ(Http(server->port(), "GET", "/v2/models/ok/ready").status, 200);
}

}  // namespace
}  // namespace inferd::testing
