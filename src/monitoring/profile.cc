#include "monitoring/profile.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace inferd::monitoring {

namespace {

using nlohmann::json;

// numpy.quantile(sorted, q) with the default linear interpolation.
double Quantile(const std::vector<double>& sorted, double q) {
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

bool IsMissingText(std::string_view v) {
  return v.empty() || v == "NA" || v == "N/A" || v == "NaN" || v == "nan" || v == "null" ||
         v == "NULL" || v == "None" || v == "?";
}

json FeatureToJson(const FeatureProfile& f) {
  json j = {{"name", f.name},
            {"type", f.kind == FeatureProfile::Kind::kNumeric ? "numeric" : "categorical"},
            {"count", f.count},
            {"missing", f.missing},
            {"missing_share", f.MissingShare()}};
  if (f.kind == FeatureProfile::Kind::kNumeric) {
    j["min"] = f.min;
    j["max"] = f.max;
    j["mean"] = f.mean;
    j["std"] = f.std;
    json q = json::object();
    for (const auto& [p, v] : f.quantiles) q[CategoryName(p)] = v;
    j["quantiles"] = std::move(q);
    j["bins"] = {{"edges", f.edges}, {"shares", f.shares}};
    j["sample"] = f.sample;
  } else {
    j["categories"] = f.categories;
  }
  return j;
}

FeatureProfile FeatureFromJson(const json& j) {
  FeatureProfile f;
  f.name = j.at("name").get<std::string>();
  const std::string type = j.at("type").get<std::string>();
  if (type != "numeric" && type != "categorical") {
    throw std::invalid_argument("feature '" + f.name + "': type must be numeric or categorical");
  }
  f.kind = type == "numeric" ? FeatureProfile::Kind::kNumeric : FeatureProfile::Kind::kCategorical;
  f.count = j.at("count").get<uint64_t>();
  f.missing = j.value("missing", uint64_t{0});
  if (f.kind == FeatureProfile::Kind::kNumeric) {
    f.min = j.at("min").get<double>();
    f.max = j.at("max").get<double>();
    f.mean = j.at("mean").get<double>();
    f.std = j.at("std").get<double>();
    const json quantiles = j.value("quantiles", json::object());
    for (const auto& [k, v] : quantiles.items()) {
      f.quantiles.emplace_back(std::stod(k), v.get<double>());
    }
    std::sort(f.quantiles.begin(), f.quantiles.end());
    f.edges = j.at("bins").at("edges").get<std::vector<double>>();
    f.shares = j.at("bins").at("shares").get<std::vector<double>>();
    if (f.shares.size() != f.edges.size() + 1 || !std::is_sorted(f.edges.begin(), f.edges.end())) {
      throw std::invalid_argument("feature '" + f.name +
                                  "': bins need ascending edges and one share more than edges");
    }
    f.sample = j.value("sample", std::vector<double>());
    std::sort(f.sample.begin(), f.sample.end());
  } else {
    f.categories = j.at("categories").get<std::map<std::string, uint64_t>>();
  }
  return f;
}

}  // namespace

std::string CategoryName(double v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

FeatureProfiler::FeatureProfiler(std::string name, bool categorical, const ProfileOptions& options)
    : name_(std::move(name)), categorical_(categorical), options_(options) {}

void FeatureProfiler::AddNumber(double v) {
  ++count_;
  if (std::isnan(v)) {
    ++missing_;
  } else {
    numbers_.push_back(v);
  }
}

void FeatureProfiler::AddText(std::string_view v) {
  ++count_;
  if (IsMissingText(v)) {
    ++missing_;
  } else {
    ++texts_[std::string(v)];
  }
}

FeatureProfile FeatureProfiler::Finish() const {
  FeatureProfile f;
  f.name = name_;
  f.count = count_;
  f.missing = missing_;
  bool categorical = categorical_ || !texts_.empty();
  if (!categorical && !numbers_.empty()) {
    std::map<double, uint64_t> distinct;
    bool integers = true;
    for (double v : numbers_) {
      if (v != std::floor(v) || std::isinf(v)) {
        integers = false;
        break;
      }
      if (++distinct[v] == 1 && distinct.size() > static_cast<size_t>(options_.max_categories)) {
        integers = false;
        break;
      }
    }
    categorical = integers;
  }
  if (categorical) {
    f.kind = FeatureProfile::Kind::kCategorical;
    f.categories = texts_;
    for (double v : numbers_) ++f.categories[CategoryName(v)];
    return f;
  }
  f.kind = FeatureProfile::Kind::kNumeric;
  if (numbers_.empty()) return f;
  std::vector<double> sorted = numbers_;
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(sorted.size());
  f.min = sorted.front();
  f.max = sorted.back();
  double mean = 0, m2 = 0;
  uint64_t k = 0;
  for (double v : sorted) {
    const double d = v - mean;
    mean += d / static_cast<double>(++k);
    m2 += d * (v - mean);
  }
  f.mean = mean;
  f.std = std::sqrt(m2 / n);
  for (double q : {0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99}) {
    f.quantiles.emplace_back(q, Quantile(sorted, q));
  }
  for (int i = 1; i < options_.bins; ++i) {
    const double e = Quantile(sorted, static_cast<double>(i) / options_.bins);
    if (f.edges.empty() || e > f.edges.back()) f.edges.push_back(e);
  }
  std::vector<double> counts(f.edges.size() + 1);
  for (double v : sorted) {
    counts[std::lower_bound(f.edges.begin(), f.edges.end(), v) - f.edges.begin()] += 1;
  }
  for (double c : counts) f.shares.push_back(c / n);
  // Reservoir sampling (algorithm R) in the order the values came, seeded: reproducible.
  std::mt19937_64 rng(options_.seed);
  for (size_t i = 0; i < numbers_.size(); ++i) {
    if (f.sample.size() < options_.sample_size) {
      f.sample.push_back(numbers_[i]);
    } else {
      const uint64_t j = std::uniform_int_distribution<uint64_t>(0, i)(rng);
      if (j < options_.sample_size) f.sample[j] = numbers_[i];
    }
  }
  std::sort(f.sample.begin(), f.sample.end());
  return f;
}

std::string Profile::ToJson() const {
  json j = {{"format", "inferd-profile/1"}, {"source", source}, {"rows", rows}};
  json features = json::array();
  json schema = json::object();
  for (const auto& f : this->features) {
    features.push_back(FeatureToJson(f));
    json rule = {{"nullable", f.missing > 0}};
    if (f.kind == FeatureProfile::Kind::kNumeric) {
      rule["type"] = "numeric";
      rule["min"] = f.min;
      rule["max"] = f.max;
    } else {
      rule["type"] = "categorical";
      json cats = json::array();
      for (const auto& [c, _] : f.categories) cats.push_back(c);
      rule["categories"] = std::move(cats);
    }
    schema[f.name] = std::move(rule);
  }
  j["features"] = std::move(features);
  if (label) j["label"] = FeatureToJson(*label);
  if (prediction) j["prediction"] = FeatureToJson(*prediction);
  if (score) j["score"] = FeatureToJson(*score);
  if (!quality_json.empty()) j["quality"] = json::parse(quality_json);
  j["schema"] = std::move(schema);
  return j.dump(1);
}

base::StatusOr<Profile> Profile::FromJson(std::string_view text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return base::InvalidArgument("a profile must be a JSON object");
  }
  try {
    Profile p;
    p.source = j.value("source", "");
    p.rows = j.value("rows", uint64_t{0});
    for (const auto& f : j.at("features")) p.features.push_back(FeatureFromJson(f));
    if (j.contains("label")) p.label = FeatureFromJson(j["label"]);
    if (j.contains("prediction")) p.prediction = FeatureFromJson(j["prediction"]);
    if (j.contains("score")) p.score = FeatureFromJson(j["score"]);
    if (j.contains("quality")) p.quality_json = j["quality"].dump();
    return p;
  } catch (const std::exception& e) {
    return base::InvalidArgument(std::string("profile: ") + e.what());
  }
}

base::StatusOr<Profile> Profile::Load(const std::filesystem::path& path) {
  std::ifstream f(path);
  if (!f) return base::NotFound("cannot read " + path.string());
  std::stringstream s;
  s << f.rdbuf();
  auto p = FromJson(s.str());
  if (!p.ok()) return base::InvalidArgument(path.string() + ": " + p.status().message());
  return p;
}

}  // namespace inferd::monitoring
