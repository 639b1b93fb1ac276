// The Open Inference Protocol over gRPC, as a Triton or KServe client speaks it: stubs generated
// from our grpc_service.proto (the specification's names and numbers) call the real `inferd
// serve --grpc-port 0` over a real socket. Answers agree with the REST routes; every bad input
// gets the right status code and a message naming the problem; health follows readiness.
#include <grpcpp/grpcpp.h>
// (gRPC first: its Abseil defines names our annotations replace.)
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "e2e/test_support.h"
#include "grpc_service.grpc.pb.h"
#include "health.grpc.pb.h"

namespace inferd::testing {
namespace {

using nlohmann::json;
namespace pb = ::inference;
namespace health = ::grpc::health::v1;

class Client {
 public:
  explicit Client(uint16_t port, const std::string& address = "127.0.0.1")
      : channel_(::grpc::CreateChannel(address + ":" + std::to_string(port),
                                       ::grpc::InsecureChannelCredentials())),
        stub_(pb::GRPCInferenceService::NewStub(channel_)),
        health_(health::Health::NewStub(channel_)) {}

  template <typename Req, typename Resp, typename Method>
  ::grpc::Status Call(Method method, const Req& req, Resp* resp) {
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return ((*stub_).*method)(&ctx, req, resp);
  }
  ::grpc::Status Infer(const pb::ModelInferRequest& req, pb::ModelInferResponse* resp) {
    return Call(&pb::GRPCInferenceService::Stub::ModelInfer, req, resp);
  }
  health::HealthCheckResponse::ServingStatus Health(const std::string& service,
                                                    ::grpc::StatusCode* code = nullptr) {
    ::grpc::ClientContext ctx;
    health::HealthCheckRequest req;
    req.set_service(service);
    health::HealthCheckResponse resp;
    auto st = health_->Check(&ctx, req, &resp);
    if (code) *code = st.error_code();
    return resp.status();
  }
  pb::GRPCInferenceService::Stub& stub() { return *stub_; }

 private:
  std::shared_ptr<::grpc::Channel> channel_;
  std::unique_ptr<pb::GRPCInferenceService::Stub> stub_;
  std::unique_ptr<health::Health::Stub> health_;
};

using Stub = pb::GRPCInferenceService::Stub;

// A request for `rows` of input "input", FP32 in typed contents (or raw bytes).
pb::ModelInferRequest Request(const std::string& model,
                              const std::vector<std::vector<double>>& rows, bool raw = false) {
  pb::ModelInferRequest req;
  req.set_model_name(model);
  auto* in = req.add_inputs();
  in->set_name("input");
  in->set_datatype("FP32");
  in->add_shape(static_cast<int64_t>(rows.size()));
  in->add_shape(static_cast<int64_t>(rows.empty() ? 0 : rows[0].size()));
  std::string bytes;
  for (const auto& row : rows) {
    for (double v : row) {
      const float f = static_cast<float>(v);
      if (raw) {
        bytes.append(reinterpret_cast<const char*>(&f), sizeof f);
      } else {
        in->mutable_contents()->add_fp32_contents(f);
      }
    }
  }
  if (raw) req.add_raw_input_contents(bytes);
  return req;
}

// Output `name` of a response as floats (FP32) or int64s widened to double.
std::vector<double> Output(const pb::ModelInferResponse& r, const std::string& name) {
  for (int i = 0; i < r.outputs_size(); ++i) {
    if (r.outputs(i).name() != name) continue;
    const std::string& raw = r.raw_output_contents(i);
    std::vector<double> out;
    if (r.outputs(i).datatype() == "FP32") {
      for (size_t at = 0; at + 4 <= raw.size(); at += 4) {
        float f;
        std::memcpy(&f, raw.data() + at, 4);
        out.push_back(f);
      }
    } else if (r.outputs(i).datatype() == "INT64") {
      for (size_t at = 0; at + 8 <= raw.size(); at += 8) {
        int64_t v;
        std::memcpy(&v, raw.data() + at, 8);
        out.push_back(static_cast<double>(v));
      }
    } else {
      ADD_FAILURE() << "unexpected datatype " << r.outputs(i).datatype();
    }
    return out;
  }
  ADD_FAILURE() << "no output " << name;
  return {};
}

// The same output from the REST route.
std::vector<double> HttpOutput(uint16_t port, const std::string& model,
                               const std::vector<std::vector<double>>& rows,
                               const std::string& name) {
  auto r = Http(port, "POST", "/v2/models/" + model + "/infer", V2Request(rows));
  EXPECT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  for (const auto& o : body["outputs"]) {
    if (o["name"] == name) return o["data"].get<std::vector<double>>();
  }
  ADD_FAILURE() << "no output " << name << " in " << r.body;
  return {};
}

// Equal as float32 (REST prints the shortest decimal that reads back as the same float).
bool SameFloats(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (static_cast<float>(a[i]) != static_cast<float>(b[i])) return false;
  }
  return true;
}

void ExpectSame(const std::vector<double>& a, const std::vector<double>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_FLOAT_EQ(a[i], b[i]) << "at " << i;
}

TEST(GrpcTest, ServesTheProtocolAsRestDoes) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  AddModel(repo.path(), "cancer", 1, "binary_logistic");
  auto server = ServerProcess::Start(repo.path(), {"--grpc-port", "0"});
  ASSERT_NE(server, nullptr);
  const uint16_t http = server->port();
  ASSERT_NE(server->port("gRPC"), 0) << "no gRPC port printed";
  Client c(server->port("gRPC"));

  pb::ServerLiveResponse live;
  ASSERT_TRUE(c.Call(&Stub::ServerLive, pb::ServerLiveRequest(), &live).ok());
  EXPECT_TRUE(live.live());
  pb::ServerReadyResponse ready;
  ASSERT_TRUE(c.Call(&Stub::ServerReady, pb::ServerReadyRequest(), &ready).ok());
  EXPECT_TRUE(ready.ready());
  pb::ServerMetadataResponse meta;
  ASSERT_TRUE(c.Call(&Stub::ServerMetadata, pb::ServerMetadataRequest(), &meta).ok());
  auto rest_meta = json::parse(Http(http, "GET", "/v2").body);
  EXPECT_EQ(meta.name(), rest_meta["name"]);
  EXPECT_EQ(std::vector<std::string>(meta.extensions().begin(), meta.extensions().end()),
            rest_meta["extensions"].get<std::vector<std::string>>());

  pb::ModelReadyRequest mr;
  mr.set_name("iris");
  pb::ModelReadyResponse mready;
  ASSERT_TRUE(c.Call(&Stub::ModelReady, mr, &mready).ok());
  EXPECT_TRUE(mready.ready());
  mr.set_name("nope");
  auto st = c.Call(&Stub::ModelReady, mr, &mready);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("nope"), std::string::npos) << st.error_message();

  pb::ModelMetadataRequest mm;
  mm.set_name("iris");
  pb::ModelMetadataResponse mmeta;
  ASSERT_TRUE(c.Call(&Stub::ModelMetadata, mm, &mmeta).ok());
  auto rest_mmeta = json::parse(Http(http, "GET", "/v2/models/iris").body);
  EXPECT_EQ(mmeta.name(), "iris");
  EXPECT_EQ(mmeta.platform(), rest_mmeta["platform"]);
  ASSERT_EQ(mmeta.versions_size(), 1);
  EXPECT_EQ(mmeta.versions(0), "1");
  ASSERT_EQ(mmeta.inputs_size(), 1);
  EXPECT_EQ(mmeta.inputs(0).name(), "input");
  EXPECT_EQ(mmeta.inputs(0).datatype(), "FP32");
  EXPECT_EQ(std::vector<int64_t>(mmeta.inputs(0).shape().begin(), mmeta.inputs(0).shape().end()),
            rest_mmeta["inputs"][0]["shape"].get<std::vector<int64_t>>());
  ASSERT_EQ(static_cast<size_t>(mmeta.outputs_size()), rest_mmeta["outputs"].size());

  // Inference: typed contents, raw contents and FP64 all give what REST gives.
  auto rows = ReadCsv(FixtureDir("multi_softprob") / "input.csv", true);
  rows.resize(5);
  const auto want_proba = HttpOutput(http, "iris", rows, "probabilities");
  const auto want_label = HttpOutput(http, "iris", rows, "label");
  for (bool raw : {false, true}) {
    pb::ModelInferRequest req = Request("iris", rows, raw);
    req.set_id("req-" + std::to_string(raw));
    pb::ModelInferResponse resp;
    auto s = c.Infer(req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.model_name(), "iris");
    EXPECT_EQ(resp.model_version(), "1");
    EXPECT_EQ(resp.id(), req.id());
    ASSERT_EQ(resp.outputs_size(), resp.raw_output_contents_size());
    ExpectSame(Output(resp, "probabilities"), want_proba);
    ExpectSame(Output(resp, "label"), want_label);
    for (const auto& o : resp.outputs()) {
      if (o.name() == "probabilities") {
        EXPECT_EQ(std::vector<int64_t>(o.shape().begin(), o.shape().end()),
                  (std::vector<int64_t>{5, 3}));
      }
    }
  }
  {
    pb::ModelInferRequest req = Request("iris", rows);
    auto* in = req.mutable_inputs(0);
    in->set_datatype("FP64");
    in->mutable_contents()->clear_fp32_contents();
    for (const auto& row : rows) {
      for (double v : row) in->mutable_contents()->add_fp64_contents(v);
    }
    req.set_model_version("1");
    req.add_outputs()->set_name("label");
    pb::ModelInferResponse resp;
    auto s = c.Infer(req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_EQ(resp.outputs_size(), 1);  // only what was asked for
    ExpectSame(Output(resp, "label"), want_label);
  }

  // Bad inputs: the right code and a message naming the problem; the server carries on.
  struct Bad {
    std::string what;
    std::function<void(pb::ModelInferRequest&)> change;
    ::grpc::StatusCode code;
    std::string message;
  };
  const std::vector<Bad> bad = {
      {"unknown model", [](auto& r) { r.set_model_name("nope"); }, ::grpc::StatusCode::NOT_FOUND,
       "nope"},
      {"unknown version", [](auto& r) { r.set_model_version("7"); }, ::grpc::StatusCode::NOT_FOUND,
       "7"},
      {"bad version", [](auto& r) { r.set_model_version("-1"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "version '-1' is not a positive integer"},
      {"unknown label", [](auto& r) { r.set_model_version("abc"); }, ::grpc::StatusCode::NOT_FOUND,
       "has no label 'abc' (labels: none)"},
      {"too few values",
       [](auto& r) {
         r.mutable_inputs(0)->mutable_contents()->mutable_fp32_contents()->RemoveLast();
       },
       ::grpc::StatusCode::INVALID_ARGUMENT, "needs 20 values, contents hold 19"},
      {"unknown datatype", [](auto& r) { r.mutable_inputs(0)->set_datatype("FP13"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "unknown datatype 'FP13'"},
      {"negative dim", [](auto& r) { r.mutable_inputs(0)->set_shape(0, -2); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "is invalid"},
      {"wrong input name", [](auto& r) { r.mutable_inputs(0)->set_name("x"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "'x'"},
      {"wrong width",
       [](auto& r) {
         r.mutable_inputs(0)->set_shape(1, 5);
         r.mutable_inputs(0)->set_shape(0, 4);
       },
       ::grpc::StatusCode::INVALID_ARGUMENT, "input"},
      {"no inputs", [](auto& r) { r.clear_inputs(); }, ::grpc::StatusCode::INVALID_ARGUMENT,
       "'inputs' is empty"},
      {"raw of the wrong size",
       [](auto& r) {
         r.mutable_inputs(0)->clear_contents();
         r.add_raw_input_contents(std::string(12, '\0'));
       },
       ::grpc::StatusCode::INVALID_ARGUMENT, "takes 80 bytes, raw_input_contents holds 12"},
      {"unknown output", [](auto& r) { r.add_outputs()->set_name("nothing"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "'nothing'"},
      {"bad classification",
       [](auto& r) {
         auto* o = r.add_outputs();
         o->set_name("probabilities");
         (*o->mutable_parameters())["classification"].set_int64_param(0);
       },
       ::grpc::StatusCode::INVALID_ARGUMENT, "'classification' must be a positive integer"},
      {"bad priority",
       [](auto& r) { (*r.mutable_parameters())["priority"].set_string_param("high"); },
       ::grpc::StatusCode::INVALID_ARGUMENT, "'priority'"},
  };
  for (const auto& b : bad) {
    pb::ModelInferRequest req = Request("iris", rows);
    b.change(req);
    pb::ModelInferResponse resp;
    auto s = c.Infer(req, &resp);
    EXPECT_EQ(s.error_code(), b.code) << b.what << ": " << s.error_message();
    EXPECT_NE(s.error_message().find(b.message), std::string::npos)
        << b.what << ": " << s.error_message();
  }
  pb::ModelInferResponse after;
  ASSERT_TRUE(c.Infer(Request("iris", rows), &after).ok());

  // Triton's configuration, statistics and repository extensions.
  pb::ModelConfigRequest cr;
  cr.set_name("iris");
  pb::ModelConfigResponse config;
  ASSERT_TRUE(c.Call(&Stub::ModelConfig, cr, &config).ok());
  auto rest_config = json::parse(Http(http, "GET", "/v2/models/iris/config").body);
  EXPECT_EQ(config.config().name(), "iris");
  EXPECT_EQ(config.config().backend(), rest_config["backend"]);
  EXPECT_EQ(config.config().max_batch_size(), rest_config["max_batch_size"]);
  ASSERT_EQ(config.config().input_size(), 1);
  EXPECT_EQ(config.config().input(0).data_type(), pb::TYPE_FP32);
  EXPECT_EQ(std::vector<int64_t>(config.config().input(0).dims().begin(),
                                 config.config().input(0).dims().end()),
            rest_config["input"][0]["dims"].get<std::vector<int64_t>>());
  EXPECT_EQ(config.config().instance_group(0).kind(), pb::ModelInstanceGroup::KIND_CPU);
  cr.set_name("nope");
  EXPECT_EQ(c.Call(&Stub::ModelConfig, cr, &config).error_code(), ::grpc::StatusCode::NOT_FOUND);

  pb::ModelStatisticsRequest sr;
  sr.set_name("iris");
  pb::ModelStatisticsResponse stats;
  ASSERT_TRUE(c.Call(&Stub::ModelStatistics, sr, &stats).ok());
  auto rest_stats = json::parse(Http(http, "GET", "/v2/models/iris/stats").body);
  ASSERT_EQ(stats.model_stats_size(), 1);
  const auto& ms = stats.model_stats(0);
  const auto& rs = rest_stats["model_stats"][0];
  EXPECT_EQ(ms.name(), "iris");
  EXPECT_EQ(ms.inference_count(), rs["inference_count"].get<uint64_t>());
  EXPECT_EQ(ms.execution_count(), rs["execution_count"].get<uint64_t>());
  EXPECT_EQ(ms.inference_stats().success().count(),
            rs["inference_stats"]["success"]["count"].get<uint64_t>());
  // 2 REST calls, 4 good gRPC calls (the bad ones that reached the model count as failures).
  EXPECT_EQ(ms.inference_stats().success().count(), 6u);
  EXPECT_GT(ms.inference_stats().fail().count(), 0u);

  pb::RepositoryIndexResponse index;
  ASSERT_TRUE(c.Call(&Stub::RepositoryIndex, pb::RepositoryIndexRequest(), &index).ok());
  ASSERT_EQ(index.models_size(), 2);
  for (const auto& m : index.models()) EXPECT_EQ(m.state(), "READY") << m.name();

  // grpc.health.v1: the server and the inference service are serving; others are unknown.
  EXPECT_EQ(c.Health(""), health::HealthCheckResponse::SERVING);
  EXPECT_EQ(c.Health("inference.GRPCInferenceService"), health::HealthCheckResponse::SERVING);
  ::grpc::StatusCode code;
  c.Health("no.such.Service", &code);
  EXPECT_EQ(code, ::grpc::StatusCode::NOT_FOUND);
}

TEST(GrpcTest, RolloutLabelsAndStickyRouteKeys) {
  TempDir repo;
  AddModel(repo.path(), "m", 1, "binary_logistic");
  AddModel(repo.path(), "m", 2, "binary_logistic_base_score");
  WriteFile(repo.path() / "m" / "config.yaml",
            "version_policy: {all: true}\n"
            "rollout: {labels: {stable: 1, canary: 2}, weights: {stable: 50, canary: 50}}\n");
  auto server = ServerProcess::Start(repo.path(), {"--grpc-port", "0"});
  ASSERT_NE(server, nullptr);
  Client c(server->port("gRPC"));
  const auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  const std::vector<std::vector<double>> one = {rows[0]};
  // The version that answers, with an optional route key in the call's metadata.
  auto served = [&](const std::string& version, const std::string& key) -> std::string {
    pb::ModelInferRequest req = Request("m", one);
    req.set_model_version(version);
    pb::ModelInferResponse resp;
    ::grpc::ClientContext ctx;
    if (!key.empty()) ctx.AddMetadata("inferd-route-key", key);
    auto st = c.stub().ModelInfer(&ctx, req, &resp);
    if (!st.ok()) return "error: " + st.error_message();
    return resp.model_version();
  };
  EXPECT_EQ(served("stable", ""), "1");
  EXPECT_EQ(served("canary", ""), "2");
  EXPECT_EQ(served("2", ""), "2");
  EXPECT_EQ(served("blue", ""), "error: model 'm' has no label 'blue' (labels: canary, stable)");
  pb::ModelMetadataRequest mm;
  mm.set_name("m");
  mm.set_version("canary");
  pb::ModelMetadataResponse meta;
  ASSERT_TRUE(c.Call(&Stub::ModelMetadata, mm, &meta).ok());
  ASSERT_EQ(meta.versions_size(), 1);
  EXPECT_EQ(meta.versions(0), "2");
  // One key stays on one version, the same one HTTP picks for it; keys spread over both.
  std::set<std::string> versions;
  for (int k = 0; k < 40; ++k) {
    const std::string key = "user-" + std::to_string(k);
    const std::string first = served("", key);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(served("", key), first) << key;
    HttpConnection h(server->port());
    auto r = h.Request("POST", "/v2/models/m/infer", V2Request(one), {{"inferd-route-key", key}});
    EXPECT_EQ(r.Header("inferd-model-version"), first) << key;
    versions.insert(first);
  }
  EXPECT_EQ(versions, (std::set<std::string>{"1", "2"}));
}

TEST(GrpcTest, SchemaColumnsAsBytes) {
  // Named feature columns over gRPC: a BYTES column of category names, in bytes_contents or in
  // raw_input_contents (4-byte length framing), gives the answer of the codes.
  TempDir repo;
  AddModel(repo.path(), "cat", 1, "binary_categorical");
  WriteFile(repo.path() / "cat" / "config.yaml",
            "schema:\n  features:\n    - {name: a}\n    - {name: b}\n"
            "    - {name: size, categories: {small: 0, medium: 1, large: 2}, unseen: reject}\n"
            "    - {name: c}\n    - {name: d}\n    - {name: e}\n");
  auto server = ServerProcess::Start(repo.path(), {"--grpc-port", "0"});
  ASSERT_NE(server, nullptr);
  Client c(server->port("gRPC"));
  const auto rows = ReadCsv(FixtureDir("binary_categorical") / "input.csv", true);
  const std::vector<std::vector<double>> two = {rows[0], rows[1]};
  pb::ModelInferResponse want;
  ASSERT_TRUE(c.Infer(Request("cat", two), &want).ok());
  const char* sizes[] = {"small", "medium", "large"};
  auto named = [&](bool raw, const std::string& second_size) {
    pb::ModelInferRequest req;
    req.set_model_name("cat");
    const char* names[] = {"a", "b", "size", "c", "d", "e"};
    for (int f = 0; f < 6; ++f) {
      auto* in = req.add_inputs();
      in->set_name(names[f]);
      in->add_shape(2);
      std::string bytes;
      if (f == 2) {
        in->set_datatype("BYTES");
        for (int r = 0; r < 2; ++r) {
          const std::string s = r == 1 ? second_size : sizes[static_cast<int>(two[r][2])];
          if (raw) {
            const uint32_t len = static_cast<uint32_t>(s.size());
            bytes.append(reinterpret_cast<const char*>(&len), 4).append(s);
          } else {
            in->mutable_contents()->add_bytes_contents(s);
          }
        }
      } else {
        in->set_datatype("FP64");
        for (int r = 0; r < 2; ++r) {
          if (raw) {
            bytes.append(reinterpret_cast<const char*>(&two[r][f]), 8);
          } else {
            in->mutable_contents()->add_fp64_contents(two[r][f]);
          }
        }
      }
      if (raw) req.add_raw_input_contents(bytes);
    }
    return req;
  };
  for (bool raw : {false, true}) {
    pb::ModelInferResponse got;
    auto st = c.Infer(named(raw, sizes[static_cast<int>(two[1][2])]), &got);
    ASSERT_TRUE(st.ok()) << st.error_message();
    ASSERT_EQ(got.raw_output_contents_size(), want.raw_output_contents_size());
    for (int i = 0; i < got.raw_output_contents_size(); ++i) {
      EXPECT_EQ(got.raw_output_contents(i), want.raw_output_contents(i)) << raw;
    }
    ASSERT_EQ(got.outputs_size(), want.outputs_size());
    for (int i = 0; i < got.outputs_size(); ++i) {
      EXPECT_EQ(got.outputs(i).contents().SerializeAsString(),
                want.outputs(i).contents().SerializeAsString());
    }
    st = c.Infer(named(raw, "huge"), &got);
    EXPECT_EQ(st.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_EQ(st.error_message(),
              "row 1, feature 'size': category 'huge' is not one of the schema's (unseen: reject)");
  }
  // Broken framing: a length beyond the data.
  pb::ModelInferRequest bad = named(true, "small");
  std::string broken = bad.raw_input_contents(2);
  broken[0] = 100;
  bad.set_raw_input_contents(2, broken);
  pb::ModelInferResponse got;
  auto st = c.Infer(bad, &got);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("BYTES element 0 claims 100 bytes"), std::string::npos)
      << st.error_message();
}

TEST(GrpcTest, CredentialsAndScopesAsOverHttp) {
  TempDir repo, dir;
  AddModel(repo.path(), "m", 1, "binary_logistic");
  const auto keys = dir.path() / "keys.txt";
  const std::string infer = NewApiKey(keys, "app", "infer"),
                    admin = NewApiKey(keys, "ops", "admin");
  auto server =
      ServerProcess::Start(repo.path(), {"--grpc-port", "0", "--api-keys", keys.string(),
                                         "--model-control-mode", "explicit", "--load-model", "m"});
  ASSERT_NE(server, nullptr);
  Client c(server->port("gRPC"));
  const auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  auto infer_with = [&](const std::string& key, const std::string& header) {
    ::grpc::ClientContext ctx;
    if (!key.empty()) ctx.AddMetadata(header, header == "authorization" ? "Bearer " + key : key);
    pb::ModelInferResponse resp;
    return c.stub().ModelInfer(&ctx, Request("m", {rows[0]}), &resp);
  };
  auto st = infer_with("", "");
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_NE(st.error_message().find("this route needs credentials"), std::string::npos);
  EXPECT_EQ(infer_with("ik_wrong", "x-api-key").error_code(), ::grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(infer_with(infer, "authorization").ok());
  EXPECT_TRUE(infer_with(infer, "x-api-key").ok());
  EXPECT_TRUE(infer_with(admin, "x-api-key").ok());
  auto load_with = [&](const std::string& key) {
    ::grpc::ClientContext ctx;
    ctx.AddMetadata("x-api-key", key);
    pb::RepositoryModelLoadRequest req;
    req.set_model_name("m");
    pb::RepositoryModelLoadResponse resp;
    return c.stub().RepositoryModelLoad(&ctx, req, &resp);
  };
  st = load_with(infer);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(st.error_message(),
            "'key:app' lacks the scope 'admin' this route needs (it has: infer)");
  EXPECT_TRUE(load_with(admin).ok());
  // The audit trail names the principal, as over HTTP.
  auto audit = Http(server->port(), "GET", "/v2/audit?model=m", "");
  EXPECT_EQ(audit.status, 401);
  HttpConnection h(server->port());
  audit = h.Request("GET", "/v2/audit?model=m", "", {{"X-API-Key", admin}});
  EXPECT_NE(audit.body.find("key:ops@ipv4:127.0.0.1"), std::string::npos) << audit.body;
  // Health stays open.
  EXPECT_EQ(c.Health(""), health::HealthCheckResponse::SERVING);
  pb::ServerLiveResponse live;
  EXPECT_TRUE(c.Call(&Stub::ServerLive, pb::ServerLiveRequest(), &live).ok());
  pb::ServerMetadataResponse meta;
  EXPECT_EQ(c.Call(&Stub::ServerMetadata, pb::ServerMetadataRequest(), &meta).error_code(),
            ::grpc::StatusCode::UNAUTHENTICATED);
}

TEST(GrpcTest, ClassificationWithLabels) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  WriteFile(repo.path() / "iris" / "labels.txt", "setosa\nversicolor\nvirginica\n");
  WriteFile(repo.path() / "iris" / "config.yaml",
            "outputs: [{name: probabilities, label_filename: labels.txt}]\n");
  auto server = ServerProcess::Start(repo.path(), {"--grpc-port", "0"});
  ASSERT_NE(server, nullptr);
  auto rows = ReadCsv(FixtureDir("multi_softprob") / "input.csv", true);
  rows.resize(3);
  // REST's answer, the reference.
  std::string body = V2Request(rows);
  body.insert(body.size() - 1,
              R"(,"outputs":[{"name":"probabilities","parameters":{"classification":2}}])");
  auto rest = Http(server->port(), "POST", "/v2/models/iris/infer", body);
  ASSERT_EQ(rest.status, 200) << rest.body;
  const auto want = json::parse(rest.body)["outputs"][0]["data"].get<std::vector<std::string>>();
  ASSERT_EQ(want.size(), 6u);
  for (const auto& w : want) {  // "<value>:<index>:<label>"
    const std::vector<std::string> names = {"setosa", "versicolor", "virginica"};
    const size_t colon = w.find(':');
    const int index = std::stoi(w.substr(colon + 1));
    EXPECT_EQ(w.substr(w.find(':', colon + 1) + 1), names[static_cast<size_t>(index)]) << w;
  }

  Client c(server->port("gRPC"));
  pb::ModelInferRequest req = Request("iris", rows);
  auto* o = req.add_outputs();
  o->set_name("probabilities");
  (*o->mutable_parameters())["classification"].set_int64_param(2);
  pb::ModelInferResponse resp;
  auto st = c.Infer(req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_EQ(resp.outputs_size(), 1);
  EXPECT_EQ(resp.outputs(0).datatype(), "BYTES");
  EXPECT_EQ(std::vector<int64_t>(resp.outputs(0).shape().begin(), resp.outputs(0).shape().end()),
            (std::vector<int64_t>{3, 2}));
  // BYTES raw contents: a 4-byte little-endian length before each element.
  std::vector<std::string> got;
  const std::string& raw = resp.raw_output_contents(0);
  for (size_t at = 0; at + 4 <= raw.size();) {
    uint32_t n = 0;
    std::memcpy(&n, raw.data() + at, 4);
    got.push_back(raw.substr(at + 4, n));
    at += 4 + n;
  }
  EXPECT_EQ(got, want);
}

TEST(GrpcTest, ConcurrentCallsThroughTheBatcherGetTheirOwnRows) {
  TempDir repo;
  AddModel(repo.path(), "batched", 1, "binary_logistic");
  WriteFile(repo.path() / "batched" / "config.yaml",
            "max_batch_size: 64\n"
            "dynamic_batching: {max_queue_delay_us: 5000}\n");
  auto server = ServerProcess::Start(repo.path(), {"--grpc-port", "0"});
  ASSERT_NE(server, nullptr);
  auto rows = ReadCsv(FixtureDir("binary_logistic") / "input.csv", true);
  rows.resize(16);
  std::vector<std::vector<double>> want;
  for (const auto& row : rows) {
    want.push_back(HttpOutput(server->port(), "batched", {row}, "probabilities"));
  }
  Client c(server->port("gRPC"));
  std::vector<std::thread> threads;
  std::vector<int> wrong(rows.size(), 0);
  for (size_t t = 0; t < rows.size(); ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        pb::ModelInferResponse resp;
        auto s = c.Infer(Request("batched", {rows[t]}), &resp);
        if (!s.ok() || !SameFloats(Output(resp, "probabilities"), want[t])) ++wrong[t];
      }
    });
  }
  for (auto& t : threads) t.join();
  for (size_t t = 0; t < rows.size(); ++t) EXPECT_EQ(wrong[t], 0) << "row " << t;
  pb::ModelStatisticsRequest sr;
  sr.set_name("batched");
  pb::ModelStatisticsResponse stats;
  ASSERT_TRUE(c.Call(&Stub::ModelStatistics, sr, &stats).ok());
  EXPECT_EQ(stats.model_stats(0).inference_count(), rows.size() * 11);
}

TEST(GrpcTest, ModelControlFromLoopbackOnly) {
  TempDir repo;
  AddModel(repo.path(), "cancer", 1, "binary_logistic");
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server =
      ServerProcess::Start(repo.path(), {"--grpc-port", "0", "--model-control-mode", "explicit",
                                         "--load-model", "cancer", "--host", "0.0.0.0"});
  ASSERT_NE(server, nullptr);
  Client c(server->port("gRPC"));
  pb::ModelReadyRequest mr;
  mr.set_name("iris");
  pb::ModelReadyResponse ready;
  EXPECT_EQ(c.Call(&Stub::ModelReady, mr, &ready).error_code(), ::grpc::StatusCode::NOT_FOUND);

  pb::RepositoryModelLoadRequest load;
  load.set_model_name("iris");
  pb::RepositoryModelLoadResponse loaded;
  auto st = c.Call(&Stub::RepositoryModelLoad, load, &loaded);
  ASSERT_TRUE(st.ok()) << st.error_message();
  ASSERT_TRUE(c.Call(&Stub::ModelReady, mr, &ready).ok());
  EXPECT_TRUE(ready.ready());
  pb::RepositoryIndexRequest ir;
  ir.set_ready(true);
  pb::RepositoryIndexResponse index;
  ASSERT_TRUE(c.Call(&Stub::RepositoryIndex, ir, &index).ok());
  EXPECT_EQ(index.models_size(), 2);

  pb::RepositoryModelUnloadRequest unload;
  unload.set_model_name("iris");
  pb::RepositoryModelUnloadResponse unloaded;
  ASSERT_TRUE(c.Call(&Stub::RepositoryModelUnload, unload, &unloaded).ok());
  EXPECT_FALSE(c.Call(&Stub::ModelReady, mr, &ready).ok());
  ASSERT_TRUE(c.Call(&Stub::RepositoryIndex, ir, &index).ok());
  EXPECT_EQ(index.models_size(), 1);

  load.set_model_name("nope");
  st = c.Call(&Stub::RepositoryModelLoad, load, &loaded);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::NOT_FOUND);
  EXPECT_NE(st.error_message().find("'nope'"), std::string::npos) << st.error_message();

  const std::string address = NonLoopbackAddress();
  if (!address.empty()) {
    Client remote(server->port("gRPC"), address);
    load.set_model_name("iris");
    st = remote.Call(&Stub::RepositoryModelLoad, load, &loaded);
    EXPECT_EQ(st.error_code(), ::grpc::StatusCode::PERMISSION_DENIED) << st.error_message();
    EXPECT_NE(st.error_message().find("loopback"), std::string::npos);
    pb::ServerLiveResponse live;
    EXPECT_TRUE(remote.Call(&Stub::ServerLive, pb::ServerLiveRequest(), &live).ok());
  }
}

TEST(GrpcTest, DrainTurnsHealthAndReadinessOffAndStillAnswers) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server = ServerProcess::Start(repo.path(), {"--grpc-port", "0", "--drain-grace", "3"});
  ASSERT_NE(server, nullptr);
  Client c(server->port("gRPC"));
  auto rows = ReadCsv(FixtureDir("multi_softprob") / "input.csv", true);
  rows.resize(1);
  EXPECT_EQ(c.Health(""), health::HealthCheckResponse::SERVING);
  server->Signal(SIGTERM);
  // Within the grace period: not serving, not ready, still live and answering.
  health::HealthCheckResponse::ServingStatus status = health::HealthCheckResponse::SERVING;
  for (int i = 0; i < 100 && status == health::HealthCheckResponse::SERVING; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    status = c.Health("");
  }
  EXPECT_EQ(status, health::HealthCheckResponse::NOT_SERVING);
  pb::ServerReadyResponse ready;
  ASSERT_TRUE(c.Call(&Stub::ServerReady, pb::ServerReadyRequest(), &ready).ok());
  EXPECT_FALSE(ready.ready());
  pb::ServerLiveResponse live;
  ASSERT_TRUE(c.Call(&Stub::ServerLive, pb::ServerLiveRequest(), &live).ok());
  EXPECT_TRUE(live.live());
  pb::ModelInferResponse resp;
  EXPECT_TRUE(c.Infer(Request("iris", rows), &resp).ok());
  EXPECT_EQ(server->WaitExit(std::chrono::seconds(10)), 0);
}

TEST(GrpcTest, LimitsAndPortErrors) {
  TempDir repo;
  AddModel(repo.path(), "iris", 1, "multi_softprob");
  auto server =
      ServerProcess::Start(repo.path(), {"--grpc-port", "0", "--max-request-bytes", "2000"});
  ASSERT_NE(server, nullptr);
  Client c(server->port("gRPC"));
  auto rows = ReadCsv(FixtureDir("multi_softprob") / "input.csv", true);
  std::vector<std::vector<double>> many;
  while (many.size() < 200) many.push_back(rows[many.size() % rows.size()]);
  pb::ModelInferResponse resp;
  auto st = c.Infer(Request("iris", many, /*raw=*/true), &resp);
  EXPECT_EQ(st.error_code(), ::grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  many.resize(10);
  EXPECT_TRUE(c.Infer(Request("iris", many, /*raw=*/true), &resp).ok());

  // A gRPC port already taken: a clear error at start, not a second server sharing it.
  auto second =
      RunInferd({"serve", "--model-repository", repo.path().string(), "--http-port", "0", "--host",
                 "127.0.0.1", "--grpc-port", std::to_string(server->port("gRPC"))},
                {}, std::chrono::seconds(30));
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("cannot listen for gRPC"), std::string::npos) << second.err;
}

}  // namespace
}  // namespace inferd::testing
