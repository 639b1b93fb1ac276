#include "store/prediction_batch.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "base/ids.h"

namespace inferd::store {

namespace {

// Per record, six length-prefixed fields: id, version, at_ms, outputs, inputs, digest.
void Put(std::string* out, std::string_view field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  out->append(reinterpret_cast<const char*>(&n), sizeof n);
  out->append(field);
}

bool Get(std::string_view* in, std::string_view* field) {
  uint32_t n = 0;
  if (in->size() < sizeof n) return false;
  std::memcpy(&n, in->data(), sizeof n);
  if (in->size() - sizeof n < n) return false;
  *field = in->substr(sizeof n, n);
  in->remove_prefix(sizeof n + n);
  return true;
}

}  // namespace

BatchEncoder::BatchEncoder(const std::vector<const monitoring::PredictionRecord*>& records) {
  size_t bytes = 0;
  for (const auto* r : records) {
    bytes += 6 * sizeof(uint32_t) + r->id.size() + 24 + r->outputs_json.size() +
             r->inputs_json.size() + r->inputs_sha256.size();
  }
  data_.reserve(bytes);
}

void BatchEncoder::Add(const monitoring::PredictionRecord& r) {
  if (auto t = base::RequestIdTimeMs(r.id)) {
    id_min_ms_ = std::min(id_min_ms_, *t);
    id_max_ms_ = std::max(id_max_ms_, *t);
  }
  first_ms_ = std::min(first_ms_, r.at_ms);
  last_ms_ = std::max(last_ms_, r.at_ms);
  Put(&data_, r.id);
  Put(&data_, std::to_string(r.version));
  Put(&data_, std::to_string(r.at_ms));
  Put(&data_, r.outputs_json);
  Put(&data_, r.inputs_json);
  Put(&data_, r.inputs_sha256);
  ++count_;
}

void ForEachRecord(std::string_view in, const std::string& model,
                   const std::function<void(monitoring::PredictionRecord)>& fn) {
  std::string_view f[6];
  while (Get(&in, &f[0]) && Get(&in, &f[1]) && Get(&in, &f[2]) && Get(&in, &f[3]) &&
         Get(&in, &f[4]) && Get(&in, &f[5])) {
    monitoring::PredictionRecord r;
    r.model = model;
    r.id = f[0];
    r.version = std::atoll(std::string(f[1]).c_str());
    r.at_ms = std::atoll(std::string(f[2]).c_str());
    r.outputs_json = f[3];
    r.inputs_json = f[4];
    r.inputs_sha256 = f[5];
    fn(std::move(r));
  }
}

void AppendNewestFirst(std::string_view blob, const std::string& model, int64_t limit,
                       std::vector<monitoring::PredictionRecord>* out) {
  std::vector<monitoring::PredictionRecord> batch;
  ForEachRecord(blob, model,
                [&](monitoring::PredictionRecord r) { batch.push_back(std::move(r)); });
  // Within a batch, the newest last.
  for (auto it = batch.rbegin(); it != batch.rend() && static_cast<int64_t>(out->size()) < limit;
       ++it) {
    out->push_back(std::move(*it));
  }
}

int64_t FirstBatchToKeep(const std::vector<BatchAge>& newest_first, int64_t before_ms,
                         int64_t keep) {
  int64_t kept = 0;
  for (const auto& b : newest_first) {
    if (kept >= keep || b.last_ms < before_ms) return b.seq + 1;
    kept += b.count;
  }
  return 0;
}

}  // namespace inferd::store
