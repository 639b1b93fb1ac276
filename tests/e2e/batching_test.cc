// Dynamic batching over real HTTP: concurrent requests to a model whose config.yaml turns the
// batcher on are merged (the batch-size histogram shows it) and each client gets its own rows
// back; a full queue answers 503 with Retry-After, an expired timeout 504, a bad priority 400;
// Triton's statistics count executions and batches.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

double Probability(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  for (const auto& o : j["outputs"]) {
    if (o["name"] == "probabilities") return o["data"][1].get<double>();
  }
  return NAN;
}

// The value of the first sample of `name` whose line contains `labels` in /metrics.
double Metric(uint16_t port, const std::string& name, const std::string& labels) {
  auto r = Http(port, "GET", "/metrics");
  std::istringstream in(r.body);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) == 0 && line.find(labels) != std::string::npos) {
      return std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return NAN;
}

TEST(BatchingTest, ConcurrentRequestsAreMergedAndAnsweredEachWithItsRows) {
  TempDir repo;
  AddModel(repo.path(), "plain", 1, "binary_logistic");
  AddModel(repo.path(), "batched", 1, "binary_logistic");
  WriteFile(repo.path() / "batched" / "config.yaml",
            "max_batch_size: 64\n"
            "dynamic_batching: {max_queue_delay_us: 20000}\n");
  auto server = ServerProcess::Start(repo.path());
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  ASSERT_GE(rows.size(), 16u);
  // What each row gives unbatched.
  std::vector<double> want;
  for (size_t i = 0; i < 16; ++i) {
    auto r = Http(port, "POST", "/v2/models/plain/infer", V2Request({rows[i]}));
    ASSERT_EQ(r.status, 200) << r.body;
    want.push_back(Probability(r.body));
  }
  // 16 clients at once, one row each: the 20 ms delay gathers them.
  std::vector<double> got(16, NAN);
  std::vector<int> status(16, 0);
  std::vector<std::thread> clients;
  for (size_t i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      HttpConnection c(port);
      auto r = c.Request("POST", "/v2/models/batched/infer", V2Request({rows[i]}));
      status[i] = r.status;
      got[i] = Probability(r.body);
    });
  }
  for (auto& t : clients) t.join();
  for (size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(status[i], 200) << i;
    EXPECT_EQ(got[i], want[i]) << "row " << i << " got another row's answer";
  }
  // Fewer executions than requests: some batches held several rows.
  const double executions = Metric(port, "inferd_inference_batch_size_count", "model=\"batched\"");
  const double batched_rows = Metric(port, "inferd_inference_batch_size_sum", "model=\"batched\"");
  EXPECT_EQ(batched_rows, 16);  // (warmup runs the model directly)
  EXPECT_LT(executions, 16);
  auto stats = Http(port, "GET", "/v2/models/batched/versions/1/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  auto s = json::parse(stats.body)["model_stats"][0];
  EXPECT_EQ(s["inference_count"], 16);
  EXPECT_EQ(s["execution_count"].get<double>(), executions);
  EXPECT_EQ(s["inference_stats"]["success"]["count"], 16);
}

TEST(BatchingTest, AFullQueueATimeoutAndABadPriorityAreRefusedClearly) {
  TempDir repo;
  AddModel(repo.path(), "slow", 1, "binary_logistic");
  // A long delay keeps a lone request queued; one request fills the queue.
  WriteFile(repo.path() / "slow" / "config.yaml",
            "max_batch_size: 8\n"
            "dynamic_batching: {max_queue_delay_us: 1500000, max_queue_size: 1}\n");
  auto server = ServerProcess::Start(repo.path());
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  std::thread first([&] {
    auto r = Http(port, "POST", "/v2/models/slow/infer", V2Request({rows[0]}));
    EXPECT_EQ(r.status, 200) << r.body;
  });
  // Wait until the first request is queued.
  for (int i = 0; i < 200 && !(Metric(port, "inferd_inference_in_flight", "model=\"slow\"") >= 1);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  auto full = Http(port, "POST", "/v2/models/slow/infer", V2Request({rows[1]}));
  EXPECT_EQ(full.status, 503) << full.body;
  EXPECT_NE(full.body.find("queue is full (1 requests)"), std::string::npos) << full.body;
  EXPECT_EQ(full.Header("retry-after"), "1");
  first.join();

  // A timeout shorter than the delay: the request leaves the queue unanswered by the model.
  std::string with_timeout = V2Request({rows[2]});
  with_timeout.insert(1, "\"parameters\":{\"timeout\":1000},");
  auto late = Http(port, "POST", "/v2/models/slow/infer", with_timeout);
  EXPECT_EQ(late.status, 504) << late.body;
  EXPECT_NE(late.body.find("timeout passed while it waited in the queue"), std::string::npos);

  std::string bad_priority = V2Request({rows[3]});
  bad_priority.insert(1, "\"parameters\":{\"priority\":\"high\"},");
  auto bad = Http(port, "POST", "/v2/models/slow/infer", bad_priority);
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("'priority' must be a non-negative integer"), std::string::npos);
  EXPECT_EQ(Metric(port, "inferd_inference_rejected_total", "reason=\"queue_full\""), 1);
  EXPECT_EQ(Metric(port, "inferd_inference_rejected_total", "reason=\"timeout\""), 1);
}

}  // namespace
}  // namespace inferd::testing
