#include "monitoring/metrics.h"

#include <charconv>
#include <cmath>

#include "base/status.h"

namespace inferd::monitoring {

void Gauge::Add(double d) {
  double cur = value_.load(std::memory_order_relaxed);
  while (!value_.compare_exchange_weak(cur, cur + d, std::memory_order_relaxed)) {
  }
}

Histogram::Histogram(const std::vector<double>* bounds)
    : bounds_(bounds), buckets_(new std::atomic<uint64_t>[bounds->size() + 1]) {
  for (size_t i = 0; i <= bounds_->size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_->size() && v > (*bounds_)[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  double cur = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(cur, cur + v, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  uint64_t acc = 0;
  for (size_t i = 0; i <= bounds_->size(); ++i) {
    acc += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(acc);
  }
  s.count = acc;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

const std::vector<double>& DefaultLatencyBuckets() {
  static const std::vector<double> b = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                        0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                        0.5,     1,      2.5,     5,      10};
  return b;
}

namespace internal {

void AppendEscapedLabelValue(std::string* out, const std::string& v) {
  for (char c : v) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '"') {
      *out += "\\\"";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      *out += c;
    }
  }
}

void AppendHeader(std::string* out, const std::string& name, const std::string& help,
                  const char* type) {
  *out += "# HELP " + name + " ";
  for (char c : help) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else {
      *out += c;
    }
  }
  *out += "\n# TYPE " + name + " " + type + "\n";
}

void AppendLabels(std::string* out, const std::vector<std::string>& names,
                  const LabelValues& values, const std::string& extra_name,
                  const std::string& extra_value) {
  if (names.empty() && extra_name.empty()) return;
  *out += '{';
  bool first = true;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!first) *out += ',';
    first = false;
    *out += names[i] + "=\"";
    AppendEscapedLabelValue(out, values[i]);
    *out += '"';
  }
  if (!extra_name.empty()) {
    if (!first) *out += ',';
    *out += extra_name + "=\"" + extra_value + "\"";
  }
  *out += '}';
}

void AppendNumber(std::string* out, double v) {
  if (std::isnan(v)) {
    *out += "NaN";
  } else if (std::isinf(v)) {
    *out += v > 0 ? "+Inf" : "-Inf";
  } else {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof(buf), v);
    out->append(buf, r.ptr);
  }
}

}  // namespace internal

namespace {

template <typename Cell>
Cell* MakeCell(const std::vector<double>* bounds) {
  if constexpr (std::is_same_v<Cell, Histogram>) {
    return new Histogram(bounds);
  } else {
    return new Cell();
  }
}

class CallbackGaugeFamily final : public MetricsRegistry::FamilyBase {
 public:
  CallbackGaugeFamily(std::string name, std::string help, std::vector<std::string> labels,
                      std::function<MetricsRegistry::GaugeSamples()> fn)
      : name_(std::move(name)), help_(std::move(help)), labels_(std::move(labels)), fn_(fn) {}
  void Render(std::string* out) const override {
    internal::AppendHeader(out, name_, help_, "gauge");
    for (const auto& [values, v] : fn_()) {
      *out += name_;
      internal::AppendLabels(out, labels_, values);
      *out += ' ';
      internal::AppendNumber(out, v);
      *out += '\n';
    }
  }

 private:
  std::string name_, help_;
  std::vector<std::string> labels_;
  std::function<MetricsRegistry::GaugeSamples()> fn_;
};

}  // namespace

template <typename Cell>
Cell& Family<Cell>::WithLabels(const LabelValues& values) {
  CHECK(values.size() == labels_.size());
  base::MutexLock lock(mu_);
  auto it = live_.find(values);
  if (it != live_.end()) return *it->second;
  cells_.emplace_back(MakeCell<Cell>(&bounds_));
  live_[values] = cells_.back().get();
  return *cells_.back();
}

template <typename Cell>
void Family<Cell>::Remove(const LabelValues& values) {
  base::MutexLock lock(mu_);
  live_.erase(values);
}

template <typename Cell>
void Family<Cell>::Render(std::string* out) const {
  base::MutexLock lock(mu_);
  if constexpr (std::is_same_v<Cell, Counter>) {
    internal::AppendHeader(out, name_, help_, "counter");
    for (const auto& [values, cell] : live_) {
      *out += name_;
      internal::AppendLabels(out, labels_, values);
      *out += ' ' + std::to_string(cell->value()) + '\n';
    }
  } else if constexpr (std::is_same_v<Cell, Gauge>) {
    internal::AppendHeader(out, name_, help_, "gauge");
    for (const auto& [values, cell] : live_) {
      *out += name_;
      internal::AppendLabels(out, labels_, values);
      *out += ' ';
      internal::AppendNumber(out, cell->value());
      *out += '\n';
    }
  } else {
    internal::AppendHeader(out, name_, help_, "histogram");
    for (const auto& [values, cell] : live_) {
      auto snap = cell->Read();
      for (size_t i = 0; i < snap.cumulative.size(); ++i) {
        std::string le = "+Inf";
        if (i < bounds_.size()) {
          le.clear();
          internal::AppendNumber(&le, bounds_[i]);
        }
        *out += name_ + "_bucket";
        internal::AppendLabels(out, labels_, values, "le", le);
        *out += ' ' + std::to_string(snap.cumulative[i]) + '\n';
      }
      *out += name_ + "_sum";
      internal::AppendLabels(out, labels_, values);
      *out += ' ';
      internal::AppendNumber(out, snap.sum);
      *out += '\n' + name_ + "_count";
      internal::AppendLabels(out, labels_, values);
      *out += ' ' + std::to_string(snap.count) + '\n';
    }
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void MetricsRegistry::Add(const std::string& name, std::unique_ptr<FamilyBase> f) {
  base::MutexLock lock(mu_);
  for (const auto& [n, _] : families_) CHECK_MSG(n != name, name);
  families_.emplace_back(name, std::move(f));
}

Family<Counter>& MetricsRegistry::AddCounter(std::string name, std::string help,
                                             std::vector<std::string> labels) {
  auto f = std::make_unique<Family<Counter>>(name, std::move(help), std::move(labels));
  auto* raw = f.get();
  Add(name, std::move(f));
  return *raw;
}

Family<Gauge>& MetricsRegistry::AddGauge(std::string name, std::string help,
                                         std::vector<std::string> labels) {
  auto f = std::make_unique<Family<Gauge>>(name, std::move(help), std::move(labels));
  auto* raw = f.get();
  Add(name, std::move(f));
  return *raw;
}

Family<Histogram>& MetricsRegistry::AddHistogram(std::string name, std::string help,
                                                 std::vector<std::string> labels,
                                                 std::vector<double> bounds) {
  auto f = std::make_unique<Family<Histogram>>(name, std::move(help), std::move(labels),
                                               std::move(bounds));
  auto* raw = f.get();
  Add(name, std::move(f));
  return *raw;
}

void MetricsRegistry::AddCallbackGauge(std::string name, std::string help,
                                       std::vector<std::string> labels,
                                       std::function<GaugeSamples()> fn) {
  Add(name, std::make_unique<CallbackGaugeFamily>(name, std::move(help), std::move(labels),
                                                  std::move(fn)));
}

std::string MetricsRegistry::RenderPrometheus() const {
  std::string out;
  base::MutexLock lock(mu_);
  for (const auto& [_, f] : families_) f->Render(&out);
  return out;
}

}  // namespace inferd::monitoring
