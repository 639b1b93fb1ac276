#include "inference/shadow.h"

#include <pthread.h>

#include <algorithm>
#include <cmath>

#include "base/logging.h"

namespace inferd::inference {

namespace {

constexpr size_t kMaxQueued = 1024;
constexpr size_t kWakeAt = 128;  // queued requests that wake the shadow thread
constexpr std::chrono::milliseconds kCollect(2);
constexpr std::chrono::milliseconds kIdle(200);

// The largest absolute difference between two outputs' elements; none when their names, dtypes
// or shapes differ, or they are not numeric (BYTES: 0 when the bytes are equal).
std::optional<double> MaxAbsDiff(const tensor::Tensor& a, const tensor::Tensor& b) {
  if (a.name() != b.name() || a.shape() != b.shape() || a.dtype() != b.dtype()) {
    return std::nullopt;
  }
  double max = 0;
  const bool numeric = tensor::VisitNumericType(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto x = a.data<T>();
    auto y = b.data<T>();
    for (size_t i = 0; i < x.size(); ++i) {
      const double d = std::abs(static_cast<double>(x[i]) - static_cast<double>(y[i]));
      if (!(d <= max)) max = d;  // NaN too
    }
  });
  if (!numeric) {
    if (std::ranges::equal(a.bytes(), b.bytes())) return 0.0;
    return std::nullopt;
  }
  return max;
}

}  // namespace

ShadowPair::Side ShadowPair::Keep(const base::StatusOr<InferResponse>& answer, double ms) {
  Side side;
  side.ms = ms;
  if (!answer.ok()) {
    side.status = answer.status();
    return side;
  }
  bool scored = false;
  for (const auto& t : answer->outputs) {
    if (t.name() == "label") {
      side.label = t;
    } else if (!scored) {
      side.score = t;
      scored = true;
    }
  }
  return side;
}

void ShadowPair::Primary(const base::StatusOr<InferResponse>& answer) {
  const double ms =
      std::chrono::duration<double, std::milli>(runner_->clock_->Now() - start).count();
  Side side = Keep(answer, ms);
  std::lock_guard<std::mutex> lock(mu_);
  primary_ = std::move(side);
  if (shadow_) CompareLocked();
}

void ShadowPair::Shadow(const base::StatusOr<InferResponse>& answer, double ms) {
  Side side = Keep(answer, ms);
  std::lock_guard<std::mutex> lock(mu_);
  shadow_ = std::move(side);
  if (primary_) CompareLocked();
}

void ShadowPair::CompareLocked() {
  std::string outcome;
  std::optional<double> diff;
  if (!shadow_->status.ok()) {
    outcome = "shadow_error";
  } else if (!primary_->status.ok()) {
    outcome = "primary_error";
  } else {
    const Side &p = *primary_, &s = *shadow_;
    diff = MaxAbsDiff(p.score, s.score);
    bool agree;
    if (!p.label.name().empty() && !s.label.name().empty()) {
      const auto label_diff = MaxAbsDiff(p.label, s.label);
      agree = label_diff && *label_diff == 0;
    } else {
      const bool p_scored = !p.score.name().empty(), s_scored = !s.score.name().empty();
      agree = p_scored == s_scored && (!p_scored || (diff && *diff <= tolerance));
    }
    outcome = agree ? "agree" : "disagree";
  }
  runner_->Record(model, outcome, primary_->ms, shadow_->ms, diff);
}

ShadowRunner::ShadowRunner(monitoring::MetricsRegistry* metrics, const base::Clock* clock,
                           ResolveFn resolve, RunFn run)
    : clock_(clock), resolve_(std::move(resolve)), run_(std::move(run)) {
  outcomes_ = &metrics->AddCounter(
      "inferd_shadow_requests_total",
      "Shadow runs by outcome: agree, disagree, shadow_error, primary_error, dropped.",
      {"model", "outcome"});
  abs_diff_ = &metrics->AddHistogram(
      "inferd_shadow_abs_diff",
      "Per compared pair, the largest absolute difference between the primary's and the shadow's "
      "scores (the first output that is not label).",
      {"model"}, {1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1});
  thread_ = std::thread([this] { Loop(); });
}

ShadowRunner::~ShadowRunner() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

ShadowRunner::PerModel& ShadowRunner::ModelLocked(const std::string& model) {
  auto it = models_.find(model);
  if (it != models_.end()) return it->second;
  PerModel m;
  m.agree = &outcomes_->WithLabels({model, "agree"});
  m.disagree = &outcomes_->WithLabels({model, "disagree"});
  m.shadow_error = &outcomes_->WithLabels({model, "shadow_error"});
  m.primary_error = &outcomes_->WithLabels({model, "primary_error"});
  m.dropped = &outcomes_->WithLabels({model, "dropped"});
  m.abs_diff = &abs_diff_->WithLabels({model});
  return models_.emplace(model, m).first->second;
}

std::shared_ptr<ShadowPair> ShadowRunner::Start(const std::string& model, int64_t version,
                                                const InferRequest& request, double tolerance) {
  auto pair = std::make_shared<ShadowPair>();
  pair->runner_ = this;
  pair->model = model;
  pair->tolerance = tolerance;
  pair->start = clock_->Now();
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued || stopping_) {
      PerModel& m = ModelLocked(model);
      ++m.stats.dropped;
      m.dropped->Increment();
      return nullptr;
    }
    queue_.push_back({pair, version, request});
    wake = idle_ || queue_.size() == kWakeAt;
    idle_ = false;
  }
  if (wake) cv_.notify_one();
  return pair;
}

namespace {

// Rows of a request: dimension 0 shared by every input, or -1.
int64_t Rows(const InferRequest& r) {
  int64_t rows = -1;
  for (const auto& t : r.inputs) {
    if (t.shape().empty() || (rows >= 0 && t.shape()[0] != rows)) return -1;
    rows = t.shape()[0];
  }
  return rows;
}

// Whether two requests' inputs can be joined along dimension 0.
bool Mergeable(const InferRequest& a, const InferRequest& b) {
  if (a.inputs.size() != b.inputs.size() || a.outputs != b.outputs) return false;
  for (size_t k = 0; k < a.inputs.size(); ++k) {
    const auto &x = a.inputs[k], &y = b.inputs[k];
    if (x.name() != y.name() || x.dtype() != y.dtype() || x.shape().size() != y.shape().size() ||
        !std::equal(x.shape().begin() + 1, x.shape().end(), y.shape().begin() + 1)) {
      return false;
    }
  }
  return true;
}

}  // namespace

void ShadowRunner::Loop() {
  pthread_setname_np(pthread_self(), "inferd-shadow");
  std::vector<Task> tasks;
  auto idle_since = clock_->Now();
  for (;;) {
    tasks.clear();
    {
      std::unique_lock<std::mutex> lock(mu_);
      // Waking for every request would cost the serving threads a context switch each: the
      // thread collects for kCollect (or until kWakeAt are queued), and sleeps until notified only
      // after kIdle without work.
      for (;;) {
        if (stopping_) return;
        if (queue_.size() >= kWakeAt) break;
        if (!queue_.empty()) {
          cv_.wait_for(lock, kCollect, [this] { return stopping_ || queue_.size() >= kWakeAt; });
          if (stopping_) return;
          break;
        }
        if (clock_->Now() - idle_since >= kIdle) {
          idle_ = true;
          cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        } else {
          cv_.wait_for(lock, kCollect);
        }
      }
      idle_ = false;
      for (auto& t : queue_) tasks.push_back(std::move(t));
      queue_.clear();
    }
    idle_since = clock_->Now();
    // Runs of the same model and version, in arrival order.
    size_t begin = 0;
    while (begin < tasks.size()) {
      size_t end = begin + 1;
      while (end < tasks.size() && tasks[end].version == tasks[begin].version &&
             tasks[end].pair->model == tasks[begin].pair->model) {
        ++end;
      }
      RunGroup(tasks, begin, end);
      begin = end;
    }
  }
}

void ShadowRunner::RunGroup(std::vector<Task>& tasks, size_t begin, size_t end) {
  auto handle = resolve_(tasks[begin].pair->model, tasks[begin].version);
  if (!handle.ok()) {
    for (size_t i = begin; i < end; ++i) tasks[i].pair->Shadow(handle.status(), 0);
    return;
  }
  auto run_one = [&](Task& task) {
    const auto t0 = clock_->Now();
    auto answer = run_(std::move(task.request), *handle);
    const double ms = std::chrono::duration<double, std::milli>(clock_->Now() - t0).count();
    task.pair->Shadow(answer, ms);
  };
  // Joins tasks [i, j) into one request; false (nothing answered) when that fails.
  auto run_merged = [&](size_t i, size_t j) {
    InferRequest merged;
    merged.model = tasks[i].request.model;
    merged.version = tasks[i].version;
    merged.id = "shadow";
    merged.outputs = tasks[i].request.outputs;
    std::vector<int64_t> parts;
    for (size_t k = i; k < j; ++k) parts.push_back(Rows(tasks[k].request));
    for (size_t in = 0; in < tasks[i].request.inputs.size(); ++in) {
      std::vector<const tensor::Tensor*> pieces;
      for (size_t k = i; k < j; ++k) pieces.push_back(&tasks[k].request.inputs[in]);
      auto joined = tensor::ConcatRows(pieces, tasks[i].request.inputs[in].name());
      if (!joined.ok()) return false;
      merged.inputs.push_back(std::move(joined).value());
    }
    const auto t0 = clock_->Now();
    auto answer = run_(std::move(merged), *handle);
    const double ms = std::chrono::duration<double, std::milli>(clock_->Now() - t0).count();
    if (!answer.ok()) return false;
    std::vector<InferResponse> split(j - i);
    for (const auto& out : answer->outputs) {
      auto pieces = tensor::SplitRows(out, parts);
      if (!pieces.ok()) return false;
      for (size_t k = 0; k < split.size(); ++k) split[k].outputs.push_back(std::move((*pieces)[k]));
    }
    for (size_t k = i; k < j; ++k) {
      InferResponse& r = split[k - i];
      r.model = answer->model;
      r.version = answer->version;
      r.id = tasks[k].request.id;
      tasks[k].pair->Shadow(std::move(r), ms);
    }
    return true;
  };
  const int64_t max_rows = handle->config ? handle->config->max_batch_size : 0;
  size_t i = begin;
  while (i < end) {
    size_t j = i + 1;
    int64_t rows = Rows(tasks[i].request);
    if (max_rows > 1 && rows > 0) {
      while (j < end && Mergeable(tasks[i].request, tasks[j].request)) {
        const int64_t r = Rows(tasks[j].request);
        if (r <= 0 || rows + r > max_rows) break;
        rows += r;
        ++j;
      }
    }
    if (j - i == 1 || !run_merged(i, j)) {
      for (size_t k = i; k < j; ++k) run_one(tasks[k]);
    }
    i = j;
  }
}

void ShadowRunner::Record(const std::string& model, const std::string& outcome, double primary_ms,
                          double shadow_ms, std::optional<double> abs_diff) {
  std::lock_guard<std::mutex> lock(mu_);
  PerModel& m = ModelLocked(model);
  ShadowStats& s = m.stats;
  ++s.pairs;
  if (outcome == "agree") {
    ++s.agree;
    m.agree->Increment();
  } else if (outcome == "disagree") {
    ++s.disagree;
    m.disagree->Increment();
  } else if (outcome == "shadow_error") {
    ++s.shadow_errors;
    m.shadow_error->Increment();
  } else {
    m.primary_error->Increment();
  }
  s.primary_ms_sum += primary_ms;
  s.shadow_ms_sum += shadow_ms;
  if (abs_diff) {
    ++s.scored;
    s.abs_diff_sum += *abs_diff;
    s.abs_diff_max = std::max(s.abs_diff_max, *abs_diff);
    m.abs_diff->Observe(*abs_diff);
  }
}

ShadowStats ShadowRunner::Stats(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(model);
  return it == models_.end() ? ShadowStats() : it->second.stats;
}

}  // namespace inferd::inference
