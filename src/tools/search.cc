#include "tools/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <random>
#include <sstream>
#include <thread>

#include "base/file.h"
#include "repository/version_files.h"
#include "tools/local_model.h"
#include "tools/new_version.h"
#include "tools/xgboost_trainer.h"

namespace inferd::tools {

namespace fs = std::filesystem;
using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

// The rows `idx` of `d`.
LabelledData Take(const LabelledData& d, const std::vector<int64_t>& idx) {
  LabelledData s;
  s.features = d.features;
  const int64_t w = static_cast<int64_t>(d.features.size());
  for (int64_t i : idx) {
    s.x.insert(s.x.end(), d.x.begin() + i * w, d.x.begin() + (i + 1) * w);
    s.labels.push_back(d.labels[i]);
  }
  s.rows = s.file_rows = static_cast<int64_t>(idx.size());
  return s;
}

// The rows and labels of `d` as libxgboost takes them.
TrainData ForTraining(const LabelledData& d, std::vector<float>* labels) {
  labels->assign(d.labels.begin(), d.labels.end());
  return {d.x.data(), d.rows, static_cast<int64_t>(d.features.size()), labels->data()};
}

std::string ParamText(const std::map<std::string, double>& p) {
  std::ostringstream out;
  for (const char* k : {"n_estimators", "max_depth", "eta", "subsample", "colsample_bytree",
                        "min_child_weight", "lambda"}) {
    auto it = p.find(k);
    if (it == p.end()) continue;
    out << (out.tellp() > 0 ? " " : "") << k << "=" << it->second;
  }
  return out.str();
}

std::string Num(double v, int digits = 6) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

}  // namespace

StatusOr<SearchReport> Search(const SearchOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  if (o.task != "binary" && o.task != "multiclass" && o.task != "regression") {
    return InvalidArgument("--task must be binary, multiclass or regression");
  }
  if (o.trials < 1) return InvalidArgument("--trials must be >= 1");
  SearchReport rep;
  rep.task = o.task;
  rep.metric = o.metric.empty() ? DefaultMetric(o.task) : o.metric;
  if (!IsMetric(o.task, rep.metric)) {
    return InvalidArgument("'" + rep.metric + "' is not a " + o.task + " metric");
  }
  rep.latency_budget_us = o.latency_budget_us;
  rep.max_size_mb = o.max_size_mb;
  ASSIGN_OR_RETURN(auto data, ReadLabelledCsv({.path = o.data, .label = o.label}));
  int64_t classes = 0;
  for (int64_t r = 0; r < data.rows; ++r) {
    const double y = data.labels[r];
    if (std::isnan(y)) {
      return InvalidArgument(o.data.string() + ": row " + std::to_string(r + 1) + " has no label");
    }
    if (o.task != "regression") {
      if (y < 0 || y != std::floor(y) || y > 1e6 || (o.task == "binary" && y > 1)) {
        return InvalidArgument(o.data.string() + ": row " + std::to_string(r + 1) + " has label " +
                               Num(y) + ": a " + o.task + " label is a class index" +
                               (o.task == "binary" ? " (0 or 1)" : " (0, 1, 2, ...)"));
      }
      classes = std::max<int64_t>(classes, static_cast<int64_t>(y) + 1);
    }
  }
  if (o.task == "multiclass" && classes < 3) {
    return InvalidArgument("multiclass needs at least 3 classes; the labels have " +
                           std::to_string(classes) + " (use --task binary)");
  }
  if (data.rows < 20) return InvalidArgument("search needs at least 20 rows");
  ASSIGN_OR_RETURN(auto trainer, XgboostTrainer::Load());

  // The split.
  std::vector<int64_t> order(data.rows);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 shuffle(o.seed);
  std::shuffle(order.begin(), order.end(), shuffle);
  const int64_t holdout_n = std::max<int64_t>(1, data.rows / 5);
  const int64_t valid_n = std::max<int64_t>(1, (data.rows - holdout_n) / 5);
  std::vector<int64_t> h(order.begin(), order.begin() + holdout_n);
  std::vector<int64_t> v(order.begin() + holdout_n, order.begin() + holdout_n + valid_n);
  std::vector<int64_t> t(order.begin() + holdout_n + valid_n, order.end());
  std::sort(h.begin(), h.end());
  const LabelledData train = Take(data, t), valid = Take(data, v), holdout = Take(data, h);
  std::vector<float> train_y, valid_y;
  const TrainData train_data = ForTraining(train, &train_y);
  const TrainData valid_data = ForTraining(valid, &valid_y);
  rep.train_rows = train.rows;
  rep.valid_rows = valid.rows;
  rep.holdout_rows = holdout_n;

  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::map<std::string, std::string> fixed = {
      {"tree_method", "hist"}, {"nthread", std::to_string(threads)}, {"verbosity", "0"}};
  bool maximize = false;
  if (o.task == "binary") {
    fixed["objective"] = "binary:logistic";
    fixed["eval_metric"] = "auc";
    maximize = true;
  } else if (o.task == "multiclass") {
    fixed["objective"] = "multi:softprob";
    fixed["num_class"] = std::to_string(classes);
    fixed["eval_metric"] = "mlogloss";
  } else {
    fixed["objective"] = "reg:squarederror";
    fixed["eval_metric"] = "rmse";
  }
  std::mt19937_64 rng(o.seed);
  auto uniform = [&](double lo, double hi) {
    return lo + (hi - lo) * (static_cast<double>(rng() >> 11) * 0x1.0p-53);
  };
  auto log_uniform = [&](double lo, double hi) {
    return std::exp(uniform(std::log(lo), std::log(hi)));
  };
  auto round_to = [](double v, double step) { return std::round(v / step) * step; };

  ScratchDirectory scratch("inferd-search");
  if (scratch.path().empty()) return base::Unavailable("cannot make a temporary directory");

  for (int i = 0; i < o.trials; ++i) {
    SearchTrial trial;
    trial.index = i + 1;
    auto& p = trial.params;
    p["n_estimators"] =
        std::round(log_uniform(20, static_cast<double>(std::max<int64_t>(21, o.max_rounds))));
    p["max_depth"] = std::floor(uniform(2, 11));
    p["eta"] = round_to(log_uniform(0.02, 0.5), 0.001);
    p["subsample"] = round_to(uniform(0.5, 1.0), 0.01);
    p["colsample_bytree"] = round_to(uniform(0.5, 1.0), 0.01);
    p["min_child_weight"] = round_to(log_uniform(0.5, 20), 0.01);
    p["lambda"] = round_to(log_uniform(0.1, 10), 0.01);
    if (o.progress) o.progress(i, o.trials, "trial " + std::to_string(i + 1) + ": " + ParamText(p));
    auto params = fixed;
    for (const auto& [k, val] : p) {
      if (k != "n_estimators") params[k] = Num(val, 10);
    }
    params["seed"] = std::to_string(o.seed + static_cast<uint64_t>(i));
    const auto t0 = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(auto trained, trainer->Train(params, train_data, valid_data,
                                                  static_cast<int64_t>(p["n_estimators"]),
                                                  o.early_stopping, maximize));
    trial.train_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    trial.rounds = trained.rounds;
    trial.bytes = static_cast<int64_t>(trained.model_json.size());
    // Served as inferd serves it.
    const fs::path dir = scratch.path() / ("trial" + std::to_string(i + 1));
    RETURN_IF_ERROR(WriteTextFile(dir / "1" / "model.json", trained.model_json));
    ASSIGN_OR_RETURN(auto local, LoadLocalModel({.path = dir, .backends = o.backends}));
    ASSIGN_OR_RETURN(auto e, Evaluate(*local.model, local.config, holdout));
    if (e.task != o.task) {
      return InvalidArgument("the trained model is a " + e.task + " model, not " + o.task);
    }
    auto m = e.metrics.find(rep.metric);
    trial.metric = m == e.metrics.end() ? std::nan("") : m->second;
    ASSIGN_OR_RETURN(auto lat, MeasureLatency(*local.model, holdout, 1, o.latency_seconds));
    trial.latency_us = lat.p50_us;
    trial.feasible = (!o.latency_budget_us || trial.latency_us <= *o.latency_budget_us) &&
                     (!o.max_size_mb || trial.bytes <= *o.max_size_mb * 1e6) &&
                     !std::isnan(trial.metric);
    trial.model_json = std::move(trained.model_json);
    rep.trials.push_back(std::move(trial));
  }
  if (o.progress) o.progress(o.trials, o.trials, "done");
  // The Pareto front: no other trial is at least as good on both and better on one.
  const bool higher = HigherIsBetter(rep.metric);
  auto better = [&](double a, double b) { return higher ? a > b : a < b; };
  for (auto& a : rep.trials) {
    a.pareto = !std::isnan(a.metric);
    for (const auto& b : rep.trials) {
      if (&a == &b || std::isnan(b.metric)) continue;
      const bool no_worse = !better(a.metric, b.metric) && b.latency_us <= a.latency_us;
      const bool strictly = better(b.metric, a.metric) || b.latency_us < a.latency_us;
      if (no_worse && strictly) a.pareto = false;
    }
  }
  for (size_t i = 0; i < rep.trials.size(); ++i) {
    const auto& c = rep.trials[i];
    if (!c.feasible) continue;
    if (!rep.chosen) {
      rep.chosen = i;
      continue;
    }
    const auto& best = rep.trials[*rep.chosen];
    if (better(c.metric, best.metric) ||
        (c.metric == best.metric && c.latency_us < best.latency_us)) {
      rep.chosen = i;
    }
  }
  if (rep.chosen && !o.save_to.empty()) {
    const auto& c = rep.trials[*rep.chosen];
    ASSIGN_OR_RETURN(std::string bytes, base::ReadWholeFile(o.data, "data"));
    std::ostringstream meta;
    meta << "training_data_hash: " << YamlQuoted(repository::Sha256Hex(bytes)) << "\n"
         << "created_at: " << YamlQuoted(UtcTimestamp()) << "\n"
         << "tags: [search]\n"
         << "search_trial: "
         << YamlQuoted(std::to_string(c.index) + " of " + std::to_string(rep.trials.size()) +
                       ", seed " + std::to_string(o.seed))
         << "\n"
         << "search_params: "
         << YamlQuoted(ParamText(c.params) + " rounds=" + std::to_string(c.rounds)) << "\n"
         << "search_data: "
         << YamlQuoted(o.data.filename().string() + " (" + std::to_string(rep.train_rows) +
                       " train, " + std::to_string(rep.valid_rows) + " early stopping, " +
                       std::to_string(rep.holdout_rows) + " held out)")
         << "\n"
         << "metrics:\n"
         << "  " << rep.metric << ": " << Num(c.metric, 9) << "\n"
         << "  latency_us_batch_1: " << Num(c.latency_us, 6) << "\n";
    ASSIGN_OR_RETURN(rep.new_version, WriteNextVersion(o.save_to, {{"model.json", c.model_json},
                                                                   {"metadata.yaml", meta.str()}}));
    rep.new_dir = o.save_to / std::to_string(rep.new_version);
    std::error_code ec;
    if (!fs::exists(o.save_to / "config.yaml", ec)) {
      std::string features = "features: [";
      for (size_t f = 0; f < data.features.size(); ++f) {
        features += (f ? ", " : "") + nlohmann::json(data.features[f]).dump();
      }
      RETURN_IF_ERROR(WriteTextFile(o.save_to / "config.yaml", features + "]\n"));
    }
  }
  if (!o.plot.empty()) RETURN_IF_ERROR(WriteTextFile(o.plot, rep.ParetoSvg()));
  rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return rep;
}

std::string SearchReport::ToText() const {
  std::ostringstream out;
  char line[320];
  out << "search: " << trials.size() << " trials, " << task << ", " << metric << " on "
      << holdout_rows << " held-out rows (" << train_rows << " train, " << valid_rows
      << " early stopping)";
  if (latency_budget_us) out << ", latency budget " << *latency_budget_us << " us";
  if (max_size_mb) out << ", size <= " << *max_size_mb << " MB";
  out << "\n\n";
  std::snprintf(line, sizeof line, "  %5s %10s %10s %9s %7s  %s\n", "trial", metric.c_str(),
                "b1 us", "size KB", "rounds", "parameters");
  out << line;
  std::vector<size_t> idx(trials.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(),
            [&](size_t a, size_t b) { return trials[a].latency_us < trials[b].latency_us; });
  for (size_t i : idx) {
    const auto& t = trials[i];
    std::snprintf(line, sizeof line, "%c %5d %10.6g %10.2f %9.1f %7lld  %s%s%s\n",
                  chosen && *chosen == i ? '*' : ' ', t.index, t.metric, t.latency_us,
                  t.bytes / 1024.0, static_cast<long long>(t.rounds), ParamText(t.params).c_str(),
                  t.pareto ? "  [pareto]" : "", t.feasible ? "" : "  (over budget)");
    out << line;
  }
  out << "\nPareto front (" << metric << " vs batch-1 latency):";
  for (size_t i : idx) {
    if (trials[i].pareto) {
      out << " #" << trials[i].index << " (" << Num(trials[i].metric, 5) << ", "
          << Num(trials[i].latency_us, 3) << " us)";
    }
  }
  out << "\n";
  if (!chosen) {
    out << "no trial meets the latency budget and the size limit\n";
  } else {
    const auto& c = trials[*chosen];
    out << "chosen: trial " << c.index << ": " << metric << " " << Num(c.metric) << ", "
        << Num(c.latency_us, 4) << " us at batch 1, " << Num(c.bytes / 1024.0, 4) << " KB\n";
    if (new_version > 0) {
      out << "written as version " << new_version << " (" << new_dir.string()
          << "), the trial in metadata.yaml\n";
    }
  }
  std::snprintf(line, sizeof line, "%.1f s in all\n", seconds);
  out << line;
  return out.str();
}

std::string SearchReport::ToJson() const {
  nlohmann::json j;
  j["task"] = task;
  j["metric"] = metric;
  j["rows"] = {{"train", train_rows}, {"early_stopping", valid_rows}, {"holdout", holdout_rows}};
  if (latency_budget_us) j["latency_budget_us"] = *latency_budget_us;
  if (max_size_mb) j["max_size_mb"] = *max_size_mb;
  j["trials"] = nlohmann::json::array();
  for (const auto& t : trials) {
    j["trials"].push_back({{"trial", t.index},
                           {"params", t.params},
                           {"rounds", t.rounds},
                           {"metric", t.metric},
                           {"bytes", t.bytes},
                           {"latency_us", t.latency_us},
                           {"train_seconds", t.train_seconds},
                           {"feasible", t.feasible},
                           {"pareto", t.pareto}});
  }
  j["chosen"] = chosen ? nlohmann::json(trials[*chosen].index) : nlohmann::json();
  if (new_version > 0) {
    j["new_version"] = new_version;
    j["new_dir"] = new_dir.string();
  }
  j["seconds"] = seconds;
  return j.dump();
}

std::string SearchReport::ParetoSvg() const {
  constexpr double W = 760, H = 480, L = 80, R = 30, T = 50, B = 60;
  double xmax = 0, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& t : trials) {
    if (std::isnan(t.metric)) continue;
    xmax = std::max(xmax, t.latency_us);
    ymin = std::min(ymin, t.metric);
    ymax = std::max(ymax, t.metric);
  }
  if (latency_budget_us) xmax = std::max(xmax, *latency_budget_us);
  if (!(xmax > 0)) xmax = 1;
  xmax *= 1.1;
  if (!std::isfinite(ymin)) ymin = 0, ymax = 1;
  if (ymax - ymin < 1e-9) ymin -= 0.5, ymax += 0.5;
  const double pad = (ymax - ymin) * 0.08;
  ymin -= pad;
  ymax += pad;
  auto X = [&](double v) { return L + (W - L - R) * v / xmax; };
  auto Y = [&](double v) { return H - B - (H - T - B) * (v - ymin) / (ymax - ymin); };
  std::ostringstream s;
  s << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << W << "\" height=\"" << H
    << "\" viewBox=\"0 0 " << W << " " << H << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
    << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
    << "<text x=\"" << W / 2
    << "\" y=\"24\" text-anchor=\"middle\" font-size=\"15\">inferd search: " << Escape(metric)
    << " vs batch-1 latency (" << trials.size() << " trials)</text>\n";
  // Axes and ticks.
  s << "<line x1=\"" << L << "\" y1=\"" << H - B << "\" x2=\"" << W - R << "\" y2=\"" << H - B
    << "\" stroke=\"black\"/>\n<line x1=\"" << L << "\" y1=\"" << T << "\" x2=\"" << L << "\" y2=\""
    << H - B << "\" stroke=\"black\"/>\n";
  for (int k = 0; k <= 5; ++k) {
    const double xv = xmax * k / 5, yv = ymin + (ymax - ymin) * k / 5;
    s << "<text x=\"" << X(xv) << "\" y=\"" << H - B + 18 << "\" text-anchor=\"middle\">"
      << Num(xv, 3) << "</text>\n<text x=\"" << L - 8 << "\" y=\"" << Y(yv) + 4
      << "\" text-anchor=\"end\">" << Num(yv, 4) << "</text>\n";
  }
  s << "<text x=\"" << (L + W - R) / 2 << "\" y=\"" << H - 18
    << "\" text-anchor=\"middle\">batch-1 latency, us (median, in process)</text>\n"
    << "<text transform=\"translate(18," << (T + H - B) / 2
    << ") rotate(-90)\" text-anchor=\"middle\">" << Escape(metric) << " (held out)</text>\n";
  if (latency_budget_us) {
    s << "<line x1=\"" << X(*latency_budget_us) << "\" y1=\"" << T << "\" x2=\""
      << X(*latency_budget_us) << "\" y2=\"" << H - B
      << "\" stroke=\"#c33\" stroke-dasharray=\"6,4\"/>\n<text x=\"" << X(*latency_budget_us) + 4
      << "\" y=\"" << T + 12 << "\" fill=\"#c33\">budget</text>\n";
  }
  // The front, by latency.
  std::vector<const SearchTrial*> front;
  for (const auto& t : trials) {
    if (t.pareto) front.push_back(&t);
  }
  std::sort(front.begin(), front.end(), [](const SearchTrial* a, const SearchTrial* b) {
    return a->latency_us < b->latency_us;
  });
  if (!front.empty()) {
    s << "<polyline fill=\"none\" stroke=\"#2266cc\" stroke-width=\"2\" points=\"";
    for (const auto* t : front) s << X(t->latency_us) << "," << Y(t->metric) << " ";
    s << "\"/>\n";
  }
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    if (std::isnan(t.metric)) continue;
    const bool is_chosen = chosen && *chosen == i;
    s << "<circle cx=\"" << X(t.latency_us) << "\" cy=\"" << Y(t.metric) << "\" r=\""
      << (is_chosen ? 7 : 4) << "\" fill=\""
      << (is_chosen  ? "#d62728"
          : t.pareto ? "#2266cc"
                     : "#999999")
      << "\"><title>trial " << t.index << ": " << Escape(metric) << " " << Num(t.metric) << ", "
      << Num(t.latency_us, 4) << " us, " << Escape(ParamText(t.params)) << "</title></circle>\n";
  }
  s << "<text x=\"" << W - R << "\" y=\"" << T - 10
    << "\" text-anchor=\"end\"><tspan fill=\"#2266cc\">&#9679; Pareto front</tspan>"
       "  <tspan fill=\"#999999\">&#9679; other trials</tspan>"
       "  <tspan fill=\"#d62728\">&#9679; chosen</tspan></text>\n";
  s << "</svg>\n";
  return s.str();
}

}  // namespace inferd::tools
