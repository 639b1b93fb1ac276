#include "monitoring/quality.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <nlohmann/json.hpp>

namespace inferd::monitoring {

namespace {

double Ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

ClassMetrics Scores(double tp, double fp, double fn, uint64_t support) {
  ClassMetrics m;
  m.precision = Ratio(tp, tp + fp);
  m.recall = Ratio(tp, tp + fn);
  m.f1 = Ratio(2 * m.precision * m.recall, m.precision + m.recall);
  m.support = support;
  return m;
}

// P(score of a positive > score of a negative), ties counting one half, from matching bins.
std::optional<double> BinnedAuc(std::span<const uint64_t> positives,
                                std::span<const uint64_t> negatives) {
  double pos = 0, neg = 0;
  for (uint64_t v : positives) pos += static_cast<double>(v);
  for (uint64_t v : negatives) neg += static_cast<double>(v);
  if (pos == 0 || neg == 0) return std::nullopt;
  double below = 0, area = 0;
  for (size_t b = 0; b < positives.size(); ++b) {
    area += static_cast<double>(positives[b]) * (below + 0.5 * static_cast<double>(negatives[b]));
    below += static_cast<double>(negatives[b]);
  }
  return area / (pos * neg);
}

}  // namespace

ClassificationCounts::ClassificationCounts(int classes)
    : classes_(classes),
      confusion_(static_cast<size_t>(classes) * classes),
      score_bins_(static_cast<size_t>(classes == 2 ? 2 : 2 * classes) *
                  (classes == 2 ? kBinaryBins : kMulticlassBins)) {}

void ClassificationCounts::Add(int truth, int predicted, std::span<const double> probabilities) {
  if (truth < 0 || truth >= classes_ || predicted < 0 || predicted >= classes_) return;
  ++n_;
  ++confusion_[static_cast<size_t>(truth) * classes_ + predicted];
  if (probabilities.size() != static_cast<size_t>(classes_)) return;
  ++scored_;
  const int bins = Bins();
  auto bin = [&](double p) {
    const double b = std::floor(p * bins);
    return static_cast<size_t>(std::clamp(std::isnan(b) ? 0.0 : b, 0.0, bins - 1.0));
  };
  if (classes_ == 2) {
    ++score_bins_[static_cast<size_t>(truth) * bins + bin(probabilities[1])];
  } else {
    for (int c = 0; c < classes_; ++c) {
      ++score_bins_[static_cast<size_t>(c * 2 + (truth == c)) * bins + bin(probabilities[c])];
    }
  }
  // log_loss: clip to [eps, 1 - eps], renormalize, -log of the truth's.
  constexpr double eps = DBL_EPSILON;
  double sum = 0;
  for (double p : probabilities) sum += std::clamp(p, eps, 1 - eps);
  log_loss_sum_ -= std::log(std::clamp(probabilities[truth], eps, 1 - eps) / sum);
}

base::Status ClassificationCounts::Merge(const ClassificationCounts& other) {
  if (other.classes_ != classes_) {
    return base::InvalidArgument("cannot merge counts of " + std::to_string(other.classes_) +
                                 " classes into counts of " + std::to_string(classes_));
  }
  n_ += other.n_;
  scored_ += other.scored_;
  for (size_t i = 0; i < confusion_.size(); ++i) confusion_[i] += other.confusion_[i];
  for (size_t i = 0; i < score_bins_.size(); ++i) score_bins_[i] += other.score_bins_[i];
  log_loss_sum_ += other.log_loss_sum_;
  return base::Status::Ok();
}

std::string ClassificationCounts::ToJson() const {
  nlohmann::json j = {{"classes", classes_},
                      {"n", n_},
                      {"scored", scored_},
                      {"confusion", confusion_},
                      {"log_loss_sum", log_loss_sum_}};
  // Score bins sparsely: [[index, count], ...].
  nlohmann::json bins = nlohmann::json::array();
  for (size_t i = 0; i < score_bins_.size(); ++i) {
    if (score_bins_[i]) bins.push_back({i, score_bins_[i]});
  }
  j["score_bins"] = std::move(bins);
  return j.dump();
}

base::StatusOr<ClassificationCounts> ClassificationCounts::FromJson(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  try {
    if (!j.is_object()) throw std::invalid_argument("not an object");
    const int classes = j.at("classes").get<int>();
    if (classes < 2 || classes > 100000) throw std::invalid_argument("bad class count");
    ClassificationCounts c(classes);
    c.n_ = j.at("n").get<uint64_t>();
    c.scored_ = j.at("scored").get<uint64_t>();
    c.log_loss_sum_ = j.at("log_loss_sum").get<double>();
    auto confusion = j.at("confusion").get<std::vector<uint64_t>>();
    if (confusion.size() != c.confusion_.size()) throw std::invalid_argument("confusion size");
    c.confusion_ = std::move(confusion);
    for (const auto& e : j.at("score_bins")) {
      const size_t i = e.at(0).get<size_t>();
      if (i >= c.score_bins_.size()) throw std::invalid_argument("score bin out of range");
      c.score_bins_[i] = e.at(1).get<uint64_t>();
    }
    return c;
  } catch (const std::exception& e) {
    return base::InvalidArgument(std::string("classification counts: ") + e.what());
  }
}

ClassificationMetrics ComputeClassification(const ClassificationCounts& c) {
  ClassificationMetrics m;
  const int k = c.classes_;
  m.count = c.n_;
  m.confusion.assign(k, std::vector<uint64_t>(k));
  std::vector<double> truth(k), predicted(k);
  double correct = 0;
  for (int t = 0; t < k; ++t) {
    for (int p = 0; p < k; ++p) {
      const uint64_t v = c.confusion_[static_cast<size_t>(t) * k + p];
      m.confusion[t][p] = v;
      truth[t] += static_cast<double>(v);
      predicted[p] += static_cast<double>(v);
      if (t == p) correct += static_cast<double>(v);
    }
  }
  if (c.n_ == 0) return m;
  const double n = static_cast<double>(c.n_);
  m.accuracy = correct / n;
  double sum_p = 0, sum_r = 0, sum_f = 0, w_p = 0, w_r = 0, w_f = 0;
  for (int cls = 0; cls < k; ++cls) {
    if (truth[cls] == 0 && predicted[cls] == 0) continue;
    const double tp = static_cast<double>(m.confusion[cls][cls]);
    ClassMetrics s =
        Scores(tp, predicted[cls] - tp, truth[cls] - tp, static_cast<uint64_t>(truth[cls]));
    m.classes.push_back(cls);
    m.per_class.push_back(s);
    sum_p += s.precision;
    sum_r += s.recall;
    sum_f += s.f1;
    w_p += s.precision * truth[cls];
    w_r += s.recall * truth[cls];
    w_f += s.f1 * truth[cls];
  }
  const double present = static_cast<double>(m.classes.size());
  m.macro = {sum_p / present, sum_r / present, sum_f / present, c.n_};
  m.weighted = {w_p / n, w_r / n, w_f / n, c.n_};
  m.micro = {m.accuracy, m.accuracy, m.accuracy, c.n_};
  if (c.scored_ > 0) m.log_loss = c.log_loss_sum_ / static_cast<double>(c.scored_);
  const size_t bins = static_cast<size_t>(c.Bins());
  std::span<const uint64_t> all(c.score_bins_);
  if (k == 2) {
    m.roc_auc = BinnedAuc(all.subspan(bins, bins), all.subspan(0, bins));
  } else {
    double sum = 0;
    bool defined = true;
    for (int cls = 0; cls < k && defined; ++cls) {
      auto auc =
          BinnedAuc(all.subspan((cls * 2 + 1) * bins, bins), all.subspan(cls * 2 * bins, bins));
      if (!auc)
        defined = false;
      else
        sum += *auc;
    }
    if (defined) m.roc_auc = sum / k;
  }
  return m;
}

void RegressionCounts::Add(double truth, double prediction) {
  const double err = prediction - truth;
  ++n_;
  sum_abs_ += std::abs(err);
  sum_sq_ += err * err;
  sum_ape_ += std::abs(err) / std::max(std::abs(truth), DBL_EPSILON);
  sum_err_ += err;
  const double delta = truth - mean_y_;
  mean_y_ += delta / static_cast<double>(n_);
  m2_y_ += delta * (truth - mean_y_);
}

void RegressionCounts::Merge(const RegressionCounts& o) {
  if (o.n_ == 0) return;
  const double n = static_cast<double>(n_), m = static_cast<double>(o.n_);
  const double delta = o.mean_y_ - mean_y_;
  m2_y_ += o.m2_y_ + delta * delta * n * m / (n + m);
  mean_y_ += delta * m / (n + m);
  n_ += o.n_;
  sum_abs_ += o.sum_abs_;
  sum_sq_ += o.sum_sq_;
  sum_ape_ += o.sum_ape_;
  sum_err_ += o.sum_err_;
}

std::string RegressionCounts::ToJson() const {
  return nlohmann::json({{"n", n_},
                         {"sum_abs", sum_abs_},
                         {"sum_sq", sum_sq_},
                         {"sum_ape", sum_ape_},
                         {"sum_err", sum_err_},
                         {"mean_y", mean_y_},
                         {"m2_y", m2_y_}})
      .dump();
}

base::StatusOr<RegressionCounts> RegressionCounts::FromJson(std::string_view text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  try {
    if (!j.is_object()) throw std::invalid_argument("not an object");
    RegressionCounts c;
    c.n_ = j.at("n").get<uint64_t>();
    c.sum_abs_ = j.at("sum_abs").get<double>();
    c.sum_sq_ = j.at("sum_sq").get<double>();
    c.sum_ape_ = j.at("sum_ape").get<double>();
    c.sum_err_ = j.at("sum_err").get<double>();
    c.mean_y_ = j.at("mean_y").get<double>();
    c.m2_y_ = j.at("m2_y").get<double>();
    return c;
  } catch (const std::exception& e) {
    return base::InvalidArgument(std::string("regression counts: ") + e.what());
  }
}

RegressionMetrics ComputeRegression(const RegressionCounts& c) {
  RegressionMetrics m;
  m.count = c.n_;
  if (c.n_ == 0) return m;
  const double n = static_cast<double>(c.n_);
  m.mae = c.sum_abs_ / n;
  m.rmse = std::sqrt(c.sum_sq_ / n);
  m.mape = c.sum_ape_ / n;
  m.mean_error = c.sum_err_ / n;
  if (c.m2_y_ > 0) {
    m.r2 = 1 - c.sum_sq_ / c.m2_y_;
  } else {
    m.r2 = c.sum_sq_ == 0 ? 1.0 : 0.0;
  }
  return m;
}

namespace {
nlohmann::json ClassMetricsJson(const ClassMetrics& m) {
  return {{"precision", m.precision}, {"recall", m.recall}, {"f1", m.f1}, {"support", m.support}};
}

}  // namespace

std::string MetricsJson(const ClassificationMetrics& m, const std::vector<std::string>& names) {
  nlohmann::json per_class = nlohmann::json::object();
  for (size_t i = 0; i < m.classes.size(); ++i) {
    const int c = m.classes[i];
    const std::string name = static_cast<size_t>(c) < names.size() ? names[c] : std::to_string(c);
    per_class[name] = ClassMetricsJson(m.per_class[i]);
  }
  nlohmann::json j = {{"count", m.count},
                      {"accuracy", m.accuracy},
                      {"precision_macro", m.macro.precision},
                      {"recall_macro", m.macro.recall},
                      {"f1_macro", m.macro.f1},
                      {"precision_micro", m.micro.precision},
                      {"recall_micro", m.micro.recall},
                      {"f1_micro", m.micro.f1},
                      {"precision_weighted", m.weighted.precision},
                      {"recall_weighted", m.weighted.recall},
                      {"f1_weighted", m.weighted.f1},
                      {"per_class", std::move(per_class)},
                      {"confusion", m.confusion}};
  j["roc_auc"] = m.roc_auc ? nlohmann::json(*m.roc_auc) : nlohmann::json(nullptr);
  j["log_loss"] = m.log_loss ? nlohmann::json(*m.log_loss) : nlohmann::json(nullptr);
  return j.dump();
}

std::string MetricsJson(const RegressionMetrics& m) {
  return nlohmann::json{{"count", m.count}, {"mae", m.mae}, {"rmse", m.rmse},
                        {"mape", m.mape},   {"r2", m.r2},   {"mean_error", m.mean_error}}
      .dump();
}

}  // namespace inferd::monitoring
