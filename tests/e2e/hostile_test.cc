// End-to-end: well over a hundred hostile requests — oversized, deeply nested, mistyped, NaN and
// infinities, broken or tricky unicode, huge shapes, path and header tricks, smuggling attempts,
// lying binary framing — against a server with a plain model and a model with a schema. Every one
// gets a 4xx with a JSON message; none a 5xx; the server is healthy after and still answers right.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

struct Hostile {
  std::string what;
  std::string raw;         // the whole request, as sent
  bool may_close = false;  // no HTTP request at all: the server may close without an answer
};

std::string Post(const std::string& target, const std::string& body,
                 const std::string& extra_headers = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\n" + extra_headers +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
std::string Get(const std::string& target) {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n";
}

std::string Input(const std::string& fields) { return R"({"inputs":[{)" + fields + "}]}"; }

std::vector<Hostile> Cases() {
  const std::string infer = "/v2/models/iris/infer", v1 = "/v1/models/iris:predict",
                    schema = "/v2/models/shop/infer";
  std::vector<Hostile> c;
  auto add = [&](std::string what, std::string raw) { c.push_back({std::move(what), raw}); };
  auto add_not_http = [&](std::string what, std::string raw) {
    c.push_back({std::move(what), raw, true});
  };
  // Oversized.
  add("body over the limit", Post(infer, std::string(300000, ' ')));
  add("declared length over the limit",
      "POST " + infer + " HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n{}");
  add("header block over the limit",
      "GET /v2 HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  add("URL over the limit", Get("/v2/models/" + std::string(10000, 'm')));
  add(
      "many headers", "GET /v2 HTTP/1.1\r\n" + [] {
        std::string h;
        for (int i = 0; i < 2000; ++i) h += "A" + std::to_string(i) + ": b\r\n";
        return h;
      }() + "\r\n");
  // Deep nesting, at several places and depths.
  for (int depth : {65, 100, 1000, 20000}) {
    const std::string open(depth, '['), close(depth, ']');
    add("data nested " + std::to_string(depth),
        Post(infer,
             Input(R"("name":"input","shape":[1,4],"datatype":"FP32","data":)" + open + close)));
    add("parameters nested " + std::to_string(depth),
        Post(infer, R"({"inputs":[],"parameters":{"x":)" + open + close + "}}"));
    add("v1 instances nested " + std::to_string(depth),
        Post(v1, R"({"instances":)" + open + close + "}"));
  }
  add("objects nested", Post(infer, std::string(5000, '{') + std::string(5000, '}')));
  // Wrong types.
  for (const std::string& data : std::vector<std::string>{
           R"("1,2,3,4")", R"({"a":1})", "true", "null", R"([["1","2","3","4"]])",
           R"([1,2,3,{"x":1}])", "[1,2,3]", "[1,2,3,4,5]", "[[1,2],[3,4]]"}) {
    add("data " + data,
        Post(infer, Input(R"("name":"input","shape":[1,4],"datatype":"FP32","data":)" + data)));
  }
  for (const std::string& shape :
       std::vector<std::string>{R"("1,4")", "[-1,4]", "[1.5,4]", "[1e3,4]", "[null,4]",
                                R"(["1","4"])", "{}", "[]", "[1,4,0,0,0]"}) {
    add("shape " + shape,
        Post(infer,
             Input(R"("name":"input","datatype":"FP32","data":[1,2,3,4],"shape":)" + shape)));
  }
  for (const std::string& dt :
       std::vector<std::string>{R"("fp32")", R"("FP16")", R"("FLOAT")", "32", "null", R"("")",
                                R"("BYTES")", R"("STRING")"}) {
    add("datatype " + dt,
        Post(infer, Input(R"("name":"input","shape":[1,4],"data":[1,2,3,4],"datatype":)" + dt)));
  }
  add("name a number",
      Post(infer, Input(R"("name":7,"shape":[1,4],"datatype":"FP32","data":[1,2,3,4])")));
  add("no name", Post(infer, Input(R"("shape":[1,4],"datatype":"FP32","data":[1,2,3,4])")));
  add("inputs an object", Post(infer, R"({"inputs":{"name":"input"}})"));
  add("inputs a string", Post(infer, R"({"inputs":"all"})"));
  add("body an array", Post(infer, "[1,2,3]"));
  add("body a number", Post(infer, "42"));
  add("empty body", Post(infer, ""));
  add("id a number", Post(infer, R"({"id":5,"inputs":[]})"));
  add("id very long", Post(infer, R"({"id":")" + std::string(5000, 'i') + R"(","inputs":[]})"));
  add("priority a string", Post(infer, R"({"inputs":[],"parameters":{"priority":"high"}})"));
  add("timeout negative", Post(infer, R"({"inputs":[],"parameters":{"timeout":-5}})"));
  add("outputs not a list", Post(infer, R"({"inputs":[],"outputs":"label"})"));
  add("unknown output",
      Post(
          infer,
          Input(R"("name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4])")
                  .substr(0, 10) +
              R"("inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}],"outputs":[{"name":"secrets"}]})"));
  add("classification zero",
      Post(
          infer,
          R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}],"outputs":[{"name":"probabilities","parameters":{"classification":0}}]})"));
  add("INT64 for a fraction",
      Post(infer, Input(R"("name":"input","shape":[1,4],"datatype":"INT64","data":[1.5,2,3,4])")));
  add("INT8 out of range",
      Post(infer, Input(R"("name":"input","shape":[1,4],"datatype":"INT8","data":[1000,2,3,4])")));
  add("UINT8 negative",
      Post(infer, Input(R"("name":"input","shape":[1,4],"datatype":"UINT8","data":[-1,2,3,4])")));
  add("BOOL a number",
      Post(infer, Input(R"("name":"input","shape":[1,4],"datatype":"BOOL","data":[2,0,1,0])")));
  add("input twice",
      Post(
          infer,
          R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]})"));
  // NaN and infinities.
  for (const std::string& v :
       std::vector<std::string>{"NaN", "nan", "Infinity", "-Infinity", "inf", "1e999", "-1e999",
                                "1e999999", "0x10", "+1", "01", ".5", "1.", "--1"}) {
    add("number " + v,
        Post(infer,
             Input(R"("name":"input","shape":[1,4],"datatype":"FP32","data":[)" + v + ",2,3,4]")));
  }
  add("INT64 1e30",
      Post(infer, Input(R"("name":"input","shape":[1,4],"datatype":"INT64","data":[1e30,2,3,4])")));
  add("UINT64 beyond",
      Post(
          infer,
          Input(
              R"("name":"input","shape":[1,4],"datatype":"UINT64","data":[18446744073709551616,2,3,4])")));
  // Unicode.
  add("invalid UTF-8", Post(infer, "{\"inputs\":[{\"name\":\"\xff\xfe\",\"shape\":[1,4]}]}"));
  add("overlong UTF-8", Post(infer, "{\"inputs\":[{\"name\":\"\xc0\xaf\",\"shape\":[1,4]}]}"));
  add("lone surrogate escape",
      Post(infer,
           R"({"inputs":[{"name":"\ud800","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]})"));
  add("NUL escape in a name",
      Post(
          infer,
          R"({"inputs":[{"name":"in\u0000put","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]})"));
  add("raw NUL byte", Post(infer, std::string("{\"inputs\":[{\"name\":\"in\0put\"}]}", 30)));
  add("BOM first", Post(infer, "\xef\xbb\xbf{\"inputs\":[]}"));
  add("zero-width name", Post(infer, Input("\"name\":\"inp\xe2\x80\x8but\",\"shape\":[1,4],"
                                           "\"datatype\":\"FP32\",\"data\":[1,2,3,4]")));
  add("right-to-left override", Post(infer, Input("\"name\":\"\xe2\x80\xaeinput\",\"shape\":[1,4],"
                                                  "\"datatype\":\"FP32\",\"data\":[1,2,3,4]")));
  add("unicode model name", Post("/v2/models/%E2%98%83/infer", "{}"));
  add("raw unicode in path", Post("/v2/models/\xe2\x98\x83/infer", "{}"));
  add("control characters in path", Get("/v2/models/ir\x01is"));
  add("unterminated string", Post(infer, R"({"inputs":[{"name":"inp)"));
  add("trailing garbage", Post(infer, R"({"inputs":[]} xyz)"));
  add("two documents", Post(infer, R"({"inputs":[]}{"inputs":[]})"));
  // Huge shapes.
  for (const std::string& shape :
       std::vector<std::string>{"[1000000000,4]", "[4294967296,4294967296]",
                                "[9223372036854775807,2]", "[99999999999999999999,4]",
                                "[2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,"
                                "2,2,2,2,2,2,2,2,2,2,2,2,"
                                "2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2]",
                                "[20000000,4]"}) {
    add("huge shape " + shape.substr(0, 30),
        Post(infer,
             Input(R"("name":"input","datatype":"FP32","data":[1,2,3,4],"shape":)" + shape)));
  }
  add("BYTES huge count",
      Post(schema,
           Input(R"("name":"color","datatype":"BYTES","shape":[1000000000],"data":["red"])")));
  // Binary framing that lies.
  const std::string hdr =
      R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":16}}]})";
  add("binary header longer than the body",
      Post(infer, hdr + std::string(16, '\0'), "Inference-Header-Content-Length: 99999\r\n"));
  add("binary header length negative",
      Post(infer, hdr + std::string(16, '\0'), "Inference-Header-Content-Length: -5\r\n"));
  add("binary header length text",
      Post(infer, hdr + std::string(16, '\0'), "Inference-Header-Content-Length: ten\r\n"));
  add("binary data short",
      Post(infer, hdr + std::string(8, '\0'),
           "Inference-Header-Content-Length: " + std::to_string(hdr.size()) + "\r\n"));
  add("binary size without binary data", Post(infer, hdr));
  add("binary size huge",
      Post(
          infer,
          R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","parameters":{"binary_data_size":1e20}}]})"));
  const std::string bytes_hdr =
      R"({"inputs":[{"name":"color","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":9}}]})";
  add("BYTES framing lies",
      Post(schema,
           bytes_hdr + std::string("\xff\xff\xff\x7f"
                                   "abcde",
                                   9),
           "Inference-Header-Content-Length: " + std::to_string(bytes_hdr.size()) + "\r\n"));
  // Path tricks.
  for (const std::string& path : std::vector<std::string>{
           "/v2/models/../../etc/passwd", "/v2/models/%2e%2e/%2e%2e/etc/passwd",
           "//v2//models//iris", "/v2/models/iris%00/infer", "/v2/models/iris/versions/-1/infer",
           "/v2/models/iris/versions/99999999999999999999/infer",
           "/v2/models/iris/versions/0x1/infer", "/v2/models/iris/labels/../infer",
           "/v2/models/iris/infer/extra", "/v2/models/iris\\infer", "/v2/models/iris%2Finfer",
           "/v2/models/iris/labels/nope/infer", "/v2/./models/iris", "/v2/models/iris/infer?x=%zz",
           "/%", "/v2/models/" + std::string(300, '%'), "/v1/models/iris/versions/abc:predict",
           "/v1/models/:predict"}) {
    add("path " + path.substr(0, 40), Post(path, "{}"));
  }
  add("absolute URI", "GET http://evil.example/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n");
  add("asterisk target", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
  add("TRACE", "TRACE /v2/models/iris HTTP/1.1\r\nHost: x\r\n\r\n");
  add("DELETE model", "DELETE /v2/models/iris HTTP/1.1\r\nHost: x\r\n\r\n");
  add("PUT infer", "PUT " + infer + " HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}");
  add("lower-case method", "get /v2/models/iris HTTP/1.1\r\nHost: x\r\n\r\n");
  // Header tricks and smuggling.
  add("two different Content-Lengths",
      "POST " + infer + " HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 50\r\n\r\n{}");
  add("Transfer-Encoding and Content-Length",
      "POST " + infer +
          " HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  add("bad chunk size",
      "POST " + infer + " HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
  add("unknown transfer coding",
      "POST " + infer + " HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n");
  add("space before colon", "GET /v2 HTTP/1.1\r\nHost : x\r\n\r\n");
  add("bare LF", "GET /v2 HTTP/1.1\nHost: x\n\n");
  add("NUL in a header", std::string("GET /v2 HTTP/1.1\r\nX-A: b\0c\r\n\r\n", 31));
  add_not_http("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  add("HTTP/0.9", "GET /v2\r\n\r\n");
  add_not_http("TLS handshake bytes",
               std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
                   std::string(100, 'x') + "\r\n\r\n");
  add("request id with CRLF",
      "GET /v2/models/nope HTTP/1.1\r\ninferd-request-id: a\r\nX-Injected: 1\r\n\r\n");
  add("Expect garbage",
      "POST " + infer + " HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n{]}");
  // TF Serving.
  add("v1 row of strings", Post(v1, R"({"instances":[["a","b","c","d"]]})"));
  add("v1 signature_name junk",
      Post(v1, R"({"signature_name":{},"instances":[[1,2,3,4]],"inputs":7})"));
  add("v1 inputs null", Post(v1, R"({"inputs":null})"));
  add("v1 instances of nulls", Post(v1, R"({"instances":[null,null]})"));
  add("v1 huge row", Post(
                         v1, R"({"instances":[[)" + [] {
                           std::string s;
                           for (int i = 0; i < 20000; ++i) s += (i ? ",1" : "1");
                           return s;
                         }() + "]]}"));
  // The schema model.
  add("schema: unknown category",
      Post(
          schema,
          R"({"inputs":[{"name":"color","datatype":"BYTES","shape":[1],"data":["mauve"]},{"name":"price","datatype":"FP32","shape":[1],"data":[1]}]})"));
  add("schema: text for a number",
      Post(schema,
           R"({"inputs":[{"name":"price","datatype":"BYTES","shape":[1],"data":["cheap"]}]})"));
  add("schema: price above its maximum",
      Post(schema, R"({"inputs":[{"name":"price","datatype":"FP32","shape":[1],"data":[1e30]}]})"));
  add("schema: infinite price",
      Post(schema,
           R"({"inputs":[{"name":"price","datatype":"FP64","shape":[1],"data":[1e400]}]})"));
  add("schema: unknown column",
      Post(schema, R"({"inputs":[{"name":"admin","datatype":"BOOL","shape":[1],"data":[true]}]})"));
  add("schema: ragged columns",
      Post(
          schema,
          R"({"inputs":[{"name":"price","datatype":"FP32","shape":[2],"data":[1,2]},{"name":"qty","datatype":"FP32","shape":[3],"data":[1,2,3]}]})"));
  add("schema: column of rank 3",
      Post(schema,
           R"({"inputs":[{"name":"price","datatype":"FP32","shape":[1,1,1],"data":[1]}]})"));
  add("schema: v1 object with a list",
      Post("/v1/models/shop:predict", R"({"instances":[{"price":[1,2]}]})"));
  add("schema: v1 object with unicode key", Post("/v1/models/shop:predict",
                                                 "{\"instances\":[{\"pr\xc3\xaf"
                                                 "ce\":1}]}"));
  add("schema: control characters in a category",
      Post(
          schema,
          R"({"inputs":[{"name":"color","datatype":"BYTES","shape":[1],"data":["r\u0000e\u001bd"]},{"name":"price","datatype":"FP32","shape":[1],"data":[1]}]})"));
  return c;
}

TEST(HostileTest, EveryHostileRequestGets4xxAndTheServerStaysHealthy) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  // shop: the iris forest under a schema of four named features.
  AddModel(repo.path(), "shop", 1, "multi_softprob");
  WriteFile(repo.path() / "shop" / "config.yaml",
            "schema:\n  features:\n    - {name: price, min: 0, max: 1000, out_of_range: reject}\n"
            "    - {name: qty, missing: {impute: constant, value: 1}}\n"
            "    - {name: color, categories: [red, green, blue], unseen: reject}\n"
            "    - {name: size}\n");
  auto server =
      ServerProcess::Start(repo.path(), {"--max-request-bytes", "262144", "--max-tensor-elements",
                                         "1000000", "--http-request-timeout-secs", "2"});
  ASSERT_NE(server, nullptr);
  const auto cases = Cases();
  ASSERT_GE(cases.size(), 150u);
  int answered = 0, closed = 0;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    HttpConnection conn(server->port());
    ASSERT_TRUE(conn.connected());
    HttpResult r = conn.SendRaw(c.raw);
    if (r.status == 0) {
      // The only answer-less outcome allowed: the server closed a connection that never made an
      // HTTP request (TLS bytes, HTTP/2 preface) — it must not have crashed.
      EXPECT_TRUE(c.may_close) << "closed without an answer";
      ++closed;
      EXPECT_TRUE(server->Running());
      continue;
    }
    ++answered;
    EXPECT_GE(r.status, 400) << r.body;
    EXPECT_LT(r.status, 500) << r.body;
    const json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("error")) {
      ADD_FAILURE() << "no JSON error: " << r.body.substr(0, 200);
      continue;
    }
    EXPECT_GE(j["error"].get<std::string>().size(), 8u) << r.body;
  }
  EXPECT_EQ(answered + closed, static_cast<int>(cases.size()));
  // Healthy, no 5xx counted anywhere, and still right.
  EXPECT_TRUE(server->Running());
  EXPECT_EQ(Http(server->port(), "GET", "/v2/health/ready").status, 200);
  const std::string metrics = Http(server->port(), "GET", "/metrics").body;
  EXPECT_EQ(metrics.find("code=\"5"), std::string::npos);
  // Every model's server_error counter is 0.
  int server_error_lines = 0;
  for (size_t at = metrics.find("outcome=\"server_error\"}"); at != std::string::npos;
       at = metrics.find("outcome=\"server_error\"}", at + 1), ++server_error_lines) {
    const size_t eol = metrics.find('\n', at);
    const std::string line = metrics.substr(at, eol - at);
    EXPECT_EQ(line.substr(line.rfind(' ') + 1), "0") << line;
  }
  EXPECT_GE(server_error_lines, 2);  // iris and shop
  auto ok =
      Http(server->port(), "POST", "/v2/models/iris/infer",
           Input(R"("name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2])"));
  EXPECT_EQ(ok.status, 200) << ok.body;
  auto shop = Http(server->port(), "POST", "/v1/models/shop:predict",
                   R"({"instances":[{"price":5.1,"qty":3.5,"color":"blue","size":0.2}]})");
  EXPECT_EQ(shop.status, 200) << shop.body;
}

}  // namespace
}  // namespace inferd::testing
