#include "tools/predict.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace inferd::tools {
namespace {

namespace fs = std::filesystem;
using tensor::DataType;
using tensor::Tensor;
using ::testing::HasSubstr;

// A model of 3 features: `prediction` = x0 + 2 x1 + 3 x2 over the present values, `label` = the
// number of missing values, `margin` [N, 2] on request. A row whose x0 is 666666 fails the call.
class FakeModel : public backend::LoadedModel {
 public:
  explicit FakeModel(DataType dtype) {
    sig_.platform = "fake";
    sig_.inputs = {{"input", dtype, {-1, 3}, true}};
    sig_.outputs = {{"prediction", DataType::kFp32, {-1}, true},
                    {"label", DataType::kInt64, {-1}, true},
                    {"margin", DataType::kFp64, {-1, 2}, false}};
  }
  const backend::ModelSignature& signature() const override { return sig_; }

  base::StatusOr<std::vector<Tensor>> Execute(
      std::span<const Tensor> inputs, std::span<const std::string> requested) const override {
    const Tensor& x = inputs[0];
    const int64_t n = x.shape()[0];
    calls_.fetch_add(1);
    std::vector<Tensor> out;
    for (const std::string& name : requested) {
      if (name == "prediction") out.emplace_back(name, DataType::kFp32, tensor::Shape{n});
      if (name == "label") out.emplace_back(name, DataType::kInt64, tensor::Shape{n});
      if (name == "margin") out.emplace_back(name, DataType::kFp64, tensor::Shape{n, 2});
    }
    for (int64_t r = 0; r < n; ++r) {
      double sum = 0;
      int64_t missing = 0;
      for (int j = 0; j < 3; ++j) {
        double v =
            x.dtype() == DataType::kFp64 ? x.data<double>()[r * 3 + j] : x.data<float>()[r * 3 + j];
        if (j == 0 && v == 666666) return base::InvalidArgument("boom");
        if (std::isnan(v)) {
          ++missing;
        } else {
          sum += v * (j + 1);
        }
      }
      for (Tensor& t : out) {
        if (t.name() == "prediction") t.data<float>()[r] = static_cast<float>(sum);
        if (t.name() == "label") t.data<int64_t>()[r] = missing;
        if (t.name() == "margin") {
          t.data<double>()[2 * r] = sum;
          t.data<double>()[2 * r + 1] = -sum;
        }
      }
    }
    return out;
  }
  int calls() const { return calls_.load(); }

 private:
  backend::ModelSignature sig_;
  mutable std::atomic<int> calls_{0};
};

class PredictTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string t = (fs::temp_directory_path() / "predict-XXXXXX").string();
    ASSERT_NE(::mkdtemp(t.data()), nullptr);
    dir_ = t;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path Write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / name, std::ios::binary) << content;
    return dir_ / name;
  }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  PredictOptions Options(const fs::path& input) {
    PredictOptions o;
    o.input = input;
    o.output = dir_ / "out.csv";
    o.progress = nullptr;
    return o;
  }

  fs::path dir_;
};

TEST_F(PredictTest, ScoresCsvWithHeaderIntoCsv) {
  FakeModel model(DataType::kFp32);
  auto o = Options(Write("in.csv", "a,b,c\n1,2,3\n,1,\n0.5,NA,1e1\n"));
  auto stats = PredictFile(model, {}, o);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(stats->rows, 3);
  EXPECT_EQ(Read(o.output), "prediction,label\n14,0\n2,2\n30.5,1\n");
  EXPECT_FALSE(fs::exists(o.output.string() + ".tmp"));
}

TEST_F(PredictTest, ChunksAndThreadsDoNotChangeTheOutput) {
  std::string csv;
  for (int i = 0; i < 1000; ++i) {
    csv += std::to_string(i) + "," + (i % 7 ? std::to_string(i * 0.25) : "") + "," +
           std::to_string(-i) + "\n";
    if (i % 100 == 0) csv += "\n";
  }
  FakeModel model(DataType::kFp32);
  auto o = Options(Write("in.csv", csv));
  o.batch_rows = 1 << 20;
  o.threads = 1;
  auto first = PredictFile(model, {}, o);
  ASSERT_TRUE(first.ok()) << first.status().message();
  const std::string single = Read(o.output);
  EXPECT_EQ(model.calls(), 1);
  for (int threads : {1, 2, 4}) {
    for (int64_t batch : {1, 7, 100}) {
      o.threads = threads;
      o.batch_rows = batch;
      auto stats = PredictFile(model, {}, o);
      ASSERT_TRUE(stats.ok()) << stats.status().message();
      EXPECT_EQ(stats->rows, 1000);
      EXPECT_EQ(Read(o.output), single) << threads << " threads, batch " << batch;
    }
  }
}

TEST_F(PredictTest, Fp64ModelAndRequestedOutputs) {
  FakeModel model(DataType::kFp64);
  auto o = Options(Write("in.csv", "0.5,0.25,0.125\n"));
  o.outputs = {"margin", "label"};
  ASSERT_TRUE(PredictFile(model, {}, o).ok());
  EXPECT_EQ(Read(o.output), "margin0,margin1,label\n1.375,-1.375,0\n");
  o.outputs = {"nope"};
  auto st = PredictFile(model, {}, o);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.status().message(), HasSubstr("no output 'nope' (it has prediction, label"));
}

TEST_F(PredictTest, JsonLinesDetectedByContentAndNamedColumns) {
  FakeModel model(DataType::kFp32);
  auto o = Options(Write("rows.txt", "[1, null, 3]\n{\"z\": 1, \"y\": 2}\n"));
  auto stats = PredictFile(model, {"x", "y", "z"}, o);
  ASSERT_TRUE(stats.ok()) << stats.status().message();
  EXPECT_EQ(Read(o.output), "prediction,label\n10,1\n7,1\n");
}

TEST_F(PredictTest, CsvColumnsByNameWithConfigFeatures) {
  FakeModel model(DataType::kFp32);
  auto o = Options(Write("in.csv", "id,z,x,y\nr1,3,1,2\n"));
  ASSERT_TRUE(PredictFile(model, {"x", "y", "z"}, o).ok());
  EXPECT_EQ(Read(o.output), "prediction,label\n14,0\n");
}

TEST_F(PredictTest, EmptyInputGivesTheHeader) {
  FakeModel model(DataType::kFp32);
  auto o = Options(Write("in.csv", ""));
  auto stats = PredictFile(model, {}, o);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->rows, 0);
  EXPECT_EQ(Read(o.output), "prediction,label\n");
}

TEST_F(PredictTest, BadRowLeavesNoOutputAndNamesTheFirstBadLine) {
  std::string csv = "a,b,c\n";
  for (int i = 0; i < 500; ++i) csv += "1,2,3\n";
  csv += "1,x,3\n";  // line 502
  for (int i = 0; i < 500; ++i) csv += "1,2,3\n";
  csv += "1,2\n";  // line 1003
  FakeModel model(DataType::kFp32);
  auto o = Options(Write("in.csv", csv));
  for (int threads : {1, 3}) {
    o.threads = threads;
    o.batch_rows = 10;
    auto st = PredictFile(model, {}, o);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.status().code(), base::StatusCode::kInvalidArgument);
    EXPECT_EQ(st.status().message(), "line 502, column 2: 'x' is not a number");
    EXPECT_FALSE(fs::exists(o.output));
    EXPECT_FALSE(fs::exists(o.output.string() + ".tmp"));
  }
}

TEST_F(PredictTest, ExecuteErrorNamesTheLines) {
  FakeModel model(DataType::kFp32);
  auto o = Options(Write("in.csv", "1,2,3\n666666,0,0\n"));
  o.batch_rows = 1;
  auto st = PredictFile(model, {}, o);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().message(), "lines 2-2: boom");
  EXPECT_FALSE(fs::exists(o.output));
}

TEST_F(PredictTest, OptionAndInputErrors) {
  FakeModel model(DataType::kFp32);
  auto o = Options(dir_ / "missing.csv");
  auto st = PredictFile(model, {}, o);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().code(), base::StatusCode::kNotFound);
  o = Options(Write("in.csv", "f0,f1\n1,2\n"));
  st = PredictFile(model, {}, o);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.status().message(), HasSubstr("the header has 2 columns but the model takes 3"));
  o.batch_rows = 0;
  EXPECT_FALSE(PredictFile(model, {}, o).ok());
  // A bad first row without a header is reported, not taken for a header.
  o = Options(Write("in.csv", "1,abc,3\n4,5,6\n"));
  st = PredictFile(model, {}, o);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.status().message(), "line 1, column 2: 'abc' is not a number");
  o = Options(Write("in.csv", "1,2,3\n"));
  o.output = dir_ / "no-such-dir" / "out.csv";
  st = PredictFile(model, {}, o);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.status().message(), HasSubstr("cannot create output file"));
  st = PredictFile(model, {"a", "b"}, Options(dir_ / "in.csv"));
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(st.status().message(), HasSubstr("lists 2 features but the model takes 3"));
}

TEST_F(PredictTest, SummaryAndProgressLines) {
  FakeModel model(DataType::kFp32);
  auto o = Options(Write("in.csv", "1,2,3\n"));
  fs::path log_path = dir_ / "log.txt";
  std::FILE* log = std::fopen(log_path.c_str(), "w");
  o.progress = log;
  o.progress_mode = PredictOptions::ProgressMode::kLines;
  o.profile = true;
  ASSERT_TRUE(PredictFile(model, {}, o).ok());
  std::fclose(log);
  std::string text = Read(log_path);
  EXPECT_THAT(text, HasSubstr("rows 1, seconds "));
  EXPECT_THAT(text, HasSubstr(", rows/s "));
  EXPECT_THAT(text, HasSubstr("stages (CPU seconds"));
}

}  // namespace
}  // namespace inferd::tools
