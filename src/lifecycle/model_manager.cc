#include "lifecycle/model_manager.h"

#include <algorithm>
#include <future>
#include <nlohmann/json.hpp>

#include "base/logging.h"
#include "lifecycle/version_runtime.h"
#include "repository/version_files.h"

namespace inferd::lifecycle {

using base::Status;
using base::StatusOr;

std::string_view VersionStateName(VersionState s) {
  switch (s) {
    case VersionState::kLoading:
      return "LOADING";
    case VersionState::kReady:
      return "READY";
    case VersionState::kUnavailable:
      return "UNAVAILABLE";
  }
  return "UNKNOWN";
}

ModelManager::ModelManager(const ModelManagerOptions& options) : options_(options) {
  auto& m = *options_.metrics;
  loads_ = &m.AddCounter("inferd_model_loads_total",
                         "Model version load attempts by outcome (success, failure).",
                         {"model", "outcome"});
  load_failures_ = &m.AddCounter("inferd_model_load_failures_total",
                                 "Model version loads that failed.", {"model", "version"});
  load_seconds_ =
      &m.AddHistogram("inferd_model_load_duration_seconds", "Time to load one model version.",
                      {"model"}, {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60});
  m.AddCallbackGauge(
      "inferd_model_version_files_changed",
      "1 for a loaded version whose files on disk no longer match the digest it was loaded "
      "with (it keeps serving the loaded copy).",
      {"model", "version"}, [this] {
        monitoring::MetricsRegistry::GaugeSamples out;
        base::MutexLock lock(mu_);
        for (const auto& [name, model] : models_) {
          for (const auto& [ver, v] : model.versions) {
            if (!v.info.changed_sha256.empty()) out.push_back({{name, std::to_string(ver)}, 1});
          }
        }
        return out;
      });
  m.AddCallbackGauge("inferd_model_versions_ready", "Model versions loaded and serving.", {"model"},
                     [this] {
                       monitoring::MetricsRegistry::GaugeSamples out;
                       base::MutexLock lock(mu_);
                       for (const auto& [name, model] : models_) {
                         double n = 0;
                         for (const auto& [_, v] : model.versions)
                           n += v.state == VersionState::kReady;
                         out.push_back({{name}, n});
                       }
                       return out;
                     });
  m.AddCallbackGauge("inferd_models", "Models in the repository by readiness (ready, not_ready).",
                     {"state"}, [this] {
                       double ready = 0, not_ready = 0;
                       base::MutexLock lock(mu_);
                       for (const auto& [_, model] : models_) {
                         bool r = std::any_of(model.versions.begin(), model.versions.end(),
                                              [](const auto& kv) {
                                                return kv.second.state == VersionState::kReady;
                                              });
                         (r ? ready : not_ready) += 1;
                       }
                       return monitoring::MetricsRegistry::GaugeSamples{{{"ready"}, ready},
                                                                        {{"not_ready"}, not_ready}};
                     });
}

StatusOr<std::unique_ptr<ModelManager>> ModelManager::Create(const ModelManagerOptions& options) {
  if (!options.source || !options.backends || !options.metrics || !options.clock) {
    return base::InvalidArgument("ModelManager needs a source, backends, metrics and a clock");
  }
  if (options.load_threads < 1) return base::InvalidArgument("load_threads must be >= 1");
  if (options.explicit_control && options.poll_interval.count() > 0) {
    return base::InvalidArgument("explicit model control does not go with repository polling");
  }
  if (!options.explicit_control && !options.startup_models.empty()) {
    return base::InvalidArgument("--load-model needs --model-control-mode explicit");
  }
  return std::unique_ptr<ModelManager>(new ModelManager(options));
}

ModelManager::~ModelManager() { Stop(); }

Status ModelManager::Start() {
  if (options_.explicit_control) {
    ASSIGN_OR_RETURN(auto disk, options_.source->Scan());
    base::MutexLock lock(mu_);
    for (const auto& name : options_.startup_models) {
      if (std::none_of(disk.begin(), disk.end(), [&](const auto& m) { return m.name == name; })) {
        return base::NotFound("--load-model: the repository has no model '" + name + "'");
      }
      explicit_models_.insert(name);
    }
  }
  for (int i = 0; i < options_.load_threads; ++i) workers_.emplace_back([this] { LoadWorker(); });
  RETURN_IF_ERROR(PollOnce());
  if (options_.poll_interval.count() > 0) poller_ = std::thread([this] { PollLoop(); });
  return Status::Ok();
}

void ModelManager::Stop() {
  {
    base::MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    queue_.clear();
  }
  cv_.NotifyAll();
  if (poller_.joinable()) poller_.join();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

Status ModelManager::PollOnce() {
  base::MutexLock poll_lock(poll_mu_);
  ASSIGN_OR_RETURN(auto disk, options_.source->Scan());
  {
    base::MutexLock lock(mu_);
    if (options_.explicit_control) {
      // Only the models asked for; the others are listed as unloaded.
      unloaded_on_disk_.clear();
      std::erase_if(disk, [&](const auto& m) NO_THREAD_SAFETY_ANALYSIS {
        if (explicit_models_.count(m.name)) return false;
        unloaded_on_disk_.push_back(m.name);
        return true;
      });
    }
    Reconcile(disk);
  }
  cv_.NotifyAll();
  WaitIdle();
  return Status::Ok();
}

Status ModelManager::Load(const std::string& name) {
  if (!options_.explicit_control) {
    return base::FailedPrecondition(
        "explicit model load and unload need --model-control-mode explicit");
  }
  ASSIGN_OR_RETURN(auto disk, options_.source->Scan());
  if (std::none_of(disk.begin(), disk.end(), [&](const auto& m) { return m.name == name; })) {
    return base::NotFound("the repository has no model '" + name + "'");
  }
  {
    base::MutexLock lock(mu_);
    explicit_models_.insert(name);
    // A load of a loaded model rereads it: its config is read again below.
    if (auto it = models_.find(name); it != models_.end()) it->second.config_fingerprint = 0;
  }
  RETURN_IF_ERROR(PollOnce());
  auto ready = ReadyVersions(name);
  if (ready.ok() && !ready->empty()) return Status::Ok();
  std::string reasons;
  for (const auto& e : Index()) {
    if (e.name == name && !e.reason.empty()) reasons += (reasons.empty() ? "" : "; ") + e.reason;
  }
  return base::Unavailable("model '" + name + "' has no ready version" +
                           (reasons.empty() ? "" : ": " + reasons));
}

Status ModelManager::Unload(const std::string& name) {
  if (!options_.explicit_control) {
    return base::FailedPrecondition(
        "explicit model load and unload need --model-control-mode explicit");
  }
  {
    base::MutexLock lock(mu_);
    if (explicit_models_.erase(name) == 0) {
      return base::NotFound("model '" + name + "' is not loaded");
    }
  }
  return PollOnce();
}

void ModelManager::PollLoop() {
  for (;;) {
    {
      base::MutexLock lock(mu_);
      cv_.WaitFor(mu_, options_.poll_interval,
                  [this]() NO_THREAD_SAFETY_ANALYSIS { return stopping_; });
      if (stopping_) return;
    }
    Status st = PollOnce();
    if (!st.ok()) LOG_WARN("repository poll failed: {}", st.ToString());
  }
}

void ModelManager::WaitIdle() {
  base::MutexLock lock(mu_);
  cv_.Wait(mu_, [this]() NO_THREAD_SAFETY_ANALYSIS {
    return stopping_ || (queue_.empty() && running_loads_ == 0);
  });
}

namespace {
config::ModelConfig DefaultConfig(const std::string& name) {
  config::ModelConfig cfg;
  cfg.name = name;
  return cfg;
}
}  // namespace

void ModelManager::Reconcile(const std::vector<repository::ModelOnDisk>& disk) {
  // Models gone from disk: every version goes (handles in flight keep them alive).
  for (auto it = models_.begin(); it != models_.end();) {
    bool present =
        std::any_of(disk.begin(), disk.end(), [&](const auto& m) { return m.name == it->first; });
    if (!present) {
      LOG_INFO("model '{}' is no longer in the repository or was unloaded: unloading", it->first);
      it = models_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& d : disk) {
    Model& model = models_[d.name];
    bool config_changed = false;
    // (Re)read the config when it changed. A broken config keeps the previous good one.
    if (!model.config || d.config_fingerprint != model.config_fingerprint ||
        !model.config_error.empty()) {
      StatusOr<config::ModelConfig> cfg =
          d.config_file ? config::LoadModelConfig(*d.config_file, d.name)
                        : StatusOr<config::ModelConfig>(DefaultConfig(d.name));
      if (cfg.ok()) {
        config_changed = model.config != nullptr;
        model.config = std::make_shared<const config::ModelConfig>(std::move(cfg).value());
        model.config_error.clear();
      } else if (d.config_fingerprint != model.config_fingerprint || !model.config) {
        model.config_error = cfg.status().message();
        LOG_ERROR("model '{}': bad config: {}", d.name, model.config_error);
      }
      model.config_fingerprint = d.config_fingerprint;
    }
    model.on_disk.clear();
    model.disk.clear();
    for (const auto& v : d.versions) {
      model.on_disk.push_back(v.version);
      model.disk[v.version] = v;
    }
    for (auto& [ver, v] : model.versions) {
      auto it = model.disk.find(ver);
      v.on_disk = it != model.disk.end();
      // A failed version whose files changed gets another try.
      if (v.on_disk && v.state == VersionState::kUnavailable && v.fingerprint != 0 &&
          v.fingerprint != it->second.fingerprint) {
        v.fingerprint = 0;
        v.reason = "files changed; retrying";
      }
      // A loaded version is immutable: when its files change, a load worker compares their
      // digest with the loaded one (the version keeps serving what it loaded either way).
      if (v.on_disk && v.state == VersionState::kReady && v.fingerprint != 0 &&
          v.fingerprint != it->second.fingerprint) {
        v.fingerprint = it->second.fingerprint;
        LoadTask verify{d.name, ver, it->second.dir, nullptr, v.load_generation};
        verify.verify_only = true;
        queue_.push_back(std::move(verify));
      }
    }
    if (config_changed) {
      // A new config applies to every version: failed ones get another try, ready ones are
      // reloaded with it and keep serving the old load until the new one is ready.
      for (auto& [ver, v] : model.versions) {
        if (!v.on_disk) continue;
        if (v.state == VersionState::kUnavailable) {
          v.fingerprint = 0;
          v.reason = "config changed; retrying";
        } else if (v.state == VersionState::kReady) {
          v.load_generation = next_generation_++;
          queue_.push_back({d.name, ver, model.disk.at(ver).dir, model.config, v.load_generation});
          LOG_INFO("model '{}' version {}: config changed, reloading", d.name, ver);
        }
      }
    }
    Plan(d.name, model);
  }
}

void ModelManager::Plan(const std::string& name, Model& model) {
  ComputeAspired(model);
  for (int64_t ver : model.aspired) {
    auto it = model.versions.find(ver);
    bool start = it == model.versions.end() ||
                 (it->second.state == VersionState::kUnavailable && it->second.fingerprint == 0);
    if (!start) continue;
    const auto& vd = model.disk.at(ver);
    Version& v = model.versions[ver];
    v.state = VersionState::kLoading;
    v.reason.clear();
    v.fingerprint = vd.fingerprint;
    v.on_disk = true;
    v.load_generation = next_generation_++;
    queue_.push_back({name, ver, vd.dir, model.config, v.load_generation});
    LOG_INFO("model '{}' version {}: loading from {}", name, ver, vd.dir.string());
  }
  Settle(name, model);
}

void ModelManager::ComputeAspired(Model& model) {
  model.aspired.clear();
  if (!model.config) return;
  // For "latest N", a version that failed to load (and whose files have not changed since) does
  // not count: the newest N versions that can load are served.
  std::vector<int64_t> candidates;
  for (int64_t ver : model.on_disk) {
    auto it = model.versions.find(ver);
    bool failed = it != model.versions.end() && it->second.state == VersionState::kUnavailable &&
                  it->second.fingerprint != 0;
    if (!failed || model.config->version_policy.kind != config::VersionPolicy::Kind::kLatest) {
      candidates.push_back(ver);
    }
  }
  model.aspired = model.config->version_policy.Select(candidates);
}

void ModelManager::Settle(const std::string& name, Model& model) {
  // Fallbacks: ready versions the policy no longer selects stay while selected versions are not
  // ready yet, newest first, one per missing selected version. A version whose files are gone
  // stays only while a replacement is still loading.
  size_t not_ready = 0;
  bool any_loading = false;
  for (int64_t ver : model.aspired) {
    auto it = model.versions.find(ver);
    if (it == model.versions.end() || it->second.state != VersionState::kReady) ++not_ready;
    if (it != model.versions.end() && it->second.state == VersionState::kLoading) {
      any_loading = true;
    }
  }
  std::vector<int64_t> drop;
  for (auto it = model.versions.rbegin(); it != model.versions.rend(); ++it) {
    auto& [ver, v] = *it;
    if (std::find(model.aspired.begin(), model.aspired.end(), ver) != model.aspired.end()) continue;
    if (v.state == VersionState::kUnavailable && v.on_disk) continue;  // remembers the failure
    bool keep = v.state == VersionState::kReady && not_ready > 0 && (v.on_disk || any_loading);
    if (keep) {
      --not_ready;
      continue;
    }
    drop.push_back(ver);
  }
  for (int64_t ver : drop) {
    auto& v = model.versions[ver];
    if (v.state == VersionState::kReady) LOG_INFO("model '{}' version {}: unloading", name, ver);
    model.versions.erase(ver);
  }
}

void ModelManager::LoadWorker() {
  for (;;) {
    LoadTask task;
    {
      base::MutexLock lock(mu_);
      cv_.Wait(mu_, [this]() NO_THREAD_SAFETY_ANALYSIS { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      task = std::move(queue_.front());
      queue_.pop_front();
      ++running_loads_;
    }
    if (task.verify_only) {
      RunVerify(task);
    } else {
      RunLoad(task);
    }
    {
      base::MutexLock lock(mu_);
      --running_loads_;
    }
    cv_.NotifyAll();
  }
}

void ModelManager::RunVerify(const LoadTask& task) {
  auto digest = repository::DigestVersion(task.dir);
  base::MutexLock lock(mu_);
  auto mit = models_.find(task.model);
  if (mit == models_.end()) return;
  auto vit = mit->second.versions.find(task.version);
  if (vit == mit->second.versions.end() || vit->second.load_generation != task.generation ||
      vit->second.state != VersionState::kReady) {
    return;
  }
  MarkChanged(task.model, task.version, vit->second,
              digest.ok() ? digest->sha256 : "unreadable (" + digest.status().message() + ")");
}

void ModelManager::MarkChanged(const std::string& model, int64_t version, Version& v,
                               const std::string& now_sha256) {
  if (now_sha256 == v.info.load.sha256) {
    if (!v.info.changed_sha256.empty()) {
      LOG_INFO("model '{}' version {}: files match the loaded copy again", model, version);
    }
    v.info.changed_sha256.clear();
    return;
  }
  if (v.info.changed_sha256 != now_sha256) {
    LOG_ERROR(
        "model '{}' version {}: its files changed on disk (sha256 {}, loaded {}); versions are "
        "immutable: serving the loaded copy; publish the change as a new version",
        model, version, now_sha256, v.info.load.sha256);
  }
  v.info.changed_sha256 = now_sha256;
}

void ModelManager::RunLoad(const LoadTask& task) {
  auto start = options_.clock->Now();
  StatusOr<std::unique_ptr<backend::LoadedModel>> loaded = base::Unavailable("no backend selected");
  // What is loaded is recorded: the files' digest and the lineage that goes with them, hashed on
  // another thread while the backend loads, so the load takes no longer.
  VersionInfo info;
  info.version = task.version;
  auto digesting = std::async(std::launch::async, [dir = task.dir] {
    return std::make_pair(repository::DigestVersion(dir), repository::ReadLineage(dir));
  });
  std::string loaded_sha;  // of the copy serving now, on a reload
  {
    base::MutexLock lock(mu_);
    auto mit = models_.find(task.model);
    if (mit != models_.end()) {
      auto vit = mit->second.versions.find(task.version);
      if (vit != mit->second.versions.end() && vit->second.state == VersionState::kReady) {
        loaded_sha = vit->second.info.load.sha256;
      }
    }
  }
  auto match = options_.backends->Resolve(task.config->backend, task.dir);
  if (!match.ok()) {
    loaded = match.status();
  } else {
    backend::LoadRequest req{task.model, task.version, match->model_file, task.config.get()};
    loaded = match->backend->Load(req);
  }
  auto [digest, lineage] = digesting.get();
  if (!digest.ok()) {
    loaded = digest.status();
  } else if (!lineage.ok()) {
    loaded = lineage.status();
  } else if (!loaded_sha.empty() && digest->sha256 != loaded_sha) {
    // A reload (new config) must not pick up changed files: versions are immutable.
    loaded = base::FailedPrecondition("its files changed since it was loaded (sha256 " +
                                      digest->sha256 + ", loaded " + loaded_sha +
                                      "); publish the change as a new version");
  }
  // Warm up before the version reports ready; then its batcher, when configured.
  std::shared_ptr<const backend::LoadedModel> model;
  std::shared_ptr<batching::DynamicBatcher> batcher;
  if (loaded.ok()) {
    model = std::shared_ptr<const backend::LoadedModel>(std::move(loaded).value());
    Status warm = CheckSchema(*model, *task.config);
    if (warm.ok()) warm = WarmUp(*model, *task.config);
    auto made = warm.ok() ? MakeBatcher(model, *task.config, options_.clock)
                          : StatusOr<std::shared_ptr<batching::DynamicBatcher>>(warm);
    if (made.ok()) {
      batcher = std::move(made).value();
      loaded = std::unique_ptr<backend::LoadedModel>();  // ok; the model is in `model`
    } else {
      loaded = made.status();
      model.reset();
    }
  }
  double secs = std::chrono::duration<double>(options_.clock->Now() - start).count();
  store::VersionRecord& record = info.load;
  record.model = task.model;
  record.version = task.version;
  if (digest.ok()) {
    record.sha256 = digest->sha256;
    record.bytes = digest->bytes;
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : digest->files) {
      files.push_back({{"path", f.path}, {"sha256", f.sha256}, {"bytes", f.bytes}});
    }
    record.files_json = files.dump();
  }
  record.lineage_json = lineage.ok() ? *lineage : "{}";
  if (model) record.backend = model->signature().platform;
  record.loaded_at_ms = options_.clock->WallNanos() / 1000000;
  record.load_ms = secs * 1e3;
  record.result = loaded.ok() ? "ready" : "failed: " + loaded.status().message();
  // The registry is written after the version is ready: a load never waits for the disk.
  struct RecordOnExit {
    store::StateStore* store;
    store::VersionRecord record;  // a copy: `info` moves into the version below
    ~RecordOnExit() {
      if (store == nullptr) return;
      if (Status st = store->PutVersion(record); !st.ok()) {
        LOG_WARN("model '{}' version {}: not recorded in the state store: {}", record.model,
                 record.version, st.message());
      }
    }
  } record_on_exit{options_.store, record};
  load_seconds_->WithLabels({task.model}).Observe(secs);
  loads_->WithLabels({task.model, loaded.ok() ? "success" : "failure"}).Increment();
  if (!loaded.ok()) {
    load_failures_->WithLabels({task.model, std::to_string(task.version)}).Increment();
  }

  base::MutexLock lock(mu_);
  auto mit = models_.find(task.model);
  if (mit == models_.end()) return;  // removed while loading
  auto vit = mit->second.versions.find(task.version);
  if (vit == mit->second.versions.end() || vit->second.load_generation != task.generation) return;
  Version& v = vit->second;
  if (loaded.ok()) {
    v.state = VersionState::kReady;
    v.reason.clear();
    v.model = std::move(model);
    v.config = task.config;
    v.batcher = std::move(batcher);
    v.info = std::move(info);
    LOG_INFO("model '{}' version {}: ready ({:.1f} ms)", task.model, task.version, secs * 1e3);
  } else if (v.state == VersionState::kReady) {
    // A reload for a new config failed: the version keeps serving as it was loaded.
    v.reason = "config change not applied: " + loaded.status().message();
    LOG_ERROR("model '{}' version {}: reload failed, still serving the previous load: {}",
              task.model, task.version, loaded.status().message());
  } else {
    v.state = VersionState::kUnavailable;
    v.info = std::move(info);
    v.reason = loaded.status().message();
    LOG_ERROR("model '{}' version {}: failed to load: {}", task.model, task.version, v.reason);
  }
  Plan(task.model, mit->second);
  cv_.NotifyAll();
}

StatusOr<std::vector<VersionInfo>> ModelManager::Versions(std::string_view name) const {
  base::MutexLock lock(mu_);
  auto mit = models_.find(name);
  if (mit == models_.end()) return base::NotFound("unknown model '" + std::string(name) + "'");
  std::vector<VersionInfo> out;
  for (const auto& [ver, v] : mit->second.versions) {
    VersionInfo info = v.info;
    info.version = ver;
    info.state = std::string(VersionStateName(v.state));
    info.reason = v.reason;
    out.push_back(std::move(info));
  }
  return out;
}

StatusOr<ModelHandle> ModelManager::Get(std::string_view name,
                                        std::optional<int64_t> version) const {
  base::MutexLock lock(mu_);
  auto mit = models_.find(name);
  if (mit == models_.end()) return base::NotFound("unknown model '" + std::string(name) + "'");
  const Model& model = mit->second;
  auto make = [&](int64_t ver, const Version& v) {
    return ModelHandle{std::string(name), ver, v.model, v.config, v.batcher};
  };
  if (version) {
    auto vit = model.versions.find(*version);
    if (vit == model.versions.end()) {
      bool on_disk =
          std::find(model.on_disk.begin(), model.on_disk.end(), *version) != model.on_disk.end();
      if (on_disk) {
        return base::Unavailable("model '" + std::string(name) + "' version " +
                                 std::to_string(*version) + " is not loaded (version policy: " +
                                 (model.config ? model.config->version_policy.ToString() : "?") +
                                 ")");
      }
      return base::NotFound("model '" + std::string(name) + "' has no version " +
                            std::to_string(*version));
    }
    const Version& v = vit->second;
    if (v.state != VersionState::kReady) {
      return base::Unavailable(
          "model '" + std::string(name) + "' version " + std::to_string(*version) +
          " is not ready: " + (v.state == VersionState::kLoading ? "loading" : v.reason));
    }
    return make(*version, v);
  }
  for (auto it = model.versions.rbegin(); it != model.versions.rend(); ++it) {
    if (it->second.state == VersionState::kReady) return make(it->first, it->second);
  }
  std::string why = !model.config_error.empty() ? "bad config: " + model.config_error
                    : model.on_disk.empty()     ? "no version directories"
                                                : "no version is ready";
  for (const auto& [ver, v] : model.versions) {
    if (v.state == VersionState::kUnavailable) {
      why += "; version " + std::to_string(ver) + ": " + v.reason;
    }
  }
  return base::Unavailable("model '" + std::string(name) + "' is not ready (" + why + ")");
}

std::vector<IndexEntry> ModelManager::Index() const {
  base::MutexLock lock(mu_);
  std::vector<IndexEntry> out;
  for (const auto& name : unloaded_on_disk_) {
    out.push_back({name, std::nullopt, "UNAVAILABLE", "unloaded"});
  }
  for (const auto& [name, model] : models_) {
    if (!model.config_error.empty()) {
      out.push_back({name, std::nullopt, "UNAVAILABLE", "bad config: " + model.config_error});
    }
    if (model.on_disk.empty() && model.versions.empty()) {
      out.push_back({name, std::nullopt, "UNAVAILABLE", "no version directories"});
    }
    std::vector<int64_t> all = model.on_disk;
    for (const auto& [ver, _] : model.versions) all.push_back(ver);
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    for (int64_t ver : all) {
      auto it = model.versions.find(ver);
      if (it == model.versions.end()) {
        out.push_back({name, ver, "UNAVAILABLE",
                       model.config ? "not selected by version policy (" +
                                          model.config->version_policy.ToString() + ")"
                                    : "not loaded: the model's config is bad"});
        continue;
      }
      std::string reason = it->second.reason;
      if (it->second.state == VersionState::kReady && !it->second.on_disk) {
        reason = "files removed; serving until its replacement is ready";
      } else if (!it->second.info.changed_sha256.empty()) {
        reason = "files changed on disk (sha256 " + it->second.info.changed_sha256 + ", loaded " +
                 it->second.info.load.sha256 +
                 "): serving the loaded copy; publish the change as a new version";
      }
      out.push_back({name, ver, std::string(VersionStateName(it->second.state)), reason});
    }
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const IndexEntry& a, const IndexEntry& b) { return a.name < b.name; });
  return out;
}

StatusOr<std::vector<int64_t>> ModelManager::ReadyVersions(std::string_view name) const {
  base::MutexLock lock(mu_);
  auto mit = models_.find(name);
  if (mit == models_.end()) return base::NotFound("unknown model '" + std::string(name) + "'");
  std::vector<int64_t> out;
  for (const auto& [ver, v] : mit->second.versions) {
    if (v.state == VersionState::kReady) out.push_back(ver);
  }
  return out;
}

bool ModelManager::AllModelsReady() const {
  base::MutexLock lock(mu_);
  for (const auto& [_, model] : models_) {
    bool ready = std::any_of(model.versions.begin(), model.versions.end(), [](const auto& kv) {
      return kv.second.state == VersionState::kReady;
    });
    if (!ready) return false;
  }
  return true;
}

}  // namespace inferd::lifecycle
