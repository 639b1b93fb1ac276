// End-to-end: `inferd predict` on the XGBoost fixtures gives libxgboost's predictions, whatever
// the input form (CSV with or without header, JSON lines, stdin), chunking or thread count; bad
// input fails with exit code 1, a message naming the place, and no output file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using ::testing::HasSubstr;

// A CSV with a header, as predict writes it.
struct Table {
  std::vector<std::string> columns;
  std::vector<std::vector<double>> rows;

  std::vector<double> Column(const std::string& name) const {
    auto it = std::find(columns.begin(), columns.end(), name);
    EXPECT_NE(it, columns.end()) << "no column " << name;
    std::vector<double> out;
    if (it == columns.end()) return out;
    size_t j = static_cast<size_t>(it - columns.begin());
    for (const auto& r : rows) out.push_back(j < r.size() ? r[j] : std::nan(""));
    return out;
  }
};

Table ParseTable(const std::string& text) {
  Table t;
  std::istringstream in(text);
  std::string line;
  if (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) t.columns.push_back(cell);
  }
  while (std::getline(in, line)) {
    std::vector<double> row;
    std::istringstream ls(line);
    std::string cell;
    while (std::getline(ls, cell, ',')) row.push_back(std::stod(cell));
    t.rows.push_back(std::move(row));
  }
  return t;
}

void ExpectNear(const std::vector<double>& got, const std::vector<double>& want,
                const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_NEAR(got[i], want[i], 1e-6 * std::max(1.0, std::fabs(want[i]))) << what << " row " << i;
  }
}

// Checks `csv` (predict's output) against the fixture's predict.csv: libxgboost's output is
// column `columns[k]` for predict.csv's column k.
void ExpectFixturePredictions(const std::string& csv, const std::string& fixture,
                              const std::vector<std::string>& columns) {
  Table t = ParseTable(csv);
  auto want = ReadCsv(FixtureDir(fixture) / "predict.csv", false);
  ASSERT_EQ(t.rows.size(), want.size()) << fixture;
  for (size_t k = 0; k < columns.size(); ++k) {
    std::vector<double> col;
    for (const auto& r : want) col.push_back(r.at(k));
    ExpectNear(t.Column(columns[k]), col, fixture + " " + columns[k]);
  }
}

std::string Input(const std::string& fixture) {
  return (FixtureDir(fixture) / "input.csv").string();
}
std::string Model(const std::string& fixture, const std::string& file = "model.json") {
  return (FixtureDir(fixture) / file).string();
}

struct Case {
  std::string fixture;
  std::vector<std::string> columns;  // predict's columns holding libxgboost's output
};

TEST(Predict, MatchesLibxgboostOnEveryObjective) {
  const std::vector<Case> cases = {
      {"binary_logistic", {"p1"}},
      {"binary_logistic_missing", {"p1"}},
      {"binary_logitraw", {"prediction"}},
      {"binary_hinge", {"label"}},
      {"multi_softprob", {"p0", "p1", "p2"}},
      {"multi_softprob_missing", {"p0", "p1", "p2"}},
      {"multi_softmax", {"label"}},
      {"reg_squarederror", {"prediction"}},
      {"reg_squarederror_missing", {"prediction"}},
      {"reg_logistic", {"prediction"}},
      {"count_poisson", {"prediction"}},
      {"survival_cox", {"prediction"}},
      {"rank_pairwise", {"prediction"}},
      {"v3_1_format_multi", {"p0", "p1", "p2"}},
  };
  TempDir dir;
  for (const auto& c : cases) {
    const fs::path out = dir.path() / (c.fixture + ".csv");
    auto r = RunInferd(
        {"predict", Model(c.fixture), "--input", Input(c.fixture), "--output", out.string()});
    ASSERT_EQ(r.exit_code, 0) << c.fixture << ": " << r.err;
    EXPECT_THAT(r.err, HasSubstr("rows/s")) << c.fixture;
    EXPECT_TRUE(r.out.empty());
    ExpectFixturePredictions(ReadFile(out), c.fixture, c.columns);
  }
}

// LightGBM models take FP64 rows: parsed as double and written with 17 significant digits at most,
// they match LightGBM's own predictions within 1e-9 relative.
TEST(Predict, MatchesLightgbmInDoublePrecision) {
  const std::vector<Case> cases = {
      {"binary_breast_cancer", {"p1"}},
      {"categorical_binary", {"p1"}},
      {"multiclass_digits", {"p0", "p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9"}},
      {"regression_nan_missing", {"prediction"}},
  };
  for (const auto& c : cases) {
    const fs::path dir = SourceDir() / "tests/fixtures/lightgbm" / c.fixture;
    auto r = RunInferd(
        {"predict", (dir / "model.txt").string(), "--input", (dir / "input.csv").string()});
    ASSERT_EQ(r.exit_code, 0) << c.fixture << ": " << r.err;
    Table got = ParseTable(r.out);
    Table want = ParseTable(ReadFile(dir / "expected.csv"));
    ASSERT_EQ(want.columns.size(), c.columns.size());
    ASSERT_EQ(got.rows.size(), want.rows.size()) << c.fixture;
    for (size_t k = 0; k < c.columns.size(); ++k) {
      std::vector<double> g = got.Column(c.columns[k]), w = want.Column(want.columns[k]);
      for (size_t i = 0; i < w.size(); ++i) {
        EXPECT_NEAR(g[i], w[i], 1e-9 * std::max(1e-300, std::fabs(w[i])))
            << c.fixture << " " << c.columns[k] << " row " << i;
      }
    }
  }
}

TEST(Predict, ColumnsAndSummaryLine) {
  auto r = RunInferd({"predict", Model("binary_logistic"), "--input", Input("binary_logistic")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "p0,p1,label");
  EXPECT_THAT(r.err, ::testing::ContainsRegex("rows 80, seconds [0-9.]+, rows/s [0-9]+"));
  r = RunInferd({"predict", Model("reg_squarederror"), "--input", Input("reg_squarederror")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "prediction");
  r = RunInferd({"predict", Model("multi_softprob"), "--input", Input("multi_softprob"),
                 "--outputs", "margin"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Table t = ParseTable(r.out);
  auto margin = ReadCsv(FixtureDir("multi_softprob") / "margin.csv", false);
  ASSERT_EQ(t.columns, (std::vector<std::string>{"margin0", "margin1", "margin2"}));
  for (size_t k = 0; k < 3; ++k) {
    std::vector<double> col;
    for (const auto& row : margin) col.push_back(row.at(k));
    ExpectNear(t.Column("margin" + std::to_string(k)), col, "margin");
  }
}

TEST(Predict, StdoutUbjStdinAndHeaderlessGiveTheSameRows) {
  const std::string fx = "binary_logistic_missing";
  TempDir dir;
  const fs::path out = dir.path() / "out.csv";
  auto r = RunInferd({"predict", Model(fx), "--input", Input(fx), "--output", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string expected = ReadFile(out);
  ExpectFixturePredictions(expected, fx, {"p1"});

  r = RunInferd({"predict", Model(fx), "--input", Input(fx)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected) << "stdout";

  r = RunInferd({"predict", Model(fx, "model.ubj"), "--input", Input(fx)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected) << "model.ubj";

  r = RunInferd({"predict", Model(fx), "--input", "-"}, Input(fx));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected) << "stdin";

  std::string csv = ReadFile(Input(fx));
  WriteFile(dir.path() / "noheader.csv", csv.substr(csv.find('\n') + 1));
  r = RunInferd({"predict", Model(fx), "--input", (dir.path() / "noheader.csv").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, expected) << "no header";
}

TEST(Predict, JsonLinesInput) {
  const std::string fx = "multi_softprob_missing";
  TempDir dir;
  std::string jsonl;
  for (const auto& row : ReadCsv(Input(fx), true)) {
    jsonl += "[";
    for (size_t j = 0; j < row.size(); ++j) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.9g", row[j]);
      jsonl += (j ? "," : "") + (std::isnan(row[j]) ? std::string("null") : std::string(buf));
    }
    jsonl += "]\n";
  }
  const fs::path in = dir.path() / "rows.jsonl";
  WriteFile(in, jsonl);
  auto r = RunInferd({"predict", Model(fx), "--input", in.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectFixturePredictions(r.out, fx, {"p0", "p1", "p2"});
  // Detected by the first byte when the name says nothing.
  WriteFile(dir.path() / "rows.txt", jsonl);
  auto r2 = RunInferd({"predict", Model(fx), "--input", (dir.path() / "rows.txt").string()});
  ASSERT_EQ(r2.exit_code, 0) << r2.err;
  EXPECT_EQ(r2.out, r.out);
}

TEST(Predict, ManyChunksAndThreadsGiveIdenticalOutput) {
  const std::string fx = "binary_logistic_missing";
  auto one = RunInferd({"predict", Model(fx), "--input", Input(fx), "--threads", "1"});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  for (const char* threads : {"1", "2", "3"}) {
    auto r = RunInferd(
        {"predict", Model(fx), "--input", Input(fx), "--batch", "7", "--threads", threads});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, one.out) << threads << " threads";
  }
}

TEST(Predict, ModelDirectoryWithVersionsAndConfig) {
  TempDir repo;
  AddModel(repo.path(), "m", 1, "multi_softprob");
  AddModel(repo.path(), "m", 2, "binary_logistic");
  auto r = RunInferd(
      {"predict", (repo.path() / "m").string(), "--input", Input("binary_logistic"), "--profile"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectFixturePredictions(r.out, "binary_logistic", {"p1"});
  EXPECT_THAT(r.err, HasSubstr("model m version 2"));
  EXPECT_THAT(r.err, HasSubstr("stages (CPU seconds"));

  // Version 1 with config features: the CSV's columns are matched by name, in any order.
  WriteFile(repo.path() / "m" / "config.yaml", "features: [a, b, c, d]\n");
  std::string csv = "d,id,b,a,c\n";
  for (const auto& row : ReadCsv(Input("multi_softprob"), true)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%.9g,x,%.9g,%.9g,%.9g\n", row[3], row[1], row[0], row[2]);
    csv += buf;
  }
  WriteFile(repo.path() / "named.csv", csv);
  r = RunInferd({"predict", (repo.path() / "m").string(), "--model-version", "1", "--input",
                 (repo.path() / "named.csv").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectFixturePredictions(r.out, "multi_softprob", {"p0", "p1", "p2"});

  r = RunInferd({"predict", (repo.path() / "m").string(), "--model-version", "5", "--input",
                 Input("binary_logistic")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("has no version 5 (it has 1, 2)"));
}

TEST(Predict, BadInputExitsOneAndLeavesNoOutput) {
  const std::string fx = "binary_logistic";
  TempDir dir;
  std::istringstream in(ReadFile(Input(fx)));
  std::string line, bad_number, bad_count;
  for (int n = 1; std::getline(in, line); ++n) {
    std::string number = line, count = line;
    if (n == 5) {  // third field of line 5 is not a number; line 4 loses its last column
      size_t a = number.find(',', number.find(',') + 1) + 1;
      number.replace(a, number.find(',', a) - a, "abc");
    }
    if (n == 4) count = count.substr(0, count.rfind(','));
    bad_number += number + "\n";
    bad_count += count + "\n";
  }
  const fs::path out = dir.path() / "out.csv";
  struct Bad {
    std::string content, message;
  };
  for (const Bad& b : {Bad{bad_number, "line 5, column 3: 'abc' is not a number"},
                       Bad{bad_count, "line 4: 29 columns, expected 30"}}) {
    WriteFile(dir.path() / "bad.csv", b.content);
    for (const char* batch : {"16384", "2"}) {
      auto r = RunInferd({"predict", Model(fx), "--input", (dir.path() / "bad.csv").string(),
                          "--output", out.string(), "--batch", batch});
      EXPECT_EQ(r.exit_code, 1);
      EXPECT_THAT(r.err, HasSubstr(b.message));
      EXPECT_FALSE(fs::exists(out));
      EXPECT_FALSE(fs::exists(out.string() + ".tmp"));
    }
  }
}

TEST(Predict, MissingFilesAndUnknownModels) {
  TempDir dir;
  auto r =
      RunInferd({"predict", (dir.path() / "nope").string(), "--input", Input("binary_logistic")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("does not exist"));

  r = RunInferd(
      {"predict", Model("binary_logistic"), "--input", (dir.path() / "rows.csv").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("rows.csv does not exist"));

  WriteFile(dir.path() / "weights.bin", "not a model");
  r = RunInferd(
      {"predict", (dir.path() / "weights.bin").string(), "--input", Input("binary_logistic")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("no backend loads a model file named 'weights.bin'"));

  WriteFile(dir.path() / "1" / "model.json", "{\"learner\": 1");
  r = RunInferd({"predict", dir.path().string(), "--input", Input("binary_logistic")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("model.json"));

  // The wrong model for the rows: the header's width is named.
  r = RunInferd({"predict", Model("multi_softprob"), "--input", Input("binary_logistic")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("the header has 30 columns but the model takes 4 features"));
}

}  // namespace
}  // namespace inferd::testing

namespace inferd::testing {
namespace {

TEST(PredictOutput, DevicesAndSymlinksAreWrittenNotReplaced) {
  const std::string fx = "binary_logistic";
  TempDir dir;
  // A device stays a device.
  auto r = RunInferd(
      {"predict", Model(fx), "--input", Input(fx), "--output", "/dev/null", "--progress", "none"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
  EXPECT_FALSE(fs::exists("/dev/null.tmp"));
  // A symbolic link keeps pointing where it did, and that file gets the rows.
  const fs::path real = dir.path() / "real.csv";
  const fs::path link = dir.path() / "link.csv";
  WriteFile(real, "old");
  fs::create_symlink(real, link);
  r = RunInferd({"predict", Model(fx), "--input", Input(fx), "--output", link.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_NE(ReadFile(real).find("p0,p1,label"), std::string::npos);
  // A directory is refused before any work.
  r = RunInferd({"predict", Model(fx), "--input", Input(fx), "--output", dir.path().string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a directory"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace inferd::testing
