// Metrics: counters, gauges and histograms with labels, and their exposition in the Prometheus
// text format (version 0.0.4).
// Thread-safety: everything here is thread-safe. Cells returned by WithLabels() live as long as
// the registry, so hot paths look a cell up once and keep the reference.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/thread_annotations.h"

namespace inferd::monitoring {

using LabelValues = std::vector<std::string>;

class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

class Gauge {
 public:
  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Add(double d);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: strictly increasing upper bounds; +Inf is implied.
  explicit Histogram(const std::vector<double>* bounds);
  void Observe(double v);
  // Cumulative counts per bound plus +Inf last; sum; count.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<double>* bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // bounds_->size() + 1
  std::atomic<double> sum_{0};
};

// Latency buckets in seconds, 50 µs to 10 s.
const std::vector<double>& DefaultLatencyBuckets();

template <typename Cell>
class Family;

class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Names follow Prometheus rules (counters end in _total). CHECK-fails on a duplicate name:
  // metrics are declared once at start-up.
  Family<Counter>& AddCounter(std::string name, std::string help, std::vector<std::string> labels);
  Family<Gauge>& AddGauge(std::string name, std::string help, std::vector<std::string> labels);
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> labels,
                                  std::vector<double> bounds = DefaultLatencyBuckets());
  // A gauge computed when scraped: `fn` returns (label values, value) pairs. `fn` must not call
  // back into the registry.
  using GaugeSamples = std::vector<std::pair<LabelValues, double>>;
  void AddCallbackGauge(std::string name, std::string help, std::vector<std::string> labels,
                        std::function<GaugeSamples()> fn);

  // The whole registry in the Prometheus text exposition format.
  std::string RenderPrometheus() const;

  struct FamilyBase {
    virtual ~FamilyBase() = default;
    virtual void Render(std::string* out) const = 0;
  };

 private:
  void Add(const std::string& name, std::unique_ptr<FamilyBase> f);
  mutable base::Mutex mu_;
  std::vector<std::pair<std::string, std::unique_ptr<FamilyBase>>> families_ GUARDED_BY(mu_);
};

namespace internal {
void AppendEscapedLabelValue(std::string* out, const std::string& v);
void AppendHeader(std::string* out, const std::string& name, const std::string& help,
                  const char* type);
void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  const LabelValues& values, const std::string& extra_name = "",
                  const std::string& extra_value = "");
void AppendNumber(std::string* out, double v);
}  // namespace internal

// A metric with a fixed set of label names; one cell per combination of values.
template <typename Cell>
class Family final : public MetricsRegistry::FamilyBase {
 public:
  Family(std::string name, std::string help, std::vector<std::string> labels,
         std::vector<double> bounds = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        labels_(std::move(labels)),
        bounds_(std::move(bounds)) {}

  // The cell for these label values (created on first use). Precondition: one value per label.
  Cell& WithLabels(const LabelValues& values) EXCLUDES(mu_);
  // Removes a cell (e.g. when a model version is unloaded). References to it become dangling only
  // in the sense that they stop being exported; the cell itself is kept alive.
  void Remove(const LabelValues& values) EXCLUDES(mu_);
  void Render(std::string* out) const override EXCLUDES(mu_);

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::vector<double> bounds_;
  mutable base::Mutex mu_;
  std::map<LabelValues, Cell*> live_ GUARDED_BY(mu_);
  std::vector<std::unique_ptr<Cell>> cells_ GUARDED_BY(mu_);  // every cell ever made
};

}  // namespace inferd::monitoring
