// Automatic rollback: while a canary takes traffic, a watcher compares it with stable over a
// sliding window — by default on error rate and p99 latency — and, when the canary is worse by the
// configured margin with enough requests on both sides, sets its weight to 0 (stable takes all the
// traffic), with an `auto_rollback` audit entry and a log line naming the signal and the numbers.
//
// config.yaml:
//   rollout:
//     labels: {stable: 1, canary: 2}
//     weights: {stable: 90, canary: 10}
//     auto_rollback: {window_s: 60, min_samples: 100, error_rate_margin: 0.01,
//                     p99_margin: 0.5, p99_min_diff_ms: 1, signals: [error_rate, p99_latency]}
//
// Signals are pluggable: a Signal sees both versions' window and says whether, and why, the canary
// is worse; Signals() lists them by name (#7 adds quality signals from delayed ground truth).
// The window restarts whenever the model's stable, canary or weights change, so a canary set again
// after a rollback is judged on its new traffic only.
// Thread-safety: AutoRollback runs on its own thread; Tick() may also be called directly (tests).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "monitoring/metrics.h"
#include "monitoring/request_counts.h"

namespace inferd::rollout {

class Controller;

struct AutoRollbackConfig {
  bool enabled = false;
  std::chrono::seconds window{60};
  int64_t min_samples = 100;        // requests each version needs in the window
  double error_rate_margin = 0.01;  // canary's error rate > stable's + this (absolute)
  double p99_margin = 0.5;          // canary's p99 > stable's * (1 + this) ...
  double p99_min_diff_ms = 1.0;     // ... and by at least this many ms
  // Quality signals (accuracy, f1_macro, roc_auc, log_loss, mae, rmse, r2: from feedback joined
  // by the model's monitor over the window): the canary is worse by more than this (absolute)
  // once both versions have min_feedback labelled predictions.
  double quality_margin = 0.02;
  int64_t min_feedback = 50;
  std::vector<std::string> signals = {"error_rate", "p99_latency"};
};
// Errors name the field: window_s >= 1, min_samples >= 1, margins >= 0, known signals.
base::Status ValidateAutoRollback(const AutoRollbackConfig& config);

// What a signal judges: the two versions' counts over the window (each has >= min_samples).
// A version's quality metric over a window: its value and how many labelled predictions made it.
using QualityFn = std::function<std::optional<std::pair<double, uint64_t>>(
    const std::string& model, int64_t version, const std::string& metric, int64_t window_s)>;

struct WindowView {
  const std::string& model;
  int64_t stable = 0, canary = 0;
  const monitoring::RequestCounts::Snapshot& stable_counts;
  const monitoring::RequestCounts::Snapshot& canary_counts;
  const AutoRollbackConfig& config;
  const QualityFn* quality = nullptr;  // null: no quality signal can judge
};

class Signal {
 public:
  virtual ~Signal() = default;
  virtual std::string_view name() const = 0;
  // Why the canary is worse than stable, or nothing when it is not.
  virtual std::optional<std::string> Worse(const WindowView& view) const = 0;
};

// The signals by name: error_rate, p99_latency, and the quality metrics accuracy, f1_macro,
// roc_auc, log_loss, mae, rmse, r2.
const std::map<std::string, std::unique_ptr<Signal>, std::less<>>& Signals();

struct AutoRollbackOptions {
  Controller* controller = nullptr;                // not owned, required
  monitoring::MetricsRegistry* metrics = nullptr;  // not owned, required
  const base::Clock* clock = &base::Clock::Real();
  // The models to watch, and a model's config (enabled or not).
  std::function<std::vector<std::string>()> models;
  std::function<std::optional<AutoRollbackConfig>(const std::string&)> config;
  // A version's cumulative counts; none before its first request.
  std::function<std::optional<monitoring::RequestCounts::Snapshot>(const std::string&, int64_t)>
      counts;
  std::chrono::milliseconds interval{250};  // how often the thread ticks
  QualityFn quality;                        // may be empty: quality signals never judge
};

class AutoRollback {
 public:
  explicit AutoRollback(AutoRollbackOptions options);
  ~AutoRollback();  // stops the thread

  void Start();
  // One look at every watched model; returns the models rolled back.
  std::vector<std::string> Tick();

 private:
  struct Sample {
    base::Clock::TimePoint at;
    monitoring::RequestCounts::Snapshot stable, canary;
  };
  struct Watch {
    std::string key;  // stable, canary and weights: a change restarts the window
    std::deque<Sample> samples;
  };
  void Loop();

  AutoRollbackOptions o_;
  monitoring::Family<monitoring::Counter>* rollbacks_;
  std::map<std::string, Watch> watches_;  // by model; only the ticking thread touches it
  std::mutex tick_mu_;                    // one Tick at a time
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace inferd::rollout
