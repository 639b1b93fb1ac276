// A table of malformed requests, each answered with the right 4xx and a message naming the
// problem; the server stays healthy after all of them. Also stalled and slow clients.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

struct Case {
  std::string what;
  std::string method;
  std::string target;
  std::string body;
  int status;
  std::string message_part;  // the error message must contain this (case-sensitive)
  std::string raw;           // when set, sent as-is instead of method/target/body
};

std::string Infer(const std::string& input_json) { return R"({"inputs":[)" + input_json + "]}"; }

const std::string kRow = R"("data":[5.1,3.5,1.4,0.2])";

std::vector<Case> Cases() {
  const std::string infer = "/v2/models/iris/infer";
  std::string deep(2000, '[');
  deep += std::string(2000, ']');
  return {
      // HTTP itself.
      {"garbage request line", "", "", "", 400, "malformed HTTP", "HELLO THERE\r\n\r\n"},
      {"bad HTTP version", "", "", "", 400, "malformed HTTP", "GET /v2 HTTP/7.1\r\n\r\n"},
      {"header without colon", "", "", "", 400, "malformed HTTP",
       "GET /v2 HTTP/1.1\r\nHost x\r\n\r\n"},
      {"non-numeric Content-Length", "", "", "", 400, "malformed HTTP",
       "POST /v2/models/iris/infer HTTP/1.1\r\nContent-Length: abc\r\n\r\n"},
      {"URL over the limit (in the header block)", "", "", "", 414, "request line",
       "GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n"},
      {"URL over the URL limit only", "", "", "", 414, "URL",
       "GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n\r\n"},
      {"header block over the limit", "", "", "", 431, "header block",
       "GET /v2 HTTP/1.1\r\n" +
           [] {
             std::string h;
             for (int i = 0; i < 400; ++i)
               h += "X-Pad-" + std::to_string(i) + ": " + std::string(60, 'x') + "\r\n";
             return h;
           }() +
           "\r\n"},
      {"declared body over the limit", "", "", "", 413, "over the limit",
       "POST /v2/models/iris/infer HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n{"},
      {"chunked body over the limit", "", "", "", 413, "over the limit",
       "POST /v2/models/iris/infer HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n200000\r\naaaa"},
      // Routes.
      {"unknown route", "GET", "/v3/things", "", 404, "no route", ""},
      {"GET on infer", "GET", infer, "", 405, "not allowed", ""},
      {"POST on health", "POST", "/v2/health/live", "", 405, "not allowed", ""},
      {"DELETE on metadata", "DELETE", "/v2/models/iris", "", 405, "not allowed", ""},
      {"POST on metrics", "POST", "/metrics", "", 405, "not allowed", ""},
      {"version not a number", "POST", "/v2/models/iris/versions/abc/infer", Infer(""), 400,
       "not a positive integer", ""},
      {"version zero", "GET", "/v2/models/iris/versions/0", "", 400, "not a positive integer", ""},
      {"bad percent-encoding", "GET", "/v2/models/%zz", "", 400, "malformed request path", ""},
      {"unknown model", "POST", "/v2/models/nope/infer", Infer(""), 404, "unknown model 'nope'",
       ""},
      {"unknown version", "POST", "/v2/models/iris/versions/9/infer", Infer(""), 404,
       "has no version 9", ""},
      // JSON and tensors.
      {"empty body", "POST", infer, "", 400, "empty", ""},
      {"truncated JSON", "POST", infer, R"({"inputs":[{"name":)", 400, "JSON", ""},
      {"not JSON at all", "POST", infer, "hello", 400, "JSON", ""},
      {"body is an array", "POST", infer, "[]", 400, "must be a JSON object", ""},
      {"no inputs", "POST", infer, "{}", 400, "'inputs' is missing", ""},
      {"inputs not a list", "POST", infer, R"({"inputs":{}})", 400, "'inputs' must be an array",
       ""},
      {"inputs empty", "POST", infer, R"({"inputs":[]})", 400, "'inputs' is empty", ""},
      {"input not an object", "POST", infer, R"({"inputs":[7]})", 400, "must be an object", ""},
      {"input without name", "POST", infer,
       Infer(R"({"shape":[1,4],"datatype":"FP32",)" + kRow + "}"), 400, "'name'", ""},
      {"input without datatype", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],)" + kRow + "}"), 400, "'datatype'", ""},
      {"unknown datatype", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP99",)" + kRow + "}"), 400,
       "unknown datatype 'FP99'", ""},
      {"BYTES tensor for a numeric model", "POST", infer,
       Infer(R"({"name":"input","shape":[1],"datatype":"BYTES","data":["a"]})"), 400,
       "datatype BYTES is not supported by model", ""},
      {"input without shape", "POST", infer,
       Infer(R"({"name":"input","datatype":"FP32",)" + kRow + "}"), 400, "'shape'", ""},
      {"negative dimension", "POST", infer,
       Infer(R"({"name":"input","shape":[-1,4],"datatype":"FP32",)" + kRow + "}"), 400,
       "non-negative", ""},
      {"fractional dimension", "POST", infer,
       Infer(R"({"name":"input","shape":[1.5,4],"datatype":"FP32",)" + kRow + "}"), 400,
       "non-negative integers", ""},
      {"shape overflowing int64", "POST", infer,
       Infer(R"({"name":"input","shape":[4000000000000,4000000000000],"datatype":"FP32",)" + kRow +
             "}"),
       400, "larger than the data", ""},
      {"input without data", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32"})"), 400, "'data' is missing", ""},
      {"too few elements", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3]})"), 400,
       "needs 4 elements, data has 3", ""},
      {"too many elements", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4,5]})"), 400,
       "needs 4 elements, data has 5", ""},
      {"ragged nested data", "POST", infer,
       Infer(R"({"name":"input","shape":[2,4],"datatype":"FP32","data":[[1,2,3],[4,5,6,7,8]]})"),
       400, "a list at level 1 has 3 values, expected 4", ""},
      {"data nested deeper than the shape", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32","data":[[[1],[2],[3],[4]]]})"), 400,
       "nested deeper than its shape", ""},
      {"lists mixed with values", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32","data":[1,[2],3,4]})"), 400,
       "mixes lists and values", ""},
      {"binary header length cuts the JSON", "", "", "", 400, "malformed JSON",
       "POST /v2/models/iris/infer HTTP/1.1\r\nInference-Header-Content-Length: 10\r\n"
       "Content-Length: 15\r\n\r\n{\"inputs\":[]}xx"},
      {"binary header length beyond the body", "", "", "", 400, "the body has 15",
       "POST /v2/models/iris/infer HTTP/1.1\r\nInference-Header-Content-Length: 99\r\n"
       "Content-Length: 15\r\n\r\n{\"inputs\":[]}xx"},
      {"binary header length not a number", "", "", "", 400, "is not a byte count",
       "POST /v2/models/iris/infer HTTP/1.1\r\nInference-Header-Content-Length: x1\r\n"
       "Content-Length: 15\r\n\r\n{\"inputs\":[]}xx"},
      {"binary size without binary data", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32",)"
             R"("parameters":{"binary_data_size":16}})"),
       400, "has no binary data", ""},
      {"binary size that does not fit the shape", "", "", "", 400, "takes 16",
       "POST /v2/models/iris/infer HTTP/1.1\r\nInference-Header-Content-Length: 99\r\n"
       "Content-Length: 111\r\n\r\n"
       "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\","
       "\"parameters\":{\"binary_data_size\":12}}]} 123456789012"},
      {"binary bytes left over", "", "", "", 400, "its inputs take 16",
       "POST /v2/models/iris/infer HTTP/1.1\r\nInference-Header-Content-Length: 99\r\n"
       "Content-Length: 119\r\n\r\n"
       "{\"inputs\":[{\"name\":\"input\",\"shape\":[1,4],\"datatype\":\"FP32\","
       "\"parameters\":{\"binary_data_size\":16}}]} 12345678901234567890"},
      {"id too long", "POST", infer,
       R"({"id":")" + std::string(300, 'i') +
           R"(","inputs":[{"name":"input","shape":[1,4],"datatype":"FP32",)" + kRow + "}]}",
       400, "the limit is 256", ""},
      {"id with a line break (header injection)", "POST", infer,
       R"({"id":"x\r\nSet-Cookie: a=1","inputs":[{"name":"input","shape":[1,4],"datatype":"FP32",)" +
           kRow + "}]}",
       400, "control characters", ""},
      {"output requested twice", "POST", infer,
       R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32",)" + kRow +
           R"(}],"outputs":[{"name":"label"},{"name":"label"}]})",
       400, "requested twice", ""},
      {"one header over the limit", "", "", "", 431, "header block",
       "GET /v2 HTTP/1.1\r\nX-A: " + std::string(20000, 'a') + "\r\n\r\n"},
      {"invalid UTF-8 in the path", "GET", "/v2/models/a%ff%fe", "", 404, "unknown model", ""},
      {"wrong number of features", "POST", infer,
       Infer(R"({"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]})"), 400,
       "expected 4 features in dimension 1, got 3", ""},
      {"rank 3 input", "POST", infer,
       Infer(R"({"name":"input","shape":[1,1,4],"datatype":"FP32",)" + kRow + "}"), 400,
       "expected shape [-1,4], got [1,1,4]", ""},
      {"empty batch", "POST", infer,
       Infer(R"({"name":"input","shape":[0,4],"datatype":"FP32","data":[]})"), 400,
       "the batch is empty", ""},
      {"string in FP32 data", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32","data":[1,"x",3,4]})"), 400,
       "expected a number", ""},
      {"null in INT64 data", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"INT64","data":[1,null,3,4]})"), 400,
       "expected an integer, got null", ""},
      {"fraction in INT32 data", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"INT32","data":[1,2.5,3,4]})"), 400,
       "expected an integer", ""},
      {"INT8 out of range", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"INT8","data":[1,300,3,4]})"), 400,
       "out of range", ""},
      {"unknown input name", "POST", infer,
       Infer(R"({"name":"features","shape":[1,4],"datatype":"FP32",)" + kRow + "}"), 400,
       "has no input 'features'", ""},
      {"input given twice", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32",)" + kRow +
             R"(},{"name":"input","shape":[1,4],"datatype":"FP32",)" + kRow + "}"),
       400, "given twice", ""},
      {"unknown output", "POST", infer,
       R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32",)" + kRow +
           R"(}],"outputs":[{"name":"logits"}]})",
       400, "has no output 'logits'", ""},
      {"outputs not a list", "POST", infer,
       R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32",)" + kRow +
           R"(}],"outputs":5})",
       400, "'outputs' must be an array", ""},
      {"id not a string", "POST", infer,
       R"({"id":5,"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32",)" + kRow + "}]}", 400,
       "'id' must be a string", ""},
      {"JSON nested too deep", "POST", infer, deep, 400, "nested deeper", ""},
      {"deep data nesting", "POST", infer,
       Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32","data":)" + deep + "}"), 400,
       "nested deeper", ""},
      // TF Serving.
      {"v1 both instances and inputs", "POST", "/v1/models/iris:predict",
       R"({"instances":[[1,2,3,4]],"inputs":[[1,2,3,4]]})", 400, "exactly one of", ""},
      {"v1 neither", "POST", "/v1/models/iris:predict", R"({"rows":[]})", 400, "exactly one of",
       ""},
      {"v1 wrong feature count", "POST", "/v1/models/iris:predict", R"({"instances":[[1,2,3]]})",
       400, "expected 4 features, got 3", ""},
      {"v1 ragged columnar rows", "POST", "/v1/models/iris:predict",
       R"({"inputs":[[1,2],[3,4,5,6,7,8]]})", 400, "has 2 values, expected 4", ""},
      {"v1 row nested too deep", "POST", "/v1/models/iris:predict",
       R"({"instances":[[[1,2],[3,4]]]})", 400, "expected 4 features, got 2", ""},
      {"v1 input given twice in a row", "POST", "/v1/models/iris:predict",
       R"({"instances":[{"input":[1,2,3,4],"input":[1,2,3,4]}]})", 400, "given twice", ""},
      {"v1 instances not a list", "POST", "/v1/models/iris:predict", R"({"instances":7})", 400,
       "must be a list", ""},
      {"v1 empty instances", "POST", "/v1/models/iris:predict", R"({"instances":[]})", 400,
       "'instances' is empty", ""},
      {"v1 unknown model", "POST", "/v1/models/nope:predict", R"({"instances":[[1]]})", 404,
       "unknown model", ""},
      {"v1 unknown named input", "POST", "/v1/models/iris:predict",
       R"({"instances":[{"x":[1,2,3,4]}]})", 400, "no input 'x'", ""},
      {"repository index with bad JSON", "POST", "/v2/repository/index", "{", 400, "JSON", ""},
  };
}

TEST(MalformedTest, EveryMalformedRequestGetsTheRightError) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server = ServerProcess::Start(repo.path(), {"--max-request-bytes", "1048576"});
  ASSERT_NE(server, nullptr);
  auto cases = Cases();
  ASSERT_GE(cases.size(), 30u);
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    HttpConnection conn(server->port());
    ASSERT_TRUE(conn.connected());
    HttpResult r;
    if (!c.raw.empty()) {
      r = conn.SendRaw(c.raw);
    } else {
      r = conn.Request(c.method, c.target, c.body);
    }
    EXPECT_EQ(r.status, c.status) << r.body;
    json j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "error body is not JSON: " << r.body;
    ASSERT_TRUE(j.contains("error")) << r.body;
    EXPECT_NE(j["error"].get<std::string>().find(c.message_part), std::string::npos)
        << "message: " << j["error"];
    if (r.status == 405) {
      EXPECT_FALSE(r.Header("allow").empty());
    }
    EXPECT_FALSE(r.Header("inferd-request-id").empty());
  }
  // Still healthy and serving.
  EXPECT_TRUE(server->Running());
  EXPECT_EQ(Http(server->port(), "GET", "/v2/health/ready").status, 200);
  auto ok = Http(server->port(), "POST", "/v2/models/iris/infer",
                 Infer(R"({"name":"input","shape":[1,4],"datatype":"FP32",)" + kRow + "}"));
  EXPECT_EQ(ok.status, 200) << ok.body;
}

TEST(MalformedTest, StalledAndIdleClientsTimeOut) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server = ServerProcess::Start(
      repo.path(), {"--http-request-timeout-secs", "0.3", "--http-idle-timeout-secs", "0.3"});
  ASSERT_NE(server, nullptr);
  // Half a request, then nothing: 408 and the connection closes.
  HttpConnection stalled(server->port());
  stalled.SendOnly("POST /v2/models/iris/infer HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"in");
  auto r = stalled.ReadResponse();
  EXPECT_EQ(r.status, 408);
  EXPECT_TRUE(stalled.ClosedByPeer(std::chrono::seconds(5)));
  // A header that never ends.
  HttpConnection slow(server->port());
  slow.SendOnly("GET /v2/health/live HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(slow.ReadResponse().status, 408);
  // An idle keep-alive connection is closed.
  HttpConnection idle(server->port());
  EXPECT_EQ(idle.Request("GET", "/v2/health/live").status, 200);
  EXPECT_TRUE(idle.ClosedByPeer(std::chrono::seconds(5)));
  EXPECT_EQ(Http(server->port(), "GET", "/v2/health/live").status, 200);
}

TEST(MalformedTest, OutOfFileDescriptorsBacksOffAndRecovers) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server = ServerProcess::Start(repo.path(), {"--http-threads", "1"}, 64);
  ASSERT_NE(server, nullptr);
  {
    std::vector<std::unique_ptr<HttpConnection>> flood;
    for (int i = 0; i < 100; ++i) flood.push_back(std::make_unique<HttpConnection>(server->port()));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  // The accept errors are logged at most once a second (a spinning loop would log thousands).
  std::string log = server->Log();
  size_t lines = 0;
  for (size_t p = log.find("accept failed"); p != std::string::npos;
       p = log.find("accept failed", p + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LE(lines, 4u) << log;
  bool ok = false;
  for (int i = 0; i < 40 && !ok; ++i) {
    ok = Http(server->port(), "GET", "/v2/health/live").status == 200;
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(ok);
}

TEST(MalformedTest, RandomBytesAndMutatedBodiesNeverBreakTheServer) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server = ServerProcess::Start(repo.path(), {"--http-request-timeout-secs", "0.5"});
  ASSERT_NE(server, nullptr);
  std::mt19937 rng(1234);
  const std::string valid = Infer(
      R"({"name":"input","shape":[2,4],"datatype":"FP32","data":[[5.1,3.5,1.4,0.2],[1,2,3,4]]})");
  std::map<int, int> statuses;
  for (int i = 0; i < 300; ++i) {
    HttpConnection conn(server->port());
    ASSERT_TRUE(conn.connected()) << "iteration " << i;
    HttpResult r;
    if (i % 3 == 0) {
      // Raw garbage, sometimes after a valid request line.
      std::string bytes = i % 2 ? "POST /v2/models/iris/infer HTTP/1.1\r\n" : "";
      size_t n = rng() % 300 + 1;
      for (size_t k = 0; k < n; ++k) bytes += static_cast<char>(rng() % 256);
      bytes += "\r\n\r\n";
      r = conn.SendRaw(bytes);
    } else {
      // A valid body with a few bytes changed, deleted or duplicated.
      std::string body = valid;
      for (int m = 0; m < 1 + static_cast<int>(rng() % 4); ++m) {
        size_t at = rng() % body.size();
        switch (rng() % 3) {
          case 0:
            body[at] = static_cast<char>(rng() % 128);
            break;
          case 1:
            body.erase(at, 1);
            break;
          default:
            body.insert(at, body.substr(at, rng() % 8));
            break;
        }
      }
      r = conn.Request("POST", "/v2/models/iris/infer", body);
      EXPECT_TRUE(r.status == 200 || r.status == 400)
          << body << " -> " << r.status << " " << r.body;
    }
    ++statuses[r.status];
    ASSERT_TRUE(server->Running()) << "server died at iteration " << i;
  }
  EXPECT_GT(statuses[400], 50);
  EXPECT_EQ(Http(server->port(), "GET", "/v2/health/ready").status, 200);
}

}  // namespace
}  // namespace inferd::testing
