#include "batching/caller_runs.h"

#include <vector>

namespace inferd::batching {

namespace {

struct ThreadState {
  std::function<void()> schedule;
  std::vector<std::shared_ptr<DynamicBatcher>> pending;  // keeps them alive until the flush
  bool scheduled = false;
};

thread_local ThreadState* state = nullptr;

}  // namespace

void CallerRuns::Install(std::function<void()> schedule) {
  static thread_local ThreadState s;
  s.schedule = std::move(schedule);
  state = &s;
}

bool CallerRuns::Active() { return state != nullptr; }

base::StatusOr<bool> CallerRuns::Submit(const std::shared_ptr<DynamicBatcher>& batcher,
                                        BatchRequest& request) {
  if (state == nullptr || !batcher->caller_runs()) return false;
  RETURN_IF_ERROR(batcher->Submit(std::move(request), /*caller_runs=*/true));
  bool known = false;
  for (const auto& b : state->pending) known |= b == batcher;
  if (!known) state->pending.push_back(batcher);
  if (!state->scheduled) {
    state->scheduled = true;
    state->schedule();
  }
  return true;
}

void CallerRuns::Flush() {
  if (state == nullptr) return;
  state->scheduled = false;
  // (Batches run here may queue more: they wait for the next flush.)
  std::vector<std::shared_ptr<DynamicBatcher>> batchers;
  batchers.swap(state->pending);
  for (const auto& b : batchers) b->RunReady();
}

}  // namespace inferd::batching
