// The ONNX engine vs ONNX Runtime (onnxruntime-node, one intra-op thread) on the same models and
// inputs, in one run: median microseconds per call at batch 1, 32 and 256, and the ratio
// ort / inferd (> 1: inferd is faster). ONNX Runtime runs in node, timed inside node around
// session.run (tools/fixtures/ort/bench_ort.js); when node or the package is missing the ORT
// column is skipped, saying so.
//
//   onnx_bench [--json] [--reps N] [--threads N] [--profile] [FIXTURE ...]
// (default: the four model fixtures; --threads: inferd's threads per call, ORT keeps one).
// --profile prints each planned step's median time instead of the ORT comparison.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "backend/model_file.h"
#include "backends/onnx/graph_rewrite.h"
#include "backends/onnx/onnx_backend.h"
#include "backends/onnx/onnx_model.h"
#include "backends/onnx/plan.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

const fs::path kRoot = INFERD_SOURCE_DIR;

// Inputs for `batch` rows shaped like the fixture's first case: normal floats; token ids within
// the range the fixture uses.
json MakeInputs(const json& fixture_case, int64_t batch, std::mt19937& rng) {
  json out = {{"inputs", json::array()}};
  for (const auto& in : fixture_case["inputs"]) {
    auto shape = in["shape"].get<std::vector<int64_t>>();
    shape[0] = batch;
    int64_t count = 1;
    for (int64_t d : shape) count *= d;
    json data = json::array();
    if (in["datatype"] == "INT64") {
      int64_t hi = 1;
      for (const auto& v : in["data"]) hi = std::max(hi, v.get<int64_t>() + 1);
      std::uniform_int_distribution<int64_t> pick(0, hi - 1);
      for (int64_t i = 0; i < count; ++i) data.push_back(pick(rng));
    } else {
      std::normal_distribution<float> normal(0, 1);
      for (int64_t i = 0; i < count; ++i) data.push_back(normal(rng));
    }
    out["inputs"].push_back(
        {{"name", in["name"]}, {"datatype", in["datatype"]}, {"shape", shape}, {"data", data}});
  }
  return out;
}

std::vector<inferd::tensor::Tensor> ToTensors(const json& inputs) {
  std::vector<inferd::tensor::Tensor> out;
  for (const auto& in : inputs["inputs"]) {
    const bool ints = in["datatype"] == "INT64";
    inferd::tensor::Tensor t(
        in["name"], ints ? inferd::tensor::DataType::kInt64 : inferd::tensor::DataType::kFp32,
        in["shape"].get<inferd::tensor::Shape>());
    for (size_t i = 0; i < in["data"].size(); ++i) {
      if (ints) {
        t.data<int64_t>()[i] = in["data"][i].get<int64_t>();
      } else {
        t.data<float>()[i] = in["data"][i].get<float>();
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

// ORT's median microseconds, or -1 when it cannot run here.
double OrtMicros(const fs::path& model, const json& inputs, int reps) {
  const fs::path runner = kRoot / "tools/fixtures/ort/bench_ort.js";
  if (!fs::exists(kRoot / "tools/fixtures/ort/node_modules/onnxruntime-node")) return -1;
  const fs::path in =
      fs::temp_directory_path() / ("onnx_bench_" + std::to_string(::getpid()) + ".json");
  std::ofstream(in) << inputs.dump();
  const std::string cmd = "node " + runner.string() + " " + model.string() + " " + in.string() +
                          " " + std::to_string(reps) + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  double us = -1;
  if (p != nullptr) {
    if (std::fscanf(p, "%lf", &us) != 1) us = -1;
    if (::pclose(p) != 0) us = -1;
  }
  fs::remove(in);
  return us;
}

// Prints the median microseconds of each step of the plan for `batch`.
int Profile(const fs::path& model, const std::vector<inferd::tensor::Tensor>& tensors,
            int64_t batch, int reps) {
  namespace ox = inferd::backends::onnx;
  auto bytes = inferd::backend::ReadModelFile(model, 1 << 30);
  auto info = bytes.ok() ? ox::InspectOnnxModel(*bytes) : bytes.status();
  if (!info.ok()) {
    std::fprintf(stderr, "%s\n", info.status().ToString().c_str());
    return 1;
  }
  ox::RewriteGraph(&info->graph);
  auto plan = ox::OnnxPlan::Create(info->graph, batch);
  auto us = plan.ok() ? (*plan)->Profile(tensors, reps) : plan.status();
  if (!us.ok()) {
    std::fprintf(stderr, "%s\n", us.status().ToString().c_str());
    return 1;
  }
  const auto steps = (*plan)->Describe();
  double total = 0;
  for (double t : *us) total += t;
  std::printf("  batch %lld: %zu steps, arena %zu bytes, %.1f us in steps\n",
              static_cast<long long>(batch), steps.size(), (*plan)->arena_bytes(), total);
  for (size_t i = 0; i < steps.size(); ++i) {
    std::printf("    %9.1f us  %s\n", (*us)[i], steps[i].c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  bool as_json = false, profile = false;
  int reps = 51, threads = 1;
  std::vector<std::string> fixtures;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--json") {
      as_json = true;
    } else if (a == "--profile") {
      profile = true;
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--reps" && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else {
      fixtures.push_back(a);
    }
  }
  if (fixtures.empty()) fixtures = {"mlp_tabular", "mlp_mnist", "cnn_small", "attention_tiny"};
  bool warned = false;
  inferd::backends::onnx::OnnxBackendOptions options;
  options.threads = threads;
  inferd::backends::onnx::OnnxBackend backend(options);
  for (const auto& f : fixtures) {
    const fs::path model = kRoot / "tests/fixtures/onnx" / f / "model.onnx";
    inferd::config::ModelConfig cfg;
    auto t0 = Clock::now();
    auto loaded = backend.Load({f, 1, model, &cfg});
    const double load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s: %s\n", f.c_str(), loaded.status().ToString().c_str());
      return 1;
    }
    const json fixture_inputs = json::parse(
        inferd::backend::ReadModelFile(model.parent_path() / "inputs.json", 1 << 26).value());
    if (!as_json) {
      std::printf("%s (load + plan %.1f ms)\n  %6s %12s %12s %8s\n", f.c_str(), load_ms, "batch",
                  "ort us", "inferd us", "ratio");
    }
    std::mt19937 rng(5);
    for (int64_t batch : {1, 32, 256}) {
      const json inputs = MakeInputs(fixture_inputs["cases"][0], batch, rng);
      const auto tensors = ToTensors(inputs);
      for (int i = 0; i < 3; ++i) (void)(*loaded)->Execute(tensors, {});  // plan and warm up
      std::vector<double> t;
      for (int r = 0; r < reps; ++r) {
        auto a = Clock::now();
        auto out = (*loaded)->Execute(tensors, {});
        t.push_back(std::chrono::duration<double, std::micro>(Clock::now() - a).count());
        if (!out.ok()) {
          std::fprintf(stderr, "%s: %s\n", f.c_str(), out.status().ToString().c_str());
          return 1;
        }
      }
      std::sort(t.begin(), t.end());
      const double ours = t[t.size() / 2];
      if (profile) {
        if (int rc = Profile(model, tensors, batch, reps); rc != 0) return rc;
        continue;
      }
      const double ort = OrtMicros(model, inputs, reps);
      if (ort < 0 && !warned) {
        std::fprintf(stderr,
                     "onnx_bench: ONNX Runtime is not available (node, or npm ci --ignore-scripts "
                     "in tools/fixtures/ort): the ORT column is skipped\n");
        warned = true;
      }
      const double ratio = ort > 0 ? ort / ours : 0;
      if (as_json) {
        std::printf(
            "{\"model\": \"%s\", \"batch\": %lld, \"ort_us\": %.2f, \"inferd_us\": %.2f, "
            "\"ratio\": %.2f}\n",
            f.c_str(), static_cast<long long>(batch), ort, ours, ratio);
      } else {
        std::printf("  %6lld %12.1f %12.1f %7.2fx\n", static_cast<long long>(batch), ort, ours,
                    ratio);
      }
      std::fflush(stdout);
    }
  }
  return 0;
}
