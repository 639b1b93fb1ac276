#include "rollout/auto_rollback.h"

#include <fmt/format.h>
#include <pthread.h>

#include <nlohmann/json.hpp>
#include <set>

#include "base/logging.h"
#include "rollout/controller.h"

namespace inferd::rollout {

namespace {

std::string Percent(double share) { return fmt::format("{:.2f}%", share * 100); }

class ErrorRateSignal final : public Signal {
 public:
  std::string_view name() const override { return "error_rate"; }
  std::optional<std::string> Worse(const WindowView& v) const override {
    const double c = v.canary_counts.ErrorRate(), s = v.stable_counts.ErrorRate();
    if (!(c > s + v.config.error_rate_margin)) return std::nullopt;
    return fmt::format("error rate {} ({} of {}) vs stable's {} ({} of {}), margin {}", Percent(c),
                       v.canary_counts.errors, v.canary_counts.requests, Percent(s),
                       v.stable_counts.errors, v.stable_counts.requests,
                       Percent(v.config.error_rate_margin));
  }
};

class P99LatencySignal final : public Signal {
 public:
  std::string_view name() const override { return "p99_latency"; }
  std::optional<std::string> Worse(const WindowView& v) const override {
    const double c = v.canary_counts.Quantile(0.99) * 1e3, s = v.stable_counts.Quantile(0.99) * 1e3;
    if (!(c > s * (1 + v.config.p99_margin) && c - s > v.config.p99_min_diff_ms)) {
      return std::nullopt;
    }
    return fmt::format(
        "p99 latency {:.3f} ms vs stable's {:.3f} ms (margin {:.0f}%, at least {} ms)", c, s,
        v.config.p99_margin * 100, v.config.p99_min_diff_ms);
  }
};

// A quality metric of the canary against stable's, from the model's monitor.
class QualitySignal final : public Signal {
 public:
  QualitySignal(std::string metric, bool higher_is_better)
      : metric_(std::move(metric)), higher_(higher_is_better) {}
  std::string_view name() const override { return metric_; }
  std::optional<std::string> Worse(const WindowView& v) const override {
    if (v.quality == nullptr || !*v.quality) return std::nullopt;
    const int64_t window = v.config.window.count();
    auto s = (*v.quality)(v.model, v.stable, metric_, window);
    auto c = (*v.quality)(v.model, v.canary, metric_, window);
    const uint64_t need = static_cast<uint64_t>(v.config.min_feedback);
    if (!s || !c || s->second < need || c->second < need) return std::nullopt;
    const double m = v.config.quality_margin;
    const bool worse = higher_ ? c->first < s->first - m : c->first > s->first + m;
    if (!worse) return std::nullopt;
    return fmt::format("{} {:.4f} ({} labelled) vs stable's {:.4f} ({} labelled), margin {}",
                       metric_, c->first, c->second, s->first, s->second, m);
  }

 private:
  std::string metric_;
  bool higher_;
};

}  // namespace

const std::map<std::string, std::unique_ptr<Signal>, std::less<>>& Signals() {
  static const auto* signals = [] {
    auto* m = new std::map<std::string, std::unique_ptr<Signal>, std::less<>>();
    for (Signal* s : std::initializer_list<Signal*>{
             new ErrorRateSignal, new P99LatencySignal, new QualitySignal("accuracy", true),
             new QualitySignal("f1_macro", true), new QualitySignal("roc_auc", true),
             new QualitySignal("log_loss", false), new QualitySignal("mae", false),
             new QualitySignal("rmse", false), new QualitySignal("r2", true)}) {
      m->emplace(std::string(s->name()), std::unique_ptr<Signal>(s));
    }
    return m;
  }();
  return *signals;
}

base::Status ValidateAutoRollback(const AutoRollbackConfig& c) {
  if (c.window.count() < 1) return base::InvalidArgument("window_s must be >= 1");
  if (c.min_samples < 1) return base::InvalidArgument("min_samples must be >= 1");
  if (!(c.error_rate_margin >= 0) || !(c.p99_margin >= 0) || !(c.p99_min_diff_ms >= 0) ||
      !(c.quality_margin >= 0)) {
    return base::InvalidArgument(
        "error_rate_margin, p99_margin, p99_min_diff_ms and quality_margin must be numbers >= 0");
  }
  if (c.min_feedback < 1) return base::InvalidArgument("min_feedback must be >= 1");
  if (c.signals.empty()) return base::InvalidArgument("signals must name at least one signal");
  for (const auto& name : c.signals) {
    if (!Signals().contains(name)) {
      std::string known;
      for (const auto& [n, _] : Signals()) known += (known.empty() ? "" : ", ") + n;
      return base::InvalidArgument("unknown signal '" + name + "' (" + known + ")");
    }
  }
  return base::Status::Ok();
}

AutoRollback::AutoRollback(AutoRollbackOptions options) : o_(std::move(options)) {
  rollbacks_ = &o_.metrics->AddCounter(
      "inferd_rollout_auto_rollbacks_total",
      "Canaries whose weight automatic rollback set to 0, by the signal that judged them worse.",
      {"model", "signal"});
}

AutoRollback::~AutoRollback() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void AutoRollback::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void AutoRollback::Loop() {
  pthread_setname_np(pthread_self(), "inferd-rollback");
  std::unique_lock<std::mutex> lock(mu_);
  while (!cv_.wait_for(lock, o_.interval, [this] { return stopping_; })) {
    lock.unlock();
    Tick();
    lock.lock();
  }
}

std::vector<std::string> AutoRollback::Tick() {
  std::lock_guard<std::mutex> tick(tick_mu_);
  std::vector<std::string> rolled_back;
  std::set<std::string> watched;
  const auto now = o_.clock->Now();
  for (const std::string& model : o_.models()) {
    const auto config = o_.config(model);
    if (!config || !config->enabled) continue;
    auto policy = o_.controller->EffectivePolicy(model);
    if (!policy.ok()) continue;
    // A canary taking traffic, and the stable version it is compared with.
    auto c = policy->labels.find("canary");
    auto s = policy->labels.find("stable");
    if (c == policy->labels.end() || s == policy->labels.end() || c->second == s->second ||
        WeightOf(*policy, c->second) == 0) {
      continue;
    }
    const int64_t canary = c->second, stable = s->second;
    watched.insert(model);
    Watch& w = watches_[model];
    std::string key = std::to_string(stable) + "/" + std::to_string(canary);
    for (const auto& [target, weight] : policy->weights) {
      key += "/" + target + "=" + std::to_string(weight);
    }
    if (w.key != key) {  // a new canary or new weights: a new window
      w.key = std::move(key);
      w.samples.clear();
    }
    w.samples.push_back({now,
                         o_.counts(model, stable).value_or(monitoring::RequestCounts::Snapshot{}),
                         o_.counts(model, canary).value_or(monitoring::RequestCounts::Snapshot{})});
    while (w.samples.size() > 1 && now - w.samples.front().at > config->window) {
      w.samples.pop_front();
    }
    const auto stable_window = w.samples.back().stable - w.samples.front().stable;
    const auto canary_window = w.samples.back().canary - w.samples.front().canary;
    if (static_cast<int64_t>(stable_window.requests) < config->min_samples ||
        static_cast<int64_t>(canary_window.requests) < config->min_samples) {
      continue;
    }
    const WindowView view{model,         stable,  canary,     stable_window,
                          canary_window, *config, &o_.quality};
    for (const auto& name : config->signals) {
      auto signal = Signals().find(name);
      if (signal == Signals().end()) continue;
      auto why = signal->second->Worse(view);
      if (!why) continue;
      const nlohmann::json detail = {{"canary", canary},
                                     {"stable", stable},
                                     {"signal", name},
                                     {"reason", *why},
                                     {"window_s", config->window.count()},
                                     {"canary_requests", canary_window.requests},
                                     {"stable_requests", stable_window.requests}};
      auto done = o_.controller->AutoRollbackCanary(model, canary, detail.dump());
      if (done.ok()) {
        LOG_WARN("auto-rollback of '{}': canary version {} set to weight 0, {}", model, canary,
                 *why);
        rollbacks_->WithLabels({model, name}).Increment();
        rolled_back.push_back(model);
      } else {
        LOG_WARN("auto-rollback of '{}' version {} not applied: {}", model, canary,
                 done.status().message());
      }
      watches_.erase(model);
      break;
    }
  }
  std::erase_if(watches_, [&](const auto& kv) { return !watched.contains(kv.first); });
  return rolled_back;
}

}  // namespace inferd::rollout
