#include "tools/csv_output.h"

#include <charconv>
#include <cstring>
#include <type_traits>

namespace inferd::tools {

using base::Status;
using base::StatusOr;
using tensor::DataType;

namespace {

// Longest text of one value of each kind: "-1.17549435e-38", "-2.2250738585072014e-308",
// "-9223372036854775808".
constexpr size_t kMaxValueChars = 24;

using WriteFn = char* (*)(char* p, const uint8_t* data, int64_t index);

template <typename T>
char* WriteValue(char* p, const uint8_t* data, int64_t index) {
  T v;
  std::memcpy(&v, data + index * sizeof(T), sizeof(T));
  if constexpr (std::is_same_v<T, bool>) {
    *p = v ? '1' : '0';
    return p + 1;
  } else {
    return std::to_chars(p, p + kMaxValueChars, v).ptr;
  }
}

WriteFn WriterFor(DataType dtype) {
  WriteFn fn = nullptr;
  tensor::VisitNumericType(dtype, [&](auto t) { fn = &WriteValue<decltype(t)>; });
  return fn;
}

}  // namespace

StatusOr<CsvOutputPlan> PlanCsvOutput(const std::vector<config::TensorSpec>& outputs) {
  CsvOutputPlan plan;
  for (const auto& spec : outputs) {
    if (spec.shape.empty()) {
      return base::Unimplemented("output '" + spec.name + "' has no batch dimension");
    }
    if (!WriterFor(spec.dtype)) {
      return base::Unimplemented("output '" + spec.name + "' has datatype " +
                                 std::string(tensor::DataTypeName(spec.dtype)) +
                                 ", which has no CSV form here");
    }
    CsvOutputColumns cols;
    cols.output = spec.name;
    cols.dtype = spec.dtype;
    for (size_t d = 1; d < spec.shape.size(); ++d) {
      if (spec.shape[d] < 0) {
        return base::Unimplemented("output '" + spec.name + "' has a variable shape " +
                                   tensor::ShapeToString(spec.shape));
      }
      cols.width *= spec.shape[d];
    }
    if (cols.width == 0) {
      return base::Unimplemented("output '" + spec.name + "' has no columns " +
                                 tensor::ShapeToString(spec.shape));
    }
    if (spec.shape.size() == 1) {
      cols.names.push_back(spec.name);
    } else {
      const std::string prefix = spec.name == "probabilities" ? "p" : spec.name;
      for (int64_t i = 0; i < cols.width; ++i) cols.names.push_back(prefix + std::to_string(i));
    }
    plan.push_back(std::move(cols));
  }
  return plan;
}

std::string CsvHeader(const CsvOutputPlan& plan) {
  std::string h;
  for (const auto& cols : plan) {
    for (const auto& name : cols.names) {
      if (!h.empty()) h += ',';
      h += name;
    }
  }
  h += '\n';
  return h;
}

Status AppendCsvRows(std::span<const tensor::Tensor> outputs, const CsvOutputPlan& plan,
                     std::string* out) {
  if (outputs.size() != plan.size()) {
    return base::Internal("the model returned " + std::to_string(outputs.size()) +
                          " outputs, expected " + std::to_string(plan.size()));
  }
  if (plan.empty()) return Status::Ok();
  const int64_t rows = outputs[0].shape().empty() ? -1 : outputs[0].shape()[0];
  struct Column {
    WriteFn write;
    const uint8_t* data;
    int64_t width;
  };
  std::vector<Column> columns;
  int64_t row_width = 0;
  for (size_t i = 0; i < plan.size(); ++i) {
    const tensor::Tensor& t = outputs[i];
    if (t.name() != plan[i].output || t.dtype() != plan[i].dtype || t.shape().empty() ||
        t.shape()[0] != rows || t.element_count() != rows * plan[i].width) {
      return base::Internal("output '" + t.name() + "' " +
                            std::string(tensor::DataTypeName(t.dtype())) +
                            tensor::ShapeToString(t.shape()) + " does not match the expected '" +
                            plan[i].output + "' with " + std::to_string(plan[i].width) +
                            " columns for " + std::to_string(rows) + " rows");
    }
    columns.push_back({WriterFor(t.dtype()), t.bytes().data(), plan[i].width});
    row_width += plan[i].width;
  }
  const size_t start = out->size();
  out->resize(start + static_cast<size_t>(rows * row_width) * (kMaxValueChars + 1));
  char* p = out->data() + start;
  for (int64_t r = 0; r < rows; ++r) {
    for (const Column& c : columns) {
      for (int64_t k = 0; k < c.width; ++k) {
        p = c.write(p, c.data, r * c.width + k);
        *p++ = ',';
      }
    }
    p[-1] = '\n';
  }
  out->resize(static_cast<size_t>(p - out->data()));
  return Status::Ok();
}

}  // namespace inferd::tools
