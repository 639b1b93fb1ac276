// XgboostTrainer: trains XGBoost models through libxgboost's C API, loaded at run time (dlopen of
// libxgboost.so.0, Debian's libxgboost0), so that `inferd serve` never maps the library and a
// machine without it only loses `inferd search`.
// Thread-safety: a trainer may be used from one thread at a time; training uses `nthread` threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace inferd::tools {

struct TrainData {
  const float* x = nullptr;  // rows x cols, row-major; NaN is missing
  int64_t rows = 0, cols = 0;
  const float* labels = nullptr;  // rows
};

struct TrainResult {
  std::string model_json;  // the booster, sliced to its best round, as XGBoost JSON
  int64_t rounds = 0;      // boosting rounds kept (up to the best on the validation data)
};

class XgboostTrainer {
 public:
  // Loads libxgboost. Errors: UNAVAILABLE naming the library and how to install it.
  static base::StatusOr<std::unique_ptr<XgboostTrainer>> Load();
  ~XgboostTrainer();

  // Trains with `params` (libxgboost's names: objective, max_depth, eta, ..., eval_metric) for at
  // most `max_rounds`, stopping when the eval metric on `valid` has not improved for
  // `early_stopping` rounds (`maximize`: higher is better), and keeps the best round.
  // Errors: INVALID_ARGUMENT with libxgboost's message.
  base::StatusOr<TrainResult> Train(const std::map<std::string, std::string>& params,
                                    const TrainData& train, const TrainData& valid,
                                    int64_t max_rounds, int64_t early_stopping,
                                    bool maximize) const;

  struct Api;

 private:
  explicit XgboostTrainer(std::unique_ptr<Api> api);
  std::unique_ptr<Api> api_;
};

}  // namespace inferd::tools
