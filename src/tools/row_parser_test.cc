#include "tools/row_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace inferd::tools {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseCsvNumber, NumbersAndMissingValues) {
  EXPECT_EQ(ParseCsvNumber("1.5"), 1.5);
  EXPECT_EQ(ParseCsvNumber(" -2 "), -2.0);
  EXPECT_EQ(ParseCsvNumber("\"3e2\""), 300.0);
  EXPECT_EQ(ParseCsvNumber("+4"), 4.0);
  EXPECT_EQ(ParseCsvNumber(".5"), 0.5);
  EXPECT_EQ(ParseCsvNumber("1e400"), std::numeric_limits<double>::infinity());
  EXPECT_EQ(ParseCsvNumber("1e-400"), 0.0);
  for (const char* missing :
       {"", "  ", "NA", "na", "N/A", "NaN", "nan", "null", "NULL", "None", "\"\"", "\"NA\""}) {
    auto v = ParseCsvNumber(missing);
    ASSERT_TRUE(v.has_value()) << missing;
    EXPECT_TRUE(std::isnan(*v)) << missing;
  }
  for (const char* bad : {"abc", "1e", "1.2.3", "+-1", "++1", "0x10", "1,5", "1 2", "+"}) {
    EXPECT_FALSE(ParseCsvNumber(bad).has_value()) << bad;
  }
}

TEST(SplitCsvLine, QuotesAndSpaces) {
  EXPECT_THAT(SplitCsvLine("a, \"b,c\" ,\"d\"\"e\",,f "), ElementsAre("a", "b,c", "d\"e", "", "f"));
  EXPECT_THAT(SplitCsvLine(""), ElementsAre(""));
}

TEST(LooksLikeCsvHeader, NamesVersusNumbers) {
  EXPECT_TRUE(LooksLikeCsvHeader("f0,f1,f2"));
  EXPECT_TRUE(LooksLikeCsvHeader(",f1,\"f 2\",NA"));
  EXPECT_FALSE(LooksLikeCsvHeader("1,x"));
  EXPECT_FALSE(LooksLikeCsvHeader("1,2.5,-3"));
  EXPECT_FALSE(LooksLikeCsvHeader(",NA,3,nan"));
  EXPECT_FALSE(LooksLikeCsvHeader(",,"));
}

TEST(MakeCsvLayout, PositionalWithoutHeaderOrNames) {
  auto l = MakeCsvLayout(std::nullopt, 3, {});
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->column_to_feature.empty());
  EXPECT_EQ(l->num_columns, 3);
  l = MakeCsvLayout(std::vector<std::string>{"f0", "f1", "f2"}, 3, {});
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->column_to_feature.empty());
  l = MakeCsvLayout(std::vector<std::string>{"f0", "f1"}, 3, {});
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.status().message(), HasSubstr("the header has 2 columns but the model takes 3"));
}

TEST(MakeCsvLayout, ByNameReordersAndIgnoresExtraColumns) {
  auto l = MakeCsvLayout(std::vector<std::string>{"id", "c", "a", "b"}, 3, {"a", "b", "c"});
  ASSERT_TRUE(l.ok()) << l.status().message();
  EXPECT_EQ(l->num_columns, 4);
  EXPECT_THAT(l->column_to_feature, ElementsAre(-1, 2, 0, 1));

  l = MakeCsvLayout(std::vector<std::string>{"c", "a"}, 3, {"a", "b", "c"});
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.status().message(), HasSubstr("feature 'b' is not a column"));
  l = MakeCsvLayout(std::vector<std::string>{"a", "b", "c", "a"}, 3, {"a", "b", "c"});
  ASSERT_FALSE(l.ok());
  EXPECT_THAT(l.status().message(), HasSubstr("'a' twice (columns 1 and 4)"));
  // No header name is a feature: positional, which needs the right count.
  l = MakeCsvLayout(std::vector<std::string>{"x", "y", "z"}, 3, {"a", "b", "c"});
  ASSERT_TRUE(l.ok());
  EXPECT_TRUE(l->column_to_feature.empty());
}

RowLayout Positional(int64_t features) {
  RowLayout l;
  l.num_features = features;
  l.num_columns = features;
  return l;
}

TEST(RowParser, CsvValuesMissingBlankLinesAndCrlf) {
  RowLayout layout = Positional(3);
  RowParser parser(&layout);
  std::vector<float> out(5 * 3, -1);
  auto rows = parser.Parse("1,2.5,-3\r\n\n ,NA,\"4\"\n  \n0.1, 1e3 ,+7", 2, out);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(*rows, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 2.5f);
  EXPECT_EQ(out[2], -3.0f);
  EXPECT_TRUE(std::isnan(out[3]));
  EXPECT_TRUE(std::isnan(out[4]));
  EXPECT_EQ(out[5], 4.0f);
  EXPECT_EQ(out[6], 0.1f);
  EXPECT_EQ(out[7], 1000.0f);
  EXPECT_EQ(out[8], 7.0f);
}

TEST(RowParser, AllMissingRowAndTrailingEmptyField) {
  RowLayout layout = Positional(3);
  RowParser parser(&layout);
  std::vector<float> out(6);
  auto rows = parser.Parse(",,\n1,2,\n", 1, out);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(*rows, 2);
  EXPECT_TRUE(std::isnan(out[0]) && std::isnan(out[1]) && std::isnan(out[2]));
  EXPECT_EQ(out[3], 1.0f);
  EXPECT_TRUE(std::isnan(out[5]));
}

TEST(RowParser, FloatIsTheDoubleRoundedOnce) {
  RowLayout layout = Positional(2);
  RowParser parser(&layout);
  std::vector<float> f(2);
  std::vector<double> d(2);
  const char* text = "0.1,16777217";
  ASSERT_TRUE(parser.Parse(text, 1, std::span<float>(f)).ok());
  ASSERT_TRUE(parser.Parse(text, 1, std::span<double>(d)).ok());
  EXPECT_EQ(f[0], static_cast<float>(0.1));
  EXPECT_EQ(f[1], 16777216.0f);
  EXPECT_EQ(d[0], 0.1);
  EXPECT_EQ(d[1], 16777217.0);
}

// Every number the parser reads equals strtod's double (and float), whatever its form: the fast
// paths must not change a bit.
TEST(RowParser, NumbersEqualStrtodBitForBit) {
  std::mt19937_64 rng(42);
  auto digits = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('0' + rng() % 10);
    return s;
  };
  constexpr int kFields = 40;
  RowLayout layout = Positional(kFields);
  RowParser parser(&layout);
  std::vector<double> d(kFields);
  std::vector<float> f(kFields);
  for (int line = 0; line < 3000; ++line) {
    std::vector<std::string> fields;
    std::string text;
    for (int j = 0; j < kFields; ++j) {
      std::string s = rng() % 3 == 0 ? "-" : "";
      int a = static_cast<int>(rng() % 12), b = static_cast<int>(rng() % 12);
      if (rng() % 8 == 0) a = static_cast<int>(rng() % 25);
      if (rng() % 8 == 0) b = static_cast<int>(rng() % 25);
      if (a + b == 0) a = 1;
      s += digits(a);
      if (b > 0 || rng() % 10 == 0) s += "." + digits(b);
      if (rng() % 10 == 0) s += (rng() % 2 ? "e" : "E") + std::to_string(int(rng() % 80) - 40);
      fields.push_back(s);
      text += (j ? "," : "") + s;
    }
    text += rng() % 2 ? "\n" : "\r\n";
    auto rows = parser.Parse(text, 1, std::span<double>(d));
    ASSERT_TRUE(rows.ok()) << rows.status().message() << "\n" << text;
    ASSERT_TRUE(parser.Parse(text, 1, std::span<float>(f)).ok());
    for (int j = 0; j < kFields; ++j) {
      double want = std::strtod(fields[j].c_str(), nullptr);
      ASSERT_EQ(std::memcmp(&d[j], &want, sizeof want), 0)
          << fields[j] << " gave " << d[j] << ", strtod " << want;
      float want_f = static_cast<float>(want);
      ASSERT_EQ(std::memcmp(&f[j], &want_f, sizeof want_f), 0) << fields[j];
    }
  }
}

TEST(RowParser, CsvErrorsNameLineAndColumn) {
  RowLayout layout = Positional(3);
  RowParser parser(&layout);
  std::vector<float> out(30);
  auto r = parser.Parse("1,2,3\n4,abc,6\n", 10, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 11, column 2: 'abc' is not a number");
  r = parser.Parse("1,2,3\n\n4,5\n", 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 3: 2 columns, expected 3");
  r = parser.Parse("1,2,3,4,5\n", 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 1: 5 columns, expected 3");
  r = parser.Parse("1,2,3e\n", 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 1, column 3: '3e' is not a number");
}

TEST(RowParser, CsvColumnsByName) {
  auto layout = MakeCsvLayout(std::vector<std::string>{"id", "c", "a", "b"}, 3, {"a", "b", "c"});
  ASSERT_TRUE(layout.ok());
  RowParser parser(&*layout);
  std::vector<double> out(6);
  auto rows = parser.Parse("row-1,3,1,2\nrow-2,,4,5\n", 2, out);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(*rows, 2);
  EXPECT_EQ(out[0], 1);
  EXPECT_EQ(out[1], 2);
  EXPECT_EQ(out[2], 3);
  EXPECT_EQ(out[3], 4);
  EXPECT_EQ(out[4], 5);
  EXPECT_TRUE(std::isnan(out[5]));
  auto bad = parser.Parse("x,1,2\n", 7, out);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "line 7: 3 columns, expected 4");
  bad = parser.Parse("x,1,2,y\n", 7, out);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "line 7, column 4: 'y' is not a number");
}

TEST(RowParser, JsonLinesArraysAndObjects) {
  RowLayout layout;
  layout.format = InputFormat::kJsonLines;
  layout.num_features = 3;
  layout.feature_names = {"a", "b", "c"};
  RowParser parser(&layout);
  std::vector<float> out(9);
  auto rows =
      parser.Parse("[1, 2.5, null]\n\n{\"c\": 3, \"a\": -1, \"zz\": 9}\n[0, \"NA\", 7]", 1, out);
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  ASSERT_EQ(*rows, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], 2.5f);
  EXPECT_TRUE(std::isnan(out[2]));
  EXPECT_EQ(out[3], -1.0f);
  EXPECT_TRUE(std::isnan(out[4]));  // absent feature: missing
  EXPECT_EQ(out[5], 3.0f);
  EXPECT_TRUE(std::isnan(out[7]));
  EXPECT_EQ(out[8], 7.0f);
}

TEST(RowParser, JsonLinesErrors) {
  RowLayout layout;
  layout.format = InputFormat::kJsonLines;
  layout.num_features = 2;
  RowParser parser(&layout);
  std::vector<double> out(10);
  auto r = parser.Parse("[1,2]\n[1,2,3]\n", 4, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 5: 3 values, expected 2");
  r = parser.Parse("[1]\n", 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 1: 1 values, expected 2");
  r = parser.Parse("[1, \"x\"]\n", 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "line 1, value 2: '\"x\"' is not a number or null");
  r = parser.Parse("[1, 2\n", 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("line 1: malformed JSON"));
  r = parser.Parse("{\"a\": 1}\n", 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("needs feature names"));
  r = parser.Parse("5\n", 1, out);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("expected a JSON array of numbers or an object"));
}

}  // namespace
}  // namespace inferd::tools
