// The dashboard in a real browser (Debian's chromium, headless): it loads against a running server
// with traffic on a canary and a stable version, and draws both with data — serving numbers,
// quality over time, drift per feature — and so does a drift report. A screenshot of each is kept
// in the build directory (test-artifacts/).
#include <gtest/gtest.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <regex>

#include "e2e/test_support.h"

namespace inferd::testing {
namespace {

using nlohmann::json;

// Chromium's DOM of `url` after its scripts ran (`ms` of virtual time), and a screenshot.
std::string Browse(const std::string& url, const fs::path& screenshot, int ms = 6000) {
  TempDir profile;
  const std::string flags =
      "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync "
      "--virtual-time-budget=" +
      std::to_string(ms) + " --user-data-dir=" + profile.path().string();
  const fs::path dom = profile.path() / "dom.html";
  std::string cmd =
      "chromium " + flags + " --dump-dom '" + url + "' > " + dom.string() + " 2>/dev/null";
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "chromium is missing: scripts/install-deps.sh test";
  fs::create_directories(screenshot.parent_path());
  cmd = "chromium " + flags + " --window-size=1400,1800 --screenshot=" + screenshot.string() +
        " '" + url + "' > /dev/null 2>&1";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
  EXPECT_TRUE(fs::exists(screenshot));
  return ReadFile(dom);
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
  return n;
}

TEST(DashboardTest, ShowsCanaryAndStableWithData) {
  TempDir tmp;
  const fs::path repo = tmp.path() / "repo";
  AddModel(repo, "m", 1, "binary_logistic");
  AddModel(repo, "m", 2, "binary_logistic");
  const fs::path data = FixtureDir("binary_logistic") / "input.csv";
  AddProfile(repo, "m", data);
  if (::testing::Test::HasFatalFailure()) return;
  WriteFile(repo / "m" / "config.yaml",
            "version_policy: {all: true}\n"
            "rollout: {labels: {stable: 1, canary: 2}, weights: {stable: 50, canary: 50}}\n"
            "monitoring: {log_sample_rate: 0.1, classes: [malignant, benign]}\n");
  auto server = ServerProcess::Start(repo, {"--state", (tmp.path() / "state").string()});
  ASSERT_NE(server, nullptr);
  // Traffic on both versions (the canary's first feature scaled), then the truth for it.
  const auto rows = ReadCsv(data, true);
  HttpConnection c(server->port());
  json feedback = json::array();
  for (int i = 0; i < 240; ++i) {
    auto row = rows[i % rows.size()];
    const std::string version = i % 2 ? "2" : "1";
    if (version == "2") row[0] *= 1.5;
    auto r = c.Request("POST", "/v2/models/m/versions/" + version + "/infer", V2Request({row}));
    ASSERT_EQ(r.status, 200) << r.body;
    const json a = json::parse(r.body);
    for (const auto& o : a["outputs"]) {
      if (o["name"] == "label") feedback.push_back({{"id", a["id"]}, {"label", o["data"][0]}});
    }
  }
  ASSERT_EQ(c.Request("POST", "/v2/models/m/feedback", feedback.dump()).status, 200);

  const fs::path artifacts = fs::path(INFERD_BINARY_DIR) / "test-artifacts";
  const std::string url = "http://127.0.0.1:" + std::to_string(server->port()) + "/dashboard";
  const std::string dom = Browse(url, artifacts / "dashboard.png");
  ASSERT_NE(dom.find("data-model=\"m\""), std::string::npos) << dom.substr(0, 2000);
  EXPECT_NE(dom.find("data-refreshes="), std::string::npos);
  // Both versions side by side, with their labels.
  EXPECT_NE(dom.find("v1 (stable)"), std::string::npos);
  EXPECT_NE(dom.find("v2 (canary)"), std::string::npos);
  // Error share and accuracy are numbers for both.
  EXPECT_EQ(Count(dom, "class=\"errors\" data-version=\"1\">0.0%"), 1u) << dom.substr(0, 4000);
  EXPECT_EQ(Count(dom, "class=\"quality\" data-version=\"2\">1.00"), 1u);
  // Quality over time: a line per version.
  EXPECT_EQ(Count(dom, "<path class=\"series\""), 2u);
  // Drift: 30 rows per version, sorted with the drifted first; the canary's f0 drifted.
  EXPECT_EQ(Count(dom, "class=\"feature "), 60u);
  const size_t v2 = dom.find("class=\"drift-version\" data-version=\"2\"");
  ASSERT_NE(v2, std::string::npos);
  EXPECT_NE(dom.find("<tr class=\"feature drifted\" data-feature=\"f0\">", v2), std::string::npos);

  // A drift report of the canary's traffic, rendered by the same browser.
  const fs::path cur = tmp.path() / "current.csv";
  std::string csv = ReadFile(data);
  {
    // f0 scaled by 1.5, as the canary saw it.
    std::string out;
    std::istringstream in(csv);
    std::string line;
    std::getline(in, line);
    out += line + "\n";
    while (std::getline(in, line)) {
      const size_t comma = line.find(',');
      out += std::to_string(std::stod(line.substr(0, comma)) * 1.5) + line.substr(comma) + "\n";
    }
    WriteFile(cur, out);
  }
  const fs::path report = tmp.path() / "report.html";
  auto made = RunInferd({"drift-report", "--reference", data.string(), "--current", cur.string(),
                         "--out", report.string()});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const std::string rdom =
      Browse("file://" + report.string(), artifacts / "drift-report.png", 1000);
  EXPECT_NE(rdom.find("<tr class=\"drift\"><td>f0</td>"), std::string::npos)
      << rdom.substr(0, 2000);
  EXPECT_EQ(Count(rdom, "<svg class=\"bars\""), 30u);
}

}  // namespace
}  // namespace inferd::testing
