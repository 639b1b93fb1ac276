#include "api/http/v1_codec.h"

#include "api/common/json_writer.h"
#include "api/http/json_tensor.h"

namespace inferd::api::http {

using base::InvalidArgument;
using base::Status;
namespace dom = simdjson::dom;

namespace {

// Elements per row of an input: the product of the non-batch dimensions.
int64_t RowWidth(const config::TensorSpec& spec) {
  int64_t w = 1;
  for (size_t d = 1; d < spec.shape.size(); ++d) w *= spec.shape[d] < 0 ? 1 : spec.shape[d];
  return w;
}

tensor::Shape BatchShape(const config::TensorSpec& spec, int64_t rows) {
  tensor::Shape s = spec.shape;
  if (s.empty()) return {rows};
  s[0] = rows;
  for (auto& d : s) d = d < 0 ? rows : d;
  return s;
}

Status FinishTensor(const config::TensorSpec& spec, int64_t rows, std::vector<uint8_t>& bytes,
                    size_t count, tensor::Tensor* out) {
  auto shape = BatchShape(spec, rows);
  if (static_cast<int64_t>(count) != tensor::ElementCount(shape)) {
    return InvalidArgument("input '" + spec.name + "': expected " + std::to_string(RowWidth(spec)) +
                           " values per row, got " + std::to_string(count) + " values in " +
                           std::to_string(rows) + " row(s)");
  }
  *out = tensor::Tensor(spec.name, spec.dtype, shape);
  std::copy(bytes.begin(), bytes.end(), out->bytes().begin());
  return Status::Ok();
}

const config::TensorSpec* FindInput(const backend::ModelSignature& sig, std::string_view name) {
  for (const auto& s : sig.inputs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Status DecodeRows(dom::array instances, const backend::ModelSignature& sig,
                  inference::InferRequest* request) {
  int64_t rows = static_cast<int64_t>(instances.size());
  if (rows == 0) return InvalidArgument("'instances' is empty");
  std::vector<std::vector<uint8_t>> bytes(sig.inputs.size());
  std::vector<size_t> counts(sig.inputs.size(), 0);
  int64_t r = 0;
  for (dom::element row : instances) {
    std::string where = "instances[" + std::to_string(r) + "]";
    dom::object obj;
    if (row.get_object().get(obj) == simdjson::SUCCESS) {
      size_t seen = 0;
      for (auto field : obj) {
        const auto* spec = FindInput(sig, field.key);
        if (!spec) {
          return InvalidArgument(where + ": model has no input '" + std::string(field.key) + "'");
        }
        size_t i = static_cast<size_t>(spec - sig.inputs.data());
        size_t before = counts[i];
        RETURN_IF_ERROR(AppendJsonElements(field.value, spec->dtype, spec->name,
                                           static_cast<size_t>(RowWidth(*spec) * rows), &bytes[i],
                                           &counts[i]));
        if (counts[i] - before != static_cast<size_t>(RowWidth(*spec))) {
          return InvalidArgument(where + ": input '" + spec->name + "' needs " +
                                 std::to_string(RowWidth(*spec)) + " values, got " +
                                 std::to_string(counts[i] - before));
        }
        ++seen;
      }
      if (seen != sig.inputs.size()) {
        return InvalidArgument(where + ": every row must give all " +
                               std::to_string(sig.inputs.size()) + " inputs");
      }
    } else {
      if (sig.inputs.size() != 1) {
        return InvalidArgument(where + ": the model has several inputs; send rows as objects");
      }
      const auto& spec = sig.inputs[0];
      size_t before = counts[0];
      RETURN_IF_ERROR(AppendJsonElements(row, spec.dtype, spec.name,
                                         static_cast<size_t>(RowWidth(spec) * rows), &bytes[0],
                                         &counts[0]));
      if (counts[0] - before != static_cast<size_t>(RowWidth(spec))) {
        return InvalidArgument(where + ": expected " + std::to_string(RowWidth(spec)) +
                               " features, got " + std::to_string(counts[0] - before));
      }
    }
    ++r;
  }
  for (size_t i = 0; i < sig.inputs.size(); ++i) {
    tensor::Tensor t;
    RETURN_IF_ERROR(FinishTensor(sig.inputs[i], rows, bytes[i], counts[i], &t));
    request->inputs.push_back(std::move(t));
  }
  return Status::Ok();
}

Status DecodeColumn(dom::element value, const config::TensorSpec& spec,
                    inference::InferRequest* request) {
  // Rows = length of the outer list (a flat list for a [-1, F] input is one row).
  int64_t rows = 1;
  dom::array arr;
  if (value.get_array().get(arr) == simdjson::SUCCESS && arr.size() > 0 && arr.at(0).is_array()) {
    rows = static_cast<int64_t>(arr.size());
  }
  std::vector<uint8_t> bytes;
  size_t count = 0;
  RETURN_IF_ERROR(AppendJsonElements(value, spec.dtype, spec.name,
                                     static_cast<size_t>(RowWidth(spec) * rows), &bytes, &count));
  tensor::Tensor t;
  RETURN_IF_ERROR(FinishTensor(spec, rows, bytes, count, &t));
  request->inputs.push_back(std::move(t));
  return Status::Ok();
}

void WriteRowValue(JsonWriter& w, const tensor::Tensor& t, int64_t row) {
  int64_t width = 1;
  for (size_t d = 1; d < t.shape().size(); ++d) width *= t.shape()[d];
  bool numeric = tensor::VisitNumericType(t.dtype(), [&](auto tag) {
    using T = decltype(tag);
    auto data = t.data<T>().subspan(static_cast<size_t>(row * width), static_cast<size_t>(width));
    auto one = [&](T v) {
      if constexpr (std::is_same_v<T, bool>) {
        w.Bool(v);
      } else {
        w.Number(v);
      }
    };
    if (t.shape().size() <= 1) return one(data[0]);
    w.BeginArray();
    for (T v : data) one(v);
    w.EndArray();
  });
  if (!numeric) w.Null();
}

void WriteColumn(JsonWriter& w, const tensor::Tensor& t) {
  int64_t rows = t.shape().empty() ? 1 : t.shape()[0];
  w.BeginArray();
  for (int64_t r = 0; r < rows; ++r) WriteRowValue(w, t, r);
  w.EndArray();
}

}  // namespace

Status DecodeV1PredictRequest(std::string_view body, const backend::ModelSignature& signature,
                              inference::InferRequest* request, V1Format* format) {
  dom::element root;
  auto err = ThreadParser().parse(body.data(), body.size()).get(root);
  if (err) return JsonParseError(err);
  dom::object obj;
  if (root.get_object().get(obj) != simdjson::SUCCESS) {
    return InvalidArgument("request body must be a JSON object");
  }
  dom::element instances, inputs;
  bool has_instances = obj["instances"].get(instances) == simdjson::SUCCESS;
  bool has_inputs = obj["inputs"].get(inputs) == simdjson::SUCCESS;
  if (has_instances == has_inputs) {
    return InvalidArgument("give exactly one of 'instances' (row format) or 'inputs' (columnar)");
  }
  if (has_instances) {
    *format = V1Format::kRow;
    dom::array arr;
    if (instances.get_array().get(arr) != simdjson::SUCCESS) {
      return InvalidArgument("'instances' must be a list of rows");
    }
    return DecodeRows(arr, signature, request);
  }
  *format = V1Format::kColumnar;
  dom::object named;
  if (inputs.get_object().get(named) == simdjson::SUCCESS) {
    for (auto field : named) {
      const auto* spec = FindInput(signature, field.key);
      if (!spec) return InvalidArgument("model has no input '" + std::string(field.key) + "'");
      RETURN_IF_ERROR(DecodeColumn(field.value, *spec, request));
    }
    return Status::Ok();
  }
  if (signature.inputs.size() != 1) {
    return InvalidArgument("the model has several inputs; send 'inputs' as an object");
  }
  return DecodeColumn(inputs, signature.inputs[0], request);
}

std::string EncodeV1PredictResponse(const inference::InferResponse& response, V1Format format) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject();
  if (format == V1Format::kRow) {
    w.Key("predictions").BeginArray();
    int64_t rows = response.outputs.empty() || response.outputs[0].shape().empty()
                       ? 0
                       : response.outputs[0].shape()[0];
    for (int64_t r = 0; r < rows; ++r) {
      if (response.outputs.size() == 1) {
        WriteRowValue(w, response.outputs[0], r);
        continue;
      }
      w.BeginObject();
      for (const auto& t : response.outputs) {
        w.Key(t.name());
        WriteRowValue(w, t, r);
      }
      w.EndObject();
    }
    w.EndArray();
  } else {
    w.Key("outputs");
    if (response.outputs.size() == 1) {
      WriteColumn(w, response.outputs[0]);
    } else {
      w.BeginObject();
      for (const auto& t : response.outputs) {
        w.Key(t.name());
        WriteColumn(w, t);
      }
      w.EndObject();
    }
  }
  w.EndObject();
  return out;
}

std::string EncodeV1ModelStatus(const std::vector<lifecycle::IndexEntry>& entries) {
  std::string out;
  JsonWriter w(&out);
  w.BeginObject().Key("model_version_status").BeginArray();
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    const auto& e = *it;
    if (!e.version) continue;
    std::string state = e.state == "READY" ? "AVAILABLE" : e.state == "LOADING" ? "LOADING" : "END";
    bool failed = e.state == "UNAVAILABLE";
    w.BeginObject().Key("version").Str(std::to_string(*e.version)).Key("state").Str(state);
    w.Key("status").BeginObject().Key("error_code").Str(failed ? "UNKNOWN" : "OK");
    w.Key("error_message").Str(e.reason).EndObject().EndObject();
  }
  w.EndArray().EndObject();
  return out;
}

}  // namespace inferd::api::http
