// The gRPC module: inference.GRPCInferenceService on gRPC's callback API (no thread per call),
// plus grpc.health.v1.Health, over a ServingFrontend. Built as libinferd_grpc.so.
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>

#include "api/common/classification.h"
#include "api/common/status_map.h"
#include "api/grpc/grpc_module.h"
#include "grpc_service.grpc.pb.h"

namespace inferd::api::grpc {
namespace {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;
namespace pb = ::inference;

::grpc::Status ToGrpc(const Status& st) {
  if (st.ok()) return ::grpc::Status::OK;
  return ::grpc::Status(static_cast<::grpc::StatusCode>(GrpcCodeFor(st.code())), st.message());
}

StatusOr<std::optional<int64_t>> ParseVersion(const std::string& v) {
  if (v.empty()) return std::optional<int64_t>();
  int64_t out = 0;
  for (char c : v) {
    if (c < '0' || c > '9' || out > (int64_t{1} << 40)) {
      return InvalidArgument("version '" + v + "' is not a positive integer");
    }
    out = out * 10 + (c - '0');
  }
  if (out <= 0) return InvalidArgument("version '" + v + "' is not a positive integer");
  return std::optional<int64_t>(out);
}

// The typed contents of `in` (or its raw bytes) as a tensor of `dtype` and `shape`.
template <typename T, typename Field>
Status CopyTyped(const Field& field, tensor::Tensor* t, const std::string& name) {
  const int64_t n = t->element_count();
  if (field.size() != n) {
    return InvalidArgument("input '" + name + "': shape " + tensor::ShapeToString(t->shape()) +
                           " needs " + std::to_string(n) + " values, contents hold " +
                           std::to_string(field.size()));
  }
  auto out = t->data<T>();
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
  return Status::Ok();
}

Status DecodeInput(const pb::ModelInferRequest& req, int index, tensor::Tensor* out) {
  const auto& in = req.inputs(index);
  const std::string where = "input '" + in.name() + "'";
  auto dtype = tensor::DataTypeFromName(in.datatype());
  if (!dtype) {
    return InvalidArgument(where + ": unknown datatype '" + in.datatype() + "'");
  }
  if (*dtype == tensor::DataType::kFp16) {
    return InvalidArgument(where + ": datatype " + in.datatype() + " is not supported");
  }
  tensor::Shape shape(in.shape().begin(), in.shape().end());
  int64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d > 0 && count > (int64_t{1} << 40) / d)) {
      return InvalidArgument(where + ": shape " + tensor::ShapeToString(shape) + " is invalid");
    }
    count *= d;
  }
  const size_t bytes = static_cast<size_t>(count) * tensor::DataTypeSize(*dtype);
  if (req.raw_input_contents_size() > 0) {
    if (index >= req.raw_input_contents_size()) {
      return InvalidArgument("raw_input_contents has " +
                             std::to_string(req.raw_input_contents_size()) +
                             " entries; every input needs one");
    }
    const std::string& raw = req.raw_input_contents(index);
    if (*dtype == tensor::DataType::kBytes) {
      // Each element a 4-byte little-endian length and its bytes.
      ASSIGN_OR_RETURN(*out, tensor::Tensor::Bytes(in.name(), shape,
                                                   std::vector<uint8_t>(raw.begin(), raw.end())));
      return Status::Ok();
    }
    if (raw.size() != bytes) {
      return InvalidArgument(where + ": shape " + tensor::ShapeToString(shape) + " of " +
                             in.datatype() + " takes " + std::to_string(bytes) +
                             " bytes, raw_input_contents holds " + std::to_string(raw.size()));
    }
    *out = tensor::Tensor(in.name(), *dtype, shape);
    if (bytes > 0) std::memcpy(out->bytes().data(), raw.data(), bytes);
    return Status::Ok();
  }
  const auto& c = in.contents();
  if (*dtype == tensor::DataType::kBytes) {
    if (c.bytes_contents_size() != count) {
      return InvalidArgument(where + ": shape " + tensor::ShapeToString(shape) + " needs " +
                             std::to_string(count) + " values, bytes_contents holds " +
                             std::to_string(c.bytes_contents_size()));
    }
    std::vector<uint8_t> serialized;
    for (const auto& e : c.bytes_contents()) tensor::AppendBytesElement(e, &serialized);
    ASSIGN_OR_RETURN(*out, tensor::Tensor::Bytes(in.name(), shape, std::move(serialized)));
    return Status::Ok();
  }
  *out = tensor::Tensor(in.name(), *dtype, shape);
  using tensor::DataType;
  switch (*dtype) {
    case DataType::kFp32:
      return CopyTyped<float>(c.fp32_contents(), out, in.name());
    case DataType::kFp64:
      return CopyTyped<double>(c.fp64_contents(), out, in.name());
    case DataType::kInt64:
      return CopyTyped<int64_t>(c.int64_contents(), out, in.name());
    case DataType::kInt32:
      return CopyTyped<int32_t>(c.int_contents(), out, in.name());
    case DataType::kInt16:
      return CopyTyped<int16_t>(c.int_contents(), out, in.name());
    case DataType::kInt8:
      return CopyTyped<int8_t>(c.int_contents(), out, in.name());
    case DataType::kUint64:
      return CopyTyped<uint64_t>(c.uint64_contents(), out, in.name());
    case DataType::kUint32:
      return CopyTyped<uint32_t>(c.uint_contents(), out, in.name());
    case DataType::kUint16:
      return CopyTyped<uint16_t>(c.uint_contents(), out, in.name());
    case DataType::kUint8:
      return CopyTyped<uint8_t>(c.uint_contents(), out, in.name());
    case DataType::kBool:
      return CopyTyped<uint8_t>(c.bool_contents(), out, in.name());
    default:
      return InvalidArgument(where + ": datatype " + in.datatype() + " is not supported");
  }
}

// Requested outputs with Triton's "classification" parameter: output name -> K.
using ClassCounts = std::map<std::string, int64_t>;

Status DecodeRequest(const pb::ModelInferRequest& req, inference::InferRequest* out,
                     ClassCounts* classification) {
  out->id = req.id();
  if (out->id.size() > 256) return InvalidArgument("'id' is longer than 256 bytes");
  if (req.inputs_size() == 0) return InvalidArgument("'inputs' is empty");
  if (req.raw_input_contents_size() > 0 && req.raw_input_contents_size() != req.inputs_size()) {
    return InvalidArgument("raw_input_contents has " +
                           std::to_string(req.raw_input_contents_size()) + " entries for " +
                           std::to_string(req.inputs_size()) + " inputs");
  }
  for (int i = 0; i < req.inputs_size(); ++i) {
    tensor::Tensor t;
    RETURN_IF_ERROR(DecodeInput(req, i, &t));
    out->inputs.push_back(std::move(t));
  }
  for (const auto& o : req.outputs()) {
    out->outputs.push_back(o.name());
    if (auto it = o.parameters().find("classification"); it != o.parameters().end()) {
      const auto& p = it->second;
      const int64_t k = p.has_int64_param()    ? p.int64_param()
                        : p.has_uint64_param() ? static_cast<int64_t>(p.uint64_param())
                                               : 0;
      if (k < 1) {
        return InvalidArgument("output '" + o.name() +
                               "': 'classification' must be a positive integer");
      }
      (*classification)[o.name()] = k;
    }
  }
  auto param = [&](const char* key) -> const pb::InferParameter* {
    auto it = req.parameters().find(key);
    return it == req.parameters().end() ? nullptr : &it->second;
  };
  auto integer = [](const pb::InferParameter& p, int64_t* v) {
    if (p.has_int64_param())
      *v = p.int64_param();
    else if (p.has_uint64_param())
      *v = static_cast<int64_t>(p.uint64_param());
    else
      return false;
    return *v >= 0;
  };
  if (const auto* p = param("priority")) {
    int64_t v = 0;
    if (!integer(*p, &v))
      return InvalidArgument("parameter 'priority' must be a non-negative integer");
    out->priority = static_cast<int>(v);
  }
  if (const auto* p = param("timeout")) {
    int64_t v = 0;
    if (!integer(*p, &v)) {
      return InvalidArgument("parameter 'timeout' must be a non-negative integer (microseconds)");
    }
    out->timeout = std::chrono::microseconds(v);
  }
  return Status::Ok();
}

void EncodeResponse(const inference::InferResponse& r, const ClassCounts& classification,
                    const config::ModelConfig& config, pb::ModelInferResponse* out) {
  out->set_model_name(r.model);
  out->set_model_version(std::to_string(r.version));
  out->set_id(r.id);
  // As Triton: output data goes in raw_output_contents, one entry per output.
  for (const auto& t : r.outputs) {
    if (auto k = classification.find(t.name()); k != classification.end()) {
      const std::vector<std::string>* labels = nullptr;
      for (const auto& spec : config.outputs) {
        if (spec.name == t.name() && !spec.labels.empty()) labels = &spec.labels;
      }
      const Classification c = Classify(t, k->second, labels);
      auto* o = out->add_outputs();
      o->set_name(t.name());
      o->set_datatype("BYTES");
      o->add_shape(c.rows);
      o->add_shape(c.k);
      // BYTES raw contents: each element a 4-byte little-endian length, then its bytes.
      std::string raw;
      for (const auto& e : c.entries) {
        const auto n = static_cast<uint32_t>(e.size());
        const char len[4] = {static_cast<char>(n), static_cast<char>(n >> 8),
                             static_cast<char>(n >> 16), static_cast<char>(n >> 24)};
        raw.append(len, 4);
        raw += e;
      }
      out->add_raw_output_contents(std::move(raw));
      continue;
    }
    auto* o = out->add_outputs();
    o->set_name(t.name());
    o->set_datatype(std::string(tensor::DataTypeName(t.dtype())));
    for (int64_t d : t.shape()) o->add_shape(d);
    out->add_raw_output_contents(reinterpret_cast<const char*>(t.bytes().data()), t.byte_size());
  }
}

void FillTensors(
    const std::vector<config::TensorSpec>& specs,
    google::protobuf::RepeatedPtrField<pb::ModelMetadataResponse::TensorMetadata>* out) {
  for (const auto& s : specs) {
    auto* m = out->Add();
    m->set_name(s.name);
    m->set_datatype(std::string(tensor::DataTypeName(s.dtype)));
    for (int64_t d : s.shape) m->add_shape(d);
  }
}

void FillDuration(const inference::VersionStatistics::Duration& d, pb::StatisticDuration* out) {
  out->set_count(d.count);
  out->set_ns(d.ns);
}

void FillConfigTensors(const std::vector<config::TensorSpec>& specs, bool batched,
                       const std::function<void(const config::TensorSpec&, pb::DataType,
                                                google::protobuf::RepeatedField<int64_t>*)>& add) {
  for (const auto& s : specs) {
    const std::string_view name = tensor::DataTypeName(s.dtype);
    pb::DataType type = pb::TYPE_INVALID;
    pb::DataType_Parse(name == "BYTES" ? "TYPE_STRING" : "TYPE_" + std::string(name), &type);
    google::protobuf::RepeatedField<int64_t> dims;
    // A batching model's dims leave out the batch dimension, as in Triton.
    const size_t skip = batched && !s.shape.empty() && s.shape[0] == -1 ? 1 : 0;
    for (size_t d = skip; d < s.shape.size(); ++d) dims.Add(s.shape[d]);
    add(s, type, &dims);
  }
}

// The model's configuration as Triton's ModelConfig (the same content as GET .../config).
void FillConfig(const lifecycle::ModelHandle& h, pb::ModelConfig* out) {
  const auto& sig = h.model->signature();
  const config::ModelConfig& c = *h.config;
  const bool batched = c.max_batch_size > 0;
  out->set_name(h.name);
  out->set_platform(sig.platform);
  out->set_backend(sig.platform == "onnx" ? "onnx" : "forest");
  out->set_max_batch_size(static_cast<int32_t>(c.max_batch_size));
  FillConfigTensors(sig.inputs, batched, [&](const auto& s, pb::DataType t, auto* dims) {
    auto* in = out->add_input();
    in->set_name(s.name);
    in->set_data_type(t);
    in->mutable_dims()->Swap(dims);
  });
  FillConfigTensors(sig.outputs, batched, [&](const auto& s, pb::DataType t, auto* dims) {
    auto* o = out->add_output();
    o->set_name(s.name);
    o->set_data_type(t);
    o->mutable_dims()->Swap(dims);
  });
  if (c.dynamic_batching) {
    const auto& d = *c.dynamic_batching;
    auto* db = out->mutable_dynamic_batching();
    for (int64_t b : d.preferred_batch_sizes) db->add_preferred_batch_size(static_cast<int32_t>(b));
    db->set_max_queue_delay_microseconds(static_cast<uint64_t>(d.max_queue_delay_us));
    db->set_priority_levels(static_cast<uint64_t>(d.priority_levels));
    db->set_default_priority_level(static_cast<uint64_t>(d.default_priority_level));
    auto* q = db->mutable_default_queue_policy();
    q->set_max_queue_size(static_cast<uint32_t>(d.max_queue_size));
    q->set_default_timeout_microseconds(static_cast<uint64_t>(d.default_timeout_us));
    q->set_allow_timeout_override(true);
  }
  auto* group = out->add_instance_group();
  group->set_name(h.name + "_0");
  group->set_kind(pb::ModelInstanceGroup::KIND_CPU);
  group->set_count(static_cast<int32_t>(c.instances));
  auto* policy = out->mutable_version_policy();
  switch (c.version_policy.kind) {
    case config::VersionPolicy::Kind::kLatest:
      policy->mutable_latest()->set_num_versions(static_cast<uint32_t>(c.version_policy.latest));
      break;
    case config::VersionPolicy::Kind::kAll:
      policy->mutable_all();
      break;
    case config::VersionPolicy::Kind::kSpecific:
      for (int64_t v : c.version_policy.specific) policy->mutable_specific()->add_versions(v);
      break;
  }
  for (const auto& [k, v] : c.parameters) (*out->mutable_parameters())[k].set_string_value(v);
}

// gRPC's peer strings: "ipv4:127.0.0.1:5000", "ipv6:[::1]:5000" (or percent-encoded), "unix:..".
bool FromLoopback(const std::string& peer) {
  for (const char* prefix : {"ipv4:127.", "ipv6:[::1]", "ipv6:%5B::1%5D", "ipv6:[::ffff:127.",
                             "ipv6:%5B::ffff:127.", "unix:"}) {
    if (peer.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

class Service final : public pb::GRPCInferenceService::CallbackService {
 public:
  explicit Service(ServingFrontend* f) : f_(*f) {}

  ::grpc::ServerUnaryReactor* ServerLive(::grpc::CallbackServerContext* ctx,
                                         const pb::ServerLiveRequest*,
                                         pb::ServerLiveResponse* resp) override {
    resp->set_live(true);
    return Done(ctx, Status::Ok());
  }
  ::grpc::ServerUnaryReactor* ServerReady(::grpc::CallbackServerContext* ctx,
                                          const pb::ServerReadyRequest*,
                                          pb::ServerReadyResponse* resp) override {
    resp->set_ready(f_.Ready());
    return Done(ctx, Status::Ok());
  }
  ::grpc::ServerUnaryReactor* ModelReady(::grpc::CallbackServerContext* ctx,
                                         const pb::ModelReadyRequest* req,
                                         pb::ModelReadyResponse* resp) override {
    if (Status st = Authorize(ctx, auth::RouteClass::kMetadata); !st.ok()) return Done(ctx, st);
    auto version = VersionOf(req->name(), req->version());
    if (!version.ok()) return Done(ctx, version.status());
    auto handle = f_.Resolve(req->name(), *version);
    if (!handle.ok() && handle.status().code() == base::StatusCode::kNotFound) {
      return Done(ctx, handle.status());
    }
    resp->set_ready(handle.ok());
    return Done(ctx, Status::Ok());
  }
  ::grpc::ServerUnaryReactor* ServerMetadata(::grpc::CallbackServerContext* ctx,
                                             const pb::ServerMetadataRequest*,
                                             pb::ServerMetadataResponse* resp) override {
    if (Status st = Authorize(ctx, auth::RouteClass::kMetadata); !st.ok()) return Done(ctx, st);
    resp->set_name(f_.ServerName());
    resp->set_version(f_.ServerVersion());
    for (const auto& e : f_.Extensions()) resp->add_extensions(e);
    return Done(ctx, Status::Ok());
  }
  ::grpc::ServerUnaryReactor* ModelMetadata(::grpc::CallbackServerContext* ctx,
                                            const pb::ModelMetadataRequest* req,
                                            pb::ModelMetadataResponse* resp) override {
    if (Status st = Authorize(ctx, auth::RouteClass::kMetadata); !st.ok()) return Done(ctx, st);
    auto version = VersionOf(req->name(), req->version());
    if (!version.ok()) return Done(ctx, version.status());
    auto handle = f_.Resolve(req->name(), *version);
    if (!handle.ok()) return Done(ctx, handle.status());
    resp->set_name(req->name());
    std::vector<int64_t> versions = {handle->version};
    if (!*version) {
      if (auto ready = f_.ReadyVersions(req->name()); ready.ok() && !ready->empty()) {
        versions = *ready;
      }
    }
    for (int64_t v : versions) resp->add_versions(std::to_string(v));
    const auto& sig = handle->model->signature();
    resp->set_platform(sig.platform);
    FillTensors(sig.inputs, resp->mutable_inputs());
    FillTensors(sig.outputs, resp->mutable_outputs());
    return Done(ctx, Status::Ok());
  }
  ::grpc::ServerUnaryReactor* ModelInfer(::grpc::CallbackServerContext* ctx,
                                         const pb::ModelInferRequest* req,
                                         pb::ModelInferResponse* resp) override {
    if (Status st = Authorize(ctx, auth::RouteClass::kInfer); !st.ok()) return Done(ctx, st);
    auto* reactor = ctx->DefaultReactor();
    auto version = VersionOf(req->model_name(), req->model_version());
    if (!version.ok()) {
      reactor->Finish(ToGrpc(version.status()));
      return reactor;
    }
    // Sticky routing: the route key in the call's metadata, as HTTP's header.
    std::string_view route_key;
    const auto& metadata = ctx->client_metadata();
    if (auto it = metadata.find("inferd-route-key"); it != metadata.end()) {
      route_key = std::string_view(it->second.data(), std::min<size_t>(it->second.size(), 256));
    }
    auto handle = f_.Resolve(req->model_name(), *version, route_key);
    if (!handle.ok()) {
      reactor->Finish(ToGrpc(handle.status()));
      return reactor;
    }
    inference::InferRequest ireq;
    ClassCounts classification;
    if (Status st = DecodeRequest(*req, &ireq, &classification); !st.ok()) {
      f_.CountRejected(*handle);
      reactor->Finish(ToGrpc(st));
      return reactor;
    }
    ireq.routed = !version->has_value();
    ireq.route_key_given = !route_key.empty();
    // Answered when the model has run: at once, or from the batcher's thread.
    f_.InferAsync(std::move(ireq), *handle,
                  [reactor, resp, classification = std::move(classification),
                   config = handle->config](StatusOr<inference::InferResponse> out) {
                    if (!out.ok()) return reactor->Finish(ToGrpc(out.status()));
                    EncodeResponse(*out, classification, *config, resp);
                    reactor->Finish(::grpc::Status::OK);
                  });
    return reactor;
  }
  ::grpc::ServerUnaryReactor* ModelConfig(::grpc::CallbackServerContext* ctx,
                                          const pb::ModelConfigRequest* req,
                                          pb::ModelConfigResponse* resp) override {
    if (Status st = Authorize(ctx, auth::RouteClass::kMetadata); !st.ok()) return Done(ctx, st);
    auto version = VersionOf(req->name(), req->version());
    if (!version.ok()) return Done(ctx, version.status());
    auto handle = f_.Get(req->name(), *version);
    if (!handle.ok()) return Done(ctx, handle.status());
    FillConfig(*handle, resp->mutable_config());
    return Done(ctx, Status::Ok());
  }
  ::grpc::ServerUnaryReactor* ModelStatistics(::grpc::CallbackServerContext* ctx,
                                              const pb::ModelStatisticsRequest* req,
                                              pb::ModelStatisticsResponse* resp) override {
    if (Status st = Authorize(ctx, auth::RouteClass::kMonitor); !st.ok()) return Done(ctx, st);
    auto version = VersionOf(req->name(), req->version());
    if (!version.ok()) return Done(ctx, version.status());
    auto stats = f_.Statistics(req->name(), *version);
    if (!stats.ok()) return Done(ctx, stats.status());
    for (const auto& s : *stats) {
      auto* m = resp->add_model_stats();
      m->set_name(s.model);
      m->set_version(std::to_string(s.version));
      m->set_last_inference(s.last_inference_ms);
      m->set_inference_count(s.inference_count);
      m->set_execution_count(s.execution_count);
      auto* is = m->mutable_inference_stats();
      FillDuration(s.success, is->mutable_success());
      FillDuration(s.fail, is->mutable_fail());
      FillDuration(s.queue, is->mutable_queue());
      FillDuration({s.compute.count, 0}, is->mutable_compute_input());
      FillDuration(s.compute, is->mutable_compute_infer());
      FillDuration({s.compute.count, 0}, is->mutable_compute_output());
      for (const auto& [size, d] : s.batches) {
        auto* b = m->add_batch_stats();
        b->set_batch_size(static_cast<uint64_t>(size));
        FillDuration({d.count, 0}, b->mutable_compute_input());
        FillDuration(d, b->mutable_compute_infer());
        FillDuration({d.count, 0}, b->mutable_compute_output());
      }
    }
    return Done(ctx, Status::Ok());
  }
  ::grpc::ServerUnaryReactor* RepositoryIndex(::grpc::CallbackServerContext* ctx,
                                              const pb::RepositoryIndexRequest* req,
                                              pb::RepositoryIndexResponse* resp) override {
    if (Status st = Authorize(ctx, auth::RouteClass::kMonitor); !st.ok()) return Done(ctx, st);
    for (const auto& e : f_.Index()) {
      if (req->ready() && e.state != "READY") continue;
      auto* m = resp->add_models();
      m->set_name(e.name);
      if (e.version) m->set_version(std::to_string(*e.version));
      m->set_state(e.state);
      m->set_reason(e.reason);
    }
    return Done(ctx, Status::Ok());
  }
  ::grpc::ServerUnaryReactor* RepositoryModelLoad(::grpc::CallbackServerContext* ctx,
                                                  const pb::RepositoryModelLoadRequest* req,
                                                  pb::RepositoryModelLoadResponse*) override {
    auto who = Caller(ctx, auth::RouteClass::kManagement);
    if (!who.ok()) return Done(ctx, who.status());
    return Done(ctx, f_.Load(req->model_name(), *who));
  }
  ::grpc::ServerUnaryReactor* RepositoryModelUnload(::grpc::CallbackServerContext* ctx,
                                                    const pb::RepositoryModelUnloadRequest* req,
                                                    pb::RepositoryModelUnloadResponse*) override {
    auto who = Caller(ctx, auth::RouteClass::kManagement);
    if (!who.ok()) return Done(ctx, who.status());
    return Done(ctx, f_.Unload(req->model_name(), *who));
  }

 private:
  // Who calls, and may they (the server's Authorizer, through the frontend): the call's
  // `authorization` or `x-api-key` metadata.
  // Gives the principal.
  StatusOr<std::string> Authorize(::grpc::CallbackServerContext* ctx, auth::RouteClass route,
                                  const std::string& peer) {
    std::optional<std::string_view> authorization, api_key;
    for (const auto& [k, v] : ctx->client_metadata()) {
      const std::string_view key(k.data(), k.size()), value(v.data(), v.size());
      if (key == "authorization") authorization = value;
      if (key == "x-api-key") api_key = value;
    }
    return f_.Authorize(route, authorization, api_key, FromLoopback(peer), peer);
  }
  Status Authorize(::grpc::CallbackServerContext* ctx, auth::RouteClass route) {
    return Authorize(ctx, route, ctx->peer()).status();
  }
  // The same, giving the caller as the audit trail names it (auth::AuditWho).
  StatusOr<std::string> Caller(::grpc::CallbackServerContext* ctx, auth::RouteClass route) {
    const std::string peer = ctx->peer();
    ASSIGN_OR_RETURN(const std::string principal, Authorize(ctx, route, peer));
    return auth::AuditWho(principal, peer);
  }
  static ::grpc::ServerUnaryReactor* Done(::grpc::CallbackServerContext* ctx, const Status& st) {
    auto* reactor = ctx->DefaultReactor();
    reactor->Finish(ToGrpc(st));
    return reactor;
  }
  // A request's version field: empty (none), a version number, or a label of the model's rollout
  // policy (e.g. "stable"; NOT_FOUND lists the labels).
  StatusOr<std::optional<int64_t>> VersionOf(const std::string& model, const std::string& v) {
    if (v.empty() || !((v[0] >= 'a' && v[0] <= 'z') || v[0] == '_')) return ParseVersion(v);
    ASSIGN_OR_RETURN(int64_t version, f_.LabelVersion(model, v));
    return std::optional<int64_t>(version);
  }

  ServingFrontend& f_;
};

class Server final : public GrpcServer {
 public:
  static std::unique_ptr<Server> Create(const GrpcOptions& o, ServingFrontend* frontend,
                                        std::string* error) {
    auto s = std::unique_ptr<Server>(new Server(frontend));
    ::grpc::EnableDefaultHealthCheckService(true);
    ::grpc::ServerBuilder builder;
    int port = 0;
    std::shared_ptr<::grpc::ServerCredentials> credentials = ::grpc::InsecureServerCredentials();
    if (!o.tls_cert_file.empty()) {
      // Files checked here, so that a bad path fails the start with its name (the watcher would
      // only log it).
      for (const auto* f : {&o.tls_cert_file, &o.tls_key_file, &o.tls_client_ca_file}) {
        if (!f->empty() && ::access(f->c_str(), R_OK) != 0) {
          *error = "gRPC TLS: cannot read " + *f;
          return nullptr;
        }
      }
      namespace exp = ::grpc::experimental;
      auto provider = std::make_shared<exp::FileWatcherCertificateProvider>(
          o.tls_key_file, o.tls_cert_file, o.tls_client_ca_file, o.tls_refresh_s);
      exp::TlsServerCredentialsOptions tls(provider);
      tls.watch_identity_key_cert_pairs();
      if (!o.tls_client_ca_file.empty()) {
        tls.watch_root_certs();
        tls.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
      } else {
        tls.set_cert_request_type(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
      }
      credentials = exp::TlsServerCredentials(tls);
    }
    builder.AddListeningPort(o.host + ":" + std::to_string(o.port), credentials, &port);
    // gRPC shares a port with another process by default (SO_REUSEPORT): a taken port must be
    // an error, as it is for HTTP.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    builder.SetMaxReceiveMessageSize(static_cast<int>(o.max_message_bytes));
    builder.SetMaxSendMessageSize(static_cast<int>(o.max_message_bytes));
    builder.RegisterService(&s->service_);
    s->server_ = builder.BuildAndStart();
    if (!s->server_ || port == 0) {
      *error = "cannot listen for gRPC on " + o.host + ":" + std::to_string(o.port);
      return nullptr;
    }
    s->port_ = static_cast<uint16_t>(port);
    if (auto* health = s->server_->GetHealthCheckService()) {
      health->SetServingStatus(pb::GRPCInferenceService::service_full_name(), true);
    }
    return s;
  }
  ~Server() override { Stop(5000); }
  uint16_t port() const override { return port_; }
  void SetServing(bool serving) override {
    if (auto* health = server_->GetHealthCheckService()) health->SetServingStatus(serving);
  }
  void Stop(int64_t deadline_ms) override {
    if (!server_ || stopped_) return;
    stopped_ = true;
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(deadline_ms));
    server_->Wait();
  }

 private:
  explicit Server(ServingFrontend* f) : service_(f) {}
  Service service_;
  std::unique_ptr<::grpc::Server> server_;
  uint16_t port_ = 0;
  bool stopped_ = false;
};

}  // namespace
}  // namespace inferd::api::grpc

extern "C" __attribute__((visibility("default"))) inferd::api::grpc::GrpcServer* inferd_grpc_create(
    const inferd::api::grpc::GrpcOptions* options, inferd::api::grpc::ServingFrontend* frontend,
    char* error, size_t error_size) {
  std::string message;
  auto server = inferd::api::grpc::Server::Create(*options, frontend, &message);
  if (!server) {
    std::snprintf(error, error_size, "%s", message.c_str());
    return nullptr;
  }
  return server.release();
}
