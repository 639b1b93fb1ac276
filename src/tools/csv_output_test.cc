#include "tools/csv_output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace inferd::tools {
namespace {

using tensor::DataType;
using tensor::Tensor;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

config::TensorSpec Spec(const std::string& name, DataType dtype, tensor::Shape shape,
                        bool default_output = true) {
  return {name, dtype, std::move(shape), default_output};
}

template <typename T>
Tensor Make(const std::string& name, DataType dtype, tensor::Shape shape, std::vector<T> values) {
  Tensor t(name, dtype, std::move(shape));
  std::memcpy(t.bytes().data(), values.data(), values.size() * sizeof(T));
  return t;
}

TEST(PlanCsvOutput, ColumnNames) {
  auto plan = PlanCsvOutput({Spec("probabilities", DataType::kFp32, {-1, 3}),
                             Spec("label", DataType::kInt64, {-1}),
                             Spec("margin", DataType::kFp32, {-1, 2})});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(CsvHeader(*plan), "p0,p1,p2,label,margin0,margin1\n");
  EXPECT_EQ((*plan)[0].width, 3);
  plan = PlanCsvOutput({Spec("prediction", DataType::kFp64, {-1})});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(CsvHeader(*plan), "prediction\n");
}

TEST(PlanCsvOutput, RefusesWhatHasNoColumns) {
  auto plan = PlanCsvOutput({Spec("x", DataType::kFp32, {-1, -1})});
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("variable shape [-1,-1]"));
  plan = PlanCsvOutput({Spec("s", DataType::kBytes, {-1})});
  ASSERT_FALSE(plan.ok());
  EXPECT_THAT(plan.status().message(), HasSubstr("BYTES"));
}

TEST(AppendCsvRows, ShortestRoundTripText) {
  auto plan = PlanCsvOutput({Spec("probabilities", DataType::kFp32, {-1, 2}),
                             Spec("label", DataType::kInt64, {-1}),
                             Spec("prediction", DataType::kFp64, {-1})});
  ASSERT_TRUE(plan.ok());
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<Tensor> outputs;
  outputs.push_back(
      Make<float>("probabilities", DataType::kFp32, {2, 2}, {0.1f, 1.0f / 3, 1e-30f, nan}));
  outputs.push_back(Make<int64_t>("label", DataType::kInt64, {2}, {1, -9223372036854775807 - 1}));
  outputs.push_back(Make<double>("prediction", DataType::kFp64, {2}, {0.1, 1.0 / 3}));
  std::string out = "x\n";
  ASSERT_TRUE(AppendCsvRows(outputs, *plan, &out).ok());
  EXPECT_EQ(out,
            "x\n"
            "0.1,0.33333334,1,0.1\n"
            "1e-30,nan,-9223372036854775808,0.3333333333333333\n");
}

TEST(AppendCsvRows, ValuesReadBackExactly) {
  auto plan = PlanCsvOutput({Spec("prediction", DataType::kFp32, {-1})});
  ASSERT_TRUE(plan.ok());
  std::vector<float> v;
  for (uint32_t bits = 0x3f000001; v.size() < 1000; bits += 7919) {
    float f;
    std::memcpy(&f, &bits, 4);
    v.push_back(f);
  }
  v.push_back(-std::numeric_limits<float>::denorm_min());
  v.push_back(std::numeric_limits<float>::max());
  std::vector<Tensor> outputs;
  outputs.push_back(
      Make<float>("prediction", DataType::kFp32, {static_cast<int64_t>(v.size())}, v));
  std::string out;
  ASSERT_TRUE(AppendCsvRows(outputs, *plan, &out).ok());
  size_t at = 0;
  for (float expected : v) {
    size_t nl = out.find('\n', at);
    std::string line = out.substr(at, nl - at);
    EXPECT_LE(line.size(), 15u) << line;
    EXPECT_EQ(std::strtof(line.c_str(), nullptr), expected) << line;
    at = nl + 1;
  }
  EXPECT_EQ(at, out.size());
}

TEST(AppendCsvRows, MismatchIsInternal) {
  auto plan = PlanCsvOutput({Spec("probabilities", DataType::kFp32, {-1, 2})});
  ASSERT_TRUE(plan.ok());
  std::vector<Tensor> outputs;
  outputs.push_back(Make<float>("probabilities", DataType::kFp32, {1, 3}, {1, 2, 3}));
  std::string out;
  auto st = AppendCsvRows(outputs, *plan, &out);
  EXPECT_EQ(st.code(), base::StatusCode::kInternal);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace inferd::tools
