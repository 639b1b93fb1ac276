// DynamicBatcher: merges the requests of one model version into batches (the rules of
// BatchQueue) and runs them on `instances` worker threads, each running one batch at a time.
// It knows nothing of models: a batch runs through the RunBatchFn it is given, which gets the
// requests' inputs concatenated along the batch dimension and returns outputs whose first
// dimension is the batch's rows; each request gets its own rows back.
// With max_queue_delay 0 a request that finds a free worker runs at once, alone; requests that
// arrive while every worker is busy are merged into the next batch.
// Caller-runs: with max_queue_delay 0 a thread that has a loop of its own (an HTTP event loop)
// may queue without waking a worker (Submit with caller_runs) and later run what is ready itself
// (RunReady), so that the requests it read in one pass of its loop form one batch and no thread
// hop or wake-up is paid. At most `instances` batches run at once, workers and callers together;
// a caller or worker that finishes a batch takes the next one, so nothing queued is left behind.
// Thread-safety: Submit may be called from any number of threads. The batcher may be destroyed on
// any thread, its own workers included (the last reference to a model version can be dropped by
// a request's callback): its state is shared with the workers, which finish the batch in hand,
// answer what is still queued UNAVAILABLE, and exit.
#pragma once

#include <functional>
#include <memory>

#include "base/clock.h"
#include "base/status.h"
#include "batching/batch_queue.h"

namespace inferd::batching {

// Runs one batch. `inputs`: one tensor per model input, batch dimension first. Must be
// thread-safe when instances > 1.
using RunBatchFn = std::function<Outputs(std::vector<tensor::Tensor> inputs,
                                         const std::vector<std::string>& outputs)>;

struct DynamicBatcherOptions {
  BatchQueueOptions queue;
  int instances = 1;  // batches run at once (worker threads), >= 1
  const base::Clock* clock = &base::Clock::Real();
};

class DynamicBatcher {
 public:
  // Errors: INVALID_ARGUMENT for options out of range (see BatchQueue::Create).
  static base::StatusOr<std::unique_ptr<DynamicBatcher>> Create(
      const DynamicBatcherOptions& options, RunBatchFn run);
  // Stops: see the thread-safety note. Waits for the workers unless called on one of them.
  ~DynamicBatcher();
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Queues `request`; its `done` is called later, exactly once. Errors (`done` is not called):
  // as BatchQueue::Add; UNAVAILABLE when the batcher is stopping.
  base::Status Submit(BatchRequest request, bool caller_runs = false);
  // True when callers may run batches (max_queue_delay is 0).
  bool caller_runs() const { return caller_runs_; }
  // Runs ready batches on this thread while an instance is free; returns the batches run.
  size_t RunReady();

  // Makes the workers look at the clock again (tests that advance a FakeClock call it).
  void Poke();

  // Requests waiting now.
  size_t queued() const;

  struct State;  // shared with the workers

 private:
  DynamicBatcher(std::shared_ptr<State> state, bool caller_runs)
      : state_(std::move(state)), caller_runs_(caller_runs) {}
  std::shared_ptr<State> state_;
  const bool caller_runs_;
};

}  // namespace inferd::batching
