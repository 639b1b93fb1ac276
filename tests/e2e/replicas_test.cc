// Replicas sharing state in PostgreSQL (#10): a real PostgreSQL server, three `inferd serve`
// processes with --state postgres://..., and nginx in front of them as the load balancer.
// Predictions go through nginx; each one's ground truth goes to a replica other than the one that
// answered; one replica is killed (SIGKILL) mid-traffic. Then: every acknowledged feedback is in
// the store and counted once, every replica (the killed one restarted included) reports the same
// quality, drift and data quality, and a rollout change made through one replica reaches the
// others.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/test_support.h"
#include "postgres/postgres_cluster.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

// nginx (Debian's /usr/sbin/nginx) in the foreground, balancing over `ports` round-robin. A
// request that fails to reach a replica (refused, reset) is tried on the next one, POSTs included
// (an inference may be repeated; feedback goes to the replicas directly).
class Nginx {
 public:
  static std::unique_ptr<Nginx> Start(const fs::path& dir, const std::vector<uint16_t>& ports) {
    std::unique_ptr<Nginx> n(new Nginx);
    n->port_ = FreePort();
    std::string upstream;
    for (uint16_t p : ports) {
      upstream += "    server 127.0.0.1:" + std::to_string(p) + " max_fails=1 fail_timeout=60s;\n";
    }
    const std::string d = dir.string();
    WriteFile(dir / "nginx.conf", std::string(::geteuid() == 0 ? "user root;\n" : "") +
                                      "worker_processes 1;\n"
                                      "error_log " +
                                      d +
                                      "/error.log;\n"
                                      "pid " +
                                      d +
                                      "/nginx.pid;\n"
                                      "events { worker_connections 256; }\n"
                                      "http {\n"
                                      "  access_log off;\n"
                                      "  client_body_temp_path " +
                                      d +
                                      "/body;\n"
                                      "  proxy_temp_path " +
                                      d +
                                      "/proxy;\n"
                                      "  fastcgi_temp_path " +
                                      d +
                                      "/fastcgi;\n"
                                      "  uwsgi_temp_path " +
                                      d +
                                      "/uwsgi;\n"
                                      "  scgi_temp_path " +
                                      d +
                                      "/scgi;\n"
                                      "  upstream inferd {\n" +
                                      upstream +
                                      "    keepalive 16;\n  }\n"
                                      "  server {\n"
                                      "    listen 127.0.0.1:" +
                                      std::to_string(n->port_) +
                                      ";\n"
                                      "    location / {\n"
                                      "      proxy_pass http://inferd;\n"
                                      "      proxy_http_version 1.1;\n"
                                      "      proxy_set_header Connection \"\";\n"
                                      "      proxy_next_upstream error timeout non_idempotent;\n"
                                      "      add_header X-Upstream $upstream_addr always;\n"
                                      "    }\n"
                                      "  }\n"
                                      "}\n");
    n->pid_ = ::fork();
    if (n->pid_ == 0) {
      ::execl("/usr/sbin/nginx", "nginx", "-p", d.c_str(), "-c", (d + "/nginx.conf").c_str(), "-g",
              "daemon off;", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (Http(n->port_, "GET", "/v2/health/live").status == 200) return n;
      int status = 0;
      if (::waitpid(n->pid_, &status, WNOHANG) == n->pid_) {
        n->pid_ = -1;
        ADD_FAILURE() << "nginx exited: " << ReadFile(dir / "error.log");
        return nullptr;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "nginx did not answer: " << ReadFile(dir / "error.log");
    return nullptr;
  }
  ~Nginx() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

// What the replicas must agree on: everything the monitor computes from the store.
json Shared(const json& monitor) {
  json out;
  for (const char* k : {"windows", "series", "drift", "data_quality"}) {
    if (monitor.contains(k)) out[k] = monitor[k];
  }
  return out;
}

int64_t QualityCount(const json& monitor) {
  int64_t n = 0;
  for (const auto& [version, q] : monitor["windows"][0]["quality"].items()) {
    n += q["count"].get<int64_t>();
  }
  return n;
}

TEST(ReplicasTest, SharedPostgresStateSurvivesAKilledReplica) {
  if (::access("/usr/sbin/nginx", X_OK) != 0) {
    const char* ci = std::getenv("CI");
    if (!(ci && std::string(ci) == "true")) {
      GTEST_SKIP() << "nginx is not installed (package nginx-light: scripts/install-deps.sh test)";
    }
    FAIL() << "nginx is not installed (package nginx-light: scripts/install-deps.sh test)";
  }
  std::unique_ptr<PostgresCluster> pg;
  INFERD_START_POSTGRES(pg);
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  AddModel(repo, "m", 1, "binary_logistic");
  AddModel(repo, "m", 2, "binary_logistic");
  const fs::path data = FixtureDir("binary_logistic") / "input.csv";
  AddProfile(repo, "m", data);
  if (::testing::Test::HasFatalFailure()) return;
  WriteFile(repo / "m" / "config.yaml",
            "version_policy: {all: true}\n"
            "rollout: {labels: {stable: 1}, weights: {stable: 100}}\n"
            "monitoring: {log_sample_rate: 1, classes: [benign, malignant]}\n");
  const std::vector<std::string> state = {"--state", pg->url()};
  std::vector<std::unique_ptr<ServerProcess>> replicas;
  std::vector<uint16_t> ports;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(ServerProcess::Start(repo, state));
    ASSERT_NE(replicas.back(), nullptr);
    ports.push_back(replicas.back()->port());
    EXPECT_TRUE(replicas.back()->WaitForLog("state store: postgres://inferd@127.0.0.1:"));
  }
  fs::create_directories(tmp.path() / "nginx");
  auto lb = Nginx::Start(tmp.path() / "nginx", ports);
  ASSERT_NE(lb, nullptr);
  for (auto& r : replicas) ASSERT_TRUE(r->Running()) << r->Log();

  const auto rows = ReadCsv(data, true);
  std::atomic<int> predicted{0}, killed{0};
  std::mutex mu;
  std::set<std::string> acknowledged;  // feedback answered "joined"
  std::set<std::string> in_doubt_409;  // an attempt got no answer, the retry found it stored
  std::map<std::string, int> outcomes;
  std::vector<int> served_by(3, 0);
  std::atomic<int> failures{0};
  auto index_of = [&](uint16_t port) {
    for (int i = 0; i < 3; ++i) {
      if (ports[i] == port) return i;
    }
    return -1;
  };
  // A client: predictions through nginx, ten at a time, then their truth to other replicas.
  auto client = [&](int c) {
    HttpConnection conn(lb->port());
    for (int round = 0; round < 14; ++round) {
      std::map<int, json> by_target;  // replica -> feedback items
      for (int k = 0; k < 10; ++k) {
        const int i = c * 1000 + round * 10 + k;
        json body = json::parse(V2Request({rows[static_cast<size_t>(i) % rows.size()]}));
        // Half carry the caller's id; the others get inferd's.
        if (i % 2) body["id"] = "c-" + std::to_string(i);
        auto r = conn.Request("POST", "/v2/models/m/infer", body.dump());
        if (r.status != 200) {
          ++failures;
          ADD_FAILURE() << "through nginx: " << r.status << " " << r.body
                        << "\nnginx: " << ReadFile(tmp.path() / "nginx" / "error.log");
          continue;
        }
        ++predicted;
        const json answer = json::parse(r.body);
        int64_t label = -1;
        for (const auto& o : answer["outputs"]) {
          if (o["name"] == "label") label = o["data"][0].get<int64_t>();
        }
        // The replica that answered: the last address nginx tried.
        std::string up = r.Header("x-upstream");
        up = up.substr(up.rfind(':') + 1);
        const int served = index_of(static_cast<uint16_t>(std::stoi(up)));
        {
          std::lock_guard<std::mutex> lock(mu);
          ++served_by[served];
        }
        // Every fourth answer's truth is the other class.
        const int64_t truth = i % 4 == 3 ? 1 - label : label;
        by_target[(served + 1) % 3].push_back({{"id", answer["id"]}, {"label", truth}});
      }
      for (auto& [target, items] : by_target) {
        // A client with fail-over: the next replica when one does not answer.
        std::set<std::string> no_answer;
        json pending = items;
        for (int attempt = 0; attempt < 3 && !pending.empty(); ++attempt) {
          const uint16_t port = ports[(target + attempt) % 3];
          auto r = Http(port, "POST", "/v2/models/m/feedback", pending.dump());
          if (r.status == 0) {  // no answer: stored or not, nobody knows
            for (const auto& it : pending) no_answer.insert(it["id"].get<std::string>());
            continue;
          }
          if (r.status != 200) continue;  // a definite refusal (503: not stored): the next one
          json results = json::parse(r.body)["results"];
          std::lock_guard<std::mutex> lock(mu);
          for (const auto& res : results) {
            const std::string id = res["id"];
            const std::string outcome = res["result"];
            ++outcomes[outcome];
            if (outcome == "joined") acknowledged.insert(id);
            if (outcome == "duplicate" && no_answer.contains(id)) in_doubt_409.insert(id);
          }
          pending = json::array();
        }
        EXPECT_TRUE(pending.empty()) << "feedback no replica took: " << pending.dump();
      }
    }
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c) clients.emplace_back(client, c);
  // Mid-traffic, replica 0 dies without a chance to flush anything.
  while (predicted.load() < 150 && failures.load() == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  int served_by_0_before_kill;
  {
    std::lock_guard<std::mutex> lock(mu);
    served_by_0_before_kill = served_by[0];
  }
  replicas[0]->Signal(SIGKILL);
  EXPECT_NE(replicas[0]->WaitExit(std::chrono::seconds(5)), -1);
  ++killed;
  for (auto& t : clients) t.join();
  ASSERT_EQ(failures.load(), 0);
  EXPECT_EQ(predicted.load(), 3 * 14 * 10);  // nginx took every prediction elsewhere
  EXPECT_GT(served_by_0_before_kill, 0);     // the killed replica was serving
  std::string tally;
  for (const auto& [k, v] : outcomes) tally += k + "=" + std::to_string(v) + " ";
  RecordProperty("feedback_outcomes", tally);
  std::fprintf(stderr, "feedback outcomes: %s; acknowledged %zu, in doubt then 409: %zu\n",
               tally.c_str(), acknowledged.size(), in_doubt_409.size());
  EXPECT_GT(acknowledged.size(), 300u);

  // No acknowledged feedback is lost: each is in the store...
  FILE* p = ::popen(("psql -qtA " + pg->url() + " -c 'SELECT id FROM feedback'").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::set<std::string> stored;
  char line[256];
  while (std::fgets(line, sizeof line, p)) {
    std::string s(line);
    while (!s.empty() && s.back() == '\n') s.pop_back();
    if (!s.empty()) stored.insert(s);
  }
  ::pclose(p);
  for (const auto& id : acknowledged) EXPECT_TRUE(stored.contains(id)) << id << " was lost";
  // ... and what is stored is what was acknowledged, plus feedback whose answer the kill cut off
  // (its retry was told 409: already stored).
  for (const auto& id : stored) {
    EXPECT_TRUE(acknowledged.contains(id) || in_doubt_409.contains(id)) << id;
  }

  // Every replica reports the same numbers, the killed one restarted included. (Drift reaches the
  // store every 5 s: until then replicas may differ.)
  replicas[0] = ServerProcess::Start(repo, state);
  ASSERT_NE(replicas[0], nullptr);
  std::vector<json> seen(3);
  bool same = false;
  for (int i = 0; i < 100 && !same; ++i) {
    for (int r = 0; r < 3; ++r) {
      auto m = Http(replicas[r]->port(), "GET", "/v2/models/m/monitor");
      ASSERT_EQ(m.status, 200) << m.body;
      seen[r] = json::parse(m.body);
    }
    same = Shared(seen[0]) == Shared(seen[1]) && Shared(seen[1]) == Shared(seen[2]) &&
           seen[0]["drift"]["versions"].contains("1");
    if (!same) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(same) << Shared(seen[0]).dump() << "\n" << Shared(seen[1]).dump();
  EXPECT_EQ(QualityCount(seen[1]), static_cast<int64_t>(stored.size()));
  const json& q = seen[1]["windows"][0]["quality"]["1"];
  EXPECT_NEAR(q["accuracy"].get<double>(), 0.75, 0.02);  // every fourth truth flipped

  // A rollout change through one replica reaches the others (they poll the store every second).
  auto set =
      Http(replicas[1]->port(), "POST", "/v2/models/m/rollout", R"({"canary": 2, "weight": 100})");
  ASSERT_EQ(set.status, 200) << set.body;
  std::string version;
  for (int i = 0; i < 50 && version != "2"; ++i) {
    auto r = Http(replicas[2]->port(), "POST", "/v2/models/m/infer", V2Request({rows[0]}));
    ASSERT_EQ(r.status, 200) << r.body;
    version = json::parse(r.body)["model_version"];
    if (version != "2") std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(version, "2");
  // The audit trail is one, whichever replica is asked.
  auto audit = Http(replicas[0]->port(), "GET", "/v2/audit?model=m&limit=1");
  ASSERT_EQ(audit.status, 200) << audit.body;
  const json entry = json::parse(audit.body).at(0);
  EXPECT_EQ(entry["action"], "canary");
  EXPECT_NE(entry["detail"].get<std::string>().find("\"canary\":2"), std::string::npos);
}

}  // namespace
}  // namespace inferd::testing
