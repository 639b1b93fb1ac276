#include "api/http/v2_codec.h"

#include <algorithm>
#include <cstring>

#include "api/common/classification.h"
#include "api/common/json_writer.h"
#include "api/http/json_tensor.h"

namespace inferd::api::http {

using base::InvalidArgument;
using base::Status;
namespace dom = simdjson::dom;

namespace {

// The binary data of the inputs that carry it (after the JSON), consumed in order.
struct BinarySource {
  std::string_view bytes;
  size_t offset = 0;
  bool present = false;
};

Status DecodeInput(dom::element in, size_t index, size_t body_size, BinarySource* binary,
                   tensor::Tensor* out) {
  std::string where = "inputs[" + std::to_string(index) + "]";
  dom::object obj;
  if (in.get_object().get(obj) != simdjson::SUCCESS) {
    return InvalidArgument(where + " must be an object");
  }
  std::string_view name;
  if (obj["name"].get_string().get(name) != simdjson::SUCCESS) {
    return InvalidArgument(where + ": 'name' is missing or not a string");
  }
  where = "input '" + std::string(name) + "'";
  std::string_view dtype_name;
  if (obj["datatype"].get_string().get(dtype_name) != simdjson::SUCCESS) {
    return InvalidArgument(where + ": 'datatype' is missing or not a string");
  }
  auto dtype = tensor::DataTypeFromName(dtype_name);
  if (!dtype) {
    return InvalidArgument(where + ": unknown datatype '" + std::string(dtype_name) +
                           "' (want BOOL, UINT8..UINT64, INT8..INT64, FP32, FP64 or BYTES)");
  }
  if (*dtype == tensor::DataType::kFp16) {
    return InvalidArgument(where + ": datatype " + std::string(dtype_name) +
                           " is not supported in JSON requests");
  }
  const bool is_bytes = *dtype == tensor::DataType::kBytes;
  dom::array shape_arr;
  if (obj["shape"].get_array().get(shape_arr) != simdjson::SUCCESS) {
    return InvalidArgument(where + ": 'shape' is missing or not an array");
  }
  tensor::Shape shape;
  for (dom::element d : shape_arr) {
    int64_t v;
    if (d.get_int64().get(v) != simdjson::SUCCESS || v < 0) {
      return InvalidArgument(where + ": shape dimensions must be non-negative integers, got " +
                             std::string(simdjson::to_string(d).substr(0, 40)));
    }
    shape.push_back(v);
  }
  int64_t expected = tensor::ElementCount(shape);
  // Each element takes at least one byte (binary BOOL) or two of JSON ("1,"): larger shapes
  // cannot match the data.
  if (expected < 0 || static_cast<uint64_t>(expected) > body_size) {
    return InvalidArgument(where + ": shape " + tensor::ShapeToString(shape) +
                           " is larger than the data in the request");
  }
  dom::element size_param;
  if (obj["parameters"]["binary_data_size"].get(size_param) == simdjson::SUCCESS) {
    int64_t size = 0;
    if (size_param.get_int64().get(size) != simdjson::SUCCESS || size < 0) {
      return InvalidArgument(where + ": 'binary_data_size' must be a non-negative integer");
    }
    if (!binary->present) {
      return InvalidArgument(where +
                             " has 'binary_data_size' but the request has no binary "
                             "data (no Inference-Header-Content-Length header)");
    }
    const uint64_t want = static_cast<uint64_t>(expected) * tensor::DataTypeSize(*dtype);
    if (!is_bytes && static_cast<uint64_t>(size) != want) {
      return InvalidArgument(where + ": binary_data_size is " + std::to_string(size) +
                             " bytes; shape " + tensor::ShapeToString(shape) + " of " +
                             std::string(dtype_name) + " takes " + std::to_string(want));
    }
    if (binary->offset + static_cast<size_t>(size) > binary->bytes.size()) {
      return InvalidArgument(where + ": " + std::to_string(size) +
                             " bytes of binary data announced, " +
                             std::to_string(binary->bytes.size() - binary->offset) + " left");
    }
    const auto* at = reinterpret_cast<const uint8_t*>(binary->bytes.data() + binary->offset);
    binary->offset += static_cast<size_t>(size);
    if (is_bytes) {
      // Each element a 4-byte length and its bytes; the framing must fill `size` exactly.
      ASSIGN_OR_RETURN(*out, tensor::Tensor::Bytes(std::string(name), shape,
                                                   std::vector<uint8_t>(at, at + size)));
      return Status::Ok();
    }
    *out = tensor::Tensor(std::string(name), *dtype, shape);
    if (size > 0) std::memcpy(out->bytes().data(), at, static_cast<size_t>(size));
    if (*dtype == tensor::DataType::kBool) {
      for (uint8_t& b : out->bytes()) {
        if (b > 1) return InvalidArgument(where + ": BOOL bytes must be 0 or 1");
      }
    }
    return Status::Ok();
  }
  dom::element data;
  if (obj["data"].get(data) != simdjson::SUCCESS) {
    return InvalidArgument(where + ": 'data' is missing");
  }
  if (!data.is_array()) return InvalidArgument(where + ": 'data' must be an array");
  // (A scratch buffer per thread: it keeps its capacity from request to request.)
  thread_local std::vector<uint8_t> bytes;
  bytes.clear();
  std::string tensor_name(name);
  RETURN_IF_ERROR(AppendJsonTensorData(data, *dtype, tensor_name, shape, &bytes));
  if (is_bytes) {
    ASSIGN_OR_RETURN(*out, tensor::Tensor::Bytes(std::move(tensor_name), std::move(shape),
                                                 std::vector<uint8_t>(bytes)));
    return Status::Ok();
  }
  *out = tensor::Tensor(std::move(tensor_name), *dtype, std::move(shape));
  std::copy(bytes.begin(), bytes.end(), out->bytes().begin());
  return Status::Ok();
}

void WriteTensorData(JsonWriter& w, const tensor::Tensor& t) {
  w.BeginArray();
  tensor::VisitNumericType(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (T v : t.data<T>()) {
      if constexpr (std::is_same_v<T, bool>) {
        w.Bool(v);
      } else {
        w.Number(v);
      }
    }
  });
  w.EndArray();
}

// Triton's classification extension (api/common/classification.h) as a BYTES output.
void WriteClassification(JsonWriter& w, const tensor::Tensor& t, int64_t k,
                         const std::vector<std::string>* labels) {
  const Classification c = Classify(t, k, labels);
  w.BeginObject().Key("name").Str(t.name()).Key("datatype").Str("BYTES");
  w.Key("shape").BeginArray().Number(c.rows).Number(c.k).EndArray();
  w.Key("data").BeginArray();
  for (const auto& e : c.entries) w.Str(e);
  w.EndArray().EndObject();
}

void WriteSpecs(JsonWriter& w, const std::vector<config::TensorSpec>& specs) {
  w.BeginArray();
  for (const auto& s : specs) {
    w.BeginObject().Key("name").Str(s.name).Key("datatype").Str(tensor::DataTypeName(s.dtype));
    w.Key("shape").BeginArray();
    for (int64_t d : s.shape) w.Number(d);
    w.EndArray().EndObject();
  }
  w.EndArray();
}

}  // namespace

bool OutputOptions::wants(const std::string& name) const {
  return all || std::find(names.begin(), names.end(), name) != names.end();
}

Status DecodeV2InferRequest(std::string_view body, inference::InferRequest* request,
                            std::optional<size_t> json_bytes, OutputOptions* output_options) {
  BinarySource binary;
  if (json_bytes) {
    if (*json_bytes > body.size()) {
      return InvalidArgument("Inference-Header-Content-Length is " + std::to_string(*json_bytes) +
                             " bytes; the body has " + std::to_string(body.size()));
    }
    binary.bytes = body.substr(*json_bytes);
    binary.present = true;
    body = body.substr(0, *json_bytes);
  }
  ParserScope scope;
  dom::element root;
  auto err = ThreadParser().parse(body.data(), body.size()).get(root);
  if (err) return JsonParseError(err);
  dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return InvalidArgument("request body must be a JSON object");
  }
  dom::element id;
  if (obj["id"].get(id) == simdjson::SUCCESS) {
    std::string_view s;
    if (id.get_string().get(s) != simdjson::SUCCESS) {
      return InvalidArgument("'id' must be a string");
    }
    // The id is echoed in a response header: keep it short and free of control characters.
    if (s.size() > kMaxRequestIdBytes) {
      return InvalidArgument("'id' is " + std::to_string(s.size()) + " bytes; the limit is " +
                             std::to_string(kMaxRequestIdBytes));
    }
    if (std::any_of(s.begin(), s.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; })) {
      return InvalidArgument("'id' must not contain control characters");
    }
    request->id = std::string(s);
  }
  dom::element params;
  if (obj["parameters"].get(params) == simdjson::SUCCESS) {
    if (!params.is_object()) return InvalidArgument("'parameters' must be an object");
    // Triton's scheduling parameters: "priority" (a level; 0 = the model's default) and
    // "timeout" (microseconds the request may wait in the queue).
    dom::element v;
    if (params["priority"].get(v) == simdjson::SUCCESS) {
      int64_t p = 0;
      if (v.get_int64().get(p) != simdjson::SUCCESS || p < 0 || p > 1000000) {
        return InvalidArgument("parameter 'priority' must be a non-negative integer");
      }
      request->priority = static_cast<int>(p);
    }
    if (params["timeout"].get(v) == simdjson::SUCCESS) {
      int64_t t = 0;
      if (v.get_int64().get(t) != simdjson::SUCCESS || t < 0) {
        return InvalidArgument("parameter 'timeout' must be a non-negative integer (microseconds)");
      }
      request->timeout = std::chrono::microseconds(t);
    }
    if (params["binary_data_output"].get(v) == simdjson::SUCCESS) {
      bool b = false;
      if (v.get_bool().get(b) != simdjson::SUCCESS) {
        return InvalidArgument("parameter 'binary_data_output' must be true or false");
      }
      if (output_options != nullptr) output_options->all = b;
    }
  }
  dom::array inputs;
  auto in_err = obj["inputs"].get_array().get(inputs);
  if (in_err == simdjson::NO_SUCH_FIELD) return InvalidArgument("'inputs' is missing");
  if (in_err) return InvalidArgument("'inputs' must be an array");
  if (inputs.size() == 0) return InvalidArgument("'inputs' is empty");
  size_t i = 0;
  for (dom::element in : inputs) {
    tensor::Tensor t;
    RETURN_IF_ERROR(DecodeInput(in, i++, body.size() + binary.bytes.size(), &binary, &t));
    request->inputs.push_back(std::move(t));
  }
  if (binary.present && binary.offset != binary.bytes.size()) {
    return InvalidArgument("the request has " + std::to_string(binary.bytes.size()) +
                           " bytes of binary data; its inputs take " +
                           std::to_string(binary.offset));
  }
  dom::element outputs;
  if (obj["outputs"].get(outputs) == simdjson::SUCCESS) {
    dom::array arr;
    if (outputs.get_array().get(arr) != simdjson::SUCCESS) {
      return InvalidArgument("'outputs' must be an array");
    }
    for (dom::element o : arr) {
      std::string_view name;
      if (o["name"].get_string().get(name) != simdjson::SUCCESS) {
        return InvalidArgument("each of 'outputs' needs a string 'name'");
      }
      if (std::find(request->outputs.begin(), request->outputs.end(), name) !=
          request->outputs.end()) {
        return InvalidArgument("output '" + std::string(name) + "' is requested twice");
      }
      request->outputs.emplace_back(name);
      dom::element b;
      if (o["parameters"]["binary_data"].get(b) == simdjson::SUCCESS) {
        bool on = false;
        if (b.get_bool().get(on) != simdjson::SUCCESS) {
          return InvalidArgument("output '" + std::string(name) +
                                 "': 'binary_data' must be true or false");
        }
        if (on && output_options != nullptr) output_options->names.emplace_back(name);
      }
      dom::element k;
      if (o["parameters"]["classification"].get(k) == simdjson::SUCCESS) {
        int64_t count = 0;
        if (k.get_int64().get(count) != simdjson::SUCCESS || count < 1 || count > 100000) {
          return InvalidArgument("output '" + std::string(name) +
                                 "': 'classification' must be a positive integer");
        }
        if (output_options != nullptr) {
          output_options->classification[std::string(name)] = count;
        }
      }
    }
  }
  return Status::Ok();
}

std::string EncodeV2InferResponse(const inference::InferResponse& response,
                                  const OutputOptions& binary, size_t* json_bytes) {
  std::string out;
  out.reserve(256);
  JsonWriter w(&out);
  w.BeginObject().Key("model_name").Str(response.model);
  w.Key("model_version").Str(std::to_string(response.version));
  w.Key("id").Str(response.id);
  w.Key("outputs").BeginArray();
  std::vector<const tensor::Tensor*> as_binary;
  for (const auto& t : response.outputs) {
    if (auto c = binary.classification.find(t.name()); c != binary.classification.end()) {
      auto l = binary.labels.find(t.name());
      WriteClassification(w, t, c->second, l == binary.labels.end() ? nullptr : l->second);
      continue;
    }
    w.BeginObject().Key("name").Str(t.name()).Key("datatype").Str(tensor::DataTypeName(t.dtype()));
    w.Key("shape").BeginArray();
    for (int64_t d : t.shape()) w.Number(d);
    w.EndArray();
    if (binary.any() && binary.wants(t.name())) {
      w.Key("parameters").BeginObject().Key("binary_data_size").Number(t.byte_size());
      w.EndObject();
      as_binary.push_back(&t);
    } else {
      w.Key("data");
      WriteTensorData(w, t);
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  if (json_bytes != nullptr) *json_bytes = out.size();
  // Binary data: little-endian, row major, as the tensors hold it.
  for (const tensor::Tensor* t : as_binary) {
    out.append(reinterpret_cast<const char*>(t->bytes().data()), t->byte_size());
  }
  return out;
}

std::string EncodeV2ModelMetadata(const std::string& name, const std::vector<int64_t>& versions,
                                  const backend::ModelSignature& signature,
                                  const std::vector<std::pair<std::string, std::string>>& extra) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("name").Str(name).Key("versions").BeginArray();
  for (int64_t v : versions) w.Str(std::to_string(v));
  w.EndArray().Key("platform").Str(signature.platform);
  w.Key("inputs");
  WriteSpecs(w, signature.inputs);
  w.Key("outputs");
  WriteSpecs(w, signature.outputs);
  w.Key("parameters").BeginObject();
  for (const auto& [k, v] : signature.properties) w.Key(k).Str(v);
  std::string defaults;
  for (const auto& o : signature.outputs) {
    if (o.default_output) defaults += (defaults.empty() ? "" : ",") + o.name;
  }
  w.Key("default_outputs").Str(defaults);
  for (const auto& [k, v] : extra) w.Key(k).Str(v);
  w.EndObject().EndObject();
  return out;
}

std::string EncodeVersions(const std::string& name,
                           const std::vector<lifecycle::VersionInfo>& versions) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("name").Str(name).Key("versions").BeginArray();
  for (const auto& v : versions) {
    w.BeginObject().Key("version").Str(std::to_string(v.version)).Key("state").Str(v.state);
    if (!v.reason.empty()) w.Key("reason").Str(v.reason);
    const store::VersionRecord& load = v.load;
    if (!load.sha256.empty()) {
      w.Key("sha256").Str(load.sha256).Key("bytes").Number(load.bytes);
      w.Key("files").Raw(load.files_json);
    }
    if (!v.changed_sha256.empty()) w.Key("files_changed_sha256").Str(v.changed_sha256);
    if (!load.backend.empty()) w.Key("platform").Str(load.backend);
    w.Key("lineage").Raw(load.lineage_json.empty() ? "{}" : load.lineage_json);
    if (load.loaded_at_ms > 0) {
      w.Key("loaded_at_ms").Number(load.loaded_at_ms).Key("load_ms").Number(load.load_ms);
    }
    w.EndObject();
  }
  w.EndArray().EndObject();
  return out;
}

std::string EncodeRepositoryIndex(const std::vector<lifecycle::IndexEntry>& entries) {
  std::string out;
  JsonWriter w(&out);
  w.BeginArray();
  for (const auto& e : entries) {
    w.BeginObject().Key("name").Str(e.name);
    if (e.version) w.Key("version").Str(std::to_string(*e.version));
    w.Key("state").Str(e.state);
    if (!e.reason.empty()) w.Key("reason").Str(e.reason);
    w.EndObject();
  }
  w.EndArray();
  return out;
}

std::string EncodeError(std::string_view message) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("error").Str(message).EndObject();
  return out;
}

std::string EncodeModelStatistics(const std::vector<inference::VersionStatistics>& stats) {
  std::string out;
  JsonWriter w(&out);
  auto duration = [&w](const char* key, const inference::VersionStatistics::Duration& d) {
    w.Key(key).BeginObject().Key("count").Number(d.count).Key("ns").Number(d.ns).EndObject();
  };
  w.BeginObject().Key("model_stats").BeginArray();
  for (const auto& s : stats) {
    w.BeginObject().Key("name").Str(s.model).Key("version").Str(std::to_string(s.version));
    w.Key("last_inference").Number(s.last_inference_ms);
    w.Key("inference_count").Number(s.inference_count);
    w.Key("execution_count").Number(s.execution_count);
    w.Key("inference_stats").BeginObject();
    duration("success", s.success);
    duration("fail", s.fail);
    duration("queue", s.queue);
    // inferd does not time input and output handling apart from the model run.
    duration("compute_input", {s.compute.count, 0});
    duration("compute_infer", s.compute);
    duration("compute_output", {s.compute.count, 0});
    duration("cache_hit", {});
    duration("cache_miss", {});
    w.EndObject();
    w.Key("batch_stats").BeginArray();
    for (const auto& [size, d] : s.batches) {
      w.BeginObject().Key("batch_size").Number(static_cast<uint64_t>(size));
      duration("compute_input", {d.count, 0});
      duration("compute_infer", d);
      duration("compute_output", {d.count, 0});
      w.EndObject();
    }
    w.EndArray().EndObject();
  }
  w.EndArray().EndObject();
  return out;
}

namespace {

std::string TritonType(tensor::DataType t) {
  const std::string_view name = tensor::DataTypeName(t);
  return name == "BYTES" ? "TYPE_STRING" : "TYPE_" + std::string(name);
}

void WriteConfigTensors(JsonWriter& w, const std::vector<config::TensorSpec>& specs, bool batched) {
  w.BeginArray();
  for (const auto& s : specs) {
    w.BeginObject().Key("name").Str(s.name).Key("data_type").Str(TritonType(s.dtype));
    w.Key("dims").BeginArray();
    // A batching model's dims leave out the batch dimension, as in Triton.
    const size_t skip = batched && !s.shape.empty() && s.shape[0] == -1 ? 1 : 0;
    for (size_t d = skip; d < s.shape.size(); ++d) w.Number(s.shape[d]);
    w.EndArray().EndObject();
  }
  w.EndArray();
}

}  // namespace

std::string EncodeModelConfig(const std::string& name, const backend::ModelSignature& signature,
                              const config::ModelConfig& config, const std::string& backend) {
  std::string out;
  JsonWriter w(&out);
  const bool batched = config.max_batch_size > 0;
  w.BeginObject().Key("name").Str(name).Key("platform").Str(signature.platform);
  w.Key("backend").Str(backend).Key("max_batch_size").Number(config.max_batch_size);
  w.Key("input");
  WriteConfigTensors(w, signature.inputs, batched);
  w.Key("output");
  WriteConfigTensors(w, signature.outputs, batched);
  if (config.dynamic_batching) {
    const auto& d = *config.dynamic_batching;
    w.Key("dynamic_batching").BeginObject().Key("preferred_batch_size").BeginArray();
    for (int64_t b : d.preferred_batch_sizes) w.Number(b);
    w.EndArray().Key("max_queue_delay_microseconds").Number(d.max_queue_delay_us);
    w.Key("priority_levels").Number(d.priority_levels);
    w.Key("default_priority_level").Number(d.default_priority_level);
    w.Key("default_queue_policy").BeginObject().Key("max_queue_size").Number(d.max_queue_size);
    w.Key("default_timeout_microseconds").Number(d.default_timeout_us).EndObject();
    w.EndObject();
  }
  w.Key("instance_group").BeginArray().BeginObject().Key("name").Str(name + "_0");
  w.Key("kind").Str("KIND_CPU").Key("count").Number(config.instances).EndObject().EndArray();
  w.Key("version_policy").BeginObject();
  switch (config.version_policy.kind) {
    case config::VersionPolicy::Kind::kLatest:
      w.Key("latest").BeginObject().Key("num_versions").Number(config.version_policy.latest);
      w.EndObject();
      break;
    case config::VersionPolicy::Kind::kAll:
      w.Key("all").BeginObject().EndObject();
      break;
    case config::VersionPolicy::Kind::kSpecific:
      w.Key("specific").BeginObject().Key("versions").BeginArray();
      for (int64_t v : config.version_policy.specific) w.Number(v);
      w.EndArray().EndObject();
      break;
  }
  w.EndObject();
  w.Key("parameters").BeginObject();
  for (const auto& [k, v] : config.parameters) {
    w.Key(k).BeginObject().Key("string_value").Str(v).EndObject();
  }
  w.EndObject().EndObject();
  return out;
}

}  // namespace inferd::api::http
