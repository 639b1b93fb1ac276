#include "api/common/json_writer.h"

#include <gtest/gtest.h>

#include <limits>

#include "api/common/status_map.h"

namespace inferd::api {
namespace {

TEST(JsonWriterTest, WritesNestedValues) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("a").Number(1).Key("b").BeginArray().Number(0.5f).Number(-2.25).Bool(true);
  w.Null().Str("x\"y\\\n\x01").EndArray().Key("c").BeginObject().EndObject().EndObject();
  EXPECT_EQ(out, R"({"a":1,"b":[0.5,-2.25,true,null,"x\"y\\\n\u0001"],"c":{}})");
}

TEST(JsonWriterTest, FloatsAreShortestAndNonFiniteIsNull) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray().Number(0.1f).Number(std::numeric_limits<float>::quiet_NaN());
  w.Number(std::numeric_limits<double>::infinity()).EndArray();
  EXPECT_EQ(out, "[0.1,null,null]");
}

TEST(StatusMapTest, HttpAndGrpcCodes) {
  using base::StatusCode;
  EXPECT_EQ(HttpStatusFor(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(StatusCode::kPayloadTooLarge), 413);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kNotFound), 5);
  EXPECT_EQ(GrpcCodeFor(StatusCode::kUnavailable), 14);
}

}  // namespace
}  // namespace inferd::api
