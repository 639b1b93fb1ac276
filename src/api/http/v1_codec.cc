#include "api/http/v1_codec.h"

#include <algorithm>
#include <limits>

#include "api/common/json_writer.h"
#include "api/http/json_tensor.h"

namespace inferd::api::http {

using base::InvalidArgument;
using base::Status;
namespace dom = simdjson::dom;

namespace {

// The shape of one row of an input: its declared shape without the batch dimension.
base::StatusOr<tensor::Shape> RowShape(const config::TensorSpec& spec) {
  tensor::Shape row(spec.shape.begin() + (spec.shape.empty() ? 0 : 1), spec.shape.end());
  for (int64_t d : row) {
    if (d < 0) {
      return InvalidArgument("input '" + spec.name +
                             "' has a variable dimension besides the batch; TF Serving requests "
                             "cannot give it");
    }
  }
  return row;
}

tensor::Shape WithRows(tensor::Shape row_shape, int64_t rows) {
  row_shape.insert(row_shape.begin(), rows);
  return row_shape;
}

// The inputs a request may name: the model's, then (with a schema) one column per feature, a
// number per row for a numeric feature and text (BYTES) for a categorical one.
struct Inputs {
  std::vector<config::TensorSpec> specs;
  size_t model_inputs = 0;  // specs[0, model_inputs) are the model's

  Inputs(const backend::ModelSignature& sig, const preprocess::Schema* schema)
      : specs(sig.inputs), model_inputs(sig.inputs.size()) {
    if (schema == nullptr) return;
    for (const auto& r : schema->rules()) {
      const bool text = r.type == preprocess::FeatureRule::Type::kCategorical;
      specs.push_back(config::TensorSpec::Make(
          r.name, text ? tensor::DataType::kBytes : tensor::DataType::kFp64, {-1}));
    }
  }
  const config::TensorSpec* Find(std::string_view name) const {
    for (const auto& s : specs) {
      if (s.name == name) return &s;
    }
    return nullptr;
  }
  std::string Names() const {
    std::string out;
    for (const auto& s : specs) out += (out.empty() ? "" : ", ") + s.name;
    return out;
  }
};

// A tensor of `rows` rows from the elements appended to `bytes`.
base::StatusOr<tensor::Tensor> MakeTensor(const config::TensorSpec& spec, tensor::Shape shape,
                                          std::vector<uint8_t> bytes) {
  if (spec.dtype == tensor::DataType::kBytes) {
    return tensor::Tensor::Bytes(spec.name, std::move(shape), std::move(bytes));
  }
  tensor::Tensor t(spec.name, spec.dtype, std::move(shape));
  std::copy(bytes.begin(), bytes.end(), t.bytes().begin());
  return t;
}

Status DecodeRows(dom::array instances, const Inputs& in, inference::InferRequest* request) {
  int64_t rows = static_cast<int64_t>(instances.size());
  if (rows == 0) return InvalidArgument("'instances' is empty");
  std::vector<std::vector<uint8_t>> bytes(in.specs.size());
  std::vector<tensor::Shape> row_shapes;
  for (const auto& spec : in.specs) {
    ASSIGN_OR_RETURN(auto rs, RowShape(spec));
    row_shapes.push_back(std::move(rs));
  }
  std::vector<bool> given(in.specs.size(), false);
  int64_t r = 0;
  for (dom::element row : instances) {
    std::string where = "instances[" + std::to_string(r++) + "]";
    dom::object obj;
    if (row.get_object().get(obj) == simdjson::SUCCESS) {
      std::vector<bool> seen(in.specs.size(), false);
      for (auto field : obj) {
        const auto* spec = in.Find(field.key);
        if (!spec) {
          return InvalidArgument(where + ": model has no input '" + std::string(field.key) +
                                 "' (inputs: " + in.Names() + ")");
        }
        size_t i = static_cast<size_t>(spec - in.specs.data());
        if (seen[i]) return InvalidArgument(where + ": input '" + spec->name + "' is given twice");
        seen[i] = given[i] = true;
        Status st =
            AppendJsonTensorData(field.value, spec->dtype, spec->name, row_shapes[i], &bytes[i]);
        if (!st.ok()) return st.WithContext(where);
      }
      // Model inputs: all of them in every row. Feature columns: one a row leaves out is missing.
      const bool any_model_input =
          std::find(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(in.model_inputs),
                    true) != seen.begin() + static_cast<std::ptrdiff_t>(in.model_inputs);
      for (size_t i = 0; i < in.specs.size(); ++i) {
        if (seen[i]) continue;
        if (i < in.model_inputs) {
          if (any_model_input || in.specs.size() == in.model_inputs) {
            return InvalidArgument(where + ": every row must give all " +
                                   std::to_string(in.model_inputs) + " inputs");
          }
        } else if (in.specs[i].dtype == tensor::DataType::kBytes) {
          tensor::AppendBytesElement({}, &bytes[i]);
        } else {
          const double nan = std::numeric_limits<double>::quiet_NaN();
          const auto* p = reinterpret_cast<const uint8_t*>(&nan);
          bytes[i].insert(bytes[i].end(), p, p + sizeof nan);
        }
      }
    } else {
      if (in.model_inputs != 1) {
        return InvalidArgument(where + ": the model has several inputs; send rows as objects");
      }
      given[0] = true;
      const auto& spec = in.specs[0];
      if (row_shapes[0].size() == 1 && row.is_array() &&
          static_cast<int64_t>(dom::array(row).size()) != row_shapes[0][0]) {
        return InvalidArgument(where + ": expected " + std::to_string(row_shapes[0][0]) +
                               " features, got " + std::to_string(dom::array(row).size()));
      }
      Status st = AppendJsonTensorData(row, spec.dtype, spec.name, row_shapes[0], &bytes[0]);
      if (!st.ok()) return st.WithContext(where);
    }
  }
  for (size_t i = 0; i < in.specs.size(); ++i) {
    if (!given[i]) continue;
    ASSIGN_OR_RETURN(auto t,
                     MakeTensor(in.specs[i], WithRows(row_shapes[i], rows), std::move(bytes[i])));
    request->inputs.push_back(std::move(t));
  }
  return Status::Ok();
}

Status DecodeColumn(dom::element value, const config::TensorSpec& spec,
                    inference::InferRequest* request) {
  ASSIGN_OR_RETURN(auto row_shape, RowShape(spec));
  // Rows = length of the outer list; a flat list for a [-1, F] input is one row.
  int64_t rows = 1;
  dom::array arr;
  if (value.get_array().get(arr) == simdjson::SUCCESS && arr.size() > 0 &&
      (arr.at(0).is_array() || row_shape.empty())) {
    rows = static_cast<int64_t>(arr.size());
  }
  tensor::Shape shape = WithRows(row_shape, rows);
  std::vector<uint8_t> bytes;
  RETURN_IF_ERROR(AppendJsonTensorData(value, spec.dtype, spec.name, shape, &bytes));
  ASSIGN_OR_RETURN(auto t, MakeTensor(spec, std::move(shape), std::move(bytes)));
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
                              inference::InferRequest* request, V1Format* format,
                              const preprocess::Schema* schema) {
  const Inputs in(signature, schema);
  ParserScope scope;
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
    return DecodeRows(arr, in, request);
  }
  *format = V1Format::kColumnar;
  dom::object named;
  if (inputs.get_object().get(named) == simdjson::SUCCESS) {
    for (auto field : named) {
      const auto* spec = in.Find(field.key);
      if (!spec) {
        return InvalidArgument("model has no input '" + std::string(field.key) +
                               "' (inputs: " + in.Names() + ")");
      }
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
