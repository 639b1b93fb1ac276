#include "preprocess/schema.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <set>

namespace inferd::preprocess {

using base::InvalidArgument;
using FR = FeatureRule;

namespace {

const char* MissingName(FR::Missing m) {
  switch (m) {
    case FR::Missing::kPass:
      return "missing: pass";
    case FR::Missing::kReject:
      return "missing: reject";
    case FR::Missing::kMean:
      return "missing: impute mean";
    case FR::Missing::kMedian:
      return "missing: impute median";
    case FR::Missing::kMode:
      return "missing: impute mode";
    case FR::Missing::kConstant:
      return "missing: impute constant";
  }
  return "";
}

std::string Num(double v) { return monitoring::CategoryName(v); }

// A whole decimal number (leading/trailing spaces allowed), as strtod reads it.
bool ParseNumber(std::string_view text, double* out) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  if (text.empty() || text.size() > 64) return false;
  char buf[65];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(buf, &end);
  if (end != buf + text.size() || errno == ERANGE) return false;
  *out = v;
  return true;
}

// Text that stands for a missing value.
bool IsMissingText(std::string_view t) {
  return t.empty() || t == "NA" || t == "NaN" || t == "nan" || t == "null" || t == "None";
}

std::string Quoted(std::string_view t) {
  std::string s(t.substr(0, 40));
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  return "'" + s + (t.size() > 40 ? "...'" : "'");
}

}  // namespace

base::StatusOr<Schema> Schema::Make(std::vector<FeatureRule> rules,
                                    const monitoring::Profile* profile) {
  std::set<std::string> names;
  for (auto& r : rules) {
    const std::string where = "schema: feature '" + r.name + "'";
    if (r.name.empty()) return InvalidArgument("schema: a feature has no name");
    if (!names.insert(r.name).second) return InvalidArgument(where + " appears twice");
    if (r.min && r.max && *r.min > *r.max) {
      return InvalidArgument(where + ": min " + Num(*r.min) + " is above max " + Num(*r.max));
    }
    if (r.type == FR::Type::kCategorical && r.categories.empty()) {
      return InvalidArgument(where + ": a categorical feature needs its categories");
    }
    if (r.type == FR::Type::kNumeric && !r.categories.empty()) {
      return InvalidArgument(where + ": categories are for categorical features");
    }
    if (r.type == FR::Type::kCategorical) {
      if (!r.codes.empty() && r.codes.size() != r.categories.size()) {
        return InvalidArgument(where + ": " + std::to_string(r.categories.size()) +
                               " categories but " + std::to_string(r.codes.size()) + " codes");
      }
      if (r.codes.empty()) {
        // The names' own numbers when every name is one, else positions.
        bool numbers = true;
        for (const auto& c : r.categories) {
          double v = 0;
          numbers = numbers && ParseNumber(c, &v);
          r.codes.push_back(v);
        }
        if (!numbers) {
          for (size_t i = 0; i < r.codes.size(); ++i) r.codes[i] = static_cast<double>(i);
        }
      }
      std::set<std::string> seen_names;
      std::set<double> seen_codes;
      for (size_t i = 0; i < r.categories.size(); ++i) {
        if (!seen_names.insert(r.categories[i]).second) {
          return InvalidArgument(where + ": category '" + r.categories[i] + "' appears twice");
        }
        if (!std::isfinite(r.codes[i]) || !seen_codes.insert(r.codes[i]).second) {
          return InvalidArgument(where + ": code " + Num(r.codes[i]) + " of category '" +
                                 r.categories[i] + "' is not finite or not unique");
        }
      }
    }
    if (r.missing == FR::Missing::kMean || r.missing == FR::Missing::kMedian ||
        r.missing == FR::Missing::kMode) {
      const monitoring::FeatureProfile* p = nullptr;
      if (profile != nullptr) {
        for (const auto& f : profile->features) {
          if (f.name == r.name) p = &f;
        }
      }
      if (p == nullptr) {
        return InvalidArgument(where + ": " + MissingName(r.missing) +
                               " needs the feature in profile.json");
      }
      if (r.missing == FR::Missing::kMode) {
        // The most frequent category: its code (a categorical feature), else its number.
        std::string mode;
        uint64_t most = 0;
        for (const auto& [c, n] : p->categories) {
          if (n > most) most = n, mode = c;
        }
        const auto at = std::find(r.categories.begin(), r.categories.end(), mode);
        double v = 0;
        if (r.type == FR::Type::kCategorical && at != r.categories.end()) {
          r.impute = r.codes[static_cast<size_t>(at - r.categories.begin())];
        } else if (!mode.empty() && ParseNumber(mode, &v)) {
          r.impute = v;
        } else {
          return InvalidArgument(where + ": the mode '" + mode +
                                 "' is neither a category nor a number to impute");
        }
      } else if (p->kind != monitoring::FeatureProfile::Kind::kNumeric) {
        return InvalidArgument(where + ": mean and median are for numeric features");
      } else if (r.missing == FR::Missing::kMean) {
        r.impute = p->mean;
      } else {
        r.impute = p->mean;
        for (const auto& [q, v] : p->quantiles) {
          if (q == 0.5) r.impute = v;
        }
      }
    }
  }
  Schema s;
  for (const auto& r : rules) {
    std::vector<double> sorted = r.codes;
    std::sort(sorted.begin(), sorted.end());
    s.sorted_codes_.push_back(std::move(sorted));
  }
  s.rules_ = std::move(rules);
  return s;
}

std::string Schema::FeatureList() const {
  std::string out;
  for (const auto& r : rules_) out += (out.empty() ? "" : ", ") + r.name;
  return out;
}

std::optional<double> Schema::CodeOf(size_t f, std::string_view text) const {
  const FeatureRule& r = rules_[f];
  for (size_t i = 0; i < r.categories.size(); ++i) {
    if (r.categories[i] == text) return r.codes[i];
  }
  // A code given as text ("2" for a category named "green" with code 2).
  double v = 0;
  if (ParseNumber(text, &v) &&
      std::binary_search(sorted_codes_[f].begin(), sorted_codes_[f].end(), v)) {
    return v;
  }
  return std::nullopt;
}

std::vector<FeatureRule> Schema::Proposed(const monitoring::Profile& profile) {
  std::vector<FeatureRule> out;
  for (const auto& f : profile.features) {
    FeatureRule r;
    r.name = f.name;
    r.nullable = f.missing > 0;
    if (f.kind == monitoring::FeatureProfile::Kind::kNumeric) {
      r.type = FR::Type::kNumeric;
      r.min = f.min;
      r.max = f.max;
    } else {
      r.type = FR::Type::kCategorical;
      for (const auto& [c, _] : f.categories) r.categories.push_back(c);
    }
    out.push_back(std::move(r));
  }
  return out;
}

template <typename T>
base::Status Schema::ApplyT(std::span<T> values, size_t rows, Actions* actions,
                            RowNaming naming) const {
  const size_t width = rules_.size();
  if (width == 0) return base::Status::Ok();
  if (values.size() != rows * width) {
    return InvalidArgument("the schema has " + std::to_string(width) + " features; got " +
                           std::to_string(values.size()) + " values for " + std::to_string(rows) +
                           " rows");
  }
  if (actions != nullptr) actions->Resize(width);
  for (size_t row = 0; row < rows; ++row) {
    for (size_t f = 0; f < width; ++f) {
      const FeatureRule& r = rules_[f];
      T& v = values[row * width + f];
      auto reject = [&](const std::string& what) {
        if (actions) ++actions->rejected[f];
        return InvalidArgument(std::string(naming.word) + " " +
                               std::to_string(naming.first + static_cast<int64_t>(row)) +
                               ", feature '" + r.name + "': " + what);
      };
      if (!std::isnan(v) && r.type == FR::Type::kCategorical &&
          !std::binary_search(sorted_codes_[f].begin(), sorted_codes_[f].end(),
                              static_cast<double>(v))) {
        if (r.unseen == FR::Unseen::kReject) {
          return reject("category " + Num(static_cast<double>(v)) +
                        " is not one of the schema's (unseen: reject)");
        }
        if (actions) ++actions->unseen[f];
        v = std::numeric_limits<T>::quiet_NaN();  // then as missing
      }
      if (std::isnan(v)) {
        switch (r.missing) {
          case FR::Missing::kPass:
            if (!r.nullable) return reject("a value is required (nullable: false)");
            break;
          case FR::Missing::kReject:
            return reject("the value is missing (missing: reject)");
          default:
            v = static_cast<T>(r.impute);
            if (actions) ++actions->imputed[f];
        }
        continue;
      }
      if (std::isinf(v)) return reject("the value is infinite");
      const bool low = r.min && v < *r.min, high = r.max && v > *r.max;
      if (low || high) {
        if (r.out_of_range == FR::OutOfRange::kReject) {
          return reject(
              Num(static_cast<double>(v)) + " is " +
              (low ? "below the minimum " + Num(*r.min) : "above the maximum " + Num(*r.max)) +
              " (out_of_range: reject)");
        }
        if (r.out_of_range == FR::OutOfRange::kClip) {
          v = static_cast<T>(low ? *r.min : *r.max);
          if (actions) ++actions->clipped[f];
        }
      }
    }
  }
  return base::Status::Ok();
}

base::Status Schema::Apply(tensor::Tensor& t, Actions* actions) const {
  const size_t rows = t.shape().empty() ? 1 : static_cast<size_t>(t.shape()[0]);
  if (t.dtype() == tensor::DataType::kFp32) return Apply(t.data<float>(), rows, actions);
  if (t.dtype() == tensor::DataType::kFp64) return Apply(t.data<double>(), rows, actions);
  return InvalidArgument("a schema applies to FP32 or FP64 inputs, not " +
                         std::string(tensor::DataTypeName(t.dtype())));
}

base::StatusOr<double> Schema::TextValue(size_t f, std::string_view t, Actions* actions) const {
  const FeatureRule& r = rules_[f];
  if (actions != nullptr && actions->rejected.size() != rules_.size())
    actions->Resize(rules_.size());
  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  if (IsMissingText(t)) return kNaN;
  if (r.type == FR::Type::kNumeric) {
    double d = 0;
    if (!ParseNumber(t, &d)) {
      if (actions) ++actions->rejected[f];
      return InvalidArgument("feature '" + r.name + "': " + Quoted(t) +
                             " is not a number (wrong type: reject)");
    }
    return d;
  }
  if (auto code = CodeOf(f, t)) return *code;
  if (r.unseen == FR::Unseen::kReject) {
    if (actions) ++actions->rejected[f];
    return InvalidArgument("feature '" + r.name + "': category " + Quoted(t) +
                           " is not one of the schema's (unseen: reject)");
  }
  if (actions) ++actions->unseen[f];
  return kNaN;
}

template <typename T>
base::Status Schema::AssembleInto(std::vector<tensor::Tensor>& inputs, const std::string& input,
                                  std::span<T> out, size_t rows, Actions* actions) const {
  const size_t width = rules_.size();
  // One text value of feature f at `row`.
  auto text = [&](size_t row, size_t f, std::string_view t) -> base::Status {
    auto v = TextValue(f, t, actions);
    if (!v.ok()) return InvalidArgument("row " + std::to_string(row) + ", " + v.status().message());
    out[row * width + f] = static_cast<T>(*v);
    return base::Status::Ok();
  };
  // A numeric tensor's values into column f (or every column when f == width).
  auto numbers = [&](const tensor::Tensor& t, size_t f) -> base::Status {
    const bool ok = tensor::VisitNumericType(t.dtype(), [&](auto tag) {
      using S = decltype(tag);
      auto src = t.data<S>();
      if (f == width) {
        for (size_t i = 0; i < src.size(); ++i) out[i] = static_cast<T>(src[i]);
      } else {
        for (size_t row = 0; row < rows; ++row) out[row * width + f] = static_cast<T>(src[row]);
      }
    });
    if (ok) return base::Status::Ok();
    return InvalidArgument("tensor '" + t.name() + "': datatype " +
                           std::string(tensor::DataTypeName(t.dtype())) +
                           " cannot hold feature values");
  };
  if (inputs.size() == 1 && inputs[0].name() == input) {
    const tensor::Tensor& t = inputs[0];
    if (t.dtype() != tensor::DataType::kBytes) return numbers(t, width);
    const auto elements = tensor::BytesElements(t);
    for (size_t i = 0; i < elements.size(); ++i) {
      RETURN_IF_ERROR(text(i / width, i % width, elements[i]));
    }
    return base::Status::Ok();
  }
  std::fill(out.begin(), out.end(), std::numeric_limits<T>::quiet_NaN());
  for (const auto& t : inputs) {
    const size_t f =
        static_cast<size_t>(std::find_if(rules_.begin(), rules_.end(),
                                         [&](const auto& r) { return r.name == t.name(); }) -
                            rules_.begin());
    if (t.dtype() != tensor::DataType::kBytes) {
      RETURN_IF_ERROR(numbers(t, f));
      continue;
    }
    const auto elements = tensor::BytesElements(t);
    for (size_t row = 0; row < rows; ++row) RETURN_IF_ERROR(text(row, f, elements[row]));
  }
  return base::Status::Ok();
}

base::StatusOr<tensor::Tensor> Schema::Assemble(std::vector<tensor::Tensor> inputs,
                                                const std::string& input, tensor::DataType dtype,
                                                Actions* actions) const {
  const int64_t width = static_cast<int64_t>(rules_.size());
  if (actions != nullptr) actions->Resize(rules_.size());
  if (dtype != tensor::DataType::kFp32 && dtype != tensor::DataType::kFp64) {
    return InvalidArgument("a schema needs an FP32 or FP64 model input, not " +
                           std::string(tensor::DataTypeName(dtype)));
  }
  if (inputs.empty()) {
    return InvalidArgument("the request has no inputs; send '" + input +
                           "' or the features as named columns (" + FeatureList() + ")");
  }
  int64_t rows = -1;
  if (inputs.size() == 1 && inputs[0].name() == input) {
    tensor::Tensor& t = inputs[0];
    const auto& shape = t.shape();
    if (shape.size() == 1 && shape[0] == width) {
      rows = 1;
    } else if (shape.size() == 2 && shape[1] == width) {
      rows = shape[0];
    } else {
      return InvalidArgument("input '" + input + "': expected shape [-1," + std::to_string(width) +
                             "] (features: " + FeatureList() + "), got " +
                             tensor::ShapeToString(shape));
    }
    // The common case: already the model's type and shape.
    if (t.dtype() == dtype && shape.size() == 2) return std::move(t);
  } else {
    std::vector<bool> seen(rules_.size(), false);
    for (const auto& t : inputs) {
      const auto it = std::find_if(rules_.begin(), rules_.end(),
                                   [&](const auto& r) { return r.name == t.name(); });
      if (it == rules_.end()) {
        return InvalidArgument(
            t.name() == input ? "input '" + input + "' cannot be mixed with named feature columns"
                              : "'" + t.name() + "' is neither the model's input '" + input +
                                    "' nor one of its features (" + FeatureList() + ")");
      }
      const size_t f = static_cast<size_t>(it - rules_.begin());
      if (seen[f]) return InvalidArgument("feature '" + t.name() + "' is given twice");
      seen[f] = true;
      const auto& shape = t.shape();
      if (!(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1))) {
        return InvalidArgument("feature column '" + t.name() +
                               "': expected shape [rows] or [rows,1], got " +
                               tensor::ShapeToString(shape));
      }
      if (rows >= 0 && shape[0] != rows) {
        return InvalidArgument("feature column '" + t.name() + "' has " + std::to_string(shape[0]) +
                               " rows, the others " + std::to_string(rows));
      }
      rows = shape[0];
    }
  }
  if (rows <= 0) return InvalidArgument("input '" + input + "': the batch is empty (0 rows)");
  tensor::Tensor out(input, dtype, {rows, width});
  base::Status st =
      dtype == tensor::DataType::kFp32
          ? AssembleInto(inputs, input, out.data<float>(), static_cast<size_t>(rows), actions)
          : AssembleInto(inputs, input, out.data<double>(), static_cast<size_t>(rows), actions);
  if (!st.ok()) return st;
  return out;
}

}  // namespace inferd::preprocess
