// `inferd bench --grpc`: the load generator's gRPC transport, in the gRPC module. Each client
// has a channel (and TCP connection) of its own and calls ModelInfer with a request built from
// ModelMetadata: random data, typed contents, or raw_input_contents with --binary.
#include <grpcpp/grpcpp.h>

#include <random>

#include "api/grpc/grpc_module.h"
#include "grpc_service.grpc.pb.h"
#include "tools/bench_client.h"

namespace inferd::api::grpc {
namespace {

namespace pb = ::inference;
using tools::BenchConnection;
using tools::BenchOptions;
using tools::BenchServerStats;
using tools::BenchTransport;

std::string Address(std::string url) {
  for (const char* scheme : {"grpc://", "http://", "dns:///"}) {
    if (url.rfind(scheme, 0) == 0) url = url.substr(std::string(scheme).size());
  }
  if (auto slash = url.find('/'); slash != std::string::npos) url.resize(slash);
  return url;
}

std::shared_ptr<::grpc::Channel> NewChannel(const std::string& address) {
  ::grpc::ChannelArguments args;
  // A connection per client, as the HTTP clients have: no sharing of subchannels.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetMaxReceiveMessageSize(-1);
  return ::grpc::CreateCustomChannel(address, ::grpc::InsecureChannelCredentials(), args);
}

std::string Describe(const ::grpc::Status& st) {
  return "gRPC status " + std::to_string(static_cast<int>(st.error_code())) + ": " +
         st.error_message().substr(0, 300);
}

class Transport final : public BenchTransport {
 public:
  static std::unique_ptr<Transport> Create(const BenchOptions& o, std::string* error) {
    auto t = std::unique_ptr<Transport>(new Transport(o));
    auto stub = pb::GRPCInferenceService::NewStub(NewChannel(t->address_));
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::ModelMetadataRequest req;
    req.set_name(o.model);
    if (o.version) req.set_version(std::to_string(*o.version));
    pb::ModelMetadataResponse meta;
    auto st = stub->ModelMetadata(&ctx, req, &meta);
    if (!st.ok()) {
      *error = st.error_code() == ::grpc::StatusCode::NOT_FOUND
                   ? "the server has no model '" + o.model + "'"
                   : "model metadata from " + t->address_ + ": " + Describe(st);
      return nullptr;
    }
    if (!t->Build(meta, o, error)) return nullptr;
    return t;
  }

  std::unique_ptr<BenchConnection> Connect() override {
    return std::make_unique<Connection>(*this);
  }

  BenchServerStats Stats() override {
    BenchServerStats s;
    auto stub = pb::GRPCInferenceService::NewStub(NewChannel(address_));
    ::grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    pb::ModelStatisticsRequest req;
    req.set_name(request_.model_name());
    req.set_version(request_.model_version());
    pb::ModelStatisticsResponse resp;
    if (!stub->ModelStatistics(&ctx, req, &resp).ok()) return s;
    for (const auto& m : resp.model_stats()) {
      s.success += double(m.inference_stats().success().count());
      s.queue_ns += double(m.inference_stats().queue().ns());
      s.compute_ns += double(m.inference_stats().compute_infer().ns());
    }
    s.ok = true;
    return s;
  }

 private:
  class Connection final : public BenchConnection {
   public:
    explicit Connection(const Transport& t)
        : t_(t), stub_(pb::GRPCInferenceService::NewStub(NewChannel(t.address_))) {}
    bool ok() const override { return true; }  // gRPC reconnects by itself
    bool Send(std::string* error, bool* broken) override {
      ::grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
      auto st = stub_->ModelInfer(&ctx, t_.request_, &response_);
      if (st.ok()) return true;
      *error = Describe(st);
      *broken = false;
      return false;
    }

   private:
    const Transport& t_;
    std::unique_ptr<pb::GRPCInferenceService::Stub> stub_;
    pb::ModelInferResponse response_;
  };

  explicit Transport(const BenchOptions& o) : address_(Address(o.url)) {
    request_.set_model_name(o.model);
    if (o.version) request_.set_model_version(std::to_string(*o.version));
  }

  // The request: every input of the metadata, the first variable dimension = batch.
  bool Build(const pb::ModelMetadataResponse& meta, const BenchOptions& o, std::string* error) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<double> real(0.0, 1.0);
    for (const auto& in : meta.inputs()) {
      auto* t = request_.add_inputs();
      t->set_name(in.name());
      t->set_datatype(in.datatype());
      int64_t count = 1;
      for (int i = 0; i < in.shape_size(); ++i) {
        const int64_t d = in.shape(i) < 0 ? (i == 0 ? o.batch : 1) : in.shape(i);
        t->add_shape(d);
        count *= d;
      }
      std::string raw;
      auto* c = t->mutable_contents();
      const std::string& type = in.datatype();
      for (int64_t i = 0; i < count; ++i) {
        const double v = real(rng);
        const int64_t bit = v < 0.5 ? 0 : 1;
        auto put = [&raw](const auto& x) {
          raw.append(reinterpret_cast<const char*>(&x), sizeof(x));
        };
        if (type == "FP32") {
          o.binary ? put(static_cast<float>(v)) : c->add_fp32_contents(static_cast<float>(v));
        } else if (type == "FP64") {
          o.binary ? put(v) : c->add_fp64_contents(v);
        } else if (type == "INT64") {
          o.binary ? put(bit) : c->add_int64_contents(bit);
        } else if (type == "INT32") {
          o.binary ? put(static_cast<int32_t>(bit))
                   : c->add_int_contents(static_cast<int32_t>(bit));
        } else if (type == "BOOL") {
          o.binary ? put(static_cast<uint8_t>(bit)) : c->add_bool_contents(bit != 0);
        } else {
          *error = "datatype " + type + " of input '" + in.name() + "' is not generated";
          return false;
        }
      }
      if (o.binary) {
        t->clear_contents();
        request_.add_raw_input_contents(std::move(raw));
      }
    }
    return true;
  }

  std::string address_;
  pb::ModelInferRequest request_;
};

}  // namespace
}  // namespace inferd::api::grpc

extern "C" __attribute__((visibility("default"))) inferd::tools::BenchTransport*
inferd_grpc_bench_create(const inferd::tools::BenchOptions* options, char* error,
                         size_t error_size) {
  std::string message;
  auto t = inferd::api::grpc::Transport::Create(*options, &message);
  if (!t) {
    std::snprintf(error, error_size, "%s", message.c_str());
    return nullptr;
  }
  return t.release();
}
