// End-to-end: authentication and authorization on the real server. Keys come from
// `inferd auth new-key`; JWTs are signed here (HS256 with the server's secret file, RS256 with a
// key the `openssl` CLI made). Every route is called with no credentials, a bad key, an expired
// JWT, a credential of the wrong scope and one of the right scope, and answers as the table says;
// gRPC follows the same rules; rate limits answer 429 with Retry-After; the audit trail names the
// principal; and no credential reaches the log.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/base64url.h"
#include "auth/jwt.h"
#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const std::string kSecret = "e2e-hs256-secret-of-at-least-32-bytes!!";

std::string Jwt(const json& claims, const std::string& secret = kSecret) {
  const std::string signed_part = auth::Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})") + "." +
                                  auth::Base64UrlEncode(claims.dump());
  const auto mac = auth::HmacSha256(secret, signed_part);
  return signed_part + "." +
         auth::Base64UrlEncode(
             std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AddModel(repo_.path(), "m", 1, "binary_logistic");
    WriteFile(repo_.path() / "m" / "config.yaml", "monitoring: true\n");
    keys_ = dir_.path() / "keys.txt";
    infer_key_ = NewApiKey(keys_, "app", "infer");
    monitor_key_ = NewApiKey(keys_, "prometheus", "monitor");
    both_key_ = NewApiKey(keys_, "analyst", "infer,monitor");
    admin_key_ = NewApiKey(keys_, "ops", "admin");
    WriteFile(dir_.path() / "secret", kSecret + "\n");
    server_ = ServerProcess::Start(
        repo_.path(),
        {"--api-keys", keys_.string(), "--jwt-secret-file", (dir_.path() / "secret").string(),
         "--jwt-issuer", "https://id.test", "--state", (dir_.path() / "state").string(),
         "--log-level", "debug", "--model-control-mode", "explicit", "--load-model", "m"});
    ASSERT_NE(server_, nullptr);
    row_ = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true).at(0);
  }

  HttpResult Call(const std::string& method, const std::string& path, const std::string& body,
                  const std::vector<std::pair<std::string, std::string>>& headers) {
    HttpConnection c(server_->port());
    return c.Request(method, path, body, headers);
  }

  TempDir repo_, dir_;
  fs::path keys_;
  std::string infer_key_, monitor_key_, both_key_, admin_key_;
  std::unique_ptr<ServerProcess> server_;
  std::vector<double> row_;
};

TEST_F(AuthTest, EveryRouteTimesEveryCredential) {
  enum Class { kHealth, kInfer, kMonitor, kAdmin };
  struct Route {
    std::string method, path, body;
    Class cls;
    int ok_status;  // with the right scope
  };
  const std::string infer = V2Request({row_});
  const std::vector<Route> routes = {
      {"GET", "/v2/health/live", "", kHealth, 200},
      {"GET", "/v2/health/ready", "", kHealth, 200},
      {"GET", "/v2", "", kInfer, 200},
      {"GET", "/v2/models/m", "", kInfer, 200},
      {"GET", "/v2/models/m/ready", "", kInfer, 200},
      {"GET", "/v2/models/m/config", "", kInfer, 200},
      {"GET", "/v2/models/m/versions/1", "", kInfer, 200},
      {"GET", "/v1/models/m", "", kInfer, 200},
      {"POST", "/v2/models/m/infer", infer, kInfer, 200},
      {"POST", "/v2/models/m/versions/1/infer", infer, kInfer, 200},
      {"POST", "/v1/models/m:predict", json{{"instances", {row_}}}.dump(), kInfer, 200},
      {"POST", "/v2/models/m/feedback", R"({"id":"nobody","label":1})", kInfer, 404},
      {"GET", "/metrics", "", kMonitor, 200},
      {"GET", "/dashboard", "", kMonitor, 200},
      {"GET", "/v2/models/m/monitor", "", kMonitor, 200},
      {"GET", "/v2/models/stats", "", kMonitor, 200},
      {"GET", "/v2/models/m/stats", "", kMonitor, 200},
      {"GET", "/v2/models/m/versions", "", kMonitor, 200},
      {"GET", "/v2/models/m/rollout", "", kMonitor, 200},
      {"GET", "/v2/audit", "", kMonitor, 200},
      {"POST", "/v2/repository/index", "{}", kMonitor, 200},
      {"POST", "/v2/repository/models/m/load", "", kAdmin, 200},
      {"POST", "/v2/models/m/rollout", R"({"labels":{"stable":1},"weights":{"stable":100}})",
       kAdmin, 200},
      {"POST", "/v2/models/m/rollout/promote", R"({"version":1})", kAdmin, 200},
  };
  using Headers = std::vector<std::pair<std::string, std::string>>;
  auto bearer = [](const std::string& t) { return Headers{{"Authorization", "Bearer " + t}}; };
  const std::string expired = Jwt({{"sub", "late"},
                                   {"iss", "https://id.test"},
                                   {"scope", "infer monitor admin"},
                                   {"exp", Now() - 3600}});
  auto wrong_for = [&](Class c) -> Headers {
    switch (c) {
      case kInfer:
        return {{"X-API-Key", monitor_key_}};
      case kMonitor:
        return bearer(infer_key_);
      default:
        return bearer(both_key_);
    }
  };
  auto right_for = [&](Class c, bool jwt) -> Headers {
    if (jwt) {
      const char* scope = c == kInfer ? "infer" : c == kMonitor ? "monitor" : "admin";
      return bearer(Jwt({{"sub", "svc"}, {"iss", "https://id.test"}, {"scope", scope}}));
    }
    switch (c) {
      case kInfer:
        return bearer(infer_key_);
      case kMonitor:
        return {{"X-API-Key", monitor_key_}};
      default:
        return bearer(admin_key_);
    }
  };
  int checked = 0;
  for (const auto& r : routes) {
    SCOPED_TRACE(r.method + " " + r.path);
    auto expect = [&](const Headers& h, int status, const std::string& what) {
      auto res = Call(r.method, r.path, r.body, h);
      EXPECT_EQ(res.status, status) << what << ": " << res.body;
      if (status == 401) {
        EXPECT_THAT(res.Header("www-authenticate"), HasSubstr("Bearer realm=\"inferd\"")) << what;
      }
      if (status == 403) {
        EXPECT_THAT(res.Header("www-authenticate"), HasSubstr("error=\"insufficient_scope\""))
            << what;
        EXPECT_THAT(res.body, HasSubstr("lacks the scope")) << what;
      }
      ++checked;
    };
    if (r.cls == kHealth) {
      for (const auto& h : {Headers{}, bearer("ik_bad"), bearer(expired)}) expect(h, 200, "any");
      continue;
    }
    expect({}, 401, "no credentials");
    expect(bearer("ik_not-a-key-at-all-0000000000000000"), 401, "bad key");
    expect({{"X-API-Key", "wrong"}}, 401, "bad X-API-Key");
    expect(bearer(expired), 401, "expired JWT");
    expect(wrong_for(r.cls), 403, "wrong scope");
    expect(right_for(r.cls, false), r.ok_status, "right scope (key)");
    expect(right_for(r.cls, true), r.ok_status, "right scope (JWT)");
    if (r.cls != kAdmin) expect(bearer(admin_key_), r.ok_status, "admin grants all");
  }
  EXPECT_GE(checked, 150);
  // The reasons are specific.
  auto res = Call("POST", "/v2/models/m/infer", infer, bearer(expired));
  EXPECT_THAT(res.body, HasSubstr("the token has expired"));
  EXPECT_THAT(res.Header("www-authenticate"), HasSubstr("error=\"invalid_token\""));
  res = Call("POST", "/v2/models/m/infer", infer,
             bearer(Jwt({{"sub", "x"}, {"iss", "https://evil.test"}, {"scope", "infer"}})));
  EXPECT_EQ(res.status, 401);
  EXPECT_THAT(res.body, HasSubstr("issuer is not accepted"));
  res = Call("POST", "/v2/models/m/infer", infer,
             bearer(Jwt({{"sub", "x"}, {"iss", "https://id.test"}}, std::string(40, 'z'))));
  EXPECT_THAT(res.body, HasSubstr("signature does not verify"));
  res = Call("POST", "/v2/models/m/infer", infer, {{"Authorization", "Basic dXNlcjpwdw=="}});
  EXPECT_EQ(res.status, 401);
  EXPECT_THAT(res.body, HasSubstr("unsupported Authorization scheme 'Basic'"));
}

TEST_F(AuthTest, AuditNamesThePrincipalAndTheLogHoldsNoSecret) {
  const std::string token =
      Jwt({{"sub", "release-bot"}, {"iss", "https://id.test"}, {"scope", "admin"}});
  auto r = Call("POST", "/v2/models/m/rollout/promote", R"({"version":1})",
                {{"Authorization", "Bearer " + token}});
  ASSERT_EQ(r.status, 200) << r.body;
  // The CLI with --token.
  auto cli =
      RunInferd({"rollout", "rollback", "m", "--server",
                 "http://127.0.0.1:" + std::to_string(server_->port()), "--token", admin_key_});
  EXPECT_NE(cli.exit_code, 0);  // authenticated and authorized, but nothing to roll back to
  EXPECT_THAT(cli.err, HasSubstr("has no previous stable version to roll back to"));
  auto no_token =
      RunInferd({"audit", "--server", "http://127.0.0.1:" + std::to_string(server_->port())});
  EXPECT_EQ(no_token.exit_code, 1);
  EXPECT_THAT(no_token.err, HasSubstr("401"));
  auto audit = Call("GET", "/v2/audit?model=m", "", {{"X-API-Key", monitor_key_}});
  ASSERT_EQ(audit.status, 200);
  EXPECT_THAT(audit.body, HasSubstr("jwt:release-bot@127.0.0.1"));
  // Bad and good credentials of every kind went by; none is in the log.
  for (const auto& k : {infer_key_, monitor_key_, both_key_, admin_key_, token}) {
    Call("GET", "/v2/models/m", "", {{"Authorization", "Bearer " + k + "x"}});
    Call("GET", "/v2/models/m", "", {{"X-API-Key", k}});
  }
  Call("GET", "/v2/models/m", "", {{"Authorization", "Bearer " + infer_key_ + "\x01"}});
  HttpConnection c(server_->port());
  c.SendRaw("GET /v2/models/m HTTP/1.1\r\nAuthorization: Bearer " + admin_key_ +
            "\r\nBroken header\r\n\r\n");
  const std::string log = server_->Log();
  EXPECT_THAT(log, HasSubstr("authentication: API keys and JWT"));
  for (const auto& k : {infer_key_, monitor_key_, both_key_, admin_key_, token, kSecret}) {
    EXPECT_EQ(log.find(k), std::string::npos) << "a secret in the log";
    EXPECT_EQ(log.find(k.substr(3, 20)), std::string::npos) << "part of a secret in the log";
  }
}

TEST(AuthStartTest, RequiredNeedsCredentialsAndFilesAreChecked) {
  TempDir repo, dir;
  AddModel(repo.path(), "m", 1, "binary_logistic");
  // `inferd serve` with these flags, which must fail to start.
  auto serve = [&](std::vector<std::string> flags) {
    std::vector<std::string> args = {
        "serve",   "--model-repository",           repo.path().string(), "--http-port", "0",
        "--state", (dir.path() / "state").string()};
    args.insert(args.end(), flags.begin(), flags.end());
    return RunInferd(args);
  };
  auto r = serve({"--auth", "required"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("--auth required: no credentials are configured"));
  WriteFile(dir.path() / "keys.txt", "ops ik_plaintext_key admin\n");
  r = serve({"--api-keys", (dir.path() / "keys.txt").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("keys file line 1"));
  EXPECT_THAT(r.err, HasSubstr("not a SHA-256 in hex"));
  WriteFile(dir.path() / "short", "too short\n");
  r = serve({"--jwt-secret-file", (dir.path() / "short").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("at least 32 bytes"));
  r = serve({"--route-scope", "infer=root"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("is not CLASS=SCOPE"));
  // Without credentials, bound beyond loopback: a warning, and management stays on loopback.
  auto server = ServerProcess::Start(
      repo.path(), {"--host", "0.0.0.0", "--model-control-mode", "explicit", "--load-model", "m"});
  ASSERT_NE(server, nullptr);
  EXPECT_THAT(server->Log(), HasSubstr("no credentials are configured and the server listens on "
                                       "0.0.0.0"));
  EXPECT_EQ(Http(server->port(), "POST", "/v2/repository/models/m/load").status, 200);
  if (const std::string addr = NonLoopbackAddress(); !addr.empty()) {
    HttpConnection c(server->port(), addr);
    EXPECT_EQ(c.Request("POST", "/v2/repository/models/m/load").status, 403);
    EXPECT_EQ(c.Request("GET", "/v2/models/m").status, 200);
  }
}

// Every file of a directory, concatenated (the SQLite database and its WAL).
std::string AllBytes(const fs::path& dir) {
  std::string out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out += ReadFile(e.path());
  }
  return out;
}

TEST(PredictionLogTest, InputsAreEncryptedAtRestAndReadBackWithTheKey) {
  TempDir repo, dir;
  AddModel(repo.path(), "m", 1, "binary_logistic");
  WriteFile(repo.path() / "m" / "config.yaml", "monitoring: {log_sample_rate: 1}\n");
  WriteFile(dir.path() / "log.key", std::string(64, 'c') + "\n");
  auto row = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true).at(0);
  row[0] = 123.456;  // a value to look for
  auto run = [&](const fs::path& state, const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--state", state.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto server = ServerProcess::Start(repo.path(), args);
    ASSERT_NE(server, nullptr);
    for (int i = 0; i < 5; ++i) {
      EXPECT_EQ(Http(server->port(), "POST", "/v2/models/m/infer", V2Request({row})).status, 200);
    }
    EXPECT_EQ(server->Stop(), 0);  // the monitor writes what it holds
  };
  // Without a key the inputs are there in clear (so the check below can fail).
  run(dir.path() / "clear", {});
  EXPECT_NE(AllBytes(dir.path() / "clear").find("123.456"), std::string::npos);
  run(dir.path() / "sealed", {"--log-encryption-key", (dir.path() / "log.key").string()});
  EXPECT_EQ(AllBytes(dir.path() / "sealed").find("123.456"), std::string::npos);

  const std::string state = (dir.path() / "sealed").string();
  auto read = RunInferd({"predictions", "m", "--state", state, "--log-encryption-key",
                         (dir.path() / "log.key").string()});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  int lines = 0;
  std::istringstream out(read.out);
  for (std::string line; std::getline(out, line);) {
    const json j = json::parse(line);
    EXPECT_EQ(j["version"], 1);
    EXPECT_THAT(j["inputs"].dump(), HasSubstr("123.456"));
    ++lines;
  }
  EXPECT_EQ(lines, 5);
  auto sealed = RunInferd({"predictions", "m", "--state", state});
  EXPECT_EQ(sealed.exit_code, 0);
  EXPECT_THAT(sealed.out, HasSubstr("\"inputs\":\"sealed\""));
  EXPECT_THAT(sealed.err, HasSubstr("5 records' inputs are encrypted"));
  WriteFile(dir.path() / "other.key", std::string(64, 'd'));
  auto wrong = RunInferd({"predictions", "m", "--state", state, "--log-encryption-key",
                          (dir.path() / "other.key").string()});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_THAT(wrong.err, HasSubstr("does not open"));
  // log_inputs: false keeps a digest, keyed with the log key.
  WriteFile(repo.path() / "m" / "config.yaml",
            "monitoring: {log_sample_rate: 1, log_inputs: false}\n");
  run(dir.path() / "digest", {"--log-encryption-key", (dir.path() / "log.key").string()});
  auto digests = RunInferd({"predictions", "m", "--state", (dir.path() / "digest").string()});
  EXPECT_EQ(digests.exit_code, 0) << digests.err;
  EXPECT_THAT(digests.out, HasSubstr("\"inputs_sha256\":\"hmac-sha256:"));
  EXPECT_THAT(digests.out, ::testing::Not(HasSubstr("123.456")));
  WriteFile(dir.path() / "bad.key", "not a key");
  auto bad = RunInferd({"serve", "--model-repository", repo.path().string(), "--http-port", "0",
                        "--state", (dir.path() / "x").string(), "--log-encryption-key",
                        (dir.path() / "bad.key").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("the log encryption key must be 32 bytes"));
}

TEST(AuthRateTest, RateLimitsPerPrincipalWithRetryAfter) {
  TempDir repo, dir;
  AddModel(repo.path(), "m", 1, "binary_logistic");
  const auto keys = dir.path() / "keys.txt";
  const std::string a = NewApiKey(keys, "a", "infer"), b = NewApiKey(keys, "b", "infer");
  // b has its own, higher limit.
  {
    std::string text = ReadFile(keys);
    const size_t at = text.find("\nb ");
    const size_t eol = text.find('\n', at + 1);
    text.insert(eol, " rps=1000 burst=1000");
    WriteFile(keys, text);
  }
  // One request per 10 s after a burst of 3: no token comes back while the test runs.
  auto server = ServerProcess::Start(repo.path(), {"--api-keys", keys.string(), "--rate-limit",
                                                   "0.1:3", "--route-scope", "metrics=none"});
  ASSERT_NE(server, nullptr);
  HttpConnection c(server->port());
  const std::vector<std::pair<std::string, std::string>> ha = {{"X-API-Key", a}},
                                                         hb = {{"X-API-Key", b}};
  int ok = 0, limited = 0;
  HttpResult last;
  for (int i = 0; i < 10; ++i) {
    auto r = c.Request("GET", "/v2/models/m", "", ha);
    if (r.status == 200) ++ok;
    if (r.status == 429) ++limited, last = r;
  }
  EXPECT_EQ(ok, 3);  // the burst
  EXPECT_EQ(limited, 7);
  EXPECT_EQ(last.Header("retry-after"), "10");
  EXPECT_THAT(last.body, HasSubstr("rate limit of 0.1 requests/s exceeded for key:a"));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.Request("GET", "/v2/models/m", "", hb).status, 200);
  // Health is never limited; an opened class (metrics=none) needs no credentials.
  for (int i = 0; i < 10; ++i) EXPECT_EQ(c.Request("GET", "/v2/health/ready").status, 200);
  EXPECT_EQ(c.Request("GET", "/metrics").status, 200);
  EXPECT_EQ(c.Request("GET", "/v2/models/m").status, 401);
}

}  // namespace
}  // namespace inferd::testing
