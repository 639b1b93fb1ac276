#include "tools/drift_report.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "monitoring/drift.h"
#include "tools/profile.h"

namespace inferd::tools {

using nlohmann::json;

namespace {

// The reference's and the current data's distribution of one column, for the charts.
json Distributions(const monitoring::FeatureProfile& ref, const monitoring::FeatureProfile& cur) {
  if (ref.kind == monitoring::FeatureProfile::Kind::kNumeric) {
    std::vector<double> counts(ref.edges.size() + 1);
    for (double v : cur.sample) counts[monitoring::BinOf(ref.edges, v)] += 1;
    return {{"edges", ref.edges},
            {"reference", ref.shares},
            {"current", monitoring::Shares(counts)},
            {"reference_mean", ref.mean},
            {"current_mean", cur.mean}};
  }
  std::map<std::string, std::pair<double, double>> both;
  double rn = 0, cn = 0;
  for (const auto& [k, v] : ref.categories) rn += static_cast<double>(v);
  for (const auto& [k, v] : cur.categories) cn += static_cast<double>(v);
  for (const auto& [k, v] : ref.categories) both[k].first = rn ? v / rn : 0;
  for (const auto& [k, v] : cur.categories) both[k].second = cn ? v / cn : 0;
  json categories = json::array(), r = json::array(), c = json::array();
  for (const auto& [k, v] : both) {
    categories.push_back(k);
    r.push_back(v.first);
    c.push_back(v.second);
  }
  return {{"categories", categories}, {"reference", r}, {"current", c}};
}

}  // namespace

base::StatusOr<std::string> BuildDriftReport(const DriftReportOptions& o) {
  ProfileToolOptions po;
  po.label = o.label;
  po.features = o.features;
  po.categorical = o.categorical;
  po.model = o.model;
  po.backends = o.backends;
  po.profile.sample_size = 10'000'000;  // every value: exact tests
  po.data = o.reference;
  ASSIGN_OR_RETURN(auto ref, BuildProfile(po));
  // The current data, read with the reference's columns and kinds.
  po.data = o.current;
  po.features.clear();
  for (const auto& f : ref.features) {
    po.features.push_back(f.name);
    if (f.kind == monitoring::FeatureProfile::Kind::kCategorical) po.categorical.push_back(f.name);
  }
  if (ref.label && ref.label->kind == monitoring::FeatureProfile::Kind::kCategorical) {
    po.categorical.push_back(ref.label->name);
  }
  ASSIGN_OR_RETURN(auto cur, BuildProfile(po));
  for (size_t i = 0; i < ref.features.size(); ++i) {
    if (cur.features[i].kind != ref.features[i].kind) {
      return base::InvalidArgument("column '" + ref.features[i].name +
                                   "' holds text in one file and numbers in the other");
    }
  }
  const auto window = monitoring::DriftAccumulator::FromProfiles(&ref, cur);
  const auto drift = monitoring::EvaluateDrift(ref, window, o.settings);
  json report = {{"reference", {{"file", o.reference.filename().string()}, {"rows", ref.rows}}},
                 {"current", {{"file", o.current.filename().string()}, {"rows", cur.rows}}},
                 {"settings",
                  {{"numeric_method", o.settings.numeric_method},
                   {"categorical_method", o.settings.categorical_method},
                   {"p_value", o.settings.p_value},
                   {"correction", o.settings.correction},
                   {"dataset_share", o.settings.dataset_share}}}};
  json d = json::parse(monitoring::DriftReportToJson(drift));
  for (size_t i = 0; i < d["features"].size(); ++i) {
    d["features"][i]["type"] = ref.features[i].kind == monitoring::FeatureProfile::Kind::kNumeric
                                   ? "numeric"
                                   : "categorical";
    d["features"][i]["distributions"] = Distributions(ref.features[i], cur.features[i]);
    d["features"][i]["missing_share"] = cur.features[i].MissingShare();
  }
  report["drift"] = std::move(d);
  if (ref.label && cur.label) {
    monitoring::Profile lp;
    lp.features = {*ref.label};
    monitoring::Profile lc;
    lc.features = {*cur.label};
    lc.rows = cur.rows;
    const auto lw = monitoring::DriftAccumulator::FromProfiles(&lp, lc);
    json l =
        json::parse(monitoring::DriftReportToJson(monitoring::EvaluateDrift(lp, lw, o.settings)));
    report["label_drift"] = l["features"][0];
  }
  json quality = json::object();
  if (!ref.quality_json.empty()) quality["reference"] = json::parse(ref.quality_json);
  if (!cur.quality_json.empty()) quality["current"] = json::parse(cur.quality_json);
  if (!quality.empty()) report["quality"] = std::move(quality);
  return report.dump();
}

namespace {

std::string Escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Num(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

// Paired bars: reference (grey) and current (blue) share per bin or category.
std::string Bars(const json& dist) {
  const auto& r = dist["reference"];
  const auto& c = dist["current"];
  const size_t n = std::max(r.size(), c.size());
  if (n == 0) return "";
  double top = 1e-9;
  for (const auto& v : r) top = std::max(top, v.get<double>());
  for (const auto& v : c) top = std::max(top, v.get<double>());
  const double w = 240.0 / static_cast<double>(n);
  std::string svg = "<svg class=\"bars\" width=\"250\" height=\"60\" role=\"img\">";
  for (size_t i = 0; i < n; ++i) {
    const double rv = i < r.size() ? r[i].get<double>() : 0,
                 cv = i < c.size() ? c[i].get<double>() : 0;
    const double rh = 55 * rv / top, ch = 55 * cv / top;
    svg += "<rect class=\"ref\" x=\"" + Num(5 + i * w) + "\" y=\"" + Num(58 - rh) + "\" width=\"" +
           Num(w / 2 - 0.5) + "\" height=\"" + Num(rh) + "\"/>";
    svg += "<rect class=\"cur\" x=\"" + Num(5 + i * w + w / 2) + "\" y=\"" + Num(58 - ch) +
           "\" width=\"" + Num(w / 2 - 0.5) + "\" height=\"" + Num(ch) + "\"/>";
  }
  return svg + "</svg>";
}

}  // namespace

std::string RenderDriftReportHtml(const std::string& report_json) {
  const json r = json::parse(report_json);
  const json& d = r["drift"];
  std::string h =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>inferd drift "
      "report</title><style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}"
      "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
      "text-align:left}th{background:#f3f3f3}.drift{background:#fde2e2}.ok{background:#e3f6e3}"
      ".ref{fill:#999}.cur{fill:#2b6cb0}.summary{font-size:16px}</style></head><body>";
  h += "<h1>Drift report</h1><p class=\"summary\" id=\"summary\">Reference <b>" +
       Escape(r["reference"]["file"].get<std::string>()) + "</b> (" +
       std::to_string(r["reference"]["rows"].get<uint64_t>()) + " rows) against current <b>" +
       Escape(r["current"]["file"].get<std::string>()) + "</b> (" +
       std::to_string(r["current"]["rows"].get<uint64_t>()) + " rows): <b id=\"verdict\">" +
       (d["dataset_drift"].get<bool>() ? "dataset drift" : "no dataset drift") + "</b>, " +
       Num(100 * d["drifted_share"].get<double>(), 3) + "% of the features drifted.</p>";
  // Drifted first, then by statistic.
  std::vector<json> features(d["features"].begin(), d["features"].end());
  std::stable_sort(features.begin(), features.end(), [](const json& a, const json& b) {
    if (a["drifted"] != b["drifted"]) return a["drifted"].get<bool>();
    return a["statistic"].get<double>() > b["statistic"].get<double>();
  });
  h += "<table id=\"features\"><tr><th>feature</th><th>type</th><th>test</th><th>statistic</th>"
       "<th>p-value</th><th>threshold</th><th>drift</th><th>reference (grey) vs current "
       "(blue)</th></tr>";
  for (const auto& f : features) {
    const bool drifted = f["drifted"].get<bool>();
    h += std::string("<tr class=\"") + (drifted ? "drift" : "ok") + "\"><td>" +
         Escape(f["name"].get<std::string>()) + "</td><td>" + f["type"].get<std::string>() +
         "</td><td>" + f["method"].get<std::string>() + "</td><td>" +
         Num(f["statistic"].get<double>()) + "</td><td>" +
         (f["p_value"].is_null() ? "" : Num(f["p_value"].get<double>())) + "</td><td>" +
         Num(f["threshold"].get<double>()) + "</td><td>" + (drifted ? "yes" : "no") + "</td><td>" +
         Bars(f["distributions"]) + "</td></tr>";
  }
  h += "</table>";
  if (r.contains("quality")) {
    h += "<h2>Quality</h2><table id=\"quality\"><tr><th>metric</th><th>reference</th>"
         "<th>current</th></tr>";
    const json& q = r["quality"];
    for (const char* m :
         {"count", "accuracy", "f1_macro", "roc_auc", "log_loss", "mae", "rmse", "r2", "mape"}) {
      auto cell = [&](const char* side) -> std::string {
        if (!q.contains(side) || !q[side].contains(m) || !q[side][m].is_number()) return "";
        return Num(q[side][m].get<double>());
      };
      if (cell("reference").empty() && cell("current").empty()) continue;
      h += std::string("<tr><td>") + m + "</td><td>" + cell("reference") + "</td><td>" +
           cell("current") + "</td></tr>";
    }
    h += "</table>";
  }
  // The data itself, for scripts and tools ("</" cannot end the element early).
  std::string data = report_json;
  for (size_t at = 0; (at = data.find("</", at)) != std::string::npos; at += 3) {
    data.replace(at, 2, "<\\/");
  }
  h += "<script type=\"application/json\" id=\"report\">" + data + "</script></body></html>\n";
  return h;
}

}  // namespace inferd::tools
