#include "tensor/tensor.h"

#include <gtest/gtest.h>

#include <cmath>

namespace inferd::tensor {
namespace {

TEST(DataTypeTest, NamesRoundTrip) {
  for (auto t : {DataType::kBool, DataType::kUint8, DataType::kInt64, DataType::kFp32,
                 DataType::kFp64, DataType::kBytes}) {
    EXPECT_EQ(DataTypeFromName(DataTypeName(t)), t);
  }
  EXPECT_EQ(DataTypeFromName("FP99"), std::nullopt);
  EXPECT_EQ(DataTypeFromName("fp32"), std::nullopt);  // the protocol is case-sensitive
  EXPECT_EQ(DataTypeSize(DataType::kInt16), 2u);
  EXPECT_EQ(DataTypeSize(DataType::kBytes), 0u);
}

TEST(ShapeTest, ElementCount) {
  EXPECT_EQ(ElementCount({2, 3}), 6);
  EXPECT_EQ(ElementCount({}), 1);
  EXPECT_EQ(ElementCount({0, 5}), 0);
  EXPECT_EQ(ElementCount({-1, 5}), -1);
  EXPECT_EQ(ElementCount({4000000000000, 4000000000000}), -1);
  EXPECT_EQ(ShapeToString({-1, 30}), "[-1,30]");
}

TEST(TensorTest, ConvertIntegersAndFloats) {
  Tensor t("x", DataType::kInt64, {1, 3});
  auto d = t.data<int64_t>();
  d[0] = -2;
  d[1] = 7;
  d[2] = 16777217;  // not exactly representable in float
  auto f = ConvertTo(t, DataType::kFp32);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->dtype(), DataType::kFp32);
  EXPECT_EQ(f->shape(), (Shape{1, 3}));
  EXPECT_EQ(f->data<float>()[0], -2.0f);
  EXPECT_EQ(f->data<float>()[2], 16777216.0f);

  Tensor n("y", DataType::kFp64, {2});
  n.data<double>()[0] = std::nan("");
  n.data<double>()[1] = 1.5;
  auto back = ConvertTo(n, DataType::kFp32);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(std::isnan(back->data<float>()[0]));
  auto to_int = ConvertTo(n, DataType::kInt32);
  EXPECT_FALSE(to_int.ok());
  EXPECT_NE(to_int.status().message().find("element 0"), std::string::npos);
}

TEST(TensorTest, ConvertRangeChecks) {
  Tensor t("x", DataType::kInt32, {2});
  t.data<int32_t>()[0] = 1;
  t.data<int32_t>()[1] = 300;
  EXPECT_FALSE(ConvertTo(t, DataType::kUint8).ok());
  t.data<int32_t>()[1] = -1;
  EXPECT_FALSE(ConvertTo(t, DataType::kUint32).ok());
  t.data<int32_t>()[1] = 200;
  auto u = ConvertTo(t, DataType::kUint8);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->data<uint8_t>()[1], 200);
  Tensor b("b", DataType::kBool, {2});
  b.data<uint8_t>()[1] = 1;
  auto bf = ConvertTo(b, DataType::kFp32);
  ASSERT_TRUE(bf.ok());
  EXPECT_EQ(bf->data<float>()[1], 1.0f);
}

TEST(TensorTest, BytesFramingIsChecked) {
  std::vector<uint8_t> b;
  AppendBytesElement("red", &b);
  AppendBytesElement("", &b);
  auto t = Tensor::Bytes("c", {2}, b);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(BytesElements(*t), (std::vector<std::string_view>{"red", ""}));
  EXPECT_NE(Tensor::Bytes("c", {3}, b).status().message().find("ends after 2 of 3 elements"),
            std::string::npos);
  EXPECT_NE(Tensor::Bytes("c", {1}, b).status().message().find("4 bytes after its 1 elements"),
            std::string::npos);
  b[0] = 200;
  EXPECT_NE(Tensor::Bytes("c", {2}, b).status().message().find("element 0 claims 200 bytes"),
            std::string::npos);
  // BYTES tensors are not batched by concatenation.
  std::vector<uint8_t> one;
  AppendBytesElement("x", &one);
  auto x = Tensor::Bytes("x", {1}, one);
  EXPECT_FALSE(ConcatRows({&*x, &*x}, "x").ok());
}

}  // namespace
}  // namespace inferd::tensor
