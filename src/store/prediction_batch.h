// How the state stores keep prediction records: in batches, one row per write, each row a blob of
// records (a row per prediction would cost every prediction an index insert). inferd's own
// request ids start with their time in ms (base/ids.h), so a batch notes the range of those times
// and a lookup reads the batches that span an id's time (base::RequestIdTimeMs); other ids are
// indexed one by one.
// Shared by SqliteStore and PostgresStore.
// Thread-safety: pure functions; a BatchEncoder is used by one thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "monitoring/monitor_store.h"

namespace inferd::store {

// A batch's blob, and what its row notes about it.
class BatchEncoder {
 public:
  // Reserves room for `records` (one allocation for the batch, not a copy per doubling).
  explicit BatchEncoder(const std::vector<const monitoring::PredictionRecord*>& records);
  void Add(const monitoring::PredictionRecord& record);

  const std::string& data() const { return data_; }
  int64_t count() const { return count_; }
  int64_t first_ms() const { return first_ms_; }
  int64_t last_ms() const { return last_ms_; }
  // The range of the id times, when some id had one.
  bool has_id_times() const { return id_min_ms_ <= id_max_ms_; }
  int64_t id_min_ms() const { return id_min_ms_; }
  int64_t id_max_ms() const { return id_max_ms_; }

 private:
  std::string data_;
  int64_t count_ = 0, first_ms_ = INT64_MAX, last_ms_ = INT64_MIN;
  int64_t id_min_ms_ = INT64_MAX, id_max_ms_ = INT64_MIN;
};

// Calls fn(record) for each record of a batch's blob, in the order written.
void ForEachRecord(std::string_view blob, const std::string& model,
                   const std::function<void(monitoring::PredictionRecord)>& fn);

// Appends a batch's records to `out`, newest first, until `out` holds `limit`.
void AppendNewestFirst(std::string_view blob, const std::string& model, int64_t limit,
                       std::vector<monitoring::PredictionRecord>* out);

// A batch row as retention sees it.
struct BatchAge {
  int64_t seq = 0, count = 0, last_ms = 0;
};
// Retention (MonitorStore::Prune): given a model's batches newest first, the first seq to keep —
// none whose records are all older than `before_ms`, and whole batches up to at least `keep`
// records. 0 when every batch stays.
int64_t FirstBatchToKeep(const std::vector<BatchAge>& newest_first, int64_t before_ms,
                         int64_t keep);

// The window of batches that may hold an id made at `id_ms`: a batch spans the ids it got within
// minutes (a request's id is made when it arrives), so one that starts within the hour before.
constexpr int64_t kBatchIdSpanMs = 3'600'000;

}  // namespace inferd::store
