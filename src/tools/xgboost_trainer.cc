#include "tools/xgboost_trainer.h"

#include <dlfcn.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace inferd::tools {

using base::StatusOr;

namespace {
using Handle = void*;
using bst_ulong = uint64_t;  // as c_api.h declares it
}  // namespace

// The C API's functions this uses (signatures from xgboost/c_api.h, 1.7).
struct XgboostTrainer::Api {
  void* lib = nullptr;
  const char* (*GetLastError)() = nullptr;
  int (*DMatrixCreateFromMat)(const float*, bst_ulong, bst_ulong, float, Handle*) = nullptr;
  int (*DMatrixSetFloatInfo)(Handle, const char*, const float*, bst_ulong) = nullptr;
  int (*DMatrixFree)(Handle) = nullptr;
  int (*BoosterCreate)(const Handle[], bst_ulong, Handle*) = nullptr;
  int (*BoosterFree)(Handle) = nullptr;
  int (*BoosterSetParam)(Handle, const char*, const char*) = nullptr;
  int (*BoosterUpdateOneIter)(Handle, int, Handle) = nullptr;
  int (*BoosterEvalOneIter)(Handle, int, Handle[], const char*[], bst_ulong,
                            const char**) = nullptr;
  int (*BoosterSlice)(Handle, int, int, int, Handle*) = nullptr;
  int (*BoosterSaveModelToBuffer)(Handle, const char*, bst_ulong*, const char**) = nullptr;

  base::Status Error(const std::string& what) const {
    return base::InvalidArgument(what + ": " + GetLastError());
  }
};

namespace {

// Frees a handle on scope exit.
struct Owned {
  Handle h = nullptr;
  int (*free)(Handle) = nullptr;
  ~Owned() {
    if (h != nullptr) free(h);
  }
};

}  // namespace

XgboostTrainer::XgboostTrainer(std::unique_ptr<Api> api) : api_(std::move(api)) {}
XgboostTrainer::~XgboostTrainer() {
  if (api_ && api_->lib) dlclose(api_->lib);
}

StatusOr<std::unique_ptr<XgboostTrainer>> XgboostTrainer::Load() {
  auto api = std::make_unique<Api>();
  for (const char* name : {"libxgboost.so.0", "libxgboost.so"}) {
    api->lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (api->lib != nullptr) break;
  }
  if (api->lib == nullptr) {
    return base::Unavailable(
        "inferd search trains with libxgboost, which is not installed (Debian: apt-get install "
        "libxgboost0)");
  }
  bool ok = true;
  auto bind = [&](auto& fn, const char* symbol) {
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(api->lib, symbol));
    ok = ok && fn != nullptr;
  };
  bind(api->GetLastError, "XGBGetLastError");
  bind(api->DMatrixCreateFromMat, "XGDMatrixCreateFromMat");
  bind(api->DMatrixSetFloatInfo, "XGDMatrixSetFloatInfo");
  bind(api->DMatrixFree, "XGDMatrixFree");
  bind(api->BoosterCreate, "XGBoosterCreate");
  bind(api->BoosterFree, "XGBoosterFree");
  bind(api->BoosterSetParam, "XGBoosterSetParam");
  bind(api->BoosterUpdateOneIter, "XGBoosterUpdateOneIter");
  bind(api->BoosterEvalOneIter, "XGBoosterEvalOneIter");
  bind(api->BoosterSlice, "XGBoosterSlice");
  bind(api->BoosterSaveModelToBuffer, "XGBoosterSaveModelToBuffer");
  if (!ok) {
    dlclose(api->lib);
    return base::Unavailable("the libxgboost found lacks the C API inferd search needs (1.7)");
  }
  return std::unique_ptr<XgboostTrainer>(new XgboostTrainer(std::move(api)));
}

StatusOr<TrainResult> XgboostTrainer::Train(const std::map<std::string, std::string>& params,
                                            const TrainData& train, const TrainData& valid,
                                            int64_t max_rounds, int64_t early_stopping,
                                            bool maximize) const {
  const Api& a = *api_;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Owned dtrain{nullptr, a.DMatrixFree}, dvalid{nullptr, a.DMatrixFree};
  if (a.DMatrixCreateFromMat(train.x, train.rows, train.cols, nan, &dtrain.h) != 0 ||
      a.DMatrixSetFloatInfo(dtrain.h, "label", train.labels, train.rows) != 0 ||
      a.DMatrixCreateFromMat(valid.x, valid.rows, valid.cols, nan, &dvalid.h) != 0 ||
      a.DMatrixSetFloatInfo(dvalid.h, "label", valid.labels, valid.rows) != 0) {
    return a.Error("the training data");
  }
  Owned booster{nullptr, a.BoosterFree};
  Handle cache[] = {dtrain.h, dvalid.h};
  if (a.BoosterCreate(cache, 2, &booster.h) != 0) return a.Error("creating the booster");
  for (const auto& [k, v] : params) {
    if (a.BoosterSetParam(booster.h, k.c_str(), v.c_str()) != 0) {
      return a.Error("parameter " + k + "=" + v);
    }
  }
  TrainResult r;
  double best = maximize ? -INFINITY : INFINITY;
  int64_t best_round = 0;
  Handle evals[] = {dvalid.h};
  const char* names[] = {"valid"};
  for (int64_t it = 0; it < max_rounds; ++it) {
    if (a.BoosterUpdateOneIter(booster.h, static_cast<int>(it), dtrain.h) != 0) {
      return a.Error("training round " + std::to_string(it));
    }
    const char* text = nullptr;
    if (a.BoosterEvalOneIter(booster.h, static_cast<int>(it), evals, names, 1, &text) != 0) {
      return a.Error("evaluating round " + std::to_string(it));
    }
    // "[3]\tvalid-auc:0.9712" (the last metric when there are several)
    const std::string s = text;
    const size_t colon = s.rfind(':');
    const double score = colon == std::string::npos ? NAN : std::atof(s.c_str() + colon + 1);
    if (std::isfinite(score) && (maximize ? score > best : score < best)) {
      best = score;
      best_round = it;
    } else if (it - best_round >= early_stopping) {
      break;
    }
  }
  r.rounds = best_round + 1;
  Owned sliced{nullptr, a.BoosterFree};
  if (a.BoosterSlice(booster.h, 0, static_cast<int>(r.rounds), 1, &sliced.h) != 0) {
    return a.Error("keeping the best rounds");
  }
  bst_ulong len = 0;
  const char* data = nullptr;
  if (a.BoosterSaveModelToBuffer(sliced.h, R"({"format": "json"})", &len, &data) != 0) {
    return a.Error("saving the model");
  }
  r.model_json.assign(data, len);
  return r;
}

}  // namespace inferd::tools
