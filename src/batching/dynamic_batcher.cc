#include "batching/dynamic_batcher.h"

#include <thread>

#include "base/thread_annotations.h"

namespace inferd::batching {

using base::Status;

struct DynamicBatcher::State {
  explicit State(BatchQueue q, const DynamicBatcherOptions& o, RunBatchFn r)
      : queue(std::move(q)), options(o), run(std::move(r)) {}

  BatchQueue queue GUARDED_BY(mu);
  const DynamicBatcherOptions options;
  const RunBatchFn run;
  base::Mutex mu;
  base::CondVar cv;       // queue changed, clock poked, or stopping
  base::CondVar exit_cv;  // a worker exited
  bool stopping GUARDED_BY(mu) = false;
  uint64_t generation GUARDED_BY(mu) = 0;  // bumped on every change a worker must look at
  int live_workers GUARDED_BY(mu) = 0;
  int running GUARDED_BY(mu) = 0;  // batches being run, by workers and callers
};

namespace {

thread_local const DynamicBatcher::State* current_worker_state = nullptr;

// Merges the requests' inputs, runs them, and answers each request with its rows.
void RunBatch(const DynamicBatcher::State& s, std::vector<BatchRequest> batch,
              base::Clock::TimePoint start) {
  int64_t rows = 0;
  std::vector<int64_t> parts;
  for (const auto& r : batch) {
    rows += r.rows;
    parts.push_back(r.rows);
  }
  Outputs outputs = [&]() -> Outputs {
    std::vector<tensor::Tensor> inputs;
    if (batch.size() == 1) {
      inputs = std::move(batch[0].inputs);
    } else {
      for (size_t i = 0; i < batch[0].inputs.size(); ++i) {
        std::vector<const tensor::Tensor*> pieces;
        for (const auto& r : batch) pieces.push_back(&r.inputs[i]);
        ASSIGN_OR_RETURN(auto merged, tensor::ConcatRows(pieces, batch[0].inputs[i].name()));
        inputs.push_back(std::move(merged));
      }
    }
    return s.run(std::move(inputs), batch[0].outputs);
  }();
  std::vector<std::vector<tensor::Tensor>> split(batch.size());
  if (outputs.ok()) {
    for (const tensor::Tensor& t : *outputs) {
      if (t.shape().empty() || t.shape()[0] != rows) {
        outputs = base::Internal("output '" + t.name() + "' of shape " +
                                 tensor::ShapeToString(t.shape()) + " has no batch dimension of " +
                                 std::to_string(rows) + " rows: the model cannot be batched");
        break;
      }
      auto pieces = tensor::SplitRows(t, parts);
      if (!pieces.ok()) {
        outputs = pieces.status();
        break;
      }
      for (size_t i = 0; i < batch.size(); ++i) split[i].push_back(std::move((*pieces)[i]));
    }
  }
  const auto end = s.options.clock->Now();
  for (size_t i = 0; i < batch.size(); ++i) {
    BatchResult result;
    result.outputs = outputs.ok() ? Outputs(std::move(split[i])) : Outputs(outputs.status());
    result.queue = start - batch[i].queued;
    result.compute = end - start;
    result.batch_rows = rows;
    result.index_in_batch = i;
    batch[i].done(std::move(result));
  }
}

void Answer(std::vector<BatchRequest> requests, const Status& status) {
  for (auto& r : requests) {
    BatchResult result;
    result.outputs = status;
    r.done(std::move(result));
  }
}

// Answers the requests whose timeout passed by `now` (with s.mu held; released meanwhile).
// Returns whether there were any.
bool AnswerExpired(DynamicBatcher::State& s, base::Clock::TimePoint now) NO_THREAD_SAFETY_ANALYSIS {
  auto expired = s.queue.Expire(now);
  if (expired.empty()) return false;
  s.mu.Unlock();
  Answer(std::move(expired),
         base::Status(base::StatusCode::kDeadlineExceeded,
                      "the request's timeout passed while it waited in the queue"));
  s.mu.Lock();
  return true;
}

void Work(std::shared_ptr<DynamicBatcher::State> state) NO_THREAD_SAFETY_ANALYSIS {
  DynamicBatcher::State& s = *state;
  current_worker_state = &s;
  s.mu.Lock();
  while (!s.stopping) {
    const auto now = s.options.clock->Now();
    if (AnswerExpired(s, now)) continue;
    auto batch = s.running < s.options.instances ? s.queue.Take(now) : std::vector<BatchRequest>();
    if (!batch.empty()) {
      ++s.running;
      ++s.generation;  // the queue changed: another worker may have a batch to take now
      s.cv.NotifyOne();
      s.mu.Unlock();
      RunBatch(s, std::move(batch), now);
      s.mu.Lock();
      --s.running;
      continue;
    }
    const uint64_t seen = s.generation;
    const auto next = s.queue.NextEvent();
    auto changed = [&]() NO_THREAD_SAFETY_ANALYSIS { return s.stopping || s.generation != seen; };
    if (next) {
      s.cv.WaitFor(s.mu, std::max(*next - now, base::Clock::Duration(0)), changed);
    } else {
      s.cv.Wait(s.mu, changed);
    }
  }
  // Stopping: what is still queued is answered (Submit refuses new requests by now).
  std::vector<BatchRequest> left = s.queue.Expire(base::Clock::TimePoint::max());
  while (s.queue.size() > 0) {
    for (auto& r : s.queue.Take(base::Clock::TimePoint::max())) left.push_back(std::move(r));
  }
  s.mu.Unlock();
  Answer(std::move(left), base::Unavailable("the model version is being unloaded"));
  s.mu.Lock();
  --s.live_workers;
  s.exit_cv.NotifyAll();
  s.mu.Unlock();
  current_worker_state = nullptr;
}

}  // namespace

base::StatusOr<std::unique_ptr<DynamicBatcher>> DynamicBatcher::Create(
    const DynamicBatcherOptions& options, RunBatchFn run) {
  if (options.instances < 1) return base::InvalidArgument("instances must be >= 1");
  if (options.clock == nullptr || !run) return base::InvalidArgument("a clock and a run function");
  ASSIGN_OR_RETURN(BatchQueue queue, BatchQueue::Create(options.queue));
  auto state = std::make_shared<State>(std::move(queue), options, std::move(run));
  {
    base::MutexLock lock(state->mu);
    state->live_workers = options.instances;
  }
  for (int i = 0; i < options.instances; ++i) std::thread(Work, state).detach();
  const bool caller_runs = options.queue.max_queue_delay.count() == 0;
  return std::unique_ptr<DynamicBatcher>(new DynamicBatcher(std::move(state), caller_runs));
}

DynamicBatcher::~DynamicBatcher() {
  base::MutexLock lock(state_->mu);
  state_->stopping = true;
  state_->cv.NotifyAll();
  if (current_worker_state == state_.get()) return;  // on a worker: it exits when it returns
  state_->exit_cv.Wait(state_->mu,
                       [this]() NO_THREAD_SAFETY_ANALYSIS { return state_->live_workers == 0; });
}

Status DynamicBatcher::Submit(BatchRequest request, bool caller_runs) {
  base::MutexLock lock(state_->mu);
  if (state_->stopping) return base::Unavailable("the model version is being unloaded");
  RETURN_IF_ERROR(state_->queue.Add(std::move(request), state_->options.clock->Now()));
  if (caller_runs && caller_runs_) return Status::Ok();  // the caller runs it (RunReady)
  ++state_->generation;
  state_->cv.NotifyOne();
  return Status::Ok();
}

size_t DynamicBatcher::RunReady() NO_THREAD_SAFETY_ANALYSIS {
  State& s = *state_;
  size_t ran = 0;
  s.mu.Lock();
  while (!s.stopping && s.running < s.options.instances) {
    const auto now = s.options.clock->Now();
    if (AnswerExpired(s, now)) continue;
    auto batch = s.queue.Take(now);
    if (batch.empty()) break;
    ++s.running;
    s.mu.Unlock();
    RunBatch(s, std::move(batch), now);
    ++ran;
    s.mu.Lock();
    --s.running;
  }
  // Left in the queue only when every instance is busy (whoever runs takes the next batch when
  // it finishes) or when stopping (the workers answer it).
  s.mu.Unlock();
  return ran;
}

void DynamicBatcher::Poke() {
  base::MutexLock lock(state_->mu);
  ++state_->generation;
  state_->cv.NotifyAll();
}

size_t DynamicBatcher::queued() const {
  base::MutexLock lock(state_->mu);
  return state_->queue.size();
}

}  // namespace inferd::batching
