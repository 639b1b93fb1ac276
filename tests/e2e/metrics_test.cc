// /metrics after traffic: the families a dashboard needs, with the right values, and a real
// Prometheus validator (promtool check metrics) accepts the exposition.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <regex>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

double Sample(const std::string& text, const std::string& series) {
  auto pos = text.find("\n" + series + " ");
  if (pos == std::string::npos) return -1;
  return std::stod(text.substr(pos + series.size() + 2));
}

TEST(MetricsTest, CountsRequestsAndPassesPromtool) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  WriteFile(repo.path() / "broken" / "1" / "model.json", "garbage");
  auto server = ServerProcess::Start(repo.path());
  ASSERT_NE(server, nullptr);
  const uint16_t port = server->port();
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(
        Http(port, "POST", "/v2/models/iris/infer", V2Request({{5.1, 3.5, 1.4, 0.2}, {6, 3, 5, 2}}))
            .status,
        200);
  }
  EXPECT_EQ(Http(port, "POST", "/v2/models/iris/infer", V2Request({{1, 2, 3}})).status, 400);
  EXPECT_EQ(Http(port, "POST", "/v2/models/iris/infer", "{not json").status, 400);
  EXPECT_EQ(Http(port, "POST", "/v2/models/nope/infer", V2Request({{1}})).status, 404);

  auto r = Http(port, "GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.Header("content-type").find("text/plain; version=0.0.4"), std::string::npos);
  const std::string& m = r.body;
  EXPECT_EQ(
      Sample(m, R"(inferd_inference_requests_total{model="iris",version="1",outcome="success"})"),
      5);
  EXPECT_EQ(
      Sample(m,
             R"(inferd_inference_requests_total{model="iris",version="1",outcome="client_error"})"),
      2);
  EXPECT_EQ(
      Sample(m, R"(inferd_inference_requests_total{model="",version="",outcome="client_error"})"),
      1);
  EXPECT_EQ(Sample(m, R"(inferd_inference_rows_total{model="iris",version="1"})"), 10);
  EXPECT_EQ(
      Sample(m, R"(inferd_inference_request_duration_seconds_count{model="iris",version="1"})"), 6);
  EXPECT_EQ(
      Sample(
          m,
          R"(inferd_inference_request_duration_seconds_bucket{model="iris",version="1",le="+Inf"})"),
      6);
  EXPECT_EQ(Sample(m, R"(inferd_model_versions_ready{model="iris"})"), 1);
  EXPECT_EQ(Sample(m, R"(inferd_model_versions_ready{model="broken"})"), 0);
  EXPECT_EQ(Sample(m, R"(inferd_model_load_failures_total{model="broken",version="1"})"), 1);
  EXPECT_EQ(Sample(m, R"(inferd_models{state="ready"})"), 1);
  EXPECT_EQ(Sample(m, R"(inferd_http_requests_total{endpoint="v2_infer",code="200"})"), 5);
  EXPECT_EQ(Sample(m, R"(inferd_http_requests_total{endpoint="v2_infer",code="404"})"), 1);
  EXPECT_EQ(Sample(m, R"(inferd_http_requests_total{endpoint="v2_infer",code="400"})"), 2);
  EXPECT_GT(Sample(m, "process_resident_memory_bytes"), 1e6);

  TempDir out;
  WriteFile(out.path() / "metrics.txt", m);
  std::string cmd = "promtool check metrics < " + (out.path() / "metrics.txt").string() + " > " +
                    (out.path() / "promtool.txt").string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << "promtool check metrics failed:\n"
                   << ReadFile(out.path() / "promtool.txt") << "\n--- exposition ---\n"
                   << m;
}

TEST(MetricsTest, AMetricsPortServesOnlyMetrics) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  const uint16_t metrics_port = FreePort();
  auto server = ServerProcess::Start(repo.path(), {"--metrics-port", std::to_string(metrics_port)});
  ASSERT_NE(server, nullptr);
  ASSERT_EQ(Http(server->port(), "POST", "/v2/models/iris/infer", V2Request({{5.1, 3.5, 1.4, 0.2}}))
                .status,
            200);
  auto m = Http(metrics_port, "GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(Sample(m.body, R"(inferd_inference_rows_total{model="iris",version="1"})"), 1);
  EXPECT_EQ(Http(metrics_port, "POST", "/v2/models/iris/infer", "{}").status, 404);
  EXPECT_EQ(Http(metrics_port, "DELETE", "/metrics").status, 405);
  EXPECT_EQ(Http(server->port(), "GET", "/metrics").status, 200);  // still on the main port
}

}  // namespace
}  // namespace inferd::testing
