#include "inference/inference_service.h"

#include <gtest/gtest.h>

namespace inferd::inference {
namespace {

using tensor::DataType;
using tensor::Tensor;

config::TensorSpec Spec(const std::string& name, tensor::Shape shape) {
  config::TensorSpec s;
  s.name = name;
  s.dtype = DataType::kFp32;
  s.shape = std::move(shape);
  return s;
}

std::vector<Tensor> One(Tensor t) {
  std::vector<Tensor> v;
  v.push_back(std::move(t));
  return v;
}

TEST(PrepareInputsTest, ConvertsAndAddsBatchDimension) {
  std::vector<config::TensorSpec> specs = {Spec("input", {-1, 3})};
  Tensor row("input", DataType::kInt32, {3});
  row.data<int32_t>()[2] = 7;
  auto out = PrepareInputs(specs, One(std::move(row)), "m");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ((*out)[0].shape(), (tensor::Shape{1, 3}));
  EXPECT_EQ((*out)[0].dtype(), DataType::kFp32);
  EXPECT_EQ((*out)[0].data<float>()[2], 7.0f);
}

TEST(PrepareInputsTest, ErrorsNameTheProblem) {
  std::vector<config::TensorSpec> specs = {Spec("input", {-1, 3})};
  auto msg = [&](Tensor t) {
    auto r = PrepareInputs(specs, One(std::move(t)), "m");
    return r.ok() ? std::string("OK") : r.status().message();
  };
  EXPECT_NE(msg(Tensor("x", DataType::kFp32, {1, 3})).find("has no input 'x'"), std::string::npos);
  EXPECT_NE(msg(Tensor("input", DataType::kFp32, {2, 4})).find("expected 3 features"),
            std::string::npos);
  EXPECT_NE(msg(Tensor("input", DataType::kFp32, {0, 3})).find("empty"), std::string::npos);
  EXPECT_NE(msg(Tensor("input", DataType::kFp32, {1, 1, 3})).find("expected shape [-1,3]"),
            std::string::npos);
  auto missing = PrepareInputs(specs, {}, "m");
  EXPECT_NE(missing.status().message().find("missing input 'input'"), std::string::npos);
  std::vector<Tensor> twice;
  twice.emplace_back("input", DataType::kFp32, tensor::Shape{1, 3});
  twice.emplace_back("input", DataType::kFp32, tensor::Shape{1, 3});
  EXPECT_NE(PrepareInputs(specs, std::move(twice), "m").status().message().find("twice"),
            std::string::npos);
}

}  // namespace
}  // namespace inferd::inference
