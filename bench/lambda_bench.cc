// `inferd lambda`'s cold start (issue #10's goal: <= 20 ms with a 100-tree model, the platform
// excluded): from the exec of `inferd lambda` to the moment its answer to the first invocation
// reaches the Runtime API. The Runtime API is the local emulation of the tests
// (tests/e2e/runtime_api.h); the invocation (a function URL event: one row to
// /v2/models/m/infer) is queued before the exec, as Lambda has it waiting. Each run uses a fresh
// state directory and kills the process after its answer.
//
//   build/bench/lambda_bench [RUNS] [--json]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "e2e/runtime_api.h"

extern char** environ;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int runs = 20;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--json") == 0) {
      json = true;
    } else {
      runs = std::max(1, std::atoi(argv[i]));
    }
  }
  const fs::path tmp = fs::temp_directory_path() / ("lambda-bench-" + std::to_string(getpid()));
  fs::create_directories(tmp / "repo/m/1");
  fs::copy_file(fs::path(INFERD_SOURCE_DIR) / "bench/models/binary_100x6/model.json",
                tmp / "repo/m/1/model.json");
  std::string row = "[";
  for (int i = 0; i < 30; ++i) row += (i ? "," : "") + std::to_string(0.1 * (i % 7) - 0.3);
  row += "]";
  const std::string body =
      "{\"inputs\":[{\"name\":\"input\",\"datatype\":\"FP32\",\"shape\":[1,"
      "30],\"data\":" +
      row + "}]}";
  std::string escaped;
  for (char c : body) escaped += c == '"' ? std::string("\\\"") : std::string(1, c);
  const std::string event =
      "{\"version\":\"2.0\",\"rawPath\":\"/v2/models/m/infer\",\"rawQueryString\":\"\","
      "\"headers\":{\"content-type\":\"application/json\"},\"requestContext\":{\"http\":"
      "{\"method\":\"POST\",\"path\":\"/v2/models/m/infer\"}},\"body\":\"" +
      escaped + "\",\"isBase64Encoded\":false}";
  std::vector<double> ms;
  int failures = 0;
  for (int r = 0; r < runs; ++r) {
    inferd::testing::RuntimeApiEmulator api;
    const std::string id = api.Queue(event);
    const std::string env_api = "AWS_LAMBDA_RUNTIME_API=" + api.address();
    std::vector<std::string> env_s = {env_api};
    for (char** e = environ; *e != nullptr; ++e) env_s.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = {std::string(INFERD_BINARY_DIR) + "/inferd",
                                     "--log-level",
                                     "warn",
                                     "lambda",
                                     "--model-repository",
                                     (tmp / "repo").string(),
                                     "--state",
                                     (tmp / ("state" + std::to_string(r))).string()};
    std::vector<char*> argvv;
    for (auto& a : args) argvv.push_back(a.data());
    argvv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = -1;
    const auto t0 = Clock::now();
    if (posix_spawn(&pid, argvv[0], &actions, nullptr, argvv.data(), envp.data()) != 0) pid = -1;
    posix_spawn_file_actions_destroy(&actions);
    auto answer = api.Wait(id, std::chrono::milliseconds(10000));
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    if (!answer || answer->kind != "response" ||
        answer->body.find("\"statusCode\":200") == std::string::npos) {
      ++failures;
      continue;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(answer->at - t0).count());
  }
  fs::remove_all(tmp);
  if (ms.empty()) {
    std::fprintf(stderr, "lambda_bench: no run answered (%d failures)\n", failures);
    return 1;
  }
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  if (json) {
    std::printf(
        "{\"exec_to_first_response_ms\": %.2f, \"min_ms\": %.2f, \"max_ms\": %.2f, "
        "\"runs\": %zu, \"failures\": %d}\n",
        median, ms.front(), ms.back(), ms.size(), failures);
  } else {
    std::printf(
        "inferd lambda, exec to the first response reaching the Runtime API (100-tree "
        "forest), %zu runs: median %.2f ms (%.2f-%.2f); goal <= 20 ms%s\n",
        ms.size(), median, ms.front(), ms.back(), failures ? " (some runs failed)" : "");
  }
  return failures ? 1 : 0;
}
