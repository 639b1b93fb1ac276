#include "monitoring/drift_window.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <queue>

#include "monitoring/drift.h"

namespace inferd::monitoring {

namespace {

using nlohmann::json;

json ColumnJson(const DriftAccumulator::Column& c) {
  json j = {{"seen", c.seen}, {"missing", c.missing}};
  if (c.out_of_range) j["out_of_range"] = c.out_of_range;
  if (c.unseen) j["unseen"] = c.unseen;
  if (!c.bins.empty()) j["bins"] = c.bins;
  if (!c.sample.empty()) j["sample"] = c.sample;
  if (!c.categories.empty()) j["categories"] = c.categories;
  return j;
}

DriftAccumulator::Column ColumnFromJson(const json& j) {
  DriftAccumulator::Column c;
  c.seen = j.at("seen").get<uint64_t>();
  c.missing = j.value("missing", uint64_t{0});
  c.out_of_range = j.value("out_of_range", uint64_t{0});
  c.unseen = j.value("unseen", uint64_t{0});
  c.bins = j.value("bins", std::vector<double>());
  c.sample = j.value("sample", std::vector<double>());
  c.categories = j.value("categories", std::map<std::string, uint64_t>());
  return c;
}

void Prepare(const FeatureProfile* ref, DriftAccumulator::Column& c) {
  if (ref != nullptr && ref->kind == FeatureProfile::Kind::kNumeric) {
    c.bins.assign(ref->edges.size() + 1, 0.0);
  }
}

ColumnDrift Judge(const FeatureProfile& ref, const DriftAccumulator::Column& c,
                  const DriftSettings& s) {
  ColumnDrift d;
  d.name = ref.name;
  d.rows = c.seen - c.missing;
  d.enough = d.rows >= s.min_rows && d.rows > 0;
  const double distance = s.threshold.value_or(0.1);
  if (ref.kind == FeatureProfile::Kind::kNumeric) {
    d.method =
        s.numeric_method == "auto" ? (d.rows <= 1000 ? "ks" : "wasserstein") : s.numeric_method;
    if (d.method == "ks") {
      const auto t = KolmogorovSmirnov(ref.sample, c.sample);
      d.statistic = t.statistic;
      d.p_value = t.p_value;
    } else if (d.method == "wasserstein") {
      d.statistic = WassersteinNormalized(ref.sample, c.sample, ref.std);
    } else if (d.method == "psi") {
      d.statistic = c.bins.size() == ref.shares.size() ? Psi(ref.shares, Shares(c.bins)) : 0;
    } else {
      d.statistic = c.bins.size() == ref.shares.size() ? JensenShannon(ref.shares, c.bins) : 0;
    }
  } else {
    // The union of the categories, reference counts against current ones.
    std::map<std::string, std::pair<double, double>> both;
    for (const auto& [k, v] : ref.categories) both[k].first = static_cast<double>(v);
    for (const auto& [k, v] : c.categories) both[k].second = static_cast<double>(v);
    std::vector<double> r, cur;
    for (const auto& [k, v] : both) {
      r.push_back(v.first);
      cur.push_back(v.second);
    }
    d.method = s.categorical_method == "auto"
                   ? (d.rows <= 1000 ? (both.size() == 2 ? "z" : "chisquare") : "jensenshannon")
                   : s.categorical_method;
    if (d.method == "z" && both.size() != 2) d.method = "chisquare";
    if (d.method == "z") {
      const auto t = TwoProportionZ(r[0], r[0] + r[1], cur[0], cur[0] + cur[1]);
      d.statistic = t.statistic;
      d.p_value = t.p_value;
    } else if (d.method == "chisquare") {
      const auto t = ChiSquaredHomogeneity(r, cur);
      d.statistic = t.statistic;
      d.p_value = t.p_value;
    } else {
      d.statistic = JensenShannon(r, cur);
    }
  }
  if (d.p_value) {
    d.threshold = s.p_value;
    d.drifted = d.enough && *d.p_value < s.p_value;
  } else {
    d.threshold = distance;
    d.drifted = d.enough && d.statistic >= distance;
  }
  return d;
}

json ColumnDriftJson(const ColumnDrift& d) {
  json j = {{"name", d.name},           {"method", d.method},   {"statistic", d.statistic},
            {"threshold", d.threshold}, {"drifted", d.drifted}, {"rows", d.rows},
            {"enough_data", d.enough}};
  j["p_value"] = d.p_value ? json(*d.p_value) : json(nullptr);
  return j;
}

}  // namespace

std::string DriftReportToJson(const DriftReport& r) {
  json features = json::array();
  for (const auto& f : r.features) features.push_back(ColumnDriftJson(f));
  json j = {{"rows", r.rows},
            {"features", std::move(features)},
            {"drifted_share", r.drifted_share},
            {"dataset_drift", r.dataset_drift}};
  if (r.prediction) j["prediction"] = ColumnDriftJson(*r.prediction);
  if (r.score) j["score"] = ColumnDriftJson(*r.score);
  return j.dump();
}

DriftAccumulator::DriftAccumulator(const Profile* profile, size_t sample_cap, uint64_t seed)
    : profile_(profile), cap_(sample_cap), rng_(seed) {
  features_.resize(profile->features.size());
  for (size_t i = 0; i < features_.size(); ++i) Prepare(&profile->features[i], features_[i]);
  Prepare(profile->prediction ? &*profile->prediction : nullptr, prediction_);
  Prepare(profile->score ? &*profile->score : nullptr, score_);
}

DriftAccumulator DriftAccumulator::FromProfiles(const Profile* reference, const Profile& current) {
  DriftAccumulator a(reference, SIZE_MAX, 1);
  auto fill = [](const FeatureProfile& ref, const FeatureProfile& cur, Column& c) {
    c.seen = cur.count;
    c.missing = cur.missing;
    if (ref.kind == FeatureProfile::Kind::kNumeric) {
      c.bins.assign(ref.edges.size() + 1, 0.0);
      for (double v : cur.sample) {
        c.bins[BinOf(ref.edges, v)] += 1;
        if (v < ref.min || v > ref.max) ++c.out_of_range;
      }
      c.sample = cur.sample;
    } else {
      c.categories = cur.categories;
      for (const auto& [k, n] : cur.categories) {
        if (!ref.categories.contains(k)) c.unseen += n;
      }
    }
  };
  for (size_t i = 0; i < reference->features.size() && i < current.features.size(); ++i) {
    fill(reference->features[i], current.features[i], a.features_[i]);
  }
  a.rows_ = current.rows;
  if (reference->prediction && current.prediction) {
    fill(*reference->prediction, *current.prediction, a.prediction_);
  }
  if (reference->score && current.score) fill(*reference->score, *current.score, a.score_);
  return a;
}

void DriftAccumulator::Add(const FeatureProfile& ref, Column& c, double v) {
  ++c.seen;
  if (std::isnan(v)) {
    ++c.missing;
    return;
  }
  if (ref.kind == FeatureProfile::Kind::kNumeric) {
    if (!c.bins.empty()) c.bins[BinOf(ref.edges, v)] += 1;
    if (v < ref.min || v > ref.max) ++c.out_of_range;
    // Algorithm L (Li 1994): after the reservoir fills, skip ahead a geometric number of values.
    const uint64_t i = c.seen - c.missing - 1;  // this value's index among the non-missing
    const double k = static_cast<double>(cap_);
    if (c.sample.size() < cap_) {
      c.sample.push_back(v);
      if (c.sample.size() == cap_) {
        c.w = std::exp(std::log(Unit()) / k);
        c.next = i + static_cast<uint64_t>(std::floor(std::log(Unit()) / std::log1p(-c.w))) + 1;
      }
    } else if (i == c.next) {
      c.sample[static_cast<size_t>(Unit() * k) % cap_] = v;
      c.w *= std::exp(std::log(Unit()) / k);
      c.next += static_cast<uint64_t>(std::floor(std::log(Unit()) / std::log1p(-c.w))) + 1;
    }
  } else {
    const std::string name = CategoryName(v);
    ++c.categories[name];
    if (!ref.categories.contains(name)) ++c.unseen;
  }
}

double DriftAccumulator::Unit() {
  // (0, 1): never 0, whose log is -inf.
  return (static_cast<double>(rng_() >> 11) + 0.5) * 0x1.0p-53;
}

void DriftAccumulator::AddRows(std::span<const double> values, size_t features) {
  AddRowsOf(values, features);
}

void DriftAccumulator::AddRows(std::span<const float> values, size_t features) {
  AddRowsOf(values, features);
}

template <typename T>
void DriftAccumulator::AddRowsOf(std::span<const T> values, size_t features) {
  if (profile_ == nullptr || features == 0) return;
  const size_t use = std::min(features, features_.size());
  for (size_t r = 0; r + features <= values.size(); r += features) {
    ++rows_;
    for (size_t i = 0; i < use; ++i) Add(profile_->features[i], features_[i], values[r + i]);
  }
}

void DriftAccumulator::AddPrediction(std::optional<double> prediction,
                                     std::optional<double> score) {
  if (profile_ == nullptr) return;
  ++predictions_;
  if (prediction && profile_->prediction) Add(*profile_->prediction, prediction_, *prediction);
  if (score && profile_->score) Add(*profile_->score, score_, *score);
}

void DriftAccumulator::MergeColumn(Column& into, const Column& from, size_t cap,
                                   std::mt19937_64& rng) {
  const double na = static_cast<double>(into.seen - into.missing);
  const double nb = static_cast<double>(from.seen - from.missing);
  into.seen += from.seen;
  into.missing += from.missing;
  into.out_of_range += from.out_of_range;
  into.unseen += from.unseen;
  if (into.bins.size() < from.bins.size()) into.bins.resize(from.bins.size());
  for (size_t i = 0; i < from.bins.size(); ++i) into.bins[i] += from.bins[i];
  for (const auto& [k, v] : from.categories) into.categories[k] += v;
  if (from.sample.empty()) return;
  if (into.sample.size() + from.sample.size() <= cap && na == into.sample.size() &&
      nb == from.sample.size()) {
    into.sample.insert(into.sample.end(), from.sample.begin(), from.sample.end());
    return;
  }
  // A uniform sample of the union: each side gives its share of the values, drawn uniformly from
  // its own (uniform) sample. The size is what both sides can supply at those shares, at most cap.
  const double n = na + nb;
  const double sa = static_cast<double>(into.sample.size());
  const double sb = static_cast<double>(from.sample.size());
  double k = static_cast<double>(cap);
  if (na > 0) k = std::min(k, sa * n / na);
  if (nb > 0) k = std::min(k, sb * n / nb);
  const size_t total = static_cast<size_t>(std::floor(k));
  // Stochastic rounding of A's share.
  const double share = total * na / n;
  std::uniform_real_distribution<double> unit(0, 1);
  size_t ka = static_cast<size_t>(std::floor(share));
  if (unit(rng) < share - static_cast<double>(ka)) ++ka;
  ka = std::min(ka, into.sample.size());
  const size_t kb = std::min(total - std::min(total, ka), from.sample.size());
  auto draw = [&](std::vector<double> s, size_t count, std::vector<double>* out) {
    for (size_t i = 0; i < count; ++i) {  // partial Fisher–Yates
      const size_t j = i + std::uniform_int_distribution<size_t>(0, s.size() - 1 - i)(rng);
      std::swap(s[i], s[j]);
      out->push_back(s[i]);
    }
  };
  std::vector<double> merged;
  draw(std::move(into.sample), ka, &merged);
  draw(from.sample, kb, &merged);
  into.sample = std::move(merged);
}

void DriftAccumulator::Merge(const DriftAccumulator& other) {
  rows_ += other.rows_;
  predictions_ += other.predictions_;
  if (features_.size() < other.features_.size()) features_.resize(other.features_.size());
  for (size_t i = 0; i < other.features_.size(); ++i) {
    MergeColumn(features_[i], other.features_[i], cap_, rng_);
  }
  MergeColumn(prediction_, other.prediction_, cap_, rng_);
  MergeColumn(score_, other.score_, cap_, rng_);
}

std::string DriftAccumulator::ToJson() const {
  json features = json::array();
  for (const auto& c : features_) features.push_back(ColumnJson(c));
  return json({{"rows", rows_},
               {"predictions", predictions_},
               {"features", std::move(features)},
               {"prediction", ColumnJson(prediction_)},
               {"score", ColumnJson(score_)}})
      .dump();
}

base::StatusOr<DriftAccumulator> DriftAccumulator::FromJson(const Profile* profile,
                                                            std::string_view text,
                                                            size_t sample_cap, uint64_t seed) {
  const json j = json::parse(text, nullptr, false);
  try {
    if (!j.is_object()) throw std::invalid_argument("not an object");
    DriftAccumulator a(profile, sample_cap, seed);
    a.rows_ = j.at("rows").get<uint64_t>();
    a.predictions_ = j.value("predictions", uint64_t{0});
    const json& features = j.at("features");
    if (features.size() != a.features_.size()) {
      throw std::invalid_argument("drift bucket of " + std::to_string(features.size()) +
                                  " features; the profile has " +
                                  std::to_string(a.features_.size()));
    }
    for (size_t i = 0; i < features.size(); ++i) a.features_[i] = ColumnFromJson(features[i]);
    a.prediction_ = ColumnFromJson(j.at("prediction"));
    a.score_ = ColumnFromJson(j.at("score"));
    return a;
  } catch (const std::exception& e) {
    return base::InvalidArgument(std::string("drift bucket: ") + e.what());
  }
}

DriftReport EvaluateDrift(const Profile& profile, const DriftAccumulator& window,
                          const DriftSettings& s) {
  DriftReport r;
  r.rows = window.rows();
  const size_t n = std::min(profile.features.size(), window.features().size());
  std::vector<double> p_values;
  std::vector<size_t> tested;
  for (size_t i = 0; i < n; ++i) {
    r.features.push_back(Judge(profile.features[i], window.features()[i], s));
    if (r.features.back().p_value && r.features.back().enough) {
      p_values.push_back(*r.features.back().p_value);
      tested.push_back(i);
    }
  }
  if (s.correction != "none") {
    const auto rejected = Rejected(p_values, s.p_value, s.correction);
    for (size_t k = 0; k < tested.size(); ++k) r.features[tested[k]].drifted = rejected[k];
  }
  size_t enough = 0, drifted = 0;
  for (const auto& f : r.features) {
    enough += f.enough;
    drifted += f.drifted;
  }
  r.drifted_share = enough ? static_cast<double>(drifted) / static_cast<double>(enough) : 0.0;
  r.dataset_drift = enough > 0 && r.drifted_share >= s.dataset_share;
  if (profile.prediction) r.prediction = Judge(*profile.prediction, window.prediction(), s);
  if (profile.score) r.score = Judge(*profile.score, window.score(), s);
  return r;
}

}  // namespace inferd::monitoring
