// Every REST endpoint of the foundation, against the real server.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

class EndpointsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    repo_ = new TempDir();
    AddModel(repo_->path(), "cancer", 1, "binary_logistic");
    AddModel(repo_->path(), "cancer", 2, "binary_logistic_base_score");
    AddModel(repo_->path(), "iris", 1, "multi_softprob");
    AddModel(repo_->path(), "diabetes", 3, "reg_squarederror", "model.ubj");
    // version_policy all: both versions of cancer load.
    WriteFile(repo_->path() / "cancer" / "config.yaml", "version_policy: {all: true}\n");
    server_ = ServerProcess::Start(repo_->path()).release();
    ASSERT_NE(server_, nullptr);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete repo_;
  }
  static uint16_t port() { return server_->port(); }
  static std::vector<std::vector<double>> Rows(const std::string& fixture, size_t n) {
    auto rows = ReadCsv(FixtureDir(fixture) / "input.csv", true);
    rows.resize(std::min(n, rows.size()));
    return rows;
  }
  static std::vector<std::vector<double>> Expected(const std::string& fixture, const char* file) {
    return ReadCsv(FixtureDir(fixture) / file, false);
  }

  static TempDir* repo_;
  static ServerProcess* server_;
};
TempDir* EndpointsTest::repo_ = nullptr;
ServerProcess* EndpointsTest::server_ = nullptr;

TEST_F(EndpointsTest, HealthAndServerMetadata) {
  auto live = Http(port(), "GET", "/v2/health/live");
  EXPECT_EQ(live.status, 200);
  EXPECT_EQ(json::parse(live.body)["live"], true);
  auto ready = Http(port(), "GET", "/v2/health/ready");
  EXPECT_EQ(ready.status, 200);
  auto meta = Http(port(), "GET", "/v2");
  ASSERT_EQ(meta.status, 200);
  auto j = json::parse(meta.body);
  EXPECT_EQ(j["name"], "inferd");
  EXPECT_FALSE(j["version"].get<std::string>().empty());
  EXPECT_FALSE(live.Header("inferd-request-id").empty());
}

TEST_F(EndpointsTest, ModelMetadata) {
  auto r = Http(port(), "GET", "/v2/models/iris");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["name"], "iris");
  EXPECT_EQ(j["versions"], json::array({"1"}));
  EXPECT_EQ(j["platform"], "xgboost_json");
  ASSERT_EQ(j["inputs"].size(), 1u);
  EXPECT_EQ(j["inputs"][0]["name"], "input");
  EXPECT_EQ(j["inputs"][0]["datatype"], "FP32");
  EXPECT_EQ(j["inputs"][0]["shape"], json::array({-1, 4}));
  std::set<std::string> outs;
  for (const auto& o : j["outputs"]) outs.insert(o["name"].get<std::string>());
  EXPECT_EQ(outs, (std::set<std::string>{"probabilities", "label", "margin"}));

  auto both = json::parse(Http(port(), "GET", "/v2/models/cancer").body);
  EXPECT_EQ(both["versions"], json::array({"1", "2"}));
  auto v2 = Http(port(), "GET", "/v2/models/cancer/versions/2");
  ASSERT_EQ(v2.status, 200);
  EXPECT_EQ(json::parse(v2.body)["versions"], json::array({"2"}));
  auto ubj = json::parse(Http(port(), "GET", "/v2/models/diabetes").body);
  EXPECT_EQ(ubj["platform"], "xgboost_ubj");
  EXPECT_EQ(ubj["inputs"][0]["shape"], json::array({-1, 10}));

  EXPECT_EQ(Http(port(), "GET", "/v2/models/nope").status, 404);
  EXPECT_EQ(Http(port(), "GET", "/v2/models/cancer/versions/7").status, 404);
}

TEST_F(EndpointsTest, ModelReady) {
  EXPECT_EQ(Http(port(), "GET", "/v2/models/iris/ready").status, 200);
  EXPECT_EQ(json::parse(Http(port(), "GET", "/v2/models/iris/ready").body)["ready"], true);
  EXPECT_EQ(Http(port(), "GET", "/v2/models/cancer/versions/1/ready").status, 200);
  EXPECT_EQ(Http(port(), "GET", "/v2/models/cancer/versions/9/ready").status, 404);
  EXPECT_EQ(Http(port(), "GET", "/v2/models/nope/ready").status, 404);
}

TEST_F(EndpointsTest, InferLatestAndPinnedVersion) {
  auto rows = Rows("binary_logistic", 3);
  auto latest = Http(port(), "POST", "/v2/models/cancer/infer", V2Request(rows));
  ASSERT_EQ(latest.status, 200) << latest.body;
  auto j = json::parse(latest.body);
  EXPECT_EQ(j["model_name"], "cancer");
  EXPECT_EQ(j["model_version"], "2");
  auto v1 =
      json::parse(Http(port(), "POST", "/v2/models/cancer/versions/1/infer", V2Request(rows)).body);
  EXPECT_EQ(v1["model_version"], "1");
  auto expected = Expected("binary_logistic", "predict.csv");
  for (const auto& out : v1["outputs"]) {
    if (out["name"] != "probabilities") continue;
    EXPECT_EQ(out["shape"], json::array({3, 2}));
    EXPECT_EQ(out["datatype"], "FP32");
    for (size_t i = 0; i < 3; ++i) {
      EXPECT_NEAR(out["data"][2 * i + 1].get<double>(), expected[i][0], 1e-6);
    }
  }
}

TEST_F(EndpointsTest, BinaryTensorDataInAndOut) {
  // Triton's binary tensor extension: the JSON header, then the raw FP32 rows; the answer's
  // probabilities come back as binary data after its JSON.
  auto rows = Rows("binary_logistic", 2);
  size_t header_bytes = 0;
  const std::string body = BinaryV2Request(
      rows, R"([{"name":"probabilities","parameters":{"binary_data":true}},{"name":"label"}])",
      &header_bytes);
  HttpConnection c(port());
  auto r = c.Request("POST", "/v2/models/cancer/versions/1/infer", body,
                     {{"Inference-Header-Content-Length", std::to_string(header_bytes)}});
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t json_bytes = std::stoul(r.Header("inference-header-content-length"));
  auto j = json::parse(r.body.substr(0, json_bytes));
  ASSERT_EQ(j["outputs"].size(), 2u);
  EXPECT_EQ(j["outputs"][0]["name"], "probabilities");
  EXPECT_EQ(j["outputs"][0]["parameters"]["binary_data_size"], 16);
  EXPECT_FALSE(j["outputs"][0].contains("data"));
  EXPECT_EQ(j["outputs"][1]["data"].size(), 2u);  // label stays JSON
  ASSERT_EQ(r.body.size(), json_bytes + 16);
  float probs[4];
  std::memcpy(probs, r.body.data() + json_bytes, sizeof(probs));
  auto expected = Expected("binary_logistic", "predict.csv");
  for (size_t i = 0; i < 2; ++i) EXPECT_NEAR(probs[2 * i + 1], expected[i][0], 1e-6);
  // The same rows as JSON give the same labels.
  auto plain =
      json::parse(Http(port(), "POST", "/v2/models/cancer/versions/1/infer", V2Request(rows)).body);
  for (const auto& o : plain["outputs"]) {
    if (o["name"] == "label") {
      EXPECT_EQ(o["data"], j["outputs"][1]["data"]);
    }
  }
  auto meta = json::parse(Http(port(), "GET", "/v2").body);
  EXPECT_NE(std::find(meta["extensions"].begin(), meta["extensions"].end(), "binary_tensor_data"),
            meta["extensions"].end());
}

TEST_F(EndpointsTest, ClassificationExtension) {
  // Iris (3 classes): the top 2 classes of each row as "value:index", highest first.
  auto rows = Rows("multi_softprob", 2);
  std::string body = V2Request(rows);
  body.insert(body.size() - 1,
              R"(,"outputs":[{"name":"probabilities","parameters":{"classification":2}}])");
  auto r = Http(port(), "POST", "/v2/models/iris/infer", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto classes = json::parse(r.body)["outputs"][0];
  EXPECT_EQ(classes["datatype"], "BYTES");
  EXPECT_EQ(classes["shape"], json::array({2, 2}));
  auto probs = json::parse(Http(port(), "POST", "/v2/models/iris/infer", V2Request(rows)).body);
  for (const auto& o : probs["outputs"]) {
    if (o["name"] != "probabilities") continue;
    for (size_t row = 0; row < 2; ++row) {
      std::vector<std::pair<double, int>> p;
      for (int c = 0; c < 3; ++c) p.emplace_back(o["data"][row * 3 + c].get<double>(), c);
      std::sort(p.begin(), p.end(), [](auto a, auto b) { return a.first > b.first; });
      for (size_t i = 0; i < 2; ++i) {
        const std::string s = classes["data"][row * 2 + i];
        EXPECT_EQ(s.substr(s.find(':') + 1), std::to_string(p[i].second)) << s;
        EXPECT_NEAR(std::stod(s.substr(0, s.find(':'))), p[i].first, 1e-6) << s;
      }
    }
  }
  std::string bad = V2Request(rows);
  bad.insert(bad.size() - 1,
             R"(,"outputs":[{"name":"probabilities","parameters":{"classification":0}}])");
  auto refused = Http(port(), "POST", "/v2/models/iris/infer", bad);
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("'classification' must be a positive integer"), std::string::npos);
}

TEST_F(EndpointsTest, ModelConfigInTritonsShape) {
  auto r = Http(port(), "GET", "/v2/models/cancer/config");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  EXPECT_EQ(j["name"], "cancer");
  EXPECT_EQ(j["backend"], "forest");
  EXPECT_EQ(j["max_batch_size"], 256);
  ASSERT_EQ(j["input"].size(), 1u);
  EXPECT_EQ(j["input"][0]["name"], "input");
  EXPECT_EQ(j["input"][0]["data_type"], "TYPE_FP32");
  EXPECT_EQ(j["input"][0]["dims"], json::array({30}));  // no batch dimension
  EXPECT_TRUE(j["version_policy"].contains("all"));
  EXPECT_EQ(j["instance_group"][0]["kind"], "KIND_CPU");
  bool label = false;
  for (const auto& o : j["output"]) label |= o["name"] == "label" && o["data_type"] == "TYPE_INT64";
  EXPECT_TRUE(label);
  EXPECT_EQ(Http(port(), "GET", "/v2/models/nope/config").status, 404);
  EXPECT_EQ(Http(port(), "POST", "/v2/models/cancer/config").status, 405);
}

TEST_F(EndpointsTest, IdIsEchoedAndGenerated) {
  std::string body =
      R"({"id":"my-id-7","inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]})";
  auto r = Http(port(), "POST", "/v2/models/iris/infer", body);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["id"], "my-id-7");
  EXPECT_EQ(r.Header("inferd-request-id"), "my-id-7");
  body =
      R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]})";
  auto a = Http(port(), "POST", "/v2/models/iris/infer", body);
  auto b = Http(port(), "POST", "/v2/models/iris/infer", body);
  EXPECT_EQ(a.Header("inferd-request-id").size(), 32u);
  EXPECT_NE(a.Header("inferd-request-id"), b.Header("inferd-request-id"));
  EXPECT_EQ(json::parse(a.body)["id"], a.Header("inferd-request-id"));
}

TEST_F(EndpointsTest, ShapesNestingTypesAndOutputSelection) {
  // [F] is one row; nested data; INT64 and FP64 converted; outputs selects margin only.
  auto flat = json::parse(
      Http(
          port(), "POST", "/v2/models/iris/infer",
          R"({"inputs":[{"name":"input","shape":[4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]})")
          .body);
  auto nested = json::parse(
      Http(
          port(), "POST", "/v2/models/iris/infer",
          R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP64","data":[[5.1,3.5,1.4,0.2]]}]})")
          .body);
  ASSERT_TRUE(flat.contains("outputs")) << flat;
  ASSERT_TRUE(nested.contains("outputs")) << nested;
  EXPECT_EQ(flat["outputs"], nested["outputs"]);
  auto ints =
      Http(port(), "POST", "/v2/models/iris/infer",
           R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"INT64","data":[5,3,1,0]}]})");
  ASSERT_EQ(ints.status, 200) << ints.body;
  auto floats = Http(
      port(), "POST", "/v2/models/iris/infer",
      R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.0,3.0,1.0,0.0]}]})");
  EXPECT_EQ(json::parse(ints.body)["outputs"], json::parse(floats.body)["outputs"]);
  auto u8 =
      Http(port(), "POST", "/v2/models/iris/infer",
           R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"UINT8","data":[5,3,1,0]}]})");
  EXPECT_EQ(json::parse(u8.body)["outputs"], json::parse(floats.body)["outputs"]);
  auto margin = json::parse(
      Http(
          port(), "POST", "/v2/models/iris/infer",
          R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}],"outputs":[{"name":"margin"}],"parameters":{"x":1}})")
          .body);
  ASSERT_EQ(margin["outputs"].size(), 1u) << margin;
  EXPECT_EQ(margin["outputs"][0]["name"], "margin");
  EXPECT_EQ(margin["outputs"][0]["shape"], json::array({1, 3}));
}

TEST_F(EndpointsTest, NullIsAMissingValue) {
  // The last row of the missing fixture is all-missing; send it as nulls.
  auto rows = ReadCsv(FixtureDir("binary_logistic_missing") / "input.csv", true);
  auto expected = Expected("binary_logistic_missing", "predict.csv");
  std::string tmp = (repo_->path() / "m").string();
  AddModel(repo_->path(), "cancer_missing", 1, "binary_logistic_missing");
  // Not loaded (no polling): check through a second server instead.
  auto srv = ServerProcess::Start(repo_->path());
  ASSERT_NE(srv, nullptr);
  auto r = Http(srv->port(), "POST", "/v2/models/cancer_missing/infer",
                V2Request({rows.back()}, "input", {"probabilities"}));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(V2Request({rows.back()}).find("null"), std::string::npos);
  EXPECT_NEAR(json::parse(r.body)["outputs"][0]["data"][1].get<double>(), expected.back()[0], 1e-6);
  std::filesystem::remove_all(repo_->path() / "cancer_missing");
}

TEST_F(EndpointsTest, RepositoryIndex) {
  auto r = Http(port(), "POST", "/v2/repository/index");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = json::parse(r.body);
  std::set<std::string> ready;
  for (const auto& e : j) {
    if (e["state"] == "READY")
      ready.insert(e["name"].get<std::string>() + "/" + e["version"].get<std::string>());
  }
  EXPECT_EQ(ready, (std::set<std::string>{"cancer/1", "cancer/2", "diabetes/3", "iris/1"}));
  auto only_ready =
      json::parse(Http(port(), "POST", "/v2/repository/index", R"({"ready":true})").body);
  EXPECT_EQ(only_ready.size(), 4u);
}

TEST_F(EndpointsTest, TfServingPredictRowAndColumnar) {
  auto rows = Rows("reg_squarederror", 2);
  auto expected = Expected("reg_squarederror", "predict.csv");
  json inst = json::array();
  for (auto& r : rows) inst.push_back(r);
  auto r = Http(port(), "POST", "/v1/models/diabetes:predict", json{{"instances", inst}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.Header("inferd-request-id").empty());
  auto j = json::parse(r.body);
  ASSERT_EQ(j["predictions"].size(), 2u);
  EXPECT_NEAR(j["predictions"][0].get<double>(), expected[0][0], 1e-4);
  EXPECT_NEAR(j["predictions"][1].get<double>(), expected[1][0], 1e-4);

  auto c =
      Http(port(), "POST", "/v1/models/diabetes/versions/3:predict", json{{"inputs", inst}}.dump());
  ASSERT_EQ(c.status, 200) << c.body;
  EXPECT_EQ(json::parse(c.body)["outputs"], j["predictions"]);

  // Classifier: one object per row with every default output; named-input rows.
  json iris = {{"instances", json::array({json{{"input", {5.1, 3.5, 1.4, 0.2}}}})}};
  auto ir = json::parse(Http(port(), "POST", "/v1/models/iris:predict", iris.dump()).body);
  ASSERT_EQ(ir["predictions"].size(), 1u) << ir;
  EXPECT_EQ(ir["predictions"][0]["label"], 0);
  EXPECT_EQ(ir["predictions"][0]["probabilities"].size(), 3u);
}

TEST_F(EndpointsTest, TfServingStatus) {
  auto r = Http(port(), "GET", "/v1/models/cancer");
  ASSERT_EQ(r.status, 200);
  auto j = json::parse(r.body);
  ASSERT_EQ(j["model_version_status"].size(), 2u);
  EXPECT_EQ(j["model_version_status"][0]["state"], "AVAILABLE");
  EXPECT_EQ(j["model_version_status"][0]["status"]["error_code"], "OK");
  auto one = json::parse(Http(port(), "GET", "/v1/models/cancer/versions/1").body);
  EXPECT_EQ(one["model_version_status"].size(), 1u);
  EXPECT_EQ(Http(port(), "GET", "/v1/models/nope").status, 404);
}

TEST_F(EndpointsTest, KeepAliveServesManyRequestsOnOneConnection) {
  HttpConnection c(port());
  for (int i = 0; i < 50; ++i) {
    auto r = c.Request(
        "POST", "/v2/models/iris/infer",
        R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]})");
    ASSERT_EQ(r.status, 200);
  }
}

TEST_F(EndpointsTest, ExpectContinueIsAnswered) {
  HttpConnection c(port());
  std::string body =
      R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]})";
  c.SendOnly(
      "POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n");
  // The interim 100 arrives before we send the body.
  EXPECT_EQ(c.ReadResponse(false).status, 100);
  c.SendOnly(body);
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(EndpointsTest, HeadAnswersWithoutABody) {
  HttpConnection c(port());
  c.SendOnly("HEAD /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = c.ReadResponse(true, /*head_request=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.Header("content-length"), "13");  // what GET sends: {"live":true}
  // The connection stays in step: the next answer is the next request's.
  auto next = c.Request("GET", "/v2/models/iris/ready");
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(json::parse(next.body)["name"], "iris");
}

TEST_F(EndpointsTest, PipelinedRequestsAreAnsweredInOrder) {
  HttpConnection c(port());
  const std::string body =
      R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]})";
  const std::string infer = "POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                            std::to_string(body.size()) + "\r\n\r\n" + body;
  // Three requests in one write: the answers come in order, each whole.
  c.SendOnly(infer + "GET /v2/models/iris/ready HTTP/1.1\r\nHost: x\r\n\r\n" + infer);
  auto first = c.ReadResponse();
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(json::parse(first.body)["model_name"], "iris");
  auto second = c.ReadResponse();
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(json::parse(second.body)["ready"], true);
  auto third = c.ReadResponse();
  EXPECT_EQ(third.status, 200);
  EXPECT_EQ(json::parse(third.body)["outputs"], json::parse(first.body)["outputs"]);
  // A request that arrives in pieces (mid-header, mid-body) is put together.
  c.SendOnly(infer.substr(0, 20));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  c.SendOnly(infer.substr(20, infer.size() - 20 - body.size() / 2));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  c.SendOnly(infer.substr(infer.size() - body.size() / 2));
  auto pieces = c.ReadResponse();
  EXPECT_EQ(pieces.status, 200) << pieces.body;
  EXPECT_EQ(json::parse(pieces.body)["outputs"], json::parse(first.body)["outputs"]);
}

TEST_F(EndpointsTest, ChunkedRequestBody) {
  HttpConnection c(port());
  const std::string body =
      R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]})";
  auto plain = c.Request("POST", "/v2/models/iris/infer", body);
  ASSERT_EQ(plain.status, 200);
  std::string chunked =
      "POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (size_t at = 0; at < body.size(); at += 30) {
    const std::string part = body.substr(at, 30);
    char size[16];
    std::snprintf(size, sizeof size, "%zx", part.size());
    chunked += std::string(size) + "\r\n" + part + "\r\n";
  }
  chunked += "0\r\n\r\n";
  c.SendOnly(chunked);
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["outputs"], json::parse(plain.body)["outputs"]);
}

TEST_F(EndpointsTest, Http10KeepsAliveOnlyWhenAsked) {
  {
    HttpConnection c(port());
    c.SendOnly("GET /v2/health/live HTTP/1.0\r\n\r\n");
    auto r = c.ReadResponse();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.Header("connection"), "close");
    EXPECT_TRUE(c.ClosedByPeer(std::chrono::seconds(2)));
  }
  HttpConnection c(port());
  c.SendOnly("GET /v2/health/live HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  auto r = c.ReadResponse();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("connection"), "keep-alive");
  c.SendOnly("GET /v2/health/ready HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(c.ReadResponse().body, "{\"ready\":true}");
}

TEST_F(EndpointsTest, AbsoluteFormTarget) {
  auto r = Http(port(), "GET", "http://localhost:" + std::to_string(port()) + "/v2/models/iris");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(EndpointsTest, SecondServerOnTheSamePortFails) {
  std::string log = (repo_->path() / "second.txt").string();
  std::string cmd = std::string(INFERD_BINARY_DIR) + "/inferd serve --model-repository " +
                    repo_->path().string() + " --host 127.0.0.1 --http-port " +
                    std::to_string(port()) + " 2>" + log;
  EXPECT_NE(std::system(cmd.c_str()), 0);
  EXPECT_NE(ReadFile(log).find("in use"), std::string::npos) << ReadFile(log);
  EXPECT_EQ(Http(port(), "GET", "/v2/health/live").status, 200);
}

TEST(SharedIoModeTest, ServesConcurrentKeepAliveClients) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server =
      ServerProcess::Start(repo.path(), {"--http-io-mode", "shared", "--http-threads", "3"});
  ASSERT_NE(server, nullptr);
  std::string body =
      R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]})";
  std::string expected =
      json::parse(Http(server->port(), "POST", "/v2/models/iris/infer", body).body)["outputs"]
          .dump();
  std::atomic<int> ok{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&] {
      HttpConnection c(server->port());
      for (int i = 0; i < 100; ++i) {
        auto r = c.Request("POST", "/v2/models/iris/infer", body);
        if (r.status == 200 && json::parse(r.body)["outputs"].dump() == expected) ++ok;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 400);
}

}  // namespace
}  // namespace inferd::testing
