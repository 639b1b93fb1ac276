// `inferd bench` against a real server: closed loop and open loop over HTTP (JSON and binary),
// gRPC, the server's own queue/compute split, errors counted and shown, bad arguments refused.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

std::vector<json> Lines(const std::string& out) {
  std::vector<json> lines;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(json::parse(line));
  }
  return lines;
}

uint64_t SuccessCount(uint16_t port, const std::string& model) {
  auto stats = json::parse(Http(port, "GET", "/v2/models/" + model + "/stats").body);
  return stats["model_stats"][0]["inference_stats"]["success"]["count"].get<uint64_t>();
}

class BenchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddModel(repo_.path(), "iris", 1, "multi_softprob");
    AddModel(repo_.path(), "small", 1, "binary_logistic");
    WriteFile(repo_.path() / "small" / "config.yaml", "max_batch_size: 2\n");
    server_ = ServerProcess::Start(repo_.path(), {"--grpc-port", "0"});
    ASSERT_NE(server_, nullptr);
    url_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  TempDir repo_;
  std::unique_ptr<ServerProcess> server_;
  std::string url_;
};

TEST_F(BenchTest, ClosedLoopOverHttpJsonAndBinary) {
  for (const char* binary : {"", "--binary"}) {
    const uint64_t before = SuccessCount(server_->port(), "iris");
    std::vector<std::string> args = {
        "bench",    url_,  "--model", "iris", "--concurrency", "1,3", "--duration", "0.5",
        "--warmup", "0.1", "--batch", "4",    "--json"};
    if (*binary) args.push_back(binary);
    auto r = RunInferd(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = Lines(r.out);
    ASSERT_EQ(lines.size(), 2u) << r.out;
    uint64_t ok = 0;
    for (size_t i = 0; i < lines.size(); ++i) {
      const auto& l = lines[i];
      EXPECT_EQ(l["concurrency"], i == 0 ? 1 : 3);
      EXPECT_EQ(l["batch"], 4);
      EXPECT_EQ(l["binary"], *binary != '\0');
      EXPECT_GT(l["ok"].get<uint64_t>(), 0u);
      EXPECT_EQ(l["errors"], 0);
      EXPECT_LE(l["p50_us"].get<double>(), l["p99_us"].get<double>());
      EXPECT_LE(l["p99_us"].get<double>(), l["max_us"].get<double>());
      EXPECT_GE(l["server_compute_us"].get<double>(), 0.0);
      ok += l["ok"].get<uint64_t>();
    }
    // The server answered at least every request the client counted (and the warmup's).
    EXPECT_GE(SuccessCount(server_->port(), "iris") - before, ok);
  }
}

TEST_F(BenchTest, OpenLoopKeepsTheRate) {
  auto r = RunInferd({"bench", url_, "--model", "iris", "--concurrency", "8", "--rate", "400",
                      "--duration", "1", "--warmup", "0.2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u);
  // 400 requests due in the measured second, each answered.
  EXPECT_NEAR(lines[0]["ok"].get<double>(), 400.0, 2.0);
  EXPECT_EQ(lines[0]["errors"], 0);
  EXPECT_EQ(lines[0]["rate"], 400.0);
}

TEST_F(BenchTest, OverGrpc) {
  const std::string grpc = "127.0.0.1:" + std::to_string(server_->port("gRPC"));
  for (const char* binary : {"", "--binary"}) {
    std::vector<std::string> args = {"bench",         grpc,    "--grpc",     "--model", "iris",
                                     "--concurrency", "2",     "--duration", "0.5",     "--warmup",
                                     "0.1",           "--json"};
    if (*binary) args.push_back(binary);
    auto r = RunInferd(args);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = Lines(r.out);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_GT(lines[0]["ok"].get<uint64_t>(), 0u);
    EXPECT_EQ(lines[0]["errors"], 0);
    EXPECT_GE(lines[0]["server_compute_us"].get<double>(), 0.0);
  }
  auto missing = RunInferd({"bench", grpc, "--grpc", "--model", "nope", "--duration", "0.2"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no model 'nope'"), std::string::npos) << missing.err;
}

TEST_F(BenchTest, ErrorsAreCountedAndShown) {
  // Batches of 5 rows to a model that takes at most 2: every request is refused.
  auto direct = Http(server_->port(), "POST", "/v2/models/small/infer",
                     V2Request(std::vector<std::vector<double>>(5, std::vector<double>(30, 0.5))));
  EXPECT_EQ(direct.status, 400);
  EXPECT_NE(direct.body.find("the request has 5 rows; model 'small' takes at most 2"),
            std::string::npos)
      << direct.body;
  for (const char* rate : {"0", "200"}) {
    auto r = RunInferd({"bench", url_, "--model", "small", "--batch", "5", "--concurrency", "2",
                        "--rate", rate, "--duration", "0.5", "--warmup", "0", "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto lines = Lines(r.out);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0]["ok"], 0);
    EXPECT_GT(lines[0]["errors"].get<uint64_t>(), 0u);
    EXPECT_NE(r.err.find("errors at concurrency 2; the first: 400"), std::string::npos) << r.err;
  }
}

TEST_F(BenchTest, BadArgumentsAreRefused) {
  auto missing = RunInferd({"bench", url_, "--model", "nope", "--duration", "0.2"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("no model 'nope'"), std::string::npos) << missing.err;
  auto host = RunInferd({"bench", "http://no-such-host.invalid:1", "--model", "iris"});
  EXPECT_EQ(host.exit_code, 1);
  EXPECT_NE(host.err.find("cannot resolve"), std::string::npos) << host.err;
  auto levels = RunInferd({"bench", url_, "--model", "iris", "--concurrency", "1,x"});
  EXPECT_EQ(levels.exit_code, 2);
  EXPECT_NE(levels.err.find("'x' is not a number"), std::string::npos) << levels.err;
  auto zero = RunInferd({"bench", url_, "--model", "iris", "--concurrency", "0"});
  EXPECT_EQ(zero.exit_code, 1);
  EXPECT_NE(zero.err.find("concurrency levels must be 1 to 4096"), std::string::npos) << zero.err;
}

}  // namespace
}  // namespace inferd::testing
