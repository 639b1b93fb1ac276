// Graceful shutdown with Kubernetes semantics: after SIGTERM readiness answers 503 at once while
// the server keeps serving for the grace period (answers then close their connections), a request
// in flight finishes, and the process exits 0. $PORT sets the port when no flag does.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

TEST(DrainTest, ReadinessDropsAtOnceServingGoesOnAndInFlightRequestsFinish) {
  TempDir repo;
  AddModel(repo.path(), "cancer", 1, "binary_logistic");
  AddModel(repo.path(), "slow", 1, "binary_logistic");
  // A request to `slow` waits 600 ms in its queue: it is in flight when the signal comes.
  WriteFile(repo.path() / "slow" / "config.yaml",
            "max_batch_size: 8\ndynamic_batching: {max_queue_delay_us: 600000}\n");
  auto server = ServerProcess::Start(repo.path(), {"--drain-grace", "1"});
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  ASSERT_EQ(Http(port, "GET", "/v2/health/ready").status, 200);

  HttpResult in_flight;
  std::thread slow(
      [&] { in_flight = Http(port, "POST", "/v2/models/slow/infer", V2Request({rows[0]})); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server->Signal(SIGTERM);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));

  auto ready = Http(port, "GET", "/v2/health/ready");
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("shutting down"), std::string::npos) << ready.body;
  EXPECT_EQ(Http(port, "GET", "/v2/health/live").status, 200);
  // Still serving during the grace period, asking clients to reconnect elsewhere.
  HttpConnection c(port);
  auto during = c.Request("POST", "/v2/models/cancer/infer", V2Request({rows[1]}));
  EXPECT_EQ(during.status, 200) << during.body;
  EXPECT_EQ(during.Header("connection"), "close");

  slow.join();
  EXPECT_EQ(in_flight.status, 200) << in_flight.body;
  const int status = server->WaitExit(std::chrono::seconds(5));
  ASSERT_NE(status, -1) << "the server did not exit after the grace period";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_NE(server->Log().find("draining"), std::string::npos);
  EXPECT_EQ(Http(port, "GET", "/v2/health/live").status, 0);  // nobody listens any more
}

TEST(DrainTest, APortFromTheEnvironmentMustBeANumber) {
  TempDir repo;
  AddModel(repo.path(), "cancer", 1, "binary_logistic");
  ::setenv("PORT", "eighty", 1);
  auto r = RunInferd({"serve", "--model-repository", repo.path().string()}, {},
                     std::chrono::seconds(20));
  ::unsetenv("PORT");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("PORT='eighty' is not a port number"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace inferd::testing
