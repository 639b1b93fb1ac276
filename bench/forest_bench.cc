// Forest engine vs libxgboost 1.7 on the same model and rows, measured in the same run: time per
// predict call at batch 1 and per row at larger batches, and the ratio (libxgboost / inferd: > 1
// means inferd is faster). libxgboost is called the way a C/C++ server would: in-place prediction
// from a dense array (XGBoosterPredictFromDense), one thread.
//
//   build/bench/forest_bench [MODEL.json ...]     (default: examples/models/*/1/model.json)
#include <xgboost/c_api.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "backends/forest/forest_backend.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Median over `reps` repetitions of the time of `iters` calls of fn, in ns per call.
template <typename Fn>
double MedianNs(Fn&& fn, int iters, int reps = 7) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto a = Clock::now();
    for (int i = 0; i < iters; ++i) fn();
    t.push_back(std::chrono::duration<double, std::nano>(Clock::now() - a).count() / iters);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int Run(const fs::path& model_path) {
  auto backend = inferd::backends::forest::ForestBackend::Create({}).value();
  inferd::config::ModelConfig cfg;
  cfg.name = "bench";
  auto model = backend->Load({"bench", 1, model_path, &cfg});
  if (!model.ok()) {
    std::fprintf(stderr, "%s: %s\n", model_path.c_str(), model.status().ToString().c_str());
    return 1;
  }
  const auto& sig = (*model)->signature();
  const int64_t features = sig.inputs[0].shape[1];

  BoosterHandle booster;
  XGBoosterCreate(nullptr, 0, &booster);
  if (XGBoosterLoadModel(booster, model_path.c_str()) != 0) {
    std::fprintf(stderr, "libxgboost: %s\n", XGBGetLastError());
    return 1;
  }
  XGBoosterSetParam(booster, "nthread", "1");

  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0, 1);
  std::printf("%s: %s, %s features, %s trees\n", model_path.c_str(),
              sig.properties.at("objective").c_str(), sig.properties.at("num_features").c_str(),
              sig.properties.at("num_trees").c_str());
  std::printf("  %8s %16s %16s %8s\n", "batch", "libxgboost ns", "inferd ns", "ratio");
  for (int64_t batch : {1, 100, 10000}) {
    std::vector<inferd::tensor::Tensor> in;
    in.emplace_back("input", inferd::tensor::DataType::kFp32,
                    inferd::tensor::Shape{batch, features});
    for (float& v : in[0].data<float>()) v = dist(rng) * 10 + 10;
    const float* data = in[0].data<float>().data();
    char iface[256];
    std::snprintf(iface, sizeof(iface),
                  R"({"data":[%llu,true],"shape":[%lld,%lld],"typestr":"<f4","version":3})",
                  static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(data)),
                  static_cast<long long>(batch), static_cast<long long>(features));
    const char* config =
        R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"missing":NaN,"cache_id":0})";
    const bst_ulong* shape;
    bst_ulong dim;
    const float* result;
    auto xgb = [&] {
      if (XGBoosterPredictFromDense(booster, iface, config, nullptr, &shape, &dim, &result) != 0) {
        std::fprintf(stderr, "libxgboost: %s\n", XGBGetLastError());
        std::exit(1);
      }
    };
    auto ours = [&] {
      auto out = (*model)->Execute(in, {});
      if (!out.ok()) std::exit(1);
    };
    int iters = static_cast<int>(std::max<int64_t>(3, 20000 / batch));
    double x = MedianNs(xgb, iters) / static_cast<double>(batch);
    double o = MedianNs(ours, iters) / static_cast<double>(batch);
    std::printf("  %8lld %13.1f/row %13.1f/row %7.2fx\n", static_cast<long long>(batch), x, o,
                x / o);
  }
  XGBoosterFree(booster);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<fs::path> models;
  for (int i = 1; i < argc; ++i) models.emplace_back(argv[i]);
  if (models.empty()) {
    for (const char* m : {"breast_cancer", "iris", "diabetes"}) {
      models.push_back(fs::path(INFERD_SOURCE_DIR) / "examples/models" / m / "1/model.json");
    }
  }
  for (const auto& m : models) {
    if (int rc = Run(m); rc != 0) return rc;
  }
  return 0;
}
