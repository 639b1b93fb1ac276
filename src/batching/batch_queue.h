// BatchQueue: the scheduling rules of the dynamic batcher, without threads — requests wait in
// priority levels (FIFO within a level), and a batch is formed from the oldest most urgent
// request and the compatible requests queued after it, following Triton's dynamic batcher:
//  - a batch never exceeds max_batch_size rows;
//  - it leaves at once when it reaches max_batch_size rows or one of the preferred batch sizes
//    (the largest one it can make), or when max_queue_delay has passed since its oldest request
//    was queued (0: at once, whatever it holds);
//  - a request whose timeout passes while it waits is answered DEADLINE_EXCEEDED and dropped.
// Requests are compatible when they would concatenate (same datatypes, same dimensions after the
// first) and ask for the same outputs. Time comes from the caller (`now`), so tests drive it.
// Thread-safety: not thread-safe; DynamicBatcher serializes access.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "tensor/tensor.h"

namespace inferd::batching {

using Outputs = base::StatusOr<std::vector<tensor::Tensor>>;

// What a request gets back: its rows of the outputs (or the error), and where its time went.
struct BatchResult {
  Outputs outputs = base::Internal("the request did not run");
  std::chrono::nanoseconds queue{0};    // from queued to its batch starting
  std::chrono::nanoseconds compute{0};  // its batch's run (merge, model, split)
  int64_t batch_rows = 0;               // rows of the batch it ran in (0: it did not run)
  size_t index_in_batch = 0;            // 0 for the first request of its batch
};

// One request's part of a batch.
struct BatchRequest {
  std::vector<tensor::Tensor> inputs;  // batch dimension first, all with `rows` rows
  std::vector<std::string> outputs;    // requested outputs (part of compatibility)
  int64_t rows = 0;
  // Priority level: 1 is the most urgent; 0 means the default level.
  int priority = 0;
  // How long it may wait in the queue; absent: the queue's default. It may only shorten the
  // default (Triton's rule).
  std::optional<std::chrono::microseconds> timeout;
  // Called exactly once, with this request's rows of the outputs or an error. Called without
  // the batcher's lock held, on the thread that ran the batch.
  std::function<void(BatchResult)> done;

  // Set by BatchQueue::Add.
  base::Clock::TimePoint queued{};
  std::optional<base::Clock::TimePoint> deadline;
};

struct BatchQueueOptions {
  int64_t max_batch_size = 1;  // rows, >= 1
  std::chrono::microseconds max_queue_delay{0};
  std::vector<int64_t> preferred_batch_sizes;  // each in [1, max_batch_size]
  int64_t max_queue_size = 0;                  // requests waiting; 0 = no limit
  int priority_levels = 0;                     // 0: priorities ignored (one level)
  int default_priority_level = 0;              // used for priority 0 when levels > 0
  // A request's timeout when it names none; 0 = none. A request may only shorten it.
  std::chrono::microseconds default_timeout{0};
};

class BatchQueue {
 public:
  // Errors: INVALID_ARGUMENT for options out of range.
  static base::StatusOr<BatchQueue> Create(const BatchQueueOptions& options);

  // Queues a request. Errors (the request is not queued; `done` is not called):
  // INVALID_ARGUMENT for more rows than max_batch_size, no rows, or a priority beyond the levels;
  // RESOURCE_EXHAUSTED when max_queue_size requests already wait.
  base::Status Add(BatchRequest request, base::Clock::TimePoint now);

  // Removes the requests whose deadline has passed and returns them (the caller answers them).
  std::vector<BatchRequest> Expire(base::Clock::TimePoint now);

  // The next batch to run if one is ready at `now`, else empty.
  std::vector<BatchRequest> Take(base::Clock::TimePoint now);

  // When Take or Expire may next have something to do (the delay of the batch Take would form
  // running out, or a deadline); absent when nothing waits.
  std::optional<base::Clock::TimePoint> NextEvent();

  size_t size() const { return size_; }
  const BatchQueueOptions& options() const { return options_; }

 private:
  explicit BatchQueue(const BatchQueueOptions& options) : options_(options) {}
  struct Pick {
    std::deque<BatchRequest>* level;
    size_t index;
    int64_t rows_after;  // the batch's rows with this request
  };
  // The level whose front a batch starts from: the most urgent non-empty one.
  std::deque<BatchRequest>* Head();
  // The requests the next batch would hold, in queue order (the head, then the compatible
  // requests that fit, most urgent level first); their rows and the oldest one's queue time.
  std::vector<Pick> Candidates(int64_t* rows, base::Clock::TimePoint* oldest);

  BatchQueueOptions options_;
  std::map<int, std::deque<BatchRequest>> levels_;  // level -> FIFO; lower level = more urgent
  size_t size_ = 0;
};

// True when `a` and `b` may run in one batch.
bool Compatible(const BatchRequest& a, const BatchRequest& b);

}  // namespace inferd::batching
