#include <gtest/gtest.h>

#include <cmath>

#include "api/http/http_api.h"
#include "api/http/json_tensor.h"
#include "api/http/v1_codec.h"
#include "api/http/v2_codec.h"

namespace inferd::api::http {
namespace {

TEST(SplitPathTest, DecodesAndDropsQuery) {
  std::vector<std::string> seg;
  ASSERT_TRUE(SplitPath("/v2/models/a%20b/infer?x=1", &seg));
  EXPECT_EQ(seg, (std::vector<std::string>{"v2", "models", "a b", "infer"}));
  ASSERT_TRUE(SplitPath("//v2//health/", &seg));
  EXPECT_EQ(seg, (std::vector<std::string>{"v2", "health"}));
  EXPECT_FALSE(SplitPath("v2/x", &seg));
  EXPECT_FALSE(SplitPath("/a%2", &seg));
  EXPECT_FALSE(SplitPath("/a%zz", &seg));
}

TEST(V2CodecTest, DecodesNestedDataAndNulls) {
  inference::InferRequest req;
  auto st = DecodeV2InferRequest(
      R"({"id":"r1","inputs":[{"name":"input","shape":[2,2],"datatype":"FP32","data":[[1,null],[3.5,-4]]}],"outputs":[{"name":"margin"}]})",
      &req);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(req.id, "r1");
  ASSERT_EQ(req.inputs.size(), 1u);
  auto d = req.inputs[0].data<float>();
  EXPECT_EQ(d[0], 1.0f);
  EXPECT_TRUE(std::isnan(d[1]));
  EXPECT_EQ(d[2], 3.5f);
  EXPECT_EQ(req.outputs, (std::vector<std::string>{"margin"}));
}

TEST(V2CodecTest, EncodesResponse) {
  inference::InferResponse resp;
  resp.model = "m";
  resp.version = 3;
  resp.id = "x";
  tensor::Tensor p("probabilities", tensor::DataType::kFp32, {1, 2});
  p.data<float>()[0] = 0.25f;
  p.data<float>()[1] = 0.75f;
  tensor::Tensor l("label", tensor::DataType::kInt64, {1});
  l.data<int64_t>()[0] = 1;
  resp.outputs.push_back(std::move(p));
  resp.outputs.push_back(std::move(l));
  EXPECT_EQ(EncodeV2InferResponse(resp),
            R"({"model_name":"m","model_version":"3","id":"x","outputs":[)"
            R"({"name":"probabilities","datatype":"FP32","shape":[1,2],"data":[0.25,0.75]},)"
            R"({"name":"label","datatype":"INT64","shape":[1],"data":[1]}]})");
  EXPECT_EQ(EncodeV1PredictResponse(resp, V1Format::kRow),
            R"({"predictions":[{"probabilities":[0.25,0.75],"label":1}]})");
  EXPECT_EQ(EncodeV1PredictResponse(resp, V1Format::kColumnar),
            R"({"outputs":{"probabilities":[[0.25,0.75]],"label":[1]}})");
}

TEST(V1CodecTest, RowAndColumnarAgree) {
  backend::ModelSignature sig;
  config::TensorSpec in;
  in.name = "input";
  in.shape = {-1, 2};
  sig.inputs = {in};
  inference::InferRequest rows, cols;
  V1Format f;
  ASSERT_TRUE(DecodeV1PredictRequest(R"({"instances":[[1,2],[3,null]]})", sig, &rows, &f).ok());
  EXPECT_EQ(f, V1Format::kRow);
  ASSERT_TRUE(
      DecodeV1PredictRequest(R"({"inputs":{"input":[[1,2],[3,null]]}})", sig, &cols, &f).ok());
  EXPECT_EQ(f, V1Format::kColumnar);
  EXPECT_EQ(rows.inputs[0].shape(), (tensor::Shape{2, 2}));
  EXPECT_EQ(cols.inputs[0].shape(), (tensor::Shape{2, 2}));
  EXPECT_EQ(rows.inputs[0].data<float>()[2], 3.0f);
  EXPECT_TRUE(std::isnan(cols.inputs[0].data<float>()[3]));
  inference::InferRequest one;
  ASSERT_TRUE(DecodeV1PredictRequest(R"({"inputs":[5,6]})", sig, &one, &f).ok());
  EXPECT_EQ(one.inputs[0].shape(), (tensor::Shape{1, 2}));
}

}  // namespace
}  // namespace inferd::api::http

namespace inferd::api::http {
namespace {

TEST(ParserScopeTest, LargeBodiesGiveTheirMemoryBack) {
  std::string body = R"({"inputs":[{"name":"input","shape":[600000],"datatype":"FP32","data":[)";
  for (int i = 0; i < 600000; ++i) body += i ? ",1.5" : "1.5";
  body += "]}]}";
  ASSERT_GT(body.size(), 2 * kParserKeepBytes);
  inference::InferRequest req;
  ASSERT_TRUE(DecodeV2InferRequest(body, &req).ok());
  EXPECT_EQ(req.inputs[0].element_count(), 600000);
  EXPECT_LE(ThreadParser().capacity(), kParserKeepBytes);
}

}  // namespace
}  // namespace inferd::api::http
