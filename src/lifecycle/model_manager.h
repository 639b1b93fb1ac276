// ModelManager: keeps the versions that the repository and the version policies ask for loaded.
// It loads on its own threads, warms a version up (version_runtime.h) and gives it its dynamic
// batcher when configured, swaps a version in only when it is ready, and unloads an old version
// only when its replacement is ready (or its files are gone); in-flight requests hold a
// refcounted ModelHandle, so the memory goes when the last of them lets go. A version that fails to
// load never replaces a working one; it is retried only when its files change.
// Thread-safety: every public method is thread-safe.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.h"
#include "base/clock.h"
#include "base/status.h"
#include "base/thread_annotations.h"
#include "batching/dynamic_batcher.h"
#include "config/model_config.h"
#include "monitoring/metrics.h"
#include "repository/file_system_source.h"
#include "store/state_store.h"

namespace inferd::lifecycle {

// A reference to one loaded model version; keeps it alive while held.
struct ModelHandle {
  std::string name;
  int64_t version = 0;
  std::shared_ptr<const backend::LoadedModel> model;
  std::shared_ptr<const config::ModelConfig> config;  // the config it was loaded with
  // Set when the config asks for dynamic batching: requests go through it.
  std::shared_ptr<batching::DynamicBatcher> batcher;
};

enum class VersionState { kLoading, kReady, kUnavailable };
std::string_view VersionStateName(VersionState s);  // LOADING, READY, UNAVAILABLE

// One row of the repository index (Triton's RepositoryIndex).
struct IndexEntry {
  std::string name;
  std::optional<int64_t> version;  // absent for a model that has no usable version or config
  std::string state;               // READY, LOADING, UNAVAILABLE
  std::string reason;              // why UNAVAILABLE; empty otherwise
};

// A version as the registry knows it (GET /v2/models/{m}/versions): its state, and its last load
// as recorded in the state store (digest, files, lineage, platform, when).
struct VersionInfo {
  int64_t version = 0;
  std::string state;           // READY, LOADING, UNAVAILABLE
  std::string reason;          // why it is not ready, or that its files changed after loading
  std::string changed_sha256;  // the files' digest now, when it differs from load.sha256
  store::VersionRecord load;   // empty sha256 when it has not loaded yet
};

struct ModelManagerOptions {
  repository::FileSystemSource* source = nullptr;      // not owned, required
  const backend::BackendRegistry* backends = nullptr;  // not owned, required
  monitoring::MetricsRegistry* metrics = nullptr;      // not owned, required
  const base::Clock* clock = &base::Clock::Real();
  int load_threads = 2;  // background threads that load models (>= 1)
  // Poll mode: rescan the repository every poll_interval (0 = never, "none" mode).
  std::chrono::milliseconds poll_interval{0};
  // Explicit mode (Triton's --model-control-mode explicit): only the models named here at start,
  // and those Load() names later, are loaded. Not with polling.
  bool explicit_control = false;
  std::vector<std::string> startup_models;
  // The version registry: every load is recorded there (not owned; may be null).
  store::StateStore* store = nullptr;
};

class ModelManager {
 public:
  static base::StatusOr<std::unique_ptr<ModelManager>> Create(const ModelManagerOptions& options);
  ~ModelManager();  // stops the threads; in-flight handles stay valid

  // Scans the repository, loads what the policies select and waits for those loads; then starts
  // polling when configured. One broken model does not fail Start(): it is reported in Index().
  // Errors: only when the repository cannot be read.
  base::Status Start();
  // Stops polling and loading (idempotent).
  void Stop();
  // One scan and reconcile; waits until the loads it started have finished. Used by the poll
  // thread and by tests.
  base::Status PollOnce();

  // The handle for `name`, at `version` or, when absent, the highest ready version.
  // Errors: NOT_FOUND for an unknown model or a version not on disk; UNAVAILABLE when the model
  // or version exists but is not ready (loading, or failed to load: the reason is included).
  base::StatusOr<ModelHandle> Get(std::string_view name,
                                  std::optional<int64_t> version = std::nullopt) const;

  // Explicit mode: loads (or reloads, rereading its config) every version of `name` its policy
  // selects and waits for them. Errors: FAILED_PRECONDITION when not in explicit mode;
  // NOT_FOUND for a model not in the repository; UNAVAILABLE when no version became ready (the
  // reasons included).
  base::Status Load(const std::string& name);
  // Explicit mode: unloads every version of `name` (requests in flight finish on it).
  // Errors: FAILED_PRECONDITION when not in explicit mode; NOT_FOUND for a model not loaded.
  base::Status Unload(const std::string& name);

  // Every model (and version) in the repository with its state; in explicit mode, models not
  // loaded show as UNAVAILABLE "unloaded".
  std::vector<IndexEntry> Index() const;
  // Every version of `name` loaded or tried, ascending; NOT_FOUND for an unknown model.
  base::StatusOr<std::vector<VersionInfo>> Versions(std::string_view name) const;
  // Versions of a model that are ready, ascending; NOT_FOUND for an unknown model.
  base::StatusOr<std::vector<int64_t>> ReadyVersions(std::string_view name) const;
  // True when every model in the repository has at least one ready version.
  bool AllModelsReady() const;

 private:
  struct Version {
    VersionState state = VersionState::kLoading;
    std::string reason;
    uint64_t fingerprint = 0;
    bool on_disk = true;
    std::shared_ptr<const backend::LoadedModel> model;
    std::shared_ptr<const config::ModelConfig> config;
    std::shared_ptr<batching::DynamicBatcher> batcher;
    uint64_t load_generation = 0;  // which load attempt owns this slot
    VersionInfo info;              // digest, lineage and load of the copy being served (or tried)
  };
  struct Model {
    std::shared_ptr<const config::ModelConfig> config;  // null when the config is broken
    std::string config_error;
    uint64_t config_fingerprint = 0;
    std::vector<int64_t> aspired;  // what the policy selects from the versions on disk
    std::vector<int64_t> on_disk;  // every version directory, ascending
    std::map<int64_t, repository::VersionOnDisk> disk;  // the version directories on disk
    std::map<int64_t, Version> versions;
  };
  struct LoadTask {
    std::string model;
    int64_t version;
    std::filesystem::path dir;
    std::shared_ptr<const config::ModelConfig> config;
    uint64_t generation;
    // Only check whether the loaded version's files still have the digest it was loaded with.
    bool verify_only = false;
  };

  explicit ModelManager(const ModelManagerOptions& options);
  void Reconcile(const std::vector<repository::ModelOnDisk>& disk) REQUIRES(mu_);
  // Recomputes what the policy selects, queues the loads it needs and unloads what is no longer
  // needed.
  void Plan(const std::string& name, Model& model) REQUIRES(mu_);
  void Settle(const std::string& name, Model& model) REQUIRES(mu_);
  static void ComputeAspired(Model& model);
  void LoadWorker();
  void PollLoop();
  void RunLoad(const LoadTask& task) EXCLUDES(mu_);
  void RunVerify(const LoadTask& task) EXCLUDES(mu_);
  // The digest now differs from the loaded one (or agrees again): reason, log, metric.
  void MarkChanged(const std::string& model, int64_t version, Version& v,
                   const std::string& now_sha256) REQUIRES(mu_);
  void WaitIdle() EXCLUDES(mu_);

  ModelManagerOptions options_;
  mutable base::Mutex mu_;
  base::CondVar cv_;  // signals: tasks queued, loads finished, stop
  std::map<std::string, Model, std::less<>> models_ GUARDED_BY(mu_);
  std::set<std::string, std::less<>> explicit_models_ GUARDED_BY(mu_);  // explicit mode
  std::vector<std::string> unloaded_on_disk_ GUARDED_BY(mu_);  // explicit mode: for Index()
  std::deque<LoadTask> queue_ GUARDED_BY(mu_);
  int running_loads_ GUARDED_BY(mu_) = 0;
  uint64_t next_generation_ GUARDED_BY(mu_) = 1;
  bool stopping_ GUARDED_BY(mu_) = false;
  base::Mutex poll_mu_;  // serializes PollOnce
  std::vector<std::thread> workers_;
  std::thread poller_;

  monitoring::Family<monitoring::Counter>* load_failures_;
  monitoring::Family<monitoring::Counter>* loads_;
  monitoring::Family<monitoring::Histogram>* load_seconds_;
};

}  // namespace inferd::lifecycle
