// Forest engine vs libxgboost 1.7 on the same models and rows, measured in the same process:
// nanoseconds per row at batch 1, 64 and 10,000, one thread each, median of repeated runs, and
// the ratio libxgboost / inferd (> 1: inferd is faster). libxgboost is called the way a C++
// server would call it: in-place prediction from a dense array (XGBoosterPredictFromDense).
//
// The models are trained here with libxgboost's C API on synthetic data (fixed seeds) the first
// time and cached in --model-dir:
//   binary_100x6      binary:logistic, 100 trees of depth 6, 30 features
//   regression_500x8  reg:squarederror, 500 trees of depth 8, 30 features
//   softprob_10class  multi:softprob, 10 classes x 20 rounds of depth 6, 30 features
//
//   forest_bench [--json] [--portable] [--model-dir DIR] [--engine both|inferd|xgboost]
//                [--batch N] [--reps N] [MODEL.json ...]
// --portable measures the portable kernels even on a CPU with AVX-512.
#include <xgboost/c_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "backends/forest/compiled_forest.h"
#include "backends/forest/forest_backend.h"
#include "backends/forest/xgboost_model.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

#define XGB_CHECK(call)                                            \
  do {                                                             \
    if ((call) != 0) {                                             \
      std::fprintf(stderr, "libxgboost: %s\n", XGBGetLastError()); \
      std::exit(1);                                                \
    }                                                              \
  } while (0)

struct Options {
  bool json = false;
  bool portable = false;  // the portable kernels even where AVX-512 is available
  std::string engine = "both";
  std::vector<int64_t> batches = {1, 64, 10000};
  int reps = 9;
  fs::path model_dir = "bench-models";
  std::vector<fs::path> models;
};

struct TrainSpec {
  std::string name, objective;
  int rounds, depth, num_class;
};

// Synthetic rows: 30 features, a few with missing values, labels from a fixed formula.
std::vector<float> SyntheticRows(int64_t rows, int64_t features, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0, 1);
  std::uniform_real_distribution<float> u(0, 1);
  std::vector<float> x(static_cast<size_t>(rows * features));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t f = 0; f < features; ++f) {
      float v = dist(rng) * (1.0f + static_cast<float>(f % 5));
      if (f % 7 == 3 && u(rng) < 0.1f) v = NAN;
      x[static_cast<size_t>(r * features + f)] = v;
    }
  }
  return x;
}

fs::path TrainIfMissing(const TrainSpec& spec, const fs::path& dir) {
  fs::path path = dir / (spec.name + ".json");
  if (fs::exists(path)) return path;
  fs::create_directories(dir);
  std::fprintf(stderr, "training %s (once; cached in %s)...\n", spec.name.c_str(), dir.c_str());
  const int64_t rows = 20000, features = 30;
  std::vector<float> x = SyntheticRows(rows, features, 42);
  std::vector<float> y(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = &x[static_cast<size_t>(r * features)];
    float s = 0;
    for (int f = 0; f < 10; ++f) s += std::isnan(row[f]) ? 0.5f : std::sin(row[f] * (f + 1));
    if (spec.num_class > 0) {
      y[static_cast<size_t>(r)] =
          static_cast<float>(static_cast<int>(std::fabs(s) * 3) % spec.num_class);
    } else if (spec.objective == "binary:logistic") {
      y[static_cast<size_t>(r)] = s > 0 ? 1.0f : 0.0f;
    } else {
      y[static_cast<size_t>(r)] = s * 10 + row[11] * row[12];
    }
  }
  DMatrixHandle d;
  XGB_CHECK(XGDMatrixCreateFromMat(x.data(), rows, features, NAN, &d));
  XGB_CHECK(XGDMatrixSetFloatInfo(d, "label", y.data(), rows));
  BoosterHandle b;
  XGB_CHECK(XGBoosterCreate(&d, 1, &b));
  auto set = [&](const char* k, const std::string& v) {
    XGB_CHECK(XGBoosterSetParam(b, k, v.c_str()));
  };
  set("objective", spec.objective);
  set("max_depth", std::to_string(spec.depth));
  set("tree_method", "hist");
  set("eta", "0.1");
  set("seed", "7");
  set("min_child_weight", "0");
  set("lambda", "0.1");
  if (spec.num_class > 0) set("num_class", std::to_string(spec.num_class));
  for (int i = 0; i < spec.rounds; ++i) XGB_CHECK(XGBoosterUpdateOneIter(b, i, d));
  XGB_CHECK(XGBoosterSaveModel(b, path.c_str()));
  XGBoosterFree(b);
  XGDMatrixFree(d);
  return path;
}

// Median ns per call of fn over `reps` runs of `iters` calls each.
template <typename Fn>
double MedianNs(Fn&& fn, int iters, int reps) {
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto a = Clock::now();
    for (int i = 0; i < iters; ++i) fn();
    t.push_back(std::chrono::duration<double, std::nano>(Clock::now() - a).count() / iters);
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

int Run(const fs::path& model_path, const Options& o) {
  inferd::backends::forest::ForestBackendOptions fo;
  fo.threads = 1;  // one thread, as libxgboost below
  fo.allow_simd = !o.portable;
  auto backend = inferd::backends::forest::ForestBackend::Create(fo).value();
  inferd::config::ModelConfig cfg;
  cfg.name = "bench";
  auto model = backend->Load({"bench", 1, model_path, &cfg});
  if (!model.ok()) {
    std::fprintf(stderr, "%s: %s\n", model_path.c_str(), model.status().ToString().c_str());
    return 1;
  }
  const auto& sig = (*model)->signature();
  auto parsed = inferd::backends::forest::ReadXgboostModel(model_path, int64_t{1} << 30);
  if (!parsed.ok()) return 1;
  inferd::backends::forest::CompiledForest<float>::Options co;
  co.allow_simd = !o.portable;
  auto engine = inferd::backends::forest::CompiledForest<float>::Compile(parsed->forest, co);
  if (!engine.ok()) return 1;
  const int64_t features = sig.inputs[0].shape[1];
  BoosterHandle booster;
  XGB_CHECK(XGBoosterCreate(nullptr, 0, &booster));
  XGB_CHECK(XGBoosterLoadModel(booster, model_path.c_str()));
  XGB_CHECK(XGBoosterSetParam(booster, "nthread", "1"));

  const std::string name = model_path.stem().string();
  if (!o.json) {
    std::printf("%s: %s, %s features, %s trees\n", model_path.c_str(),
                sig.properties.at("objective").c_str(), sig.properties.at("num_features").c_str(),
                sig.properties.at("num_trees").c_str());
    std::printf("  %8s %18s %18s %8s %16s\n", "batch", "libxgboost ns/row", "inferd ns/row",
                "ratio", "(engine ns/row)");
  }
  for (int64_t batch : o.batches) {
    std::vector<inferd::tensor::Tensor> in;
    in.emplace_back("input", inferd::tensor::DataType::kFp32,
                    inferd::tensor::Shape{batch, features});
    std::vector<float> rows = SyntheticRows(batch, features, 1234);
    std::copy(rows.begin(), rows.end(), in[0].data<float>().begin());
    char iface[256];
    std::snprintf(
        iface, sizeof(iface),
        R"({"data":[%llu,true],"shape":[%lld,%lld],"typestr":"<f4","version":3})",
        static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(in[0].data<float>().data())),
        static_cast<long long>(batch), static_cast<long long>(features));
    const char* config =
        R"({"type":0,"training":false,"iteration_begin":0,"iteration_end":0,"strict_shape":false,"missing":NaN,"cache_id":0})";
    const bst_ulong* shape;
    bst_ulong dim;
    const float* result;
    auto xgb = [&] {
      XGB_CHECK(XGBoosterPredictFromDense(booster, iface, config, nullptr, &shape, &dim, &result));
    };
    auto ours = [&] {
      auto out = (*model)->Execute(in, {});
      if (!out.ok()) std::exit(1);
    };
    // The engine alone (raw scores into a preallocated buffer), to show the per-call overhead of
    // Execute (checks, output tensors, transforms) apart from the tree walks.
    std::vector<float> margins(static_cast<size_t>(batch * engine->num_groups()));
    auto core = [&] { engine->PredictMargin(in[0].data<float>().data(), batch, margins.data()); };
    // About 0.1 s per repetition at most.
    const int iters = static_cast<int>(std::max<int64_t>(2, 200000 / batch));
    double x = 0, y = 0, z = 0;
    if (o.engine != "inferd") x = MedianNs(xgb, std::max(2, iters / 10), o.reps) / batch;
    if (o.engine != "xgboost") {
      y = MedianNs(ours, iters, o.reps) / batch;
      z = MedianNs(core, iters, o.reps) / batch;
    }
    const double ratio = y > 0 ? x / y : 0;
    if (o.json) {
      std::printf(
          "{\"model\": \"%s\", \"batch\": %lld, \"xgboost_ns_per_row\": %.1f, "
          "\"inferd_ns_per_row\": %.1f, \"ratio\": %.2f}\n",
          name.c_str(), static_cast<long long>(batch), x, y, ratio);
    } else {
      std::printf("  %8lld %18.1f %18.1f %7.2fx %16.1f\n", static_cast<long long>(batch), x, y,
                  ratio, z);
    }
    std::fflush(stdout);
  }
  XGBoosterFree(booster);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--json") {
      o.json = true;
    } else if (a == "--portable") {
      o.portable = true;
    } else if (a == "--engine") {
      o.engine = next();
    } else if (a == "--batch") {
      o.batches = {std::stoll(next())};
    } else if (a == "--reps") {
      o.reps = std::stoi(next());
    } else if (a == "--model-dir") {
      o.model_dir = next();
    } else if (a.starts_with("--")) {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    } else {
      o.models.emplace_back(a);
    }
  }
  if (o.models.empty()) {
    const TrainSpec specs[] = {
        {"binary_100x6", "binary:logistic", 100, 6, 0},
        {"regression_500x8", "reg:squarederror", 500, 8, 0},
        {"softprob_10class", "multi:softprob", 20, 6, 10},
    };
    for (const auto& s : specs) o.models.push_back(TrainIfMissing(s, o.model_dir));
  }
  for (const auto& m : o.models) {
    if (int rc = Run(m, o); rc != 0) return rc;
  }
  return 0;
}
