#include "monitoring/model_monitor.h"

#include <pthread.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <type_traits>

#include "base/ids.h"
#include "base/logging.h"
#include "base/sha256.h"
#include "monitoring/quality.h"

namespace inferd::monitoring {

namespace {

using nlohmann::json;

constexpr size_t kMaxQueued = 16384;
constexpr size_t kWriteAt =
    2048;  // queued observations that wake the writer (fewer, larger commits)
constexpr auto kWriteEvery = std::chrono::milliseconds(100);
// With a shared store: how many more looks for a prediction another replica may not have written.
constexpr int kReplicaLooks = 3;
constexpr int64_t kPruneEveryMs = 60'000;

const tensor::Tensor* Find(std::span<const tensor::Tensor> ts, const std::string& name) {
  if (name.empty()) return nullptr;
  for (const auto& t : ts) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

// Merges two buckets' quality JSON.
base::StatusOr<std::string> MergeQuality(const std::string& a, const std::string& b) {
  if (a.find("\"classes\"") != std::string::npos) {
    ASSIGN_OR_RETURN(auto x, ClassificationCounts::FromJson(a));
    ASSIGN_OR_RETURN(auto y, ClassificationCounts::FromJson(b));
    RETURN_IF_ERROR(x.Merge(y));
    return x.ToJson();
  }
  ASSIGN_OR_RETURN(auto x, RegressionCounts::FromJson(a));
  ASSIGN_OR_RETURN(auto y, RegressionCounts::FromJson(b));
  x.Merge(y);
  return x.ToJson();
}

constexpr size_t kBucketSample = 100;   // reservoir per numeric column and drift bucket
constexpr size_t kWindowSample = 1000;  // ... and per window
constexpr int64_t kDriftFlushMs = 5000;
constexpr int64_t kGaugesEveryMs = 5000;

}  // namespace

base::StatusOr<OutputRoles> RolesOf(const backend::ModelSignature& signature,
                                    const config::MonitoringConfig& config) {
  OutputRoles r;
  for (const auto& spec : signature.outputs) {
    if (spec.name == "probabilities" && spec.shape.size() == 2 && spec.shape[1] >= 2) {
      r.probabilities = spec.name;
      r.classes = static_cast<int>(spec.shape[1]);
    } else if (spec.name == "label") {
      r.label = spec.name;
    }
  }
  if (r.classes == 0 && !r.label.empty()) {
    r.classes = static_cast<int>(config.classes.size());
    if (r.classes < 2) {
      return base::InvalidArgument(
          "monitoring: the model has a label output but no probabilities: name its classes in "
          "monitoring.classes");
    }
  }
  if (r.classes == 0) {
    r.label.clear();
    for (const auto& spec : signature.outputs) {
      if (spec.default_output) {
        r.value = spec.name;
        break;
      }
    }
    if (r.value.empty()) return base::InvalidArgument("monitoring: the model has no output");
  }
  const std::string task = r.classes == 0 ? "regression" : r.classes == 2 ? "binary" : "multiclass";
  if (config.task != "auto" && config.task != task) {
    return base::InvalidArgument("monitoring.task is " + config.task + " but the model's outputs " +
                                 "make it " + task);
  }
  if (!config.classes.empty() && r.classes != 0 &&
      config.classes.size() != static_cast<size_t>(r.classes)) {
    return base::InvalidArgument("monitoring.classes names " +
                                 std::to_string(config.classes.size()) +
                                 " classes; the model has " + std::to_string(r.classes));
  }
  return r;
}

MonitorMetrics::MonitorMetrics(MetricsRegistry* registry) {
  records = &registry->AddCounter(
      "inferd_monitor_records_total",
      "Prediction records of monitored models: stored, dropped (queue full), store_error.",
      {"model", "outcome"});
  feedback = &registry->AddCounter(
      "inferd_feedback_total",
      "Feedback items: joined, unknown_id (unknown or expired), duplicate, bad_label.",
      {"model", "result"});
  data_quality = &registry->AddCounter(
      "inferd_data_quality_issues_total",
      "Values of served rows checked against the profile: missing, out_of_range, unseen.",
      {"model", "feature", "issue"});
  alerts = &registry->AddCounter("inferd_alerts_total", "Alert events: firing, resolved.",
                                 {"model", "alert", "event"});
  webhook = &registry->AddCounter(
      "inferd_alert_webhook_total",
      "Alert events sent to the webhook: sent, failed (after retries), dropped (queue full).",
      {"model", "result"});
  auto each = [this](auto&& add) {
    MetricsRegistry::GaugeSamples out;
    if (MonitorRegistry* r = monitors.load()) {
      for (ModelMonitor* m : r->All()) add(*m, m->CurrentGauges(), out);
    }
    return out;
  };
  registry->AddCallbackGauge(
      "inferd_model_quality",
      "Model quality from joined feedback over a sliding window (accuracy, f1_macro, roc_auc, "
      "log_loss; mae, rmse, r2, mape).",
      {"model", "version", "window", "metric"}, [each] {
        return each([](ModelMonitor& m, const ModelMonitor::Gauges& g, auto& out) {
          for (const auto& [v, w, metric, value] : g.quality) {
            out.push_back({{m.model(), std::to_string(v), std::to_string(w) + "s", metric}, value});
          }
        });
      });
  registry->AddCallbackGauge(
      "inferd_drift_statistic",
      "Per feature, the drift test's statistic over the drift window (p-value tests: the "
      "statistic; distances: the distance).",
      {"model", "version", "feature"}, [each] {
        return each([](ModelMonitor& m, const ModelMonitor::Gauges& g, auto& out) {
          for (const auto& [v, feature, statistic, drifted] : g.drift) {
            out.push_back({{m.model(), std::to_string(v), feature}, statistic});
          }
        });
      });
  registry->AddCallbackGauge(
      "inferd_drift_detected", "1 when the feature drifted over the drift window, else 0.",
      {"model", "version", "feature"}, [each] {
        return each([](ModelMonitor& m, const ModelMonitor::Gauges& g, auto& out) {
          for (const auto& [v, feature, statistic, drifted] : g.drift) {
            out.push_back({{m.model(), std::to_string(v), feature}, drifted ? 1.0 : 0.0});
          }
        });
      });
  registry->AddCallbackGauge("inferd_alert_firing",
                             "1 while an alert fires (per rule and version).",
                             {"model", "alert", "version"}, [this] {
                               MetricsRegistry::GaugeSamples out;
                               if (MonitorRegistry* r = monitors.load()) {
                                 for (ModelMonitor* m : r->All()) {
                                   for (const auto& a : m->Alerts()) {
                                     out.push_back({{m->model(), a.rule, std::to_string(a.version)},
                                                    a.state == "firing" ? 1.0 : 0.0});
                                   }
                                 }
                               }
                               return out;
                             });
  registry->AddCallbackGauge(
      "inferd_dataset_drift_share", "The share of features that drifted over the drift window.",
      {"model", "version"}, [each] {
        return each([](ModelMonitor& m, const ModelMonitor::Gauges& g, auto& out) {
          for (const auto& [v, share] : g.dataset_drift) {
            out.push_back({{m.model(), std::to_string(v)}, share});
          }
        });
      });
}

ModelMonitor::ModelMonitor(ModelMonitorOptions options)
    : o_(std::move(options)), rng_(o_.seed ? o_.seed : std::random_device{}()) {
  auto& r = *o_.metrics->records;
  stored_ = &r.WithLabels({o_.model, "stored"});
  dropped_ = &r.WithLabels({o_.model, "dropped"});
  store_errors_ = &r.WithLabels({o_.model, "store_error"});
  auto& f = *o_.metrics->feedback;
  joined_ = &f.WithLabels({o_.model, "joined"});
  unknown_ = &f.WithLabels({o_.model, "unknown_id"});
  duplicate_ = &f.WithLabels({o_.model, "duplicate"});
  bad_label_ = &f.WithLabels({o_.model, "bad_label"});
  if (o_.profile) {
    for (const auto& feature : o_.profile->features) {
      auto& dq = *o_.metrics->data_quality;
      dq_.push_back({&dq.WithLabels({o_.model, feature.name, "missing"}),
                     &dq.WithLabels({o_.model, feature.name, "out_of_range"}),
                     &dq.WithLabels({o_.model, feature.name, "unseen"})});
    }
  }
  thread_ = std::thread([this] { Loop(); });
  if (!o_.config.webhook.empty() && o_.post) notifier_ = std::thread([this] { NotifyLoop(); });
}

ModelMonitor::~ModelMonitor() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  {
    std::lock_guard<std::mutex> lock(notify_mu_);
    notify_stop_ = true;
  }
  notify_cv_.notify_all();
  if (notifier_.joinable()) notifier_.join();
}

namespace {

// The start of the `span`-long bucket that holds `ms` (floor, negative times too).
int64_t FloorTo(int64_t ms, int64_t span) { return ms - ((ms % span) + span) % span; }

}  // namespace

int64_t ModelMonitor::BucketStart(int64_t ms) const {
  return FloorTo(ms, o_.config.bucket_s * 1000);
}

void ModelMonitor::Observe(int64_t version, const std::string& id,
                           std::span<const tensor::Tensor> inputs,
                           std::span<const tensor::Tensor> outputs) {
  Finish(Begin(version, inputs), id, outputs);
}

ModelMonitor::Observation ModelMonitor::Begin(int64_t version,
                                              std::span<const tensor::Tensor> inputs) {
  Observation o;
  Observation* obs = &o;
  obs->version = version;
  if (o_.profile && !inputs.empty()) {
    const auto& shape = inputs[0].shape();
    const int64_t width = static_cast<int64_t>(o_.profile->features.size());
    if ((shape.size() == 2 && shape[1] == width) || (shape.size() == 1 && shape[0] == width)) {
      const tensor::Tensor& t = inputs[0];
      tensor::VisitNumericType(t.dtype(), [&](auto tag) {
        using T = decltype(tag);
        for (T v : t.data<T>()) obs->data.push_back(static_cast<float>(v));
      });
      obs->n_features = static_cast<uint32_t>(obs->data.size());
    }
  }
  // Input logging, sampled here (a cheap per-thread generator).
  if (o_.config.log_sample_rate > 0) {
    thread_local uint64_t state = std::random_device{}() | 1;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    if (static_cast<double>(state >> 11) * 0x1.0p-53 < o_.config.log_sample_rate) {
      obs->logged.assign(inputs.begin(), inputs.end());
    }
  }
  return o;
}

void ModelMonitor::Finish(Observation&& o, const std::string& id,
                          std::span<const tensor::Tensor> outputs) {
  Observation* obs = &o;
  if (id.size() <= obs->id.size()) {
    std::copy(id.begin(), id.end(), obs->id.begin());
    obs->id_size = static_cast<uint8_t>(id.size());
  } else {
    obs->long_id = id;
  }
  obs->at_ms = o_.clock->WallNanos() / 1'000'000;
  const tensor::Tensor* label = Find(outputs, o_.roles.label);
  const tensor::Tensor* probs = Find(outputs, o_.roles.probabilities);
  const tensor::Tensor* value = Find(outputs, o_.roles.value);
  auto append = [&](const tensor::Tensor* t) -> uint32_t {
    if (t == nullptr) return 0;
    const size_t before = obs->data.size();
    tensor::VisitNumericType(t->dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (T v : t->data<T>()) obs->data.push_back(static_cast<float>(v));
    });
    return static_cast<uint32_t>(obs->data.size() - before);
  };
  obs->n_labels = append(label);
  obs->n_probs = append(probs);
  obs->n_values = append(value);
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (queue_.size() >= kMaxQueued || stopping_) {
      dropped_->Increment();
      return;
    }
    queue_.push_back(std::move(o));
    ++enqueued_;
    wake = queue_.size() == kWriteAt;
  }
  if (wake) cv_.notify_all();
}

void ModelMonitor::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_;
  cv_.notify_all();
  flushed_.wait(lock, [&] { return written_ >= target || stopping_; });
  lock.unlock();
  FlushDrift();
}

void ModelMonitor::Loop() {
  pthread_setname_np(pthread_self(), "inferd-monitor");
  std::vector<Observation> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, kWriteEvery, [this] {
        return stopping_ || queue_.size() >= kWriteAt || (!queue_.empty() && written_ < enqueued_);
      });
      batch.clear();
      for (auto& o : queue_) batch.push_back(std::move(o));
      queue_.clear();
      if (batch.empty() && stopping_) {
        lock.unlock();
        FlushDrift();
        return;
      }
    }
    if (!batch.empty()) Write(batch);
    {
      std::lock_guard<std::mutex> lock(mu_);
      written_ += batch.size();
    }
    flushed_.notify_all();
    const int64_t now = o_.clock->WallNanos() / 1'000'000;
    if (now - last_drift_flush_ms_ >= kDriftFlushMs) {
      last_drift_flush_ms_ = now;
      FlushDrift();
    }
    if (!o_.config.alerts.empty() && now - last_alerts_ms_ >= kGaugesEveryMs) {
      last_alerts_ms_ = now;
      EvaluateAlerts();
    }
    if (now - last_prune_ms_ >= kPruneEveryMs) {
      last_prune_ms_ = now;
      auto pruned =
          o_.store->Prune(o_.model, now - o_.config.retention_s * 1000, o_.config.max_records);
      if (!pruned.ok()) LOG_WARN("monitoring '{}': {}", o_.model, pruned.status().message());
    }
  }
}

namespace {

// Appends the shortest decimal that reads back as `v` as a float (model outputs are FP32; this is
// shorter to store and faster to write than the double's).
void AppendNumber(std::string* out, float v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

// {"name": {"shape": [...], "data": [...]}, ...}: the logged inputs, by hand (as the records).
void AppendInputs(std::string* out, std::span<const tensor::Tensor> inputs) {
  out->push_back('{');
  for (size_t i = 0; i < inputs.size(); ++i) {
    const tensor::Tensor& t = inputs[i];
    if (i) out->push_back(',');
    out->append(json(t.name()).dump());
    out->append(":{\"shape\":[");
    for (size_t d = 0; d < t.shape().size(); ++d) {
      if (d) out->push_back(',');
      out->append(std::to_string(t.shape()[d]));
    }
    out->append("],\"data\":[");
    bool first = true;
    tensor::VisitNumericType(t.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for (T v : t.data<T>()) {
        if (!first) out->push_back(',');
        first = false;
        if constexpr (std::is_floating_point_v<T>) {
          char buf[32];
          if (!std::isfinite(v)) {
            out->append("null");
          } else {
            auto r = std::to_chars(buf, buf + sizeof buf, v);
            out->append(buf, r.ptr);
          }
        } else {
          out->append(std::to_string(v));
        }
      }
    });
    out->append("]}");
  }
  out->push_back('}');
}

void AppendList(std::string* out, const float* v, size_t n) {
  out->push_back('[');
  for (size_t i = 0; i < n; ++i) {
    if (i) out->push_back(',');
    AppendNumber(out, v[i]);
  }
  out->push_back(']');
}

}  // namespace

void ModelMonitor::OutputsJson(const Observation& o, std::string* out) const {
  // {"l": [...], "p": [[...], ...], "v": [...]}, written by hand: this runs for every prediction.
  out->clear();
  out->reserve(24 + 14 * static_cast<size_t>(o.n_labels + o.n_probs + o.n_values));
  out->push_back('{');
  const float* d = o.data.data() + o.n_features;
  if (o.n_labels) {
    out->append("\"l\":");
    AppendList(out, d, o.n_labels);
  }
  d += o.n_labels;
  const size_t c = static_cast<size_t>(o_.roles.classes);
  if (o.n_probs && c > 0) {
    if (out->size() > 1) out->push_back(',');
    out->append("\"p\":[");
    for (size_t r = 0; r + c <= o.n_probs; r += c) {
      if (r) out->push_back(',');
      AppendList(out, d + r, c);
    }
    out->push_back(']');
  }
  d += o.n_probs;
  if (o.n_values) {
    if (out->size() > 1) out->push_back(',');
    out->append("\"v\":");
    AppendList(out, d, o.n_values);
  }
  out->push_back('}');
}

void ModelMonitor::Write(std::vector<Observation>& batch) {
  std::vector<PredictionRecord> records;
  records.reserve(batch.size());
  for (auto& o : batch) {
    PredictionRecord r;
    r.model = o_.model;
    r.id = o.Id();
    r.version = o.version;
    r.at_ms = o.at_ms;
    OutputsJson(o, &r.outputs_json);
    if (!o.logged.empty()) {
      if (o_.config.log_inputs) {
        AppendInputs(&r.inputs_json, o.logged);
        if (o_.seal) r.inputs_json = o_.seal(r.inputs_json, o_.model + "/" + r.id);
      } else {
        std::string bytes;
        for (const auto& t : o.logged) {
          bytes.append(reinterpret_cast<const char*>(t.bytes().data()), t.bytes().size());
        }
        r.inputs_sha256 = o_.digest ? o_.digest(bytes) : base::Sha256Hex(bytes);
      }
    }
    records.push_back(std::move(r));
    Accumulate(o);
  }
  if (auto st = o_.store->PutPredictions(records); !st.ok()) {
    store_errors_->Increment(records.size());
    LOG_WARN("monitoring '{}': {} prediction records not stored: {}", o_.model, records.size(),
             st.message());
    return;
  }
  stored_->Increment(records.size());
}

namespace {

// Whether a missing id may still sit in another replica's write queue: an id of the caller's
// own (its age is unknown), or one of inferd's made in the last few seconds. An old inferd id
// that is not found is unknown or expired: no waiting for it.
bool MayBeQueuedElsewhere(const std::vector<std::string>& ids,
                          const std::vector<PredictionRecord>& found, int64_t now_ms) {
  std::set<std::string> have;
  for (const auto& r : found) have.insert(r.id);
  for (const auto& id : ids) {
    if (have.contains(id)) continue;
    const auto t = base::RequestIdTimeMs(id);
    if (!t || now_ms - *t < 5000) return true;
  }
  return false;
}

}  // namespace

std::pair<int, std::string> ModelMonitor::Feedback(std::string_view body) {
  auto error = [](int status, const std::string& message) {
    return std::pair<int, std::string>(status, json({{"error", message}}).dump());
  };
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return error(400, "the feedback body is not JSON");
  const bool single = j.is_object();
  if (!single && !j.is_array()) {
    return error(400, "feedback must be {\"id\": ..., \"label\": ...} or a list of them");
  }
  const json items = single ? json::array({j}) : j;
  if (items.empty()) return error(400, "the feedback list is empty");
  if (items.size() > 10000) return error(400, "at most 10000 feedback items per request");
  std::vector<std::string> ids;
  for (size_t i = 0; i < items.size(); ++i) {
    const json& it = items[i];
    const std::string where = single ? std::string("feedback") : "item " + std::to_string(i);
    if (!it.is_object() || !it.contains("id") || !it["id"].is_string() || !it.contains("label")) {
      return error(400, where + ": needs \"id\" (a string) and \"label\"");
    }
    ids.push_back(it["id"].get<std::string>());
  }
  // The records; those still queued are written first. With replicas, a prediction another one
  // made may still be in its queue: a few more looks, one write interval apart.
  auto found = o_.store->GetPredictions(o_.model, ids);
  if (!found.ok()) return error(503, found.status().message());
  const size_t distinct = std::set<std::string>(ids.begin(), ids.end()).size();
  if (found->size() < distinct) {
    Flush();
    found = o_.store->GetPredictions(o_.model, ids);
    if (!found.ok()) return error(503, found.status().message());
  }
  for (int look = 0; o_.store->Shared() && look < kReplicaLooks && found->size() < distinct &&
                     MayBeQueuedElsewhere(ids, *found, o_.clock->WallNanos() / 1'000'000);
       ++look) {
    std::this_thread::sleep_for(kWriteEvery + kWriteEvery / 2);
    found = o_.store->GetPredictions(o_.model, ids);
    if (!found.ok()) return error(503, found.status().message());
  }
  const int64_t now = o_.clock->WallNanos() / 1'000'000;
  const int64_t bucket = BucketStart(now);
  const int classes = o_.roles.classes;
  std::map<int64_t, ClassificationCounts> cls;
  std::map<int64_t, RegressionCounts> reg;
  std::vector<FeedbackRecord> feedback;
  json results;
  std::vector<int> statuses;
  uint64_t unknown = 0, duplicate = 0, bad_label = 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::map<std::string, PredictionRecord> by_id;
    for (auto& r : *found) by_id.emplace(r.id, std::move(r));
    cls.clear();
    reg.clear();
    feedback.clear();
    results = json::array();
    statuses.clear();
    unknown = duplicate = bad_label = 0;
    std::set<std::string> seen;
    for (size_t i = 0; i < items.size(); ++i) {
      const std::string& id = ids[i];
      auto result = [&](int status, const std::string& outcome, const std::string& message) {
        json r = {{"id", id}, {"result", outcome}};
        if (!message.empty()) r["error"] = message;
        results.push_back(std::move(r));
        statuses.push_back(status);
      };
      auto rec = by_id.find(id);
      if (rec == by_id.end()) {
        ++unknown;
        result(404, "unknown_id",
               "no prediction '" + id + "' of model '" + o_.model + "' (unknown, or expired)");
        continue;
      }
      if (rec->second.has_feedback || !seen.insert(id).second) {
        ++duplicate;
        result(409, "duplicate", "prediction '" + id + "' already has feedback");
        continue;
      }
      const json outputs = json::parse(rec->second.outputs_json, nullptr, false);
      const json& label = items[i]["label"];
      // One label per row of the prediction.
      size_t rows = 0;
      if (outputs.contains("l"))
        rows = outputs["l"].size();
      else if (outputs.contains("p"))
        rows = outputs["p"].size();
      else if (outputs.contains("v"))
        rows = outputs["v"].size();
      const json labels = label.is_array() ? label : json::array({label});
      if (labels.size() != rows) {
        ++bad_label;
        result(400, "bad_label",
               "prediction '" + id + "' has " + std::to_string(rows) + " rows; got " +
                   std::to_string(labels.size()) + " labels");
        seen.erase(id);
        continue;
      }
      std::string problem;
      std::vector<double> truth;
      for (const auto& l : labels) {
        if (classes == 0) {
          if (!l.is_number()) {
            problem = "a regression label must be a number";
            break;
          }
          truth.push_back(l.get<double>());
        } else if (l.is_number_integer()) {
          const int64_t c = l.get<int64_t>();
          if (c < 0 || c >= classes) {
            problem = "class " + std::to_string(c) + " is not between 0 and " +
                      std::to_string(classes - 1);
            break;
          }
          truth.push_back(static_cast<double>(c));
        } else if (l.is_string()) {
          const auto& names = o_.config.classes;
          auto it = std::find(names.begin(), names.end(), l.get<std::string>());
          if (it == names.end()) {
            std::string known;
            for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
            problem =
                "unknown class '" + l.get<std::string>() + "'" +
                (known.empty() ? " (monitoring.classes names none)" : " (classes: " + known + ")");
            break;
          }
          truth.push_back(static_cast<double>(it - names.begin()));
        } else {
          problem = "a class label must be a class index or name";
          break;
        }
      }
      if (!problem.empty()) {
        ++bad_label;
        result(400, "bad_label", problem);
        seen.erase(id);
        continue;
      }
      const int64_t version = rec->second.version;
      for (size_t r = 0; r < rows; ++r) {
        if (classes == 0) {
          reg[version].Add(truth[r], outputs["v"][r].get<double>());
          continue;
        }
        std::vector<double> probs;
        if (outputs.contains("p")) probs = outputs["p"][r].get<std::vector<double>>();
        int predicted = 0;
        if (outputs.contains("l")) {
          predicted = static_cast<int>(outputs["l"][r].get<double>());
        } else if (!probs.empty()) {
          predicted =
              static_cast<int>(std::max_element(probs.begin(), probs.end()) - probs.begin());
        }
        auto [it, _] = cls.try_emplace(version, classes);
        it->second.Add(static_cast<int>(truth[r]), predicted, probs);
      }
      feedback.push_back({o_.model, id, now, label.dump()});
      result(200, "joined", "");
    }
    std::vector<MonitorBucket> deltas;
    for (const auto& [v, c] : cls) deltas.push_back({o_.model, v, "quality", bucket, c.ToJson()});
    for (const auto& [v, c] : reg) deltas.push_back({o_.model, v, "quality", bucket, c.ToJson()});
    if (feedback.empty()) break;
    const base::Status st = o_.store->PutFeedback(
        feedback, deltas,
        [this](const auto& k, const auto& a, const auto& b) { return MergeBucket(k, a, b); });
    if (st.ok()) break;
    // Feedback for one of the ids came through another replica meanwhile: nothing was stored.
    // Join again: that id is now a duplicate, the others are stored.
    if (st.code() != base::StatusCode::kAlreadyExists || attempt > 0) {
      return error(st.code() == base::StatusCode::kAlreadyExists ? 409 : 503,
                   "feedback not stored: " + st.message());
    }
    auto again = o_.store->GetPredictions(o_.model, ids);
    if (!again.ok()) return error(503, again.status().message());
    found = std::move(again);
  }
  unknown_->Increment(unknown);
  duplicate_->Increment(duplicate);
  bad_label_->Increment(bad_label);
  joined_->Increment(feedback.size());
  if (single) return {statuses[0], results[0].dump()};
  return {200, json({{"joined", feedback.size()}, {"results", std::move(results)}}).dump()};
}

base::StatusOr<std::string> ModelMonitor::QualityJson(int64_t since_ms) {
  ASSIGN_OR_RETURN(auto buckets, o_.store->Buckets(o_.model, "quality", BucketStart(since_ms)));
  std::map<int64_t, std::string> merged;
  for (const auto& b : buckets) {
    auto it = merged.find(b.version);
    if (it == merged.end()) {
      merged.emplace(b.version, b.data_json);
    } else {
      ASSIGN_OR_RETURN(it->second, MergeQuality(it->second, b.data_json));
    }
  }
  json out = json::object();
  for (const auto& [version, data] : merged) {
    if (o_.roles.classes > 0) {
      ASSIGN_OR_RETURN(auto c, ClassificationCounts::FromJson(data));
      out[std::to_string(version)] =
          json::parse(MetricsJson(ComputeClassification(c), o_.config.classes));
    } else {
      ASSIGN_OR_RETURN(auto c, RegressionCounts::FromJson(data));
      out[std::to_string(version)] = json::parse(MetricsJson(ComputeRegression(c)));
    }
  }
  return out.dump();
}

int64_t ModelMonitor::DriftBucketMs() const {
  return std::max(o_.config.bucket_s, o_.config.drift.window_s / 12) * 1000;
}

DriftSettings ModelMonitor::Settings() const {
  const auto& d = o_.config.drift;
  DriftSettings s;
  s.numeric_method = d.numeric_method;
  s.categorical_method = d.categorical_method;
  s.p_value = d.p_value;
  s.threshold = d.threshold;
  s.correction = d.correction;
  s.dataset_share = d.dataset_share;
  s.min_rows = static_cast<uint64_t>(d.min_rows);
  return s;
}

base::StatusOr<std::string> ModelMonitor::MergeBucket(const std::string& kind,
                                                      const std::string& stored,
                                                      const std::string& delta) const {
  if (kind == "quality") return MergeQuality(stored, delta);
  if (kind == "drift" && o_.profile) {
    ASSIGN_OR_RETURN(auto a, DriftAccumulator::FromJson(&*o_.profile, stored, kBucketSample, 1));
    ASSIGN_OR_RETURN(auto b, DriftAccumulator::FromJson(&*o_.profile, delta, kBucketSample, 2));
    a.Merge(b);
    return a.ToJson();
  }
  return base::InvalidArgument("no merge for bucket kind '" + kind + "'");
}

void ModelMonitor::Accumulate(const Observation& o) {
  if (!o_.profile || !o_.config.drift.enabled) return;
  const Profile& profile = *o_.profile;
  const size_t width = profile.features.size();
  const int64_t span = DriftBucketMs();
  const int64_t bucket = FloorTo(o.at_ms, span);
  std::lock_guard<std::mutex> lock(drift_mu_);
  auto it = drift_.find({o.version, bucket});
  if (it == drift_.end()) {
    it = drift_
             .try_emplace({o.version, bucket}, &profile, kBucketSample,
                          static_cast<uint64_t>(bucket) ^ rng_())
             .first;
  }
  DriftAccumulator& acc = it->second;
  if (o.n_features > 0) acc.AddRows(std::span<const float>(o.data.data(), o.n_features), width);
  // The predictions: label (or value) and, for binary classifiers, P(class 1).
  const float* labels = o.data.data() + o.n_features;
  const float* probs = labels + o.n_labels;
  const float* values = probs + o.n_probs;
  const size_t classes = static_cast<size_t>(o_.roles.classes);
  const size_t rows = std::max({static_cast<size_t>(o.n_labels), static_cast<size_t>(o.n_values),
                                classes ? o.n_probs / classes : size_t{0}});
  for (size_t r = 0; r < rows; ++r) {
    std::optional<double> prediction, score;
    if (r < o.n_labels) prediction = labels[r];
    if (r < o.n_values) prediction = values[r];
    if (classes == 2 && 2 * r + 1 < o.n_probs) score = probs[2 * r + 1];
    if (!prediction && classes > 0 && (r + 1) * classes <= o.n_probs) {
      const float* first = probs + r * classes;
      prediction = static_cast<double>(std::max_element(first, first + classes) - first);
    }
    acc.AddPrediction(prediction, score);
  }
}

void ModelMonitor::FlushDrift() {
  std::lock_guard<std::mutex> flushing(drift_flush_mu_);
  std::map<std::pair<int64_t, int64_t>, DriftAccumulator> pending;
  {
    std::lock_guard<std::mutex> lock(drift_mu_);
    pending.swap(drift_);
  }
  if (pending.empty()) return;
  std::vector<MonitorBucket> deltas;
  for (const auto& [key, acc] : pending) {
    deltas.push_back({o_.model, key.first, "drift", key.second, acc.ToJson()});
    // Data quality counters, from these deltas (so the request path pays nothing for them).
    for (size_t f = 0; f < acc.features().size() && f < dq_.size(); ++f) {
      const auto& c = acc.features()[f];
      if (c.missing) dq_[f][0]->Increment(c.missing);
      if (c.out_of_range) dq_[f][1]->Increment(c.out_of_range);
      if (c.unseen) dq_[f][2]->Increment(c.unseen);
    }
  }
  auto st = o_.store->MergeBuckets(
      deltas, [this](const auto& k, const auto& a, const auto& b) { return MergeBucket(k, a, b); });
  if (!st.ok())
    LOG_WARN("monitoring '{}': drift aggregates not stored: {}", o_.model, st.message());
}

base::StatusOr<std::map<int64_t, DriftAccumulator>> ModelMonitor::DriftWindows(int64_t since_ms) {
  std::map<int64_t, DriftAccumulator> out;
  if (!o_.profile) return out;
  const Profile* profile = &*o_.profile;
  auto window = [&](int64_t version) -> DriftAccumulator& {
    return out.try_emplace(version, profile, kWindowSample, static_cast<uint64_t>(version) + 17)
        .first->second;
  };
  const int64_t from = FloorTo(since_ms, DriftBucketMs());
  std::lock_guard<std::mutex> flushing(drift_flush_mu_);
  ASSIGN_OR_RETURN(auto buckets, o_.store->Buckets(o_.model, "drift", from));
  for (const auto& b : buckets) {
    ASSIGN_OR_RETURN(auto acc, DriftAccumulator::FromJson(profile, b.data_json, kBucketSample, 3));
    window(b.version).Merge(acc);
  }
  if (o_.store->Shared()) return out;  // replicas agree on what the store holds
  std::lock_guard<std::mutex> lock(drift_mu_);
  for (const auto& [key, acc] : drift_) {
    if (key.second >= from) window(key.first).Merge(acc);
  }
  return out;
}

ModelMonitor::Gauges ModelMonitor::CurrentGauges(bool fresh) {
  const int64_t now = o_.clock->WallNanos() / 1'000'000;
  std::lock_guard<std::mutex> lock(gauges_mu_);
  if (!fresh && gauges_at_ms_ >= 0 && now - gauges_at_ms_ < kGaugesEveryMs) return gauges_;
  Gauges g;
  for (int64_t w : o_.config.windows_s) {
    auto q = QualityJson(now - w * 1000);
    if (!q.ok()) continue;
    const json versions = json::parse(*q);
    for (const auto& [version, m] : versions.items()) {
      for (const char* name :
           {"accuracy", "f1_macro", "roc_auc", "log_loss", "mae", "rmse", "r2", "mape"}) {
        if (m.contains(name) && m[name].is_number()) {
          g.quality.emplace_back(std::stoll(version), w, name, m[name].get<double>());
        }
      }
    }
  }
  if (o_.profile && o_.config.drift.enabled) {
    auto windows = DriftWindows(now - o_.config.drift.window_s * 1000);
    if (windows.ok()) {
      for (const auto& [version, acc] : *windows) {
        const auto r = EvaluateDrift(*o_.profile, acc, Settings());
        for (const auto& f : r.features) {
          if (f.enough) g.drift.emplace_back(version, f.name, f.statistic, f.drifted);
        }
        g.dataset_drift.emplace_back(version, r.drifted_share);
      }
    }
  }
  gauges_ = std::move(g);
  gauges_at_ms_ = now;
  return gauges_;
}

std::vector<AlertState> ModelMonitor::EvaluateAlerts() {
  const Gauges g = CurrentGauges(/*fresh=*/true);
  const int64_t now = o_.clock->WallNanos() / 1'000'000;
  std::vector<std::string> events;
  std::vector<AlertState> out;
  {
    std::lock_guard<std::mutex> lock(alerts_mu_);
    std::set<std::pair<size_t, int64_t>> seen;
    for (size_t i = 0; i < o_.config.alerts.size(); ++i) {
      const auto& rule = o_.config.alerts[i];
      const int64_t window = rule.window_s                 ? rule.window_s
                             : o_.config.windows_s.empty() ? 0
                                                           : o_.config.windows_s.front();
      std::map<int64_t, double> values;  // by version
      if (rule.metric == "dataset_drift_share") {
        for (const auto& [v, share] : g.dataset_drift) values[v] = share;
      } else if (rule.metric == "drift_statistic") {
        for (const auto& [v, feature, statistic, drifted] : g.drift) {
          if (feature == rule.feature) values[v] = statistic;
        }
      } else {
        for (const auto& [v, w, metric, value] : g.quality) {
          if (w == window && metric == rule.metric) values[v] = value;
        }
      }
      for (const auto& [version, value] : values) {
        const bool beyond = rule.above ? value > *rule.above : value < *rule.below;
        const auto key = std::make_pair(i, version);
        auto it = alerts_.find(key);
        if (!beyond) continue;
        seen.insert(key);
        if (it == alerts_.end()) {
          it = alerts_.emplace(key, AlertState{rule.name, version, "pending", value, now}).first;
        }
        it->second.value = value;
        if (it->second.state == "pending" && now - it->second.since_ms >= rule.for_s * 1000) {
          it->second.state = "firing";
          events.push_back("firing");
          LOG_WARN("alert '{}' of '{}' version {} firing: {} = {} ({} {})", rule.name, o_.model,
                   version, rule.metric, value, rule.above ? "above" : "below",
                   rule.above ? *rule.above : *rule.below);
          o_.metrics->alerts->WithLabels({o_.model, rule.name, "firing"}).Increment();
          Notify(json({{"alert", rule.name},
                       {"model", o_.model},
                       {"version", version},
                       {"state", "firing"},
                       {"metric", rule.metric},
                       {"value", value},
                       {"threshold", rule.above ? *rule.above : *rule.below},
                       {"condition", rule.above ? "above" : "below"},
                       {"since_ms", it->second.since_ms},
                       {"at_ms", now}})
                     .dump());
        }
      }
    }
    // The others are back within bounds (or their version has no data any more).
    for (auto it = alerts_.begin(); it != alerts_.end();) {
      if (seen.contains(it->first)) {
        ++it;
        continue;
      }
      const auto& rule = o_.config.alerts[it->first.first];
      if (it->second.state == "firing") {
        LOG_INFO("alert '{}' of '{}' version {} resolved", rule.name, o_.model, it->second.version);
        o_.metrics->alerts->WithLabels({o_.model, rule.name, "resolved"}).Increment();
        Notify(json({{"alert", rule.name},
                     {"model", o_.model},
                     {"version", it->second.version},
                     {"state", "resolved"},
                     {"metric", rule.metric},
                     {"at_ms", now}})
                   .dump());
      }
      it = alerts_.erase(it);
    }
    for (const auto& [_, a] : alerts_) out.push_back(a);
  }
  return out;
}

std::optional<std::pair<double, uint64_t>> ModelMonitor::Quality(int64_t version,
                                                                 const std::string& metric,
                                                                 int64_t window_s) {
  const int64_t now = o_.clock->WallNanos() / 1'000'000;
  auto q = QualityJson(now - window_s * 1000);
  if (!q.ok()) return std::nullopt;
  const json all = json::parse(*q);
  const std::string v = std::to_string(version);
  if (!all.contains(v) || !all[v].contains(metric) || !all[v][metric].is_number()) {
    return std::nullopt;
  }
  return std::make_pair(all[v][metric].get<double>(), all[v]["count"].get<uint64_t>());
}

std::vector<AlertState> ModelMonitor::Alerts() {
  std::lock_guard<std::mutex> lock(alerts_mu_);
  std::vector<AlertState> out;
  for (const auto& [_, a] : alerts_) out.push_back(a);
  return out;
}

void ModelMonitor::Notify(const std::string& body) {
  if (o_.config.webhook.empty() || !o_.post) return;
  {
    std::lock_guard<std::mutex> lock(notify_mu_);
    if (notify_queue_.size() >= 100) {
      o_.metrics->webhook->WithLabels({o_.model, "dropped"}).Increment();
      return;
    }
    notify_queue_.push_back(body);
  }
  notify_cv_.notify_all();
}

void ModelMonitor::NotifyLoop() {
  pthread_setname_np(pthread_self(), "inferd-webhook");
  for (;;) {
    std::string body;
    {
      std::unique_lock<std::mutex> lock(notify_mu_);
      notify_cv_.wait(lock, [this] { return notify_stop_ || !notify_queue_.empty(); });
      if (notify_queue_.empty()) return;
      body = std::move(notify_queue_.front());
      notify_queue_.pop_front();
    }
    // Four tries, 0.25 s, 0.5 s and 1 s apart.
    bool sent = false;
    for (int attempt = 0; attempt < 4 && !sent; ++attempt) {
      if (attempt > 0) {
        std::unique_lock<std::mutex> lock(notify_mu_);
        if (notify_cv_.wait_for(lock, std::chrono::milliseconds(250 << (attempt - 1)),
                                [this] { return notify_stop_; })) {
          break;
        }
      }
      auto st = o_.post(o_.config.webhook, body);
      sent = st.ok();
      if (!sent) LOG_WARN("alert webhook {}: {}", o_.config.webhook, st.message());
    }
    o_.metrics->webhook->WithLabels({o_.model, sent ? "sent" : "failed"}).Increment();
  }
}

std::string ModelMonitor::Report() {
  const int64_t now = o_.clock->WallNanos() / 1'000'000;
  json j = {{"model", o_.model},
            {"task", o_.roles.classes == 0   ? "regression"
                     : o_.roles.classes == 2 ? "binary"
                                             : "multiclass"},
            {"records",
             {{"stored", stored_->value()},
              {"dropped", dropped_->value()},
              {"store_errors", store_errors_->value()}}},
            {"feedback",
             {{"joined", joined_->value()},
              {"unknown_id", unknown_->value()},
              {"duplicate", duplicate_->value()},
              {"bad_label", bad_label_->value()}}}};
  if (!o_.config.classes.empty()) j["classes"] = o_.config.classes;
  json windows = json::array();
  for (int64_t w : o_.config.windows_s) {
    json entry = {{"seconds", w}};
    auto q = QualityJson(now - w * 1000);
    entry["quality"] = q.ok() ? json::parse(*q) : json({{"error", q.status().message()}});
    windows.push_back(std::move(entry));
  }
  j["windows"] = std::move(windows);
  // Quality over time (the dashboard's chart): per version and bucket of the longest window.
  const int64_t longest =
      o_.config.windows_s.empty()
          ? 3600
          : *std::max_element(o_.config.windows_s.begin(), o_.config.windows_s.end());
  json series = json::object();
  if (auto buckets = o_.store->Buckets(o_.model, "quality", BucketStart(now - longest * 1000));
      buckets.ok()) {
    for (const auto& b : *buckets) {
      json point = {{"t", b.start_ms}};
      if (o_.roles.classes > 0) {
        auto c = ClassificationCounts::FromJson(b.data_json);
        if (!c.ok()) continue;
        const auto m = ComputeClassification(*c);
        point["count"] = m.count;
        point["accuracy"] = m.accuracy;
        point["f1_macro"] = m.macro.f1;
      } else {
        auto c = RegressionCounts::FromJson(b.data_json);
        if (!c.ok()) continue;
        const auto m = ComputeRegression(*c);
        point["count"] = m.count;
        point["rmse"] = m.rmse;
        point["mae"] = m.mae;
      }
      series[std::to_string(b.version)].push_back(std::move(point));
    }
  }
  j["series"] = std::move(series);
  j["profile"] = o_.profile.has_value();
  json alerts = json::array();
  for (const auto& a : Alerts()) {
    alerts.push_back({{"alert", a.rule},
                      {"version", a.version},
                      {"state", a.state},
                      {"value", a.value},
                      {"since_ms", a.since_ms}});
  }
  j["alerts"] = std::move(alerts);
  if (o_.profile && o_.config.drift.enabled) {
    json drift = {{"window_s", o_.config.drift.window_s}};
    json versions = json::object(), quality = json::object();
    auto windows_or = DriftWindows(now - o_.config.drift.window_s * 1000);
    if (!windows_or.ok()) {
      drift["error"] = windows_or.status().message();
    } else {
      for (const auto& [version, acc] : *windows_or) {
        versions[std::to_string(version)] =
            json::parse(DriftReportToJson(EvaluateDrift(*o_.profile, acc, Settings())));
        json dq = json::object();
        for (size_t f = 0; f < acc.features().size(); ++f) {
          const auto& c = acc.features()[f];
          dq[o_.profile->features[f].name] = {{"rows", c.seen},
                                              {"missing", c.missing},
                                              {"out_of_range", c.out_of_range},
                                              {"unseen", c.unseen}};
        }
        quality[std::to_string(version)] = std::move(dq);
      }
    }
    drift["versions"] = std::move(versions);
    j["drift"] = std::move(drift);
    j["data_quality"] = std::move(quality);
  }
  return j.dump();
}

base::StatusOr<ModelMonitor*> MonitorRegistry::Find(const std::string& model) {
  std::lock_guard<std::mutex> lock(mu_);
  if (auto it = monitors_.find(model); it != monitors_.end()) return it->second.get();
  if (auto it = failed_.find(model); it != failed_.end()) return it->second;
  auto made = make_(model);
  if (!made.ok()) {
    // An unknown model may appear later (a load): not remembered.
    if (made.status().code() != base::StatusCode::kNotFound) {
      LOG_WARN("monitoring of '{}' is off: {}", model, made.status().message());
      failed_.emplace(model, made.status());
    }
    return made.status();
  }
  if (*made == nullptr) {
    base::Status off = base::FailedPrecondition("model '" + model +
                                                "' is not monitored: set monitoring: true in its "
                                                "config.yaml");
    failed_.emplace(model, off);
    return off;
  }
  ModelMonitor* m = made->get();
  monitors_.emplace(model, std::move(made).value());
  return m;
}

std::vector<ModelMonitor*> MonitorRegistry::All() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<ModelMonitor*> out;
  for (const auto& [_, m] : monitors_) out.push_back(m.get());
  return out;
}

ModelMonitor* MonitorRegistry::For(const std::string& model) {
  auto m = Find(model);
  return m.ok() ? *m : nullptr;
}

}  // namespace inferd::monitoring
