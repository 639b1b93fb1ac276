// `inferd lambda` against a local emulation of AWS Lambda's Runtime API (e2e/runtime_api.h): API
// Gateway (REST, payload 1.0) and function URL / HTTP API (payload 2.0) events reach the v2 and v1
// routes and come back as proxy responses; an event that is no HTTP request is an invocation error;
// a failed start is reported to init/error.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "auth/base64url.h"
#include "e2e/runtime_api.h"
#include "e2e/test_support.h"

extern char** environ;

namespace inferd::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

// `inferd lambda ARGS...` with AWS_LAMBDA_RUNTIME_API set, killed at the end.
class LambdaProcess {
 public:
  LambdaProcess(const std::string& api, std::vector<std::string> args) {
    args.insert(args.begin(), {std::string(INFERD_BINARY_DIR) + "/inferd", "lambda"});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s = {"AWS_LAMBDA_RUNTIME_API=" + api};
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string(*e).rfind("AWS_LAMBDA_RUNTIME_API=", 0) != 0) env_s.emplace_back(*e);
    }
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), envp.data()) != 0) pid_ = -1;
  }
  ~LambdaProcess() {
    if (pid_ > 0 && Wait(std::chrono::milliseconds(0)) == -2) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  // The exit code, -1 when killed by a signal, -2 when still running after `timeout`.
  int Wait(std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    do {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < until);
    return -2;
  }

 private:
  pid_t pid_ = -1;
};

class LambdaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    AddModel(repo_, "m", 1, "binary_logistic");
    rows_ = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
    want_ = ReadCsv(FixtureDir("binary_logistic") / "predict.csv", false);
    lambda_ = std::make_unique<LambdaProcess>(
        api_.address(), std::vector<std::string>{"--model-repository", repo_.string(), "--state",
                                                 (tmp_.path() / "state").string()});
  }
  json Invoke(const json& event, std::string* kind = nullptr) {
    const std::string id = api_.Queue(event.dump());
    auto answer = api_.Wait(id, std::chrono::milliseconds(20000));
    EXPECT_TRUE(answer.has_value()) << "no answer to " << event.dump();
    if (!answer) return json();
    if (kind != nullptr) *kind = answer->kind;
    if (answer->kind == "error") {
      EXPECT_EQ(answer->error_type, "InvalidEvent");
    }
    return json::parse(answer->body);
  }
  TempDir tmp_;
  fs::path repo_;
  RuntimeApiEmulator api_;
  std::unique_ptr<LambdaProcess> lambda_;
  std::vector<std::vector<double>> rows_, want_;
};

TEST_F(LambdaTest, FunctionUrlAndApiGatewayEventsReachTheRoutes) {
  // Function URL / HTTP API (payload 2.0): Open Inference Protocol.
  json v2 = {{"version", "2.0"},
             {"rawPath", "/v2/models/m/infer"},
             {"rawQueryString", ""},
             {"headers", {{"content-type", "application/json"}}},
             {"requestContext", {{"http", {{"method", "POST"}, {"path", "/v2/models/m/infer"}}}}},
             {"body", V2Request({rows_[0], rows_[1]})},
             {"isBase64Encoded", false}};
  std::string kind;
  json r = Invoke(v2, &kind);
  EXPECT_EQ(kind, "response");
  ASSERT_EQ(r["statusCode"], 200) << r.dump();
  EXPECT_EQ(r["headers"]["content-type"], "application/json");
  EXPECT_FALSE(r["isBase64Encoded"].get<bool>());
  json out = json::parse(r["body"].get<std::string>());
  EXPECT_NEAR(out["outputs"][0]["data"][1].get<double>(), want_[0][0], 1e-6);
  EXPECT_NEAR(out["outputs"][0]["data"][3].get<double>(), want_[1][0], 1e-6);

  // The same with a base64 body.
  v2["body"] =
      "eyJpbnB1dHMiOlt7Im5hbWUiOiJpbnB1dCIsImRhdGF0eXBlIjoiRlAzMiIsInNoYXBlIjpbMSwz"
      "MF0sImRhdGEiOlswLDAsMCwwLDAsMCwwLDAsMCwwLDAsMCwwLDAsMCwwLDAsMCwwLDAsMCwwLDAs"
      "MCwwLDAsMCwwLDAsMF19XX0=";
  v2["isBase64Encoded"] = true;
  r = Invoke(v2);
  EXPECT_EQ(r["statusCode"], 200) << r.dump();

  // API Gateway REST API (payload 1.0): TF Serving's predict, and metadata by GET.
  json rows = json::array();
  rows.push_back(rows_[0]);
  json v1 = {{"httpMethod", "POST"},
             {"path", "/v1/models/m:predict"},
             {"headers", {{"Content-Type", "application/json"}}},
             {"queryStringParameters", nullptr},
             {"body", json({{"instances", rows}}).dump()},
             {"isBase64Encoded", false}};
  r = Invoke(v1);
  ASSERT_EQ(r["statusCode"], 200) << r.dump();
  EXPECT_NE(r["body"].get<std::string>().find("predictions"), std::string::npos) << r.dump();
  json meta = {{"httpMethod", "GET"}, {"path", "/v2/models/m"}, {"body", nullptr}};
  r = Invoke(meta);
  ASSERT_EQ(r["statusCode"], 200) << r.dump();
  EXPECT_EQ(json::parse(r["body"].get<std::string>())["name"], "m");
}

TEST_F(LambdaTest, BinaryTensorsTravelInBase64) {
  // Triton's binary tensor extension through a function URL: the request's body in base64, and
  // the answer's (JSON then raw FP32) in base64 too, as a proxy response's body is a JSON string.
  size_t header_bytes = 0;
  const std::string request = BinaryV2Request(
      {rows_[0], rows_[1]}, R"([{"name":"probabilities","parameters":{"binary_data":true}}])",
      &header_bytes);
  json event = {
      {"rawPath", "/v2/models/m/infer"},
      {"headers",
       {{"content-type", "application/octet-stream"},
        {"inference-header-content-length", std::to_string(header_bytes)}}},
      {"requestContext", {{"http", {{"method", "POST"}, {"path", "/v2/models/m/infer"}}}}},
      {"body", auth::Base64Encode(request)},
      {"isBase64Encoded", true}};
  json r = Invoke(event);
  ASSERT_EQ(r["statusCode"], 200) << r.dump();
  EXPECT_EQ(r["headers"]["content-type"], "application/octet-stream");
  ASSERT_TRUE(r["isBase64Encoded"].get<bool>());
  auto body = auth::Base64Decode(r["body"].get<std::string>());
  ASSERT_TRUE(body.has_value());
  const size_t json_bytes =
      std::stoul(r["headers"]["inference-header-content-length"].get<std::string>());
  ASSERT_EQ(body->size(), json_bytes + 16);
  EXPECT_EQ(
      json::parse(body->substr(0, json_bytes))["outputs"][0]["parameters"]["binary_data_size"], 16);
  float probs[4];
  std::memcpy(probs, body->data() + json_bytes, sizeof(probs));
  EXPECT_NEAR(probs[1], want_[0][0], 1e-6);
  EXPECT_NEAR(probs[3], want_[1][0], 1e-6);
}

TEST_F(LambdaTest, BadRequestsAndEventsAreAnsweredClearly) {
  // A bad request is an HTTP answer (400 with the message), not a failed invocation.
  json bad = {{"httpMethod", "POST"}, {"path", "/v2/models/m/infer"}, {"body", "{not json"}};
  std::string kind;
  json r = Invoke(bad, &kind);
  EXPECT_EQ(kind, "response");
  EXPECT_EQ(r["statusCode"], 400) << r.dump();
  EXPECT_NE(r["body"].get<std::string>().find("error"), std::string::npos);
  r = Invoke({{"httpMethod", "GET"}, {"path", "/v2/models/nope"}});
  EXPECT_EQ(r["statusCode"], 404) << r.dump();
  // Management routes are not open to Lambda's callers without credentials.
  r = Invoke({{"httpMethod", "POST"}, {"path", "/v2/repository/models/m/unload"}});
  EXPECT_EQ(r["statusCode"], 403) << r.dump();
  // An event that is no HTTP request is an invocation error naming what is missing, and the
  // runtime goes on.
  r = Invoke({{"key1", "value1"}}, &kind);
  EXPECT_EQ(kind, "error");
  EXPECT_EQ(r["errorType"], "InvalidEvent");
  EXPECT_NE(r["errorMessage"].get<std::string>().find("no httpMethod"), std::string::npos)
      << r.dump();
  r = Invoke({{"httpMethod", "POST"},
              {"path", "/v2/models/m/infer"},
              {"body", "!!!"},
              {"isBase64Encoded", true}},
             &kind);
  EXPECT_EQ(kind, "error");
  EXPECT_NE(r["errorMessage"].get<std::string>().find("base64"), std::string::npos) << r.dump();
  r = Invoke({{"httpMethod", "GET"}, {"path", "/v2/health/ready"}}, &kind);
  EXPECT_EQ(kind, "response");
  EXPECT_EQ(r["statusCode"], 200) << r.dump();
}

TEST(LambdaStartTest, AFailedStartIsReportedToInitError) {
  TempDir tmp;
  RuntimeApiEmulator api;
  LambdaProcess lambda(api.address(), {"--model-repository", (tmp.path() / "none").string(),
                                       "--state", (tmp.path() / "state").string()});
  auto init = api.Wait("init", std::chrono::milliseconds(20000));
  ASSERT_TRUE(init.has_value());
  EXPECT_EQ(init->error_type, "InitError");
  const json j = json::parse(init->body);
  EXPECT_EQ(j["errorType"], "InitError");
  EXPECT_NE(j["errorMessage"].get<std::string>().find("none"), std::string::npos) << init->body;
  EXPECT_EQ(lambda.Wait(std::chrono::milliseconds(10000)), 1);
  // Without the Runtime API's address it says so.
  auto r = RunInferd({"lambda"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("AWS_LAMBDA_RUNTIME_API is not set"), std::string::npos) << r.err;
}

// With an API-keys file, Lambda's callers need a key, as HTTP clients do: the event's headers
// carry it.
TEST(LambdaAuthTest, ApiKeysApplyToEvents) {
  TempDir tmp;
  AddModel(tmp.path() / "repo", "m", 1, "binary_logistic");
  const std::string api_key = NewApiKey(tmp.path() / "keys", "fn", "infer");
  RuntimeApiEmulator api;
  LambdaProcess lambda(api.address(), {"--model-repository", (tmp.path() / "repo").string(),
                                       "--state", (tmp.path() / "state").string(), "--api-keys",
                                       (tmp.path() / "keys").string()});
  auto row = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true)[0];
  json event = {{"httpMethod", "POST"}, {"path", "/v2/models/m/infer"}, {"body", V2Request({row})}};
  auto invoke = [&](const json& e) {
    auto answer = api.Wait(api.Queue(e.dump()), std::chrono::milliseconds(20000));
    EXPECT_TRUE(answer.has_value());
    return answer ? json::parse(answer->body) : json();
  };
  json r = invoke(event);
  EXPECT_EQ(r["statusCode"], 401) << r.dump();
  EXPECT_NE(r["headers"].value("www-authenticate", ""), "") << r.dump();
  event["headers"] = {{"X-API-Key", api_key}};
  r = invoke(event);
  EXPECT_EQ(r["statusCode"], 200) << r.dump();
}

}  // namespace
}  // namespace inferd::testing
