// Support for end-to-end tests: start the real `inferd` binary on port 0 over a temporary model
// repository, and talk HTTP/1.1 to it over real sockets.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace inferd::testing {

namespace fs = std::filesystem;

// A directory under the system temp dir, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

fs::path SourceDir();
fs::path FixtureDir(const std::string& name);  // tests/fixtures/xgboost/<name>

// Puts fixture `fixture`'s model.json (or `file`) at <repo>/<model>/<version>/<file>.
void AddModel(const fs::path& repo, const std::string& model, int version,
              const std::string& fixture, const std::string& file = "model.json");
// <repo>/<model>/profile.json from `data` by `inferd profile` (the drift reference); the test
// fails when the command does.
void AddProfile(const fs::path& repo, const std::string& model, const fs::path& data);
void WriteFile(const fs::path& path, const std::string& content);
std::string ReadFile(const fs::path& path);

// A finished run of the `inferd` binary.
struct CommandResult {
  int exit_code = -1;  // -1 when it was killed by a signal (or timed out)
  std::string out;     // what it wrote to stdout
  std::string err;     // what it wrote to stderr
};

// Runs `build/inferd <args>` to completion (stdin from `stdin_path`, or /dev/null when empty),
// capturing its output; a run over `timeout` is killed (and fails the test).
CommandResult RunInferd(const std::vector<std::string>& args, const fs::path& stdin_path = {},
                        std::chrono::seconds timeout = std::chrono::seconds(120));

// An API key made by `inferd auth new-key` (its hash appended to the keys file `file`); the test
// fails when the command does.
std::string NewApiKey(const fs::path& file, const std::string& name, const std::string& scopes);

// The `inferd serve` process.
class ServerProcess {
 public:
  // Starts `build/inferd serve --model-repository repo --http-port 0 <extra>` (no
  // --model-repository when `repo` is empty) and waits for the line that gives the port (fails the
  // test on timeout or early exit).
  static std::unique_ptr<ServerProcess> Start(const fs::path& repo,
                                              const std::vector<std::string>& extra = {},
                                              int max_open_files = 0);
  ~ServerProcess();                        // SIGTERM, then wait
  uint16_t port() const { return port_; }  // HTTP
  // The port the server printed for `kind` ("HTTP", "gRPC", "metrics"); 0 when none.
  uint16_t port(const std::string& kind) const {
    auto it = ports_.find(kind);
    return it == ports_.end() ? 0 : it->second;
  }
  bool Running();
  // Sends SIGTERM and returns the exit status.
  int Stop();
  // Sends `signal` and returns at once.
  void Signal(int signal);
  // Waits at most `timeout` for the process to exit; its exit status, or -1 when still running.
  int WaitExit(std::chrono::milliseconds timeout);
  std::string Log() const;  // what the server wrote to stderr
  // Waits at most `timeout` for `text` to appear in the log; whether it did.
  bool WaitForLog(const std::string& text,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  std::map<std::string, uint16_t> ports_;
  fs::path log_path_;
  TempDir dir_;
};

struct HttpResult {
  int status = 0;                              // 0 when the connection closed without an answer
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string Header(const std::string& name) const;
};

// One keep-alive HTTP connection to 127.0.0.1.
class HttpConnection {
 public:
  explicit HttpConnection(uint16_t port, const std::string& address = "127.0.0.1");
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  HttpResult Request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Sends raw bytes and reads one response.
  HttpResult SendRaw(const std::string& bytes);
  void SendOnly(const std::string& bytes);
  // Reads one response; interim 1xx responses are skipped unless `skip_interim` is false.
  // `head`: the answer to a HEAD request, which has no body whatever Content-Length says.
  HttpResult ReadResponse(bool skip_interim = true, bool head = false);
  // True when the server closed the connection (read returns 0) within `wait`.
  bool ClosedByPeer(std::chrono::milliseconds wait);
  bool connected() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
  std::string pending_;
};

// This machine's first IPv4 address outside loopback; empty when it has none (said on stderr, as
// the callers then leave their off-loopback checks out).
std::string NonLoopbackAddress();
// A loopback port nobody listens on now (bound, then released).
uint16_t FreePort();

// A fresh connection per call, for one-shot requests.
HttpResult Http(uint16_t port, const std::string& method, const std::string& target,
                const std::string& body = "");

// CSV fixtures: rows of floats; an empty field is NaN. `header` skips the first line.
std::vector<std::vector<double>> ReadCsv(const fs::path& path, bool header);

// An Open Inference Protocol request body for `rows` (NaN sent as null).
std::string V2Request(const std::vector<std::vector<double>>& rows,
                      const std::string& input_name = "input",
                      const std::vector<std::string>& outputs = {});
// The same with datatype FP64, values written with 17 significant digits (exact doubles).
std::string V2RequestFp64(const std::vector<std::vector<double>>& rows,
                          const std::string& input_name = "input",
                          const std::vector<std::string>& outputs = {});
// The same rows in Triton's binary tensor extension: a JSON header naming input `input` (FP32,
// binary_data_size) and `outputs_json` (the "outputs" array, e.g. asking for binary_data), then
// the rows as little-endian FP32. `header_bytes` gets the header's size (the
// Inference-Header-Content-Length).
std::string BinaryV2Request(const std::vector<std::vector<double>>& rows,
                            const std::string& outputs_json, size_t* header_bytes);

}  // namespace inferd::testing
