#include "batching/batch_queue.h"

#include <algorithm>

namespace inferd::batching {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

bool Compatible(const BatchRequest& a, const BatchRequest& b) {
  if (a.outputs != b.outputs || a.inputs.size() != b.inputs.size()) return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const auto& x = a.inputs[i];
    const auto& y = b.inputs[i];
    if (x.name() != y.name() || x.dtype() != y.dtype() || x.shape().size() != y.shape().size() ||
        x.shape().empty() ||
        !std::equal(x.shape().begin() + 1, x.shape().end(), y.shape().begin() + 1)) {
      return false;
    }
  }
  return true;
}

StatusOr<BatchQueue> BatchQueue::Create(const BatchQueueOptions& options) {
  if (options.max_batch_size < 1) return InvalidArgument("max_batch_size must be >= 1");
  if (options.max_queue_delay.count() < 0) return InvalidArgument("max_queue_delay must be >= 0");
  if (options.max_queue_size < 0) return InvalidArgument("max_queue_size must be >= 0");
  if (options.default_timeout.count() < 0) return InvalidArgument("default timeout must be >= 0");
  for (int64_t p : options.preferred_batch_sizes) {
    if (p < 1 || p > options.max_batch_size) {
      return InvalidArgument("preferred batch size " + std::to_string(p) +
                             " is not between 1 and max_batch_size " +
                             std::to_string(options.max_batch_size));
    }
  }
  if (options.priority_levels < 0) return InvalidArgument("priority_levels must be >= 0");
  if (options.priority_levels > 0 && (options.default_priority_level < 1 ||
                                      options.default_priority_level > options.priority_levels)) {
    return InvalidArgument("default_priority_level must be between 1 and priority_levels");
  }
  BatchQueue q(options);
  std::sort(q.options_.preferred_batch_sizes.begin(), q.options_.preferred_batch_sizes.end());
  return q;
}

Status BatchQueue::Add(BatchRequest request, base::Clock::TimePoint now) {
  if (request.rows < 1) return InvalidArgument("a request must have at least one row");
  if (request.rows > options_.max_batch_size) {
    return InvalidArgument("the request has " + std::to_string(request.rows) +
                           " rows; the model's max_batch_size is " +
                           std::to_string(options_.max_batch_size));
  }
  int level = 0;
  if (options_.priority_levels > 0) {
    if (request.priority < 0 || request.priority > options_.priority_levels) {
      return InvalidArgument("priority " + std::to_string(request.priority) +
                             " is out of range: the model has priority levels 1 to " +
                             std::to_string(options_.priority_levels) + " (0: the default)");
    }
    level = request.priority == 0 ? options_.default_priority_level : request.priority;
  }
  if (options_.max_queue_size > 0 && size_ >= static_cast<size_t>(options_.max_queue_size)) {
    return base::ResourceExhausted("the model's queue is full (" +
                                   std::to_string(options_.max_queue_size) + " requests)");
  }
  if (request.timeout && request.timeout->count() < 0) {
    return InvalidArgument("the timeout must not be negative");
  }
  std::optional<std::chrono::microseconds> timeout = request.timeout;
  if (options_.default_timeout.count() > 0) {
    timeout = timeout ? std::min(*timeout, options_.default_timeout) : options_.default_timeout;
  }
  request.queued = now;
  if (timeout) request.deadline = now + *timeout;
  levels_[level].push_back(std::move(request));
  ++size_;
  return Status::Ok();
}

std::vector<BatchRequest> BatchQueue::Expire(base::Clock::TimePoint now) {
  std::vector<BatchRequest> expired;
  for (auto& [level, q] : levels_) {
    for (auto it = q.begin(); it != q.end();) {
      if (it->deadline && *it->deadline <= now) {
        expired.push_back(std::move(*it));
        it = q.erase(it);
        --size_;
      } else {
        ++it;
      }
    }
  }
  return expired;
}

std::deque<BatchRequest>* BatchQueue::Head() {
  for (auto& [level, q] : levels_) {
    if (!q.empty()) return &q;
  }
  return nullptr;
}

std::vector<BatchQueue::Pick> BatchQueue::Candidates(int64_t* rows,
                                                     base::Clock::TimePoint* oldest) {
  std::vector<Pick> picks;
  *rows = 0;
  std::deque<BatchRequest>* head_level = Head();
  if (head_level == nullptr) return picks;
  const BatchRequest& head = head_level->front();
  *oldest = head.queued;
  for (auto& [level, q] : levels_) {
    for (size_t i = 0; i < q.size() && *rows < options_.max_batch_size; ++i) {
      const BatchRequest& r = q[i];
      if (*rows + r.rows > options_.max_batch_size || !Compatible(head, r)) continue;
      *rows += r.rows;
      picks.push_back({&q, i, *rows});
      *oldest = std::min(*oldest, r.queued);
    }
  }
  return picks;
}

std::vector<BatchRequest> BatchQueue::Take(base::Clock::TimePoint now) {
  int64_t rows = 0;
  base::Clock::TimePoint oldest{};
  std::vector<Pick> picks = Candidates(&rows, &oldest);
  if (picks.empty()) return {};
  // How many of the picks leave now: all at max_batch_size; the longest run that reaches a
  // preferred size exactly; all once the oldest has waited max_queue_delay.
  size_t count = 0;
  if (rows == options_.max_batch_size) {
    count = picks.size();
  } else {
    for (size_t i = picks.size(); i-- > 0 && count == 0;) {
      if (std::binary_search(options_.preferred_batch_sizes.begin(),
                             options_.preferred_batch_sizes.end(), picks[i].rows_after)) {
        count = i + 1;
      }
    }
    if (count == 0 && now - oldest >= options_.max_queue_delay) count = picks.size();
  }
  if (count == 0) return {};
  // Move the chosen requests out, then erase them, last first (picks are in queue order).
  std::vector<BatchRequest> batch;
  batch.reserve(count);
  for (size_t i = 0; i < count; ++i) batch.push_back(std::move((*picks[i].level)[picks[i].index]));
  for (size_t i = count; i-- > 0;) {
    picks[i].level->erase(picks[i].level->begin() + static_cast<std::ptrdiff_t>(picks[i].index));
  }
  size_ -= count;
  return batch;
}

std::optional<base::Clock::TimePoint> BatchQueue::NextEvent() {
  std::optional<base::Clock::TimePoint> next;
  auto consider = [&](base::Clock::TimePoint t) {
    if (!next || t < *next) next = t;
  };
  int64_t rows = 0;
  base::Clock::TimePoint oldest{};
  if (!Candidates(&rows, &oldest).empty()) consider(oldest + options_.max_queue_delay);
  for (const auto& [level, q] : levels_) {
    for (const BatchRequest& r : q) {
      if (r.deadline) consider(*r.deadline);
    }
  }
  return next;
}

}  // namespace inferd::batching
