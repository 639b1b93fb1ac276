// Caller-runs batching for event-loop threads (see DynamicBatcher): a thread with a loop of its
// own installs a scheduler; requests it queues on batchers that allow it are not handed to a
// worker but remembered, and the loop calls Flush soon after (once the requests it read in the
// same pass are queued too), running the ready batches on its own thread.
// Thread-safety: everything here is per thread (thread-local state).
#pragma once

#include <functional>
#include <memory>

#include "batching/dynamic_batcher.h"

namespace inferd::batching {

class CallerRuns {
 public:
  // Makes this thread a caller-runs thread: `schedule` must arrange for Flush() to be called on
  // this thread later (e.g. posted to its event loop). Call before the loop runs.
  static void Install(std::function<void()> schedule);
  // True on a thread that installed a scheduler.
  static bool Active();
  // Queues `request` on `batcher` for this thread to run: returns false (nothing queued) when
  // this thread is not caller-runs or the batcher does not allow it; Submit's errors otherwise.
  static base::StatusOr<bool> Submit(const std::shared_ptr<DynamicBatcher>& batcher,
                                     BatchRequest& request);
  // Runs the ready batches of every batcher this thread queued on since the last Flush.
  static void Flush();
};

}  // namespace inferd::batching
