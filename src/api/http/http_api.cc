#include "api/http/http_api.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "api/common/json_writer.h"
#include "api/common/status_map.h"
#include "api/http/json_tensor.h"
#include "api/http/v1_codec.h"
#include "api/http/v2_codec.h"
#include "base/ids.h"
#include "base/logging.h"

namespace inferd::api::http {

// src/api/http/dashboard.html, embedded at build time (CMakeLists.txt).
extern const char kDashboardHtml[];

using base::Status;
using base::StatusOr;

bool SplitPath(std::string_view target, std::vector<std::string>* segments) {
  segments->clear();
  // Absolute form (RFC 9112 section 3.2.2): "http://host:port/path".
  if (target.starts_with("http://") || target.starts_with("https://")) {
    auto slash = target.find('/', target.find("//") + 2);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  auto q = target.find('?');
  std::string_view path = target.substr(0, q);
  if (path.empty() || path[0] != '/') return false;
  std::string cur;
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      if (!cur.empty()) segments->push_back(std::move(cur));
      cur.clear();
      continue;
    }
    char c = path[i];
    if (c == '%') {
      if (i + 2 >= path.size()) return false;
      int v = 0;
      auto r = std::from_chars(path.data() + i + 1, path.data() + i + 3, v, 16);
      if (r.ec != std::errc() || r.ptr != path.data() + i + 3) return false;
      cur += static_cast<char>(v);
      i += 2;
    } else {
      cur += c;
    }
  }
  return true;
}

namespace {

// Both return false: a route that fails answers at once (`return SetError(...)`).
bool SetError(HttpResponse& res, const Status& st) {
  res.status = HttpStatusFor(st.code());
  res.body = EncodeError(st.message());
  if (st.code() == base::StatusCode::kResourceExhausted) {
    res.headers.emplace_back("Retry-After", "1");  // a full queue: come back shortly
  }
  return false;
}

bool SetError(HttpResponse& res, int status, std::string_view message) {
  res.status = status;
  res.body = EncodeError(message);
  return false;
}

base::StatusOr<int64_t> ParseVersion(const std::string& s) {
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || v <= 0) {
    return base::InvalidArgument("version '" + s + "' is not a positive integer");
  }
  return v;
}

// Triton's binary tensor extension: the length of the JSON that opens the body, when binary
// tensor data follows it.
base::StatusOr<std::optional<size_t>> JsonHeaderLength(const HttpRequest& req) {
  auto h = req.header("Inference-Header-Content-Length");
  if (!h) return std::optional<size_t>();
  size_t n = 0;
  auto r = std::from_chars(h->data(), h->data() + h->size(), n);
  if (r.ec != std::errc() || r.ptr != h->data() + h->size()) {
    return base::InvalidArgument("Inference-Header-Content-Length '" +
                                 std::string(h->substr(0, 40)) + "' is not a byte count");
  }
  return std::optional<size_t>(n);
}

// The route key of sticky rollout routing (header inferd-route-key), at most 256 bytes.
std::string_view RouteKey(const HttpRequest& req) {
  if (auto h = req.header("inferd-route-key"); h && h->size() <= 256) return *h;
  return {};
}

// A query parameter's raw value ("" when absent).
std::string QueryParam(std::string_view target, std::string_view key) {
  const size_t q = target.find('?');
  if (q == std::string_view::npos) return "";
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (pair.size() > key.size() && pair.substr(0, key.size()) == key && pair[key.size()] == '=') {
      return std::string(pair.substr(key.size() + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return "";
}

std::string RequestIdFromHeader(const HttpRequest& req) {
  if (auto h = req.header("inferd-request-id"); h && !h->empty() && h->size() <= 128) {
    return std::string(*h);
  }
  return base::NewRequestId();
}

}  // namespace

static std::atomic<uint64_t> next_api_id{1};

HttpApi::HttpApi(const HttpApiOptions& options)
    : options_(options), id_(next_api_id.fetch_add(1, std::memory_order_relaxed)) {
  http_requests_ = &options_.metrics->AddCounter("inferd_http_requests_total",
                                                 "HTTP requests by endpoint and status code.",
                                                 {"endpoint", "code"});
  http_duration_ = &options_.metrics->AddHistogram(
      "inferd_http_request_duration_seconds",
      "Time from a whole request received to its response built, by endpoint.", {"endpoint"});
}

HttpApi::EndpointCells HttpApi::Cells(std::string_view endpoint, int status) {
  // The metric cells of the recent (endpoint, status) pairs, per thread: no lock, no label vector
  // per request. The key includes this API's id, so another HttpApi never sees these cells.
  struct Entry {
    uint64_t api;
    int status;
    std::string endpoint;
    EndpointCells cells;
  };
  thread_local std::vector<Entry> cache;
  for (const auto& e : cache) {
    if (e.api == id_ && e.status == status && e.endpoint == endpoint) return e.cells;
  }
  EndpointCells cells{&http_requests_->WithLabels({std::string(endpoint), std::to_string(status)}),
                      &http_duration_->WithLabels({std::string(endpoint)})};
  if (cache.size() >= 64) cache.erase(cache.begin());
  cache.push_back({id_, status, std::string(endpoint), cells});
  return cells;
}

void HttpApi::Audit(const std::string& action, const std::string& model,
                    const std::string& who) const {
  if (options_.store == nullptr) return;
  const int64_t now = options_.clock->WallNanos() / 1000000;
  if (Status st = options_.store->Audit({now, who, action, model, ""}); !st.ok()) {
    LOG_WARN("audit trail: {}", st.message());
  }
}

bool HttpApi::Ready() const {
  return !draining() && (!options_.strict_readiness || options_.models->AllModelsReady());
}

const std::vector<std::string>& HttpApi::Extensions() {
  static const std::vector<std::string> kExtensions = {"binary_tensor_data",  "classification",
                                                       "statistics",          "schedule_policy",
                                                       "model_configuration", "model_repository"};
  return kExtensions;
}

void HttpApi::Handle(const HttpRequest& request, Responder respond) {
  auto start = options_.clock->Now();
  const char* endpoint = "unmatched";
  // Completes the answer: the request id header, the metrics, and the write. The request's views
  // stay valid until `respond` is called.
  Finish finish = [this, &request, start, respond = std::move(respond)](HttpResponse response,
                                                                        const char* endpoint) {
    bool has_id = false;
    for (const auto& [k, _] : response.headers) has_id |= k == "inferd-request-id";
    if (!has_id) response.headers.emplace_back("inferd-request-id", RequestIdFromHeader(request));
    const auto cells = Cells(endpoint, response.status);
    cells.requests->Increment();
    cells.duration->Observe(std::chrono::duration<double>(options_.clock->Now() - start).count());
    respond(std::move(response));
  };
  HttpResponse response;
  if (!Dispatch(request, response, &endpoint, finish)) finish(std::move(response), endpoint);
}

bool HttpApi::RecordValidation(const HttpRequest& req, HttpResponse& res, const std::string& model,
                               int64_t version, const std::string& who) {
  const nlohmann::json report = nlohmann::json::parse(req.body, nullptr, false);
  if (!report.is_object() || !report.contains("passed") || !report["passed"].is_boolean()) {
    return SetError(res, 400,
                    "the body must be the JSON report of inferd validate (an object with "
                    "\"passed\": true or false)");
  }
  if (report.contains("failed") && !report["failed"].is_array()) {
    return SetError(res, 400, "'failed' must be a list of the gates that failed");
  }
  if (report.contains("sha256") && !report["sha256"].is_string()) {
    return SetError(res, 400, "'sha256' must be the version's digest (a string)");
  }
  auto infos = options_.models->Versions(model);
  if (!infos.ok()) return SetError(res, infos.status());
  std::string loaded_sha;
  bool known = false;
  for (const auto& info : *infos) {
    if (info.version != version) continue;
    known = true;
    loaded_sha = info.load.sha256;
  }
  if (!known) {
    return SetError(res, 404, "model '" + model + "' has no version " + std::to_string(version));
  }
  const std::string sha = report.value("sha256", std::string());
  if (!sha.empty() && !loaded_sha.empty() && sha != loaded_sha) {
    return SetError(res, 409,
                    "the report is of other files (sha256 " + sha + "); version " +
                        std::to_string(version) + " of '" + model + "' has sha256 " + loaded_sha);
  }
  const bool passed = report["passed"].get<bool>();
  const int64_t now = options_.clock->WallNanos() / 1000000;
  nlohmann::json detail = {{"version", version}, {"passed", passed}};
  if (report.contains("failed")) detail["failed"] = report["failed"];
  store::ValidationRecord record{model, version,      sha.empty() ? loaded_sha : sha, passed, now,
                                 who,   report.dump()};
  if (Status st =
          options_.store->PutValidation(record, {now, who, "validate", model, detail.dump()});
      !st.ok()) {
    return SetError(res, st);
  }
  res.status = 201;
  res.body = nlohmann::json({{"model", model},
                             {"version", version},
                             {"passed", passed},
                             {"sha256", record.sha256},
                             {"at_ms", now}})
                 .dump();
  return false;
}

auth::RouteClass ClassifyRoute(std::string_view method, const std::vector<std::string>& seg) {
  using C = auth::RouteClass;
  const size_t n = seg.size();
  if (n == 0) return C::kOther;
  if (n == 1 && seg[0] == "metrics") return C::kMetrics;
  if (n == 1 && seg[0] == "dashboard") return C::kMonitor;
  if (seg[0] == "v2") {
    if (n == 1) return C::kMetadata;
    if (n == 3 && seg[1] == "health" && (seg[2] == "live" || seg[2] == "ready")) return C::kHealth;
    if (n == 2 && seg[1] == "audit") return C::kMonitor;
    if (seg[1] == "repository") {
      if (n == 5 && seg[2] == "models" && (seg[4] == "load" || seg[4] == "unload")) {
        return C::kManagement;
      }
      return C::kMonitor;  // the index
    }
    if (seg[1] == "models" && n >= 3) {
      if (n == 3 && seg[2] == "stats") return C::kMonitor;
      if (n >= 4 && seg[3] == "rollout") {
        return method == "GET" || method == "HEAD" ? C::kMonitor : C::kManagement;
      }
      const std::string& last = seg[n - 1];
      if (n >= 4 && last == "infer") return C::kInfer;
      if (n == 4 && last == "feedback") return C::kFeedback;
      if (n >= 4 && (last == "monitor" || last == "stats")) return C::kMonitor;
      if (n == 4 && last == "versions") return C::kMonitor;
      if (n == 6 && last == "validation") {
        return method == "GET" || method == "HEAD" ? C::kMonitor : C::kManagement;
      }
      return C::kMetadata;  // metadata, ready, config
    }
    return C::kOther;
  }
  if (seg[0] == "v1" && n >= 3 && seg[1] == "models") {
    return seg[n - 1].ends_with(":predict") ? C::kInfer : C::kMetadata;
  }
  return C::kOther;
}

bool HttpApi::Dispatch(const HttpRequest& req, HttpResponse& res, const char** endpoint,
                       Finish& finish) {
  std::vector<std::string> seg;
  if (!SplitPath(req.target, &seg)) {
    SetError(res, 400, "malformed request path '" + std::string(req.target.substr(0, 200)) + "'");
    return false;
  }
  // Who is calling, and may they? (Health routes: always.)
  static const auth::Authorizer kNoCredentials{auth::AuthOptions{}};
  const auth::Authorizer& authorizer =
      options_.authorizer != nullptr ? *options_.authorizer : kNoCredentials;
  const auth::Decision decision =
      authorizer.Check(ClassifyRoute(req.method, seg), req.header("authorization"),
                       req.header("x-api-key"), req.from_loopback, req.peer);
  if (decision.status != 0) {
    *endpoint = decision.status == 429 ? "rate_limited" : "unauthorized";
    SetError(res, decision.status, decision.message);
    if (!decision.www_authenticate.empty()) {
      res.headers.emplace_back("WWW-Authenticate", decision.www_authenticate);
    }
    if (decision.retry_after_s > 0) {
      res.headers.emplace_back("Retry-After", std::to_string(decision.retry_after_s));
    }
    return false;
  }
  // The audit trail's "who": the principal and its address (made only where audited).
  const auto who = [&] { return auth::AuditWho(decision.principal, req.peer); };
  auto& models = *options_.models;
  // Checks the method; on mismatch answers 405 with Allow and returns false.
  auto method_is = [&](std::string_view want) {
    if (req.method == want || (want == "GET" && req.method == "HEAD")) return true;
    SetError(
        res, 405,
        "method " + std::string(req.method) + " is not allowed here; use " + std::string(want));
    res.headers.emplace_back("Allow", std::string(want));
    return false;
  };
  const size_t n = seg.size();
  if (n == 1 && seg[0] == "metrics") {
    *endpoint = "metrics";
    if (!method_is("GET")) return false;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = options_.metrics->RenderPrometheus();
    return false;
  }
  if (n == 1 && seg[0] == "dashboard") {
    *endpoint = "dashboard";
    if (!method_is("GET")) return false;
    res.content_type = "text/html; charset=utf-8";
    res.body = kDashboardHtml;
    return false;
  }
  if (n >= 1 && seg[0] == "v2") {
    if (n == 1) {
      *endpoint = "v2_server_metadata";
      if (!method_is("GET")) return false;
      std::string out;
      JsonWriter w(&out);
      w.BeginObject().Key("name").Str(options_.server_name).Key("version");
      w.Str(options_.server_version).Key("extensions").BeginArray();
      for (const auto& e : Extensions()) w.Str(e);
      w.EndArray().EndObject();
      res.body = std::move(out);
      return false;
    }
    if (n == 3 && seg[1] == "health" && (seg[2] == "live" || seg[2] == "ready")) {
      *endpoint = seg[2] == "live" ? "v2_health_live" : "v2_health_ready";
      if (!method_is("GET")) return false;
      const bool live = seg[2] == "live";
      const bool draining = !live && this->draining();
      const bool ok = live || Ready();
      res.status = ok ? 200 : 503;
      res.body = live       ? "{\"live\":true}"
                 : ok       ? "{\"ready\":true}"
                 : draining ? "{\"ready\":false,\"reason\":\"the server is shutting down\"}"
                            : "{\"ready\":false}";
      return false;
    }
    if (n == 3 && seg[1] == "repository" && seg[2] == "index") {
      *endpoint = "v2_repository_index";
      if (!method_is("POST")) return false;
      bool ready_only = false;
      if (!req.body.empty()) {
        ParserScope scope;
        simdjson::dom::element root;
        auto err = ThreadParser().parse(req.body.data(), req.body.size()).get(root);
        if (err) return SetError(res, JsonParseError(err));
        if (!root.is_object()) return SetError(res, 400, "request body must be a JSON object");
        bool b;
        if (root["ready"].get_bool().get(b) == simdjson::SUCCESS) ready_only = b;
      }
      auto entries = models.Index();
      if (ready_only) std::erase_if(entries, [](const auto& e) { return e.state != "READY"; });
      res.body = EncodeRepositoryIndex(entries);
      return false;
    }
    if (n == 5 && seg[1] == "repository" && seg[2] == "models" &&
        (seg[4] == "load" || seg[4] == "unload")) {
      *endpoint = seg[4] == "load" ? "v2_repository_load" : "v2_repository_unload";
      if (!method_is("POST")) return false;
      Status st = seg[4] == "load" ? models.Load(seg[3]) : models.Unload(seg[3]);
      if (!st.ok()) return SetError(res, st);
      Audit(seg[4], seg[3], who());
      res.body = "{}";
      return false;
    }
    if (n == 2 && seg[1] == "audit" && options_.store != nullptr) {
      *endpoint = "v2_audit";
      if (!method_is("GET")) return false;
      const std::string model = QueryParam(req.target, "model");
      int limit = 100;
      if (const std::string l = QueryParam(req.target, "limit"); !l.empty()) {
        limit = std::atoi(l.c_str());
        if (limit < 1 || limit > 100000) return SetError(res, 400, "'limit' must be 1 to 100000");
      }
      auto log = options_.store->AuditLog(model, limit);
      if (!log.ok()) return SetError(res, log.status());
      std::string out;
      JsonWriter w(&out);
      w.BeginArray();
      for (const auto& e : *log) {
        w.BeginObject().Key("at_ms").Number(e.at_ms).Key("who").Str(e.who);
        w.Key("action").Str(e.action).Key("model").Str(e.model).Key("detail").Str(e.detail);
        w.EndObject();
      }
      w.EndArray();
      res.body = std::move(out);
      return false;
    }
    if (n == 4 && seg[1] == "models" && (seg[3] == "feedback" || seg[3] == "monitor") &&
        options_.monitors != nullptr) {
      const bool feedback = seg[3] == "feedback";
      *endpoint = feedback ? "v2_feedback" : "v2_monitor";
      if (!method_is(feedback ? "POST" : "GET")) return false;
      auto monitor = options_.monitors->Find(seg[2]);
      if (!monitor.ok()) return SetError(res, monitor.status());
      if (feedback) {
        // Answered from a worker thread. The request's views stay valid until then, not the
        // request itself: the body's view is copied, and the request id header set now.
        tasks_.Post([m = *monitor, body = req.body, id = RequestIdFromHeader(req),
                     finish = std::move(finish)] {
          HttpResponse r;
          r.headers.emplace_back("inferd-request-id", id);
          auto [status, answer] = m->Feedback(body);
          r.status = status;
          r.body = std::move(answer);
          finish(std::move(r), "v2_feedback");
        });
        return true;
      } else {
        res.body = (*monitor)->Report();
      }
      return false;
    }
    if (n >= 4 && n <= 5 && seg[1] == "models" && seg[3] == "rollout" &&
        options_.rollout != nullptr) {
      const std::string& name = seg[2];
      auto& rc = *options_.rollout;
      if (n == 4 && req.method != "POST") {
        *endpoint = "v2_rollout_status";
        if (!method_is("GET")) return false;
        auto status = rc.Status(name);
        if (!status.ok()) return SetError(res, status.status());
        nlohmann::json j = nlohmann::json::parse(*status);
        const auto s = options_.inference->ShadowStatsFor(name);
        j["shadow_stats"] = {{"pairs", s.pairs},
                             {"agree", s.agree},
                             {"disagree", s.disagree},
                             {"shadow_errors", s.shadow_errors},
                             {"dropped", s.dropped},
                             {"primary_ms_mean", s.pairs ? s.primary_ms_sum / s.pairs : 0.0},
                             {"shadow_ms_mean", s.pairs ? s.shadow_ms_sum / s.pairs : 0.0},
                             {"abs_diff_mean", s.scored ? s.abs_diff_sum / s.scored : 0.0},
                             {"abs_diff_max", s.abs_diff_max}};
        res.body = j.dump();
        return false;
      }
      *endpoint = n == 4 ? "v2_rollout_set" : "v2_rollout_change";
      if (!method_is("POST")) return false;
      const nlohmann::json body = req.body.empty()
                                      ? nlohmann::json::object()
                                      : nlohmann::json::parse(req.body, nullptr, false);
      if (!body.is_object()) return SetError(res, 400, "the request body must be a JSON object");
      auto version_field = [&](const char* key) -> StatusOr<std::optional<int64_t>> {
        if (!body.contains(key)) return std::optional<int64_t>();
        if (!body[key].is_number_integer() || body[key].get<int64_t>() < 1) {
          return base::InvalidArgument(std::string("'") + key + "' must be a version (>= 1)");
        }
        return std::optional<int64_t>(body[key].get<int64_t>());
      };
      StatusOr<std::string> out = base::Internal("no rollout action");
      if (n == 5 && seg[4] == "promote") {
        auto v = version_field("version");
        if (body.contains("force") && !body["force"].is_boolean()) {
          return SetError(res, 400, "'force' must be true or false");
        }
        out = v.ok() ? rc.Promote(name, *v, who(), body.value("force", false))
                     : StatusOr<std::string>(v.status());
      } else if (n == 5 && seg[4] == "rollback") {
        out = rc.Rollback(name, who());
      } else if (n == 5 && seg[4] == "pin") {
        out = rc.Pin(name, who());
      } else if (n == 5 && seg[4] == "shadow") {
        auto v = version_field("version");
        if (!v.ok()) return SetError(res, v.status());
        if (!body.contains("percent") || !body["percent"].is_number_integer()) {
          return SetError(res, 400, "'percent' (0-100) is required; 0 stops the shadow");
        }
        const int64_t percent = body["percent"].get<int64_t>();
        if (percent > 0 && !v->has_value()) {
          return SetError(res, 400, "'version' names the shadow version");
        }
        if (body.contains("tolerance") && !body["tolerance"].is_number()) {
          return SetError(res, 400, "'tolerance' must be a number >= 0");
        }
        out = rc.SetShadow(name, v->value_or(0), percent, body.value("tolerance", 1e-6), who());
      } else if (n == 5) {
        return SetError(res, 404,
                        "no rollout action '" + seg[4] + "' (promote, rollback, pin, shadow)");
      } else if (body.contains("canary")) {
        auto v = version_field("canary");
        if (!v.ok()) return SetError(res, v.status());
        if (!body.contains("weight") || !body["weight"].is_number_integer()) {
          return SetError(res, 400, "'weight' (0-100) must go with 'canary'");
        }
        if (body.contains("force") && !body["force"].is_boolean()) {
          return SetError(res, 400, "'force' must be true or false");
        }
        out = rc.SetCanary(name, **v, body["weight"].get<int64_t>(), who(),
                           body.value("force", false));
      } else {
        auto policy = rollout::PolicyFromJson(req.body);
        out = policy.ok() ? rc.Set(name, std::move(policy).value(), who())
                          : StatusOr<std::string>(policy.status());
      }
      if (!out.ok()) return SetError(res, out.status());
      res.body = std::move(out).value();
      return false;
    }
    if (n == 3 && seg[1] == "models" && seg[2] == "stats") {
      *endpoint = "v2_model_stats";
      if (!method_is("GET")) return false;
      auto stats = options_.inference->Statistics("", std::nullopt);
      if (!stats.ok()) return SetError(res, stats.status());
      res.body = EncodeModelStatistics(*stats);
      return false;
    }
    if (n >= 3 && seg[1] == "models") {
      const std::string& name = seg[2];
      std::optional<int64_t> version;
      size_t rest = 3;
      if (n >= 5 && seg[3] == "versions") {
        auto v = ParseVersion(seg[4]);
        if (!v.ok()) return SetError(res, v.status());
        version = *v;
        rest = 5;
      } else if (n >= 5 && seg[3] == "labels") {
        auto v = options_.inference->LabelVersion(name, seg[4]);
        if (!v.ok()) return SetError(res, v.status());
        version = *v;
        rest = 5;
      } else if (n == 4 && seg[3] == "versions") {
        *endpoint = "v2_model_versions";
        if (!method_is("GET")) return false;
        auto versions = models.Versions(name);
        if (!versions.ok()) return SetError(res, versions.status());
        res.body = EncodeVersions(name, *versions);
        return false;
      }
      std::string_view action = rest < n ? std::string_view(seg[rest]) : std::string_view();
      if (rest + 1 < n || rest == 99) {
        SetError(res, 404, "no route for " + std::string(req.target.substr(0, 200)));
        return false;
      }
      if (action.empty()) {
        *endpoint = "v2_model_metadata";
        if (!method_is("GET")) return false;
        auto handle = models.Get(name, version);
        if (!handle.ok()) return SetError(res, handle.status());
        std::vector<int64_t> versions = {handle->version};
        if (!version) {
          // The model may go away between the two calls: then show the version in hand.
          if (auto ready = models.ReadyVersions(name); ready.ok() && !ready->empty()) {
            versions = *ready;
          }
        }
        // The shown version's digest and lineage, as parameters (flat strings).
        std::vector<std::pair<std::string, std::string>> extra;
        if (auto infos = models.Versions(name); infos.ok()) {
          for (const auto& info : *infos) {
            if (info.version != handle->version || info.load.sha256.empty()) continue;
            extra.emplace_back("sha256", info.load.sha256);
            const nlohmann::json lineage = nlohmann::json::parse(info.load.lineage_json);
            for (auto it = lineage.begin(); it != lineage.end(); ++it) {
              extra.emplace_back("lineage." + it.key(),
                                 it->is_string() ? it->get<std::string>() : it->dump());
            }
          }
        }
        res.body = EncodeV2ModelMetadata(name, versions, handle->model->signature(), extra);
        return false;
      }
      if (action == "ready") {
        *endpoint = "v2_model_ready";
        if (!method_is("GET")) return false;
        auto handle = models.Get(name, version);
        if (!handle.ok() && handle.status().code() == base::StatusCode::kNotFound) {
          return SetError(res, handle.status());
        }
        std::string out;
        JsonWriter w(&out);
        w.BeginObject().Key("name").Str(name);
        if (version) w.Key("version").Str(std::to_string(*version));
        w.Key("ready").Bool(handle.ok());
        if (!handle.ok()) w.Key("error").Str(handle.status().message());
        w.EndObject();
        res.status = handle.ok() ? 200 : 503;
        res.body = std::move(out);
        return false;
      }
      if (action == "config") {
        *endpoint = "v2_model_config";
        if (!method_is("GET")) return false;
        auto handle = models.Get(name, version);
        if (!handle.ok()) return SetError(res, handle.status());
        const std::string backend =
            handle->model->signature().platform == "onnx" ? "onnx" : "forest";
        res.body = EncodeModelConfig(name, handle->model->signature(), *handle->config, backend);
        return false;
      }
      if (action == "stats") {
        *endpoint = "v2_model_stats";
        if (!method_is("GET")) return false;
        auto stats = options_.inference->Statistics(name, version);
        if (!stats.ok()) return SetError(res, stats.status());
        res.body = EncodeModelStatistics(*stats);
        return false;
      }
      if (action == "validation" && options_.store != nullptr) {
        *endpoint = "v2_model_validation";
        if (!version) return SetError(res, 404, "name the version: .../versions/N/validation");
        if (req.method == "POST") return RecordValidation(req, res, name, *version, who());
        if (!method_is("GET")) return false;
        auto records = options_.store->Validations(name, *version);
        if (!records.ok()) return SetError(res, records.status());
        if (records->empty()) {
          return SetError(res, 404,
                          "version " + std::to_string(*version) + " of '" + name +
                              "' has no validation: run inferd validate");
        }
        const auto& r = records->back();
        nlohmann::json j = {{"model", r.model},
                            {"version", r.version},
                            {"passed", r.passed},
                            {"at_ms", r.at_ms},
                            {"who", r.who},
                            {"sha256", r.sha256},
                            {"report", nlohmann::json::parse(r.report_json, nullptr, false)}};
        res.body = j.dump();
        return false;
      }
      if (action == "infer") {
        *endpoint = "v2_infer";
        if (!method_is("POST")) return false;
        inference::InferRequest ireq;
        auto handle = options_.inference->Resolve(name, version, RouteKey(req));
        if (!handle.ok()) {
          res.headers.emplace_back("inferd-request-id", RequestIdFromHeader(req));
          return SetError(res, handle.status());
        }
        OutputOptions binary;
        auto json_bytes = JsonHeaderLength(req);
        Status st = json_bytes.status();
        if (st.ok()) st = DecodeV2InferRequest(req.body, &ireq, *json_bytes, &binary);
        if (ireq.id.empty() || !st.ok()) ireq.id = RequestIdFromHeader(req);
        res.headers.emplace_back("inferd-request-id", ireq.id);
        if (!st.ok()) {
          options_.inference->CountRejected(*handle);
          return SetError(res, st);
        }
        ireq.routed = !version;
        ireq.route_key_given = !RouteKey(req).empty();
        for (const auto& [output, k] : binary.classification) {
          for (const auto& spec : handle->config->outputs) {
            if (spec.name == output && !spec.labels.empty()) binary.labels[output] = &spec.labels;
          }
        }
        // Answered when the model has run (later, for a model that batches dynamically).
        options_.inference->InferAsync(
            std::move(ireq), *handle,
            [finish = std::move(finish), endpoint = *endpoint, binary = std::move(binary),
             config = handle->config,  // (binary.labels point into it)
             headers = std::move(res.headers)](StatusOr<inference::InferResponse> out) mutable {
              (void)config;
              HttpResponse r;
              r.headers = std::move(headers);
              // The version that served (a label or the latest may have chosen it).
              if (out.ok())
                r.headers.emplace_back("inferd-model-version", std::to_string(out->version));
              if (!out.ok()) {
                SetError(r, out.status());
              } else if (binary.any()) {
                size_t json_bytes = 0;
                r.body = EncodeV2InferResponse(*out, binary, &json_bytes);
                r.content_type = "application/octet-stream";
                r.headers.emplace_back("Inference-Header-Content-Length",
                                       std::to_string(json_bytes));
              } else {
                r.body = EncodeV2InferResponse(*out, binary);
              }
              finish(std::move(r), endpoint);
            });
        return true;
      }
      SetError(res, 404, "no route for " + std::string(req.target.substr(0, 200)));
      return false;
    }
  }
  if (n >= 3 && seg[0] == "v1" && seg[1] == "models") {
    // /v1/models/{m}[/versions/{v}][:predict]
    std::string last = seg[n - 1];
    bool predict = false;
    if (last.size() > 8 && last.ends_with(":predict")) {
      predict = true;
      last.resize(last.size() - 8);
    }
    std::string name = n == 3 ? last : seg[2];
    std::optional<int64_t> version;
    if (n == 5 && seg[3] == "versions") {
      auto v = ParseVersion(last);
      if (!v.ok()) return SetError(res, v.status());
      version = *v;
    } else if (n == 5 && seg[3] == "labels") {
      auto v = options_.inference->LabelVersion(name, last);
      if (!v.ok()) return SetError(res, v.status());
      version = *v;
    } else if (n != 3) {
      SetError(res, 404, "no route for " + std::string(req.target.substr(0, 200)));
      return false;
    }
    if (!predict) {
      *endpoint = "v1_model_status";
      if (!method_is("GET")) return false;
      auto entries = models.Index();
      std::erase_if(entries, [&](const auto& e) {
        return e.name != name || (version && e.version != version);
      });
      if (entries.empty()) {
        return SetError(res, 404,
                        "unknown model '" + name + "'" +
                            (version ? " version " + std::to_string(*version) : ""));
      }
      res.body = EncodeV1ModelStatus(entries);
      return false;
    }
    *endpoint = "v1_predict";
    if (!method_is("POST")) return false;
    std::string id = RequestIdFromHeader(req);
    res.headers.emplace_back("inferd-request-id", id);
    auto handle = options_.inference->Resolve(name, version, RouteKey(req));
    if (!handle.ok()) return SetError(res, handle.status());
    inference::InferRequest ireq;
    ireq.id = id;
    V1Format format;
    Status st = DecodeV1PredictRequest(req.body, handle->model->signature(), &ireq, &format,
                                       handle->config ? handle->config->schema.get() : nullptr);
    if (!st.ok()) {
      options_.inference->CountRejected(*handle);
      return SetError(res, st);
    }
    ireq.routed = !version;
    ireq.route_key_given = !RouteKey(req).empty();
    options_.inference->InferAsync(
        std::move(ireq), *handle,
        [finish = std::move(finish), endpoint = *endpoint, format,
         headers = std::move(res.headers)](StatusOr<inference::InferResponse> out) mutable {
          HttpResponse r;
          r.headers = std::move(headers);
          if (out.ok())
            r.headers.emplace_back("inferd-model-version", std::to_string(out->version));
          if (!out.ok()) {
            SetError(r, out.status());
          } else {
            r.body = EncodeV1PredictResponse(*out, format);
          }
          finish(std::move(r), endpoint);
        });
    return true;
  }
  return SetError(res, 404, "no route for " + std::string(req.target.substr(0, 200)));
}

}  // namespace inferd::api::http
