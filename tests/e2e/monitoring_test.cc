// Monitoring against the real server: predictions recorded, ground truth posted later and joined
// by request id, quality per window and version in GET /v2/models/{m}/monitor, surviving restart;
// clear errors for bad feedback and unmonitored models.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

// A webhook receiver: one HTTP server thread on loopback that answers 200 and keeps the bodies.
class Webhook {
 public:
  Webhook() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 8);
    thread_ = std::thread([this] {
      for (;;) {
        const int c = accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::string in;
        char buf[4096];
        size_t need = std::string::npos;
        for (ssize_t n; (n = recv(c, buf, sizeof buf, 0)) > 0;) {
          in.append(buf, static_cast<size_t>(n));
          const size_t head = in.find("\r\n\r\n");
          if (head != std::string::npos && need == std::string::npos) {
            const size_t at = in.find("Content-Length: ");
            need = head + 4 + (at == std::string::npos ? 0 : std::stoul(in.substr(at + 16)));
          }
          if (need != std::string::npos && in.size() >= need) break;
        }
        const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        send(c, ok.data(), ok.size(), MSG_NOSIGNAL);
        close(c);
        std::lock_guard<std::mutex> lock(mu_);
        bodies_.push_back(in.substr(in.find("\r\n\r\n") + 4));
      }
    });
  }
  ~Webhook() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> Bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  int fd_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_;
};

class MonitoringTest : public ::testing::Test {
 protected:
  void SetUp() override {
    repo_ = tmp_.path() / "repo";
    state_ = tmp_.path() / "state";
    AddModel(repo_, "m", 1, "binary_logistic");
    WriteFile(repo_ / "m" / "config.yaml",
              "monitoring:\n"
              "  log_sample_rate: 1\n"
              "  classes: [benign, malignant]\n"
              "  webhook: http://127.0.0.1:" +
                  std::to_string(webhook_.port()) +
                  "/hook\n"
                  "  alerts: [{name: low_accuracy, metric: accuracy, below: 0.8}]\n");
    AddModel(repo_, "plain", 1, "binary_logistic");
    StartServer();
    rows_ = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  }
  void StartServer() {
    server_ = ServerProcess::Start(repo_, {"--state", state_.string()});
    ASSERT_NE(server_, nullptr);
  }
  json Monitor() {
    auto r = Http(server_->port(), "GET", "/v2/models/m/monitor");
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body);
  }

  Webhook webhook_;
  TempDir tmp_;
  fs::path repo_, state_;
  std::unique_ptr<ServerProcess> server_;
  std::vector<std::vector<double>> rows_;
};

// Starts Prometheus (Debian's) scraping `port` every second, and waits until the PromQL query of
// the 5-minute accuracy answers `accuracy`.
void ExpectPrometheusSees(uint16_t port, double accuracy) {
  TempDir dir;
  const uint16_t api = FreePort();  // Prometheus's own API
  WriteFile(dir.path() / "prometheus.yml",
            "global: {scrape_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: inferd\n"
            "    static_configs: [{targets: ['127.0.0.1:" +
                std::to_string(port) + "']}]\n");
  const std::string config = "--config.file=" + (dir.path() / "prometheus.yml").string();
  const std::string storage = "--storage.tsdb.path=" + (dir.path() / "data").string();
  const std::string listen = "--web.listen-address=127.0.0.1:" + std::to_string(api);
  const std::string log = (dir.path() / "prometheus.log").string();
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(out, 2);
    execlp("prometheus", "prometheus", config.c_str(), storage.c_str(), listen.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(pid, 0);
  const std::string query =
      "/api/v1/query?query=inferd_model_quality%7Bmodel%3D%22m%22%2Cmetric%3D%22accuracy%22%2C"
      "window%3D%22300s%22%7D";
  double seen = -1;
  for (int i = 0; i < 300 && seen != accuracy; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    auto r = Http(api, "GET", query);
    if (r.status != 200) continue;
    const json j = json::parse(r.body, nullptr, false);
    if (j.is_discarded() || j["data"]["result"].empty()) continue;
    seen = std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
  }
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_EQ(seen, accuracy) << ReadFile(log).substr(0, 3000);
}

TEST_F(MonitoringTest, FeedbackJoinsPredictionsIntoQuality) {
  HttpConnection c(server_->port());
  // 40 predictions, each with its own id; the truth is the model's label, flipped for every
  // fourth: accuracy 0.75.
  json feedback = json::array();
  int correct = 0;
  for (int i = 0; i < 40; ++i) {
    json body = json::parse(V2Request({rows_[i % rows_.size()]}));
    body["id"] = "q" + std::to_string(i);
    auto r = c.Request("POST", "/v2/models/m/infer", body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    const json answer = json::parse(r.body);
    EXPECT_EQ(answer["id"], body["id"]);
    int64_t label = -1;
    for (const auto& o : answer["outputs"]) {
      if (o["name"] == "label") label = o["data"][0].get<int64_t>();
    }
    ASSERT_GE(label, 0);
    const bool flip = i % 4 == 3;
    correct += !flip;
    const int64_t truth = flip ? 1 - label : label;
    // Half by index, half by class name.
    feedback.push_back({{"id", body["id"]},
                        {"label", i % 2 ? json(truth) : json(truth ? "malignant" : "benign")}});
  }
  auto r = c.Request("POST", "/v2/models/m/feedback", feedback.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["joined"], 40);
  json m = Monitor();
  EXPECT_EQ(m["task"], "binary");
  EXPECT_EQ(m["records"]["stored"], 40);
  const json& q = m["windows"][0]["quality"]["1"];
  EXPECT_EQ(q["count"], 40);
  EXPECT_DOUBLE_EQ(q["accuracy"].get<double>(), correct / 40.0);
  EXPECT_TRUE(q.contains("roc_auc"));
  EXPECT_TRUE(q["per_class"].contains("malignant"));

  // Accuracy 0.75 < 0.8: the alert fires (checked every 5 s) and reaches the webhook.
  std::vector<std::string> hooks;
  for (int i = 0; i < 300 && hooks.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    hooks = webhook_.Bodies();
  }
  ASSERT_EQ(hooks.size(), 1u);
  const json event = json::parse(hooks[0]);
  EXPECT_EQ(event["alert"], "low_accuracy");
  EXPECT_EQ(event["state"], "firing");
  EXPECT_EQ(event["value"], 0.75);
  EXPECT_EQ(Monitor()["alerts"][0]["state"], "firing");
  EXPECT_NE(server_->Log().find("alert 'low_accuracy' of 'm' version 1 firing"), std::string::npos);

  // Errors name the problem; nothing breaks.
  struct Case {
    std::string path, body;
    int status;
    std::string message;
  } cases[] = {
      {"/v2/models/m/feedback", R"({"id": "nope", "label": 1})", 404, "no prediction 'nope'"},
      {"/v2/models/m/feedback", R"({"id": "q0", "label": 1})", 409, "already has feedback"},
      {"/v2/models/m/feedback", "{not json", 400, "not JSON"},
      {"/v2/models/m/feedback", R"({"label": 1})", 400, "feedback: needs"},
      {"/v2/models/plain/feedback", R"({"id": "x", "label": 1})", 400,
       "'plain' is not monitored: set monitoring: true"},
      {"/v2/models/nope/feedback", R"({"id": "x", "label": 1})", 404, "nope"},
  };
  for (const auto& k : cases) {
    auto e = c.Request("POST", k.path, k.body);
    EXPECT_EQ(e.status, k.status) << k.path << " " << k.body << ": " << e.body;
    EXPECT_NE(e.body.find(k.message), std::string::npos) << e.body;
  }
  EXPECT_EQ(c.Request("GET", "/v2/models/m/feedback").status, 405);
  const std::string metrics = Http(server_->port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find("inferd_feedback_total{model=\"m\",result=\"joined\"} 40"),
            std::string::npos);
  EXPECT_NE(metrics.find("inferd_monitor_records_total{model=\"m\",outcome=\"stored\"} 40"),
            std::string::npos);

  // Quality survives a restart (it lives in the state store), in the API and the gauges.
  server_->Stop();
  StartServer();
  const std::string gauges = Http(server_->port(), "GET", "/metrics").body;
  EXPECT_NE(gauges.find("inferd_model_quality{model=\"m\",version=\"1\",window=\"300s\","
                        "metric=\"accuracy\"} 0.75"),
            std::string::npos)
      << gauges;
  // The exposition, monitoring metrics included, passes Prometheus's own validator ...
  WriteFile(tmp_.path() / "metrics.txt", gauges);
  const std::string check = "promtool check metrics < " + (tmp_.path() / "metrics.txt").string() +
                            " > " + (tmp_.path() / "promtool.txt").string() + " 2>&1";
  EXPECT_EQ(std::system(check.c_str()), 0) << ReadFile(tmp_.path() / "promtool.txt");
  // ... and a real Prometheus scraping the server answers a PromQL query with the quality.
  ExpectPrometheusSees(server_->port(), correct / 40.0);
  m = Monitor();
  EXPECT_EQ(m["windows"][0]["quality"]["1"]["count"], 40);
  EXPECT_DOUBLE_EQ(m["windows"][0]["quality"]["1"]["accuracy"].get<double>(), correct / 40.0);
}

}  // namespace
}  // namespace inferd::testing
