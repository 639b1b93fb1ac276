// The peer of the gRPC goal: a bare gRPC server for inference.GRPCInferenceService (the same
// .proto, the same callback API and settings as inferd's gRPC module) that answers ModelInfer
// with a canned reply shaped as inferd's answer for the benchmark's forest model (probabilities
// FP32 [1,2] and label INT64 [1]), and ModelMetadata with that model's metadata so that
// `inferd bench --grpc` can drive it. It parses each request (as any server must) and does no
// other work.
//
//   grpc_peer PORT_FILE   (listens on a free port of 127.0.0.1 and writes it to PORT_FILE)
#include <grpcpp/grpcpp.h>
#include <pthread.h>

#include <csignal>
#include <cstdio>

#include "grpc_service.grpc.pb.h"

namespace pb = ::inference;

class Peer final : public pb::GRPCInferenceService::CallbackService {
 public:
  Peer() {
    reply_.set_model_name("forest");
    reply_.set_model_version("1");
    auto* p = reply_.add_outputs();
    p->set_name("probabilities");
    p->set_datatype("FP32");
    p->add_shape(1);
    p->add_shape(2);
    const float proba[2] = {0.25f, 0.75f};
    reply_.add_raw_output_contents(reinterpret_cast<const char*>(proba), sizeof proba);
    auto* l = reply_.add_outputs();
    l->set_name("label");
    l->set_datatype("INT64");
    l->add_shape(1);
    const int64_t label = 1;
    reply_.add_raw_output_contents(reinterpret_cast<const char*>(&label), sizeof label);
  }
  ::grpc::ServerUnaryReactor* ModelMetadata(::grpc::CallbackServerContext* ctx,
                                            const pb::ModelMetadataRequest* req,
                                            pb::ModelMetadataResponse* resp) override {
    resp->set_name(req->name());
    resp->add_versions("1");
    auto* in = resp->add_inputs();
    in->set_name("input");
    in->set_datatype("FP32");
    in->add_shape(-1);
    in->add_shape(30);
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(::grpc::Status::OK);
    return reactor;
  }
  ::grpc::ServerUnaryReactor* ModelInfer(::grpc::CallbackServerContext* ctx,
                                         const pb::ModelInferRequest* req,
                                         pb::ModelInferResponse* resp) override {
    *resp = reply_;
    resp->set_id(req->id());
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(::grpc::Status::OK);
    return reactor;
  }

 private:
  pb::ModelInferResponse reply_;
};

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: grpc_peer PORT_FILE\n");
    return 2;
  }
  // Stop signals go to the main thread's sigwait, not to gRPC's threads.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  Peer service;
  ::grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", ::grpc::InsecureServerCredentials(), &port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(64 << 20);
  builder.SetMaxSendMessageSize(64 << 20);
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::fprintf(stderr, "grpc_peer: cannot listen\n");
    return 1;
  }
  if (FILE* f = std::fopen(argv[1], "w")) {
    std::fprintf(f, "%d\n", port);
    std::fclose(f);
  }
  int sig = 0;
  sigwait(&set, &sig);
  server->Shutdown();
  return 0;
}
