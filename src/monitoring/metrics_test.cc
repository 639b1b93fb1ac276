#include "monitoring/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace inferd::monitoring {
namespace {

TEST(MetricsTest, CountersGaugesHistogramsRender) {
  MetricsRegistry r;
  auto& c = r.AddCounter("x_requests_total", "Requests.", {"model", "outcome"});
  c.WithLabels({"a", "ok"}).Increment();
  c.WithLabels({"a", "ok"}).Increment(2);
  c.WithLabels({"b\"q", "err"}).Increment();
  auto& g = r.AddGauge("x_depth", "Depth.", {});
  g.WithLabels({}).Set(4.5);
  auto& h = r.AddHistogram("x_seconds", "Latency.", {"model"}, {0.1, 1});
  h.WithLabels({"a"}).Observe(0.05);
  h.WithLabels({"a"}).Observe(0.5);
  h.WithLabels({"a"}).Observe(5);
  r.AddCallbackGauge("x_live", "Live.", {"k"}, [] {
    return MetricsRegistry::GaugeSamples{{{"v"}, 2}};
  });
  std::string text = r.RenderPrometheus();
  EXPECT_NE(text.find("# TYPE x_requests_total counter\n"), std::string::npos);
  EXPECT_NE(text.find("x_requests_total{model=\"a\",outcome=\"ok\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_requests_total{model=\"b\\\"q\",outcome=\"err\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("x_depth 4.5\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{model=\"a\",le=\"0.1\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{model=\"a\",le=\"1\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_bucket{model=\"a\",le=\"+Inf\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_sum{model=\"a\"} 5.55\n"), std::string::npos);
  EXPECT_NE(text.find("x_seconds_count{model=\"a\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("x_live{k=\"v\"} 2\n"), std::string::npos);
}

TEST(MetricsTest, RemoveStopsExportingAndCellsSurvive) {
  MetricsRegistry r;
  auto& c = r.AddCounter("y_total", "Y.", {"v"});
  Counter& cell = c.WithLabels({"1"});
  c.Remove({"1"});
  cell.Increment();  // still safe to touch
  EXPECT_EQ(r.RenderPrometheus().find("y_total{"), std::string::npos);
}

TEST(MetricsTest, ConcurrentIncrementsAreCounted) {
  MetricsRegistry r;
  auto& c = r.AddCounter("z_total", "Z.", {"t"});
  auto& h = r.AddHistogram("z_seconds", "Z.", {});
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.WithLabels({"x"}).Increment();
        h.WithLabels({}).Observe(0.001);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(c.WithLabels({"x"}).value(), 40000u);
  EXPECT_EQ(h.WithLabels({}).Read().count, 40000u);
}

}  // namespace
}  // namespace inferd::monitoring
