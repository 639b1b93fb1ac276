#include "inference/inference_service.h"

#include <algorithm>
#include <future>
#include <random>

#include "batching/caller_runs.h"

namespace inferd::inference {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

InferenceService::InferenceService(const InferenceServiceOptions& options) : options_(options) {
  shadow_ = std::make_unique<ShadowRunner>(
      options_.metrics, options_.clock,
      [this](const std::string& model, int64_t version) {
        return options_.models->Get(model, version);
      },
      [this](InferRequest request, const lifecycle::ModelHandle& handle) {
        return Infer(std::move(request), handle);
      });
  auto& m = *options_.metrics;
  requests_ = &m.AddCounter(
      "inferd_inference_requests_total",
      "Inference requests by model, version and outcome (success, client_error, server_error). "
      "Requests for unknown models count under model=\"\".",
      {"model", "version", "outcome"});
  duration_ = &m.AddHistogram("inferd_inference_request_duration_seconds",
                              "Time from decoded request to model outputs.", {"model", "version"});
  rows_ = &m.AddCounter("inferd_inference_rows_total", "Rows (batch items) inferred.",
                        {"model", "version"});
  queue_ =
      &m.AddHistogram("inferd_inference_queue_duration_seconds",
                      "Time a request waited in its model's batching queue.", {"model", "version"});
  compute_ =
      &m.AddHistogram("inferd_inference_compute_duration_seconds",
                      "Time the model ran on the request (its whole batch).", {"model", "version"});
  static const std::vector<double> kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  batch_size_ = &m.AddHistogram("inferd_inference_batch_size",
                                "Rows of each model execution (merged batches count once).",
                                {"model", "version"}, kBatchBuckets);
  in_flight_ =
      &m.AddGauge("inferd_inference_in_flight", "Requests being inferred now (queued or running).",
                  {"model", "version"});
  rejected_ = &m.AddCounter("inferd_inference_rejected_total",
                            "Requests refused by the batching queue: queue_full or timeout.",
                            {"model", "version", "reason"});
  schema_actions_ = &m.AddCounter(
      "inferd_schema_actions_total",
      "Values the model's schema changed or refused, per feature: imputed, clipped, unseen "
      "(an unknown category, then treated as missing) and rejected (the request got a 400).",
      {"model", "feature", "action"});
}

struct InferenceService::VersionStats {
  monitoring::Counter *success, *client_error, *server_error, *rows, *queue_full, *timeout;
  monitoring::Histogram *duration, *queue, *compute, *batch_size;
  monitoring::Gauge* in_flight;
  monitoring::RequestCounts counts;  // for automatic rollback's windows
  base::Mutex mu;
  VersionStatistics totals GUARDED_BY(mu);
};

std::shared_ptr<InferenceService::VersionStats> InferenceService::StatsFor(
    const lifecycle::ModelHandle& handle) {
  base::MutexLock lock(stats_mu_);
  auto& versions = stats_[handle.name];
  auto it = versions.find(handle.version);
  if (it != versions.end()) return it->second;
  auto st = std::make_shared<VersionStats>();
  const std::string version = std::to_string(handle.version);
  const monitoring::LabelValues mv = {handle.name, version};
  st->success = &requests_->WithLabels({handle.name, version, "success"});
  st->client_error = &requests_->WithLabels({handle.name, version, "client_error"});
  st->server_error = &requests_->WithLabels({handle.name, version, "server_error"});
  st->rows = &rows_->WithLabels(mv);
  st->queue_full = &rejected_->WithLabels({handle.name, version, "queue_full"});
  st->timeout = &rejected_->WithLabels({handle.name, version, "timeout"});
  st->duration = &duration_->WithLabels(mv);
  st->queue = &queue_->WithLabels(mv);
  st->compute = &compute_->WithLabels(mv);
  st->batch_size = &batch_size_->WithLabels(mv);
  st->in_flight = &in_flight_->WithLabels(mv);
  {
    base::MutexLock l(st->mu);
    st->totals.model = handle.name;
    st->totals.version = handle.version;
  }
  versions.emplace(handle.version, st);
  return st;
}

StatusOr<std::unique_ptr<InferenceService>> InferenceService::Create(
    const InferenceServiceOptions& options) {
  if (!options.models || !options.metrics || !options.clock) {
    return InvalidArgument("InferenceService needs models, metrics and a clock");
  }
  return std::unique_ptr<InferenceService>(new InferenceService(options));
}

StatusOr<std::vector<tensor::Tensor>> PrepareInputs(const std::vector<config::TensorSpec>& specs,
                                                    std::vector<tensor::Tensor> inputs,
                                                    const std::string& model_name) {
  std::vector<tensor::Tensor> out(specs.size());
  std::vector<bool> seen(specs.size(), false);
  auto names = [&] {
    std::string s;
    for (const auto& sp : specs) s += (s.empty() ? "" : ", ") + sp.name;
    return s;
  };
  for (auto& in : inputs) {
    auto it = std::find_if(specs.begin(), specs.end(),
                           [&](const auto& s) { return s.name == in.name(); });
    if (it == specs.end()) {
      return InvalidArgument("model '" + model_name + "' has no input '" + in.name() +
                             "' (inputs: " + names() + ")");
    }
    size_t idx = static_cast<size_t>(it - specs.begin());
    if (seen[idx]) return InvalidArgument("input '" + in.name() + "' is given twice");
    seen[idx] = true;
    const auto& spec = *it;
    if (in.dtype() == tensor::DataType::kBytes && spec.dtype != tensor::DataType::kBytes) {
      return InvalidArgument("input '" + in.name() +
                             "': datatype BYTES is not supported by model '" + model_name +
                             "', which takes " + std::string(tensor::DataTypeName(spec.dtype)) +
                             " (text values, such as category names, need a schema in its "
                             "config.yaml)");
    }
    tensor::Shape shape = in.shape();
    // One row may be sent without its batch dimension.
    if (shape.size() + 1 == spec.shape.size() && !spec.shape.empty() && spec.shape[0] == -1) {
      shape.insert(shape.begin(), 1);
      in.Reshape(shape);
    }
    if (shape.size() != spec.shape.size()) {
      return InvalidArgument("input '" + in.name() + "': expected shape " +
                             tensor::ShapeToString(spec.shape) + ", got " +
                             tensor::ShapeToString(in.shape()));
    }
    for (size_t d = 0; d < shape.size(); ++d) {
      if (spec.shape[d] >= 0 && shape[d] != spec.shape[d]) {
        std::string what = d == shape.size() - 1 && shape.size() == 2 ? " features" : "";
        return InvalidArgument("input '" + in.name() + "': expected " +
                               std::to_string(spec.shape[d]) + what + " in dimension " +
                               std::to_string(d) + ", got " + std::to_string(shape[d]) +
                               " (shape " + tensor::ShapeToString(shape) + ", model wants " +
                               tensor::ShapeToString(spec.shape) + ")");
      }
    }
    if (!shape.empty() && spec.shape[0] == -1 && shape[0] == 0) {
      return InvalidArgument("input '" + in.name() + "': the batch is empty (0 rows)");
    }
    if (in.dtype() != spec.dtype) {
      ASSIGN_OR_RETURN(out[idx], tensor::ConvertTo(in, spec.dtype));
    } else {
      out[idx] = std::move(in);
    }
  }
  for (size_t i = 0; i < specs.size(); ++i) {
    if (!seen[i]) {
      return InvalidArgument("missing input '" + specs[i].name + "' for model '" + model_name +
                             "'");
    }
  }
  // Every input must have the same number of rows.
  for (size_t i = 1; i < out.size(); ++i) {
    if (!out[i].shape().empty() && !out[0].shape().empty() &&
        out[i].shape()[0] != out[0].shape()[0]) {
      return InvalidArgument("inputs have different batch sizes");
    }
  }
  return out;
}

Status InferenceService::ApplySchema(InferRequest& request, const lifecycle::ModelHandle& handle,
                                     bool apply) {
  const preprocess::Schema& schema = *handle.config->schema;
  const auto& spec = handle.model->signature().inputs.at(0);  // (CheckSchema: one input)
  preprocess::Actions actions;
  auto input = schema.Assemble(std::move(request.inputs), spec.name, spec.dtype, &actions);
  request.inputs.clear();
  Status st = input.status();
  if (input.ok()) {
    request.inputs.push_back(std::move(input).value());
    if (apply) st = schema.Apply(request.inputs[0], &actions);
  }
  // Counted where something happened (most requests: nothing, no lookups).
  const auto count = [&](const std::vector<uint64_t>& n, const char* action) {
    for (size_t f = 0; f < n.size(); ++f) {
      if (n[f] == 0) continue;
      schema_actions_->WithLabels({handle.name, schema.rules()[f].name, action}).Increment(n[f]);
    }
  };
  count(actions.imputed, "imputed");
  count(actions.clipped, "clipped");
  count(actions.unseen, "unseen");
  count(actions.rejected, "rejected");
  return st;
}

StatusOr<int64_t> InferenceService::Prepare(InferRequest& request,
                                            const lifecycle::ModelHandle& handle) {
  const auto& sig = handle.model->signature();
  if (options_.max_tensor_elements > 0) {
    int64_t total = 0;
    for (const auto& t : request.inputs) total += std::max<int64_t>(0, t.element_count());
    if (total > options_.max_tensor_elements) {
      return InvalidArgument(
          "the request's tensors hold " + std::to_string(total) + " elements; the limit is " +
          std::to_string(options_.max_tensor_elements) + " (--max-tensor-elements)");
    }
  }
  if (handle.config != nullptr && handle.config->schema != nullptr) {
    RETURN_IF_ERROR(ApplySchema(request, handle, /*apply=*/true));
  }
  for (size_t i = 0; i < request.outputs.size(); ++i) {
    const auto& name = request.outputs[i];
    if (std::find(request.outputs.begin(), request.outputs.begin() + static_cast<std::ptrdiff_t>(i),
                  name) != request.outputs.begin() + static_cast<std::ptrdiff_t>(i)) {
      return InvalidArgument("output '" + name + "' is requested twice");
    }
    bool known = std::any_of(sig.outputs.begin(), sig.outputs.end(),
                             [&](const auto& s) { return s.name == name; });
    if (!known) {
      std::string list;
      for (const auto& s : sig.outputs) list += (list.empty() ? "" : ", ") + s.name;
      return InvalidArgument("model '" + request.model + "' has no output '" + name +
                             "' (outputs: " + list + ")");
    }
  }
  ASSIGN_OR_RETURN(request.inputs,
                   PrepareInputs(sig.inputs, std::move(request.inputs), request.model));
  if (request.inputs.empty() || request.inputs[0].shape().empty()) return 1;
  const int64_t rows = request.inputs[0].shape()[0];
  static const config::ModelConfig kNone;
  const auto& cfg = handle.config ? *handle.config : kNone;
  if (cfg.max_batch_size_set && cfg.max_batch_size > 0 && rows > cfg.max_batch_size) {
    return InvalidArgument("the request has " + std::to_string(rows) + " rows; model '" +
                           request.model + "' takes at most " + std::to_string(cfg.max_batch_size) +
                           " (max_batch_size)");
  }
  return rows;
}

StatusOr<std::shared_ptr<const rollout::Policy>> InferenceService::Policy(std::string_view model) {
  if (options_.rollout != nullptr) {
    if (auto p = options_.rollout->Override(std::string(model))) return p;
  }
  ASSIGN_OR_RETURN(auto latest, options_.models->Get(model));
  // (Shares the config's lifetime.)
  return std::shared_ptr<const rollout::Policy>(latest.config, &latest.config->rollout);
}

StatusOr<int64_t> InferenceService::LabelVersion(std::string_view model, const std::string& label) {
  ASSIGN_OR_RETURN(auto policy, Policy(model));
  auto it = policy->labels.find(label);
  if (it == policy->labels.end()) {
    std::string known;
    for (const auto& [l, _] : policy->labels) known += (known.empty() ? "" : ", ") + l;
    return base::NotFound("model '" + std::string(model) + "' has no label '" + label +
                          "' (labels: " + (known.empty() ? "none" : known) + ")");
  }
  return it->second;
}

std::optional<monitoring::RequestCounts::Snapshot> InferenceService::Counts(std::string_view model,
                                                                            int64_t version) {
  std::shared_ptr<VersionStats> stats;
  {
    base::MutexLock lock(stats_mu_);
    auto m = stats_.find(model);
    if (m == stats_.end()) return std::nullopt;
    auto v = m->second.find(version);
    if (v == m->second.end()) return std::nullopt;
    stats = v->second;
  }
  return stats->counts.Take();
}

std::shared_ptr<ShadowPair> InferenceService::MaybeShadow(const rollout::Policy& p,
                                                          std::string_view model,
                                                          int64_t primary_version,
                                                          const InferRequest& request) {
  if (p.shadow_percent <= 0 || p.shadow_version == primary_version) return nullptr;
  thread_local std::mt19937_64 rng(std::random_device{}());
  if (static_cast<int64_t>(rng() % 100) >= p.shadow_percent) return nullptr;
  return shadow_->Start(std::string(model), p.shadow_version, request, p.shadow_tolerance);
}

StatusOr<lifecycle::ModelHandle> InferenceService::Resolve(std::string_view model,
                                                           std::optional<int64_t> version,
                                                           std::string_view route_key) {
  if (!version) {
    // Weighted routing when the model's policy has weights over ready versions.
    if (auto policy = Policy(model); policy.ok() && !(*policy)->weights.empty()) {
      if (auto ready = options_.models->ReadyVersions(model); ready.ok()) {
        thread_local std::mt19937_64 rng(std::random_device{}());
        version = rollout::Choose(**policy, *ready, route_key, rng());
      }
    }
  }
  auto handle = options_.models->Get(model, version);
  if (!handle.ok()) {
    bool unknown_model = handle.status().code() == base::StatusCode::kNotFound &&
                         !options_.models->ReadyVersions(model).ok();
    // Before a version is resolved the version label stays empty, so bad requests cannot mint
    // label values.
    requests_->WithLabels({unknown_model ? "" : std::string(model), "", "client_error"})
        .Increment();
  }
  return handle;
}

void InferenceService::CountRejected(const lifecycle::ModelHandle& handle) {
  requests_->WithLabels({handle.name, std::to_string(handle.version), "client_error"}).Increment();
}

StatusOr<InferResponse> InferenceService::Infer(InferRequest request) {
  ASSIGN_OR_RETURN(auto handle, Resolve(request.model, request.version));
  return Infer(std::move(request), handle);
}

StatusOr<InferResponse> InferenceService::Infer(InferRequest request,
                                                const lifecycle::ModelHandle& handle) {
  std::promise<StatusOr<InferResponse>> result;
  RunAsync(std::move(request), handle,
           [&result](StatusOr<InferResponse> r) { result.set_value(std::move(r)); });
  return result.get_future().get();
}

void InferenceService::Finish(VersionStats& s, const Status& status, base::Clock::TimePoint start,
                              std::chrono::nanoseconds queue, std::chrono::nanoseconds compute,
                              int64_t rows, int64_t batch_rows, bool first_in_batch,
                              std::optional<base::Clock::TimePoint> end) {
  const auto elapsed = end.value_or(options_.clock->Now()) - start;
  const auto code = status.code();
  if (status.ok()) {
    s.success->Increment();
    s.rows->Increment(static_cast<uint64_t>(rows));
  } else if (code == base::StatusCode::kInvalidArgument || code == base::StatusCode::kNotFound) {
    s.client_error->Increment();
  } else {
    s.server_error->Increment();
  }
  if (code == base::StatusCode::kResourceExhausted) s.queue_full->Increment();
  if (code == base::StatusCode::kDeadlineExceeded) s.timeout->Increment();
  s.duration->Observe(std::chrono::duration<double>(elapsed).count());
  s.counts.Record(std::chrono::duration<double>(elapsed).count(), !status.ok());
  const bool ran = batch_rows > 0;
  if (ran) {
    s.queue->Observe(std::chrono::duration<double>(queue).count());
    s.compute->Observe(std::chrono::duration<double>(compute).count());
    if (first_in_batch) s.batch_size->Observe(static_cast<double>(batch_rows));
  }
  s.in_flight->Add(-1);
  base::MutexLock lock(s.mu);
  VersionStatistics& t = s.totals;
  auto& d = status.ok() ? t.success : t.fail;
  ++d.count;
  d.ns += static_cast<uint64_t>(elapsed.count());
  t.last_inference_ms = static_cast<uint64_t>(options_.clock->WallNanos() / 1000000);
  if (ran && status.ok()) {
    t.inference_count += static_cast<uint64_t>(rows);
    ++t.queue.count;
    t.queue.ns += static_cast<uint64_t>(queue.count());
    ++t.compute.count;
    t.compute.ns += static_cast<uint64_t>(compute.count());
    if (first_in_batch) {
      ++t.execution_count;
      auto& b = t.batches[batch_rows];
      ++b.count;
      b.ns += static_cast<uint64_t>(compute.count());
    }
  }
}

void InferenceService::InferAsync(InferRequest request, const lifecycle::ModelHandle& handle,
                                  InferCallback done) {
  // The effective policy, once per request (routing by input and shadow): the API's override,
  // else the config the handle's version loaded with (no lookup of the model's latest).
  std::shared_ptr<const rollout::Policy> policy;
  if (options_.rollout != nullptr) policy = options_.rollout->Override(handle.name);
  if (policy == nullptr) policy = {handle.config, &handle.config->rollout};
  std::optional<lifecycle::ModelHandle> rerouted;
  if (!policy->route_key_input.empty()) {
    // Sticky routing by an input's value; the input goes unless the model declares it.
    const std::string& name = policy->route_key_input;
    auto it = std::find_if(request.inputs.begin(), request.inputs.end(),
                           [&](const tensor::Tensor& t) { return t.name() == name; });
    if (it != request.inputs.end()) {
      if (request.routed && !request.route_key_given) {
        std::string key;
        tensor::VisitNumericType(it->dtype(), [&](auto tag) {
          using T = decltype(tag);
          if (auto d = it->data<T>(); !d.empty()) key = std::to_string(d[0]);
        });
        if (auto h = Resolve(handle.name, std::nullopt, key); h.ok()) rerouted = std::move(*h);
      }
      const auto& declared = (rerouted ? *rerouted : handle).model->signature().inputs;
      if (std::none_of(declared.begin(), declared.end(),
                       [&](const auto& spec) { return spec.name == name; })) {
        request.inputs.erase(it);
      }
    }
  }
  const lifecycle::ModelHandle& h = rerouted ? *rerouted : handle;
  // A schema's named columns and category names become the model's input here, so that the
  // monitor and the shadow see it; its policies apply in Prepare (the one path of every caller).
  if (h.config->schema != nullptr) {
    if (Status st = ApplySchema(request, h, /*apply=*/false); !st.ok()) {
      std::shared_ptr<VersionStats> stats = StatsFor(h);
      stats->in_flight->Add(1);
      Finish(*stats, st, options_.clock->Now(), {}, {}, 0, 0, false);
      return done(st);
    }
  }
  // Monitoring: the answer is observed (after the model ran) with the inputs it was given.
  if (options_.monitors != nullptr && h.config->monitoring.enabled) {
    if (auto* monitor = options_.monitors->For(h.name)) {
      // (The observation lives in the callback itself: one allocation, not two.)
      done = [monitor, obs = monitor->Begin(h.version, request.inputs),
              done = std::move(done)](StatusOr<InferResponse> r) mutable {
        if (r.ok()) monitor->Finish(std::move(obs), r->id, r->outputs);
        done(std::move(r));
      };
    }
  }
  if (auto pair = MaybeShadow(*policy, h.name, h.version, request)) {
    done = [pair = std::move(pair), done = std::move(done)](StatusOr<InferResponse> r) {
      pair->Primary(r);
      done(std::move(r));
    };
  }
  RunAsync(std::move(request), h, std::move(done));
}

void InferenceService::RunAsync(InferRequest request, const lifecycle::ModelHandle& handle,
                                InferCallback done) {
  const auto start = options_.clock->Now();
  std::shared_ptr<VersionStats> stats = StatsFor(handle);
  stats->in_flight->Add(1);
  request.model = handle.name;
  auto rows = Prepare(request, handle);
  if (!rows.ok()) {
    Finish(*stats, rows.status(), start, {}, {}, 0, 0, false);
    done(rows.status());
    return;
  }
  auto respond = [this, stats, start, rows = *rows, model = request.model, version = handle.version,
                  id = std::move(request.id), done = std::move(done)](
                     batching::BatchResult r,
                     std::optional<base::Clock::TimePoint> end = std::nullopt) mutable {
    Finish(*stats, r.outputs.status(), start, r.queue, r.compute, rows, r.batch_rows,
           r.index_in_batch == 0, end);
    if (!r.outputs.ok()) return done(r.outputs.status());
    InferResponse resp;
    resp.model = std::move(model);
    resp.version = version;
    resp.id = std::move(id);
    resp.outputs = std::move(r.outputs).value();
    done(std::move(resp));
  };
  if (handle.batcher) {
    batching::BatchRequest b;
    b.inputs = std::move(request.inputs);
    b.outputs = std::move(request.outputs);
    b.rows = *rows;
    b.priority = request.priority;
    b.timeout = request.timeout;
    // The callback keeps the version loaded until it has answered.
    auto shared = std::make_shared<decltype(respond)>(std::move(respond));
    b.done = [shared, keep = handle.model](batching::BatchResult r) { (*shared)(std::move(r)); };
    // On an event-loop thread the batch runs on this thread once the loop's pass has queued what
    // it read (no hop to a worker); elsewhere a batcher worker runs it.
    Status st;
    auto inline_run = batching::CallerRuns::Submit(handle.batcher, b);
    if (!inline_run.ok()) {
      st = inline_run.status();
    } else if (!*inline_run) {
      st = handle.batcher->Submit(std::move(b));
    }
    if (!st.ok()) {
      batching::BatchResult refused;
      refused.outputs = st;
      (*shared)(std::move(refused));
    }
    return;
  }
  // No batcher: run here, at once (no queue time).
  batching::BatchResult r;
  r.outputs = handle.model->Execute(request.inputs, request.outputs);
  const auto end = options_.clock->Now();
  r.compute = end - start;
  r.queue = std::chrono::nanoseconds(0);
  r.batch_rows = *rows;
  respond(std::move(r), end);
}

base::StatusOr<std::vector<VersionStatistics>> InferenceService::Statistics(
    std::string_view model, std::optional<int64_t> version) {
  std::vector<lifecycle::ModelHandle> handles;
  if (model.empty()) {
    for (const auto& entry : options_.models->Index()) {
      if (entry.state != "READY" || !entry.version) continue;
      auto h = options_.models->Get(entry.name, entry.version);
      if (h.ok()) handles.push_back(std::move(h).value());
    }
  } else if (version) {
    ASSIGN_OR_RETURN(auto h, options_.models->Get(model, version));
    handles.push_back(std::move(h));
  } else {
    ASSIGN_OR_RETURN(auto versions, options_.models->ReadyVersions(model));
    for (int64_t v : versions) {
      auto h = options_.models->Get(model, v);
      if (h.ok()) handles.push_back(std::move(h).value());
    }
  }
  std::vector<VersionStatistics> out;
  for (const auto& h : handles) {
    std::shared_ptr<VersionStats> s = StatsFor(h);
    base::MutexLock lock(s->mu);
    out.push_back(s->totals);
  }
  // Versions no longer loaded: their statistics go.
  if (model.empty()) {
    base::MutexLock lock(stats_mu_);
    for (auto& entry : stats_) {
      const std::string& name = entry.first;
      std::erase_if(entry.second, [&](const auto& kv) {
        return std::none_of(handles.begin(), handles.end(),
                            [&](const auto& h) { return h.name == name && h.version == kv.first; });
      });
    }
    std::erase_if(stats_, [](const auto& kv) { return kv.second.empty(); });
  }
  return out;
}

}  // namespace inferd::inference
