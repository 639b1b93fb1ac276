// Cold start to the first answer, for any HTTP server that answers the Open Inference Protocol:
// from the exec of its command to its first 200 answer to a POST of a request body, polled every
// 0.2 ms on a fresh connection (bench/process_util.h). Used by bench/peers/run.sh for inferd and
// the FastAPI service alike.
//
//   cold_start --runs N --port PORT --path /v2/models/m/infer --body request.json -- CMD ARG...
//
// Prints {"runs_ms": [...]}; exit 1 when a run got no answer within 60 s.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../process_util.h"

int main(int argc, char** argv) {
  int runs = 10, port = 0;
  std::string path, body_file;
  std::vector<std::string> command;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) command.push_back(argv[i]);
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--port" && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (a == "--path" && i + 1 < argc) {
      path = argv[++i];
    } else if (a == "--body" && i + 1 < argc) {
      body_file = argv[++i];
    } else {
      std::fprintf(stderr, "cold_start: unknown argument '%s'\n", a.c_str());
      return 2;
    }
  }
  if (command.empty() || port <= 0 || path.empty() || body_file.empty()) {
    std::fprintf(stderr,
                 "usage: cold_start --runs N --port PORT --path PATH --body FILE -- CMD ARG...\n");
    return 2;
  }
  std::ifstream in(body_file, std::ios::binary);
  std::stringstream body;
  body << in.rdbuf();
  std::string out = "{\"runs_ms\": [";
  for (int r = 0; r < runs; ++r) {
    const double ms =
        inferd::bench::MsToFirstAnswer(command, static_cast<uint16_t>(port), path, body.str());
    if (ms < 0) {
      std::fprintf(stderr, "cold_start: %s gave no 200 within 60 s\n", command[0].c_str());
      return 1;
    }
    out += (r ? ", " : "") + std::to_string(ms);
  }
  std::printf("%s]}\n", out.c_str());
  return 0;
}
