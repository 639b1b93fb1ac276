#include "config/model_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "base/logging.h"
#include "config/triton_config.h"

namespace inferd::config {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

std::vector<int64_t> VersionPolicy::Select(std::vector<int64_t> available) const {
  std::sort(available.begin(), available.end());
  std::vector<int64_t> out;
  switch (kind) {
    case Kind::kAll:
      out = available;
      break;
    case Kind::kLatest: {
      size_t n = std::min<size_t>(available.size(), static_cast<size_t>(std::max(latest, 0)));
      out.assign(available.end() - static_cast<std::ptrdiff_t>(n), available.end());
      break;
    }
    case Kind::kSpecific:
      for (int64_t v : available) {
        if (std::find(specific.begin(), specific.end(), v) != specific.end()) out.push_back(v);
      }
      break;
  }
  return out;
}

std::string VersionPolicy::ToString() const {
  switch (kind) {
    case Kind::kAll:
      return "all";
    case Kind::kLatest:
      return "latest " + std::to_string(latest);
    case Kind::kSpecific: {
      std::string s = "specific [";
      for (size_t i = 0; i < specific.size(); ++i)
        s += (i ? "," : "") + std::to_string(specific[i]);
      return s + "]";
    }
  }
  return "?";
}

namespace {

Status CheckKeys(const YAML::Node& node, const std::string& where,
                 std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) return InvalidArgument(where + " must be a mapping");
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return InvalidArgument("unknown key '" + key + "' in " + where + " (known: " + list + ")");
    }
  }
  return Status::Ok();
}

StatusOr<TensorSpec> ParseTensorSpec(const YAML::Node& n, const std::string& where) {
  RETURN_IF_ERROR(CheckKeys(n, where, {"name", "datatype", "shape", "label_filename"}));
  TensorSpec spec;
  if (!n["name"]) return InvalidArgument(where + ": missing 'name'");
  spec.name = n["name"].as<std::string>();
  if (n["datatype"]) {
    auto dt = tensor::DataTypeFromName(n["datatype"].as<std::string>());
    if (!dt) {
      return InvalidArgument(where + ": unknown datatype '" + n["datatype"].as<std::string>() +
                             "'");
    }
    spec.dtype = *dt;
  }
  if (n["shape"]) {
    if (!n["shape"].IsSequence()) return InvalidArgument(where + ": 'shape' must be a list");
    for (const auto& d : n["shape"]) spec.shape.push_back(d.as<int64_t>());
  }
  if (n["label_filename"]) {
    if (where.rfind("outputs", 0) != 0)
      return InvalidArgument(where + ": label_filename is for outputs");
    spec.label_filename = n["label_filename"].as<std::string>();
  }
  return spec;
}

Status ParseMonitoring(const YAML::Node& m, MonitoringConfig* out) {
  MonitoringConfig& c = *out;
  if (m.IsScalar()) {
    c.enabled = m.as<bool>();
    return Status::Ok();
  }
  if (!m.IsMap()) return InvalidArgument("monitoring must be true, false or a mapping");
  RETURN_IF_ERROR(
      CheckKeys(m, "monitoring",
                {"enabled", "log_sample_rate", "log_inputs", "retention_s", "max_records",
                 "bucket_s", "windows_s", "task", "classes", "drift", "alerts", "webhook"}));
  c.enabled = m["enabled"] ? m["enabled"].as<bool>() : true;
  if (m["log_sample_rate"]) c.log_sample_rate = m["log_sample_rate"].as<double>();
  if (!(c.log_sample_rate >= 0 && c.log_sample_rate <= 1)) {
    return InvalidArgument("monitoring.log_sample_rate must be between 0 and 1");
  }
  if (m["log_inputs"]) c.log_inputs = m["log_inputs"].as<bool>();
  if (m["retention_s"]) c.retention_s = m["retention_s"].as<int64_t>();
  if (m["max_records"]) c.max_records = m["max_records"].as<int64_t>();
  if (m["bucket_s"]) c.bucket_s = m["bucket_s"].as<int64_t>();
  if (c.retention_s < 1 || c.max_records < 1 || c.bucket_s < 1) {
    return InvalidArgument("monitoring: retention_s, max_records and bucket_s must be >= 1");
  }
  if (const auto& w = m["windows_s"]) {
    if (!w.IsSequence() || w.size() == 0) {
      return InvalidArgument("monitoring.windows_s must be a list of seconds");
    }
    c.windows_s.clear();
    for (const auto& v : w) {
      const int64_t s = v.as<int64_t>();
      if (s < c.bucket_s) {
        return InvalidArgument("monitoring.windows_s: " + std::to_string(s) +
                               " is shorter than bucket_s " + std::to_string(c.bucket_s));
      }
      c.windows_s.push_back(s);
    }
  }
  if (m["task"]) {
    c.task = m["task"].as<std::string>();
    if (c.task != "auto" && c.task != "binary" && c.task != "multiclass" &&
        c.task != "regression") {
      return InvalidArgument("monitoring.task must be auto, binary, multiclass or regression");
    }
  }
  if (m["webhook"]) {
    c.webhook = m["webhook"].as<std::string>();
    if (c.webhook.rfind("http://", 0) != 0) {
      return InvalidArgument("monitoring.webhook must be an http:// URL");
    }
  }
  if (const auto& alerts = m["alerts"]) {
    if (!alerts.IsSequence()) return InvalidArgument("monitoring.alerts must be a list of rules");
    static const std::set<std::string> kMetrics = {
        "accuracy", "f1_macro", "roc_auc", "log_loss", "precision_macro",     "recall_macro",
        "mae",      "rmse",     "mape",    "r2",       "dataset_drift_share", "drift_statistic"};
    std::set<std::string> names;
    for (size_t i = 0; i < alerts.size(); ++i) {
      const auto& a = alerts[i];
      const std::string where = "monitoring.alerts[" + std::to_string(i) + "]";
      if (!a.IsMap()) return InvalidArgument(where + " must be a mapping");
      RETURN_IF_ERROR(CheckKeys(
          a, where, {"name", "metric", "feature", "window_s", "above", "below", "for_s"}));
      MonitoringConfig::AlertRule r;
      if (!a["name"] || !a["metric"]) return InvalidArgument(where + " needs a name and a metric");
      r.name = a["name"].as<std::string>();
      r.metric = a["metric"].as<std::string>();
      if (!kMetrics.contains(r.metric)) {
        return InvalidArgument(where + ": unknown metric '" + r.metric +
                               "' (accuracy, f1_macro, roc_auc, log_loss, precision_macro, "
                               "recall_macro, mae, rmse, mape, r2, dataset_drift_share, "
                               "drift_statistic)");
      }
      if (a["feature"]) r.feature = a["feature"].as<std::string>();
      if (r.metric == "drift_statistic" && r.feature.empty()) {
        return InvalidArgument(where + ": drift_statistic needs a feature");
      }
      if (a["window_s"]) {
        r.window_s = a["window_s"].as<int64_t>();
        if (std::find(c.windows_s.begin(), c.windows_s.end(), r.window_s) == c.windows_s.end()) {
          return InvalidArgument(where + ": window_s " + std::to_string(r.window_s) +
                                 " is not one of monitoring.windows_s");
        }
      }
      if (a["above"]) r.above = a["above"].as<double>();
      if (a["below"]) r.below = a["below"].as<double>();
      if (!r.above == !r.below) return InvalidArgument(where + " needs one of above or below");
      if (a["for_s"]) r.for_s = a["for_s"].as<int64_t>();
      if (r.for_s < 0) return InvalidArgument(where + ": for_s must be >= 0");
      if (!names.insert(r.name).second) {
        return InvalidArgument(where + ": another rule is named '" + r.name + "'");
      }
      c.alerts.push_back(std::move(r));
    }
  }
  if (const auto& cl = m["classes"]) {
    if (!cl.IsSequence()) return InvalidArgument("monitoring.classes must be a list of names");
    for (const auto& v : cl) c.classes.push_back(v.as<std::string>());
  }
  if (const auto& d = m["drift"]) {
    auto& dr = c.drift;
    if (d.IsScalar()) {
      dr.enabled = d.as<bool>();
      return Status::Ok();
    }
    if (!d.IsMap()) return InvalidArgument("monitoring.drift must be true, false or a mapping");
    RETURN_IF_ERROR(
        CheckKeys(d, "monitoring.drift",
                  {"enabled", "window_s", "min_rows", "numeric_method", "categorical_method",
                   "p_value", "threshold", "correction", "dataset_share"}));
    dr.enabled = d["enabled"] ? d["enabled"].as<bool>() : true;
    if (d["window_s"]) dr.window_s = d["window_s"].as<int64_t>();
    if (d["min_rows"]) dr.min_rows = d["min_rows"].as<int64_t>();
    if (d["numeric_method"]) dr.numeric_method = d["numeric_method"].as<std::string>();
    if (d["categorical_method"]) dr.categorical_method = d["categorical_method"].as<std::string>();
    if (d["p_value"]) dr.p_value = d["p_value"].as<double>();
    if (d["threshold"]) dr.threshold = d["threshold"].as<double>();
    if (d["correction"]) dr.correction = d["correction"].as<std::string>();
    if (d["dataset_share"]) dr.dataset_share = d["dataset_share"].as<double>();
    const std::set<std::string> numeric = {"auto", "ks", "wasserstein", "psi", "jensenshannon"};
    const std::set<std::string> categorical = {"auto", "chisquare", "z", "jensenshannon"};
    if (!numeric.contains(dr.numeric_method)) {
      return InvalidArgument(
          "monitoring.drift.numeric_method must be auto, ks, wasserstein, psi "
          "or jensenshannon");
    }
    if (!categorical.contains(dr.categorical_method)) {
      return InvalidArgument(
          "monitoring.drift.categorical_method must be auto, chisquare, z or jensenshannon");
    }
    if (dr.correction != "none" && dr.correction != "bonferroni" && dr.correction != "fdr") {
      return InvalidArgument("monitoring.drift.correction must be none, bonferroni or fdr");
    }
    if (dr.window_s < c.bucket_s || dr.min_rows < 1 || !(dr.p_value > 0 && dr.p_value < 1) ||
        !(dr.dataset_share > 0 && dr.dataset_share <= 1) ||
        (dr.threshold && !(*dr.threshold > 0))) {
      return InvalidArgument(
          "monitoring.drift: window_s >= bucket_s, min_rows >= 1, p_value in (0, 1), "
          "dataset_share in (0, 1] and threshold > 0");
    }
  }
  return Status::Ok();
}

using preprocess::FeatureRule;

// One feature's policies (and, in `features`, its rule), set on `r` where the node says.
Status ParseFeaturePolicies(const YAML::Node& n, const std::string& where, FeatureRule* r) {
  if (const auto& m = n["missing"]) {
    std::string how;
    std::optional<double> value;
    if (m.IsScalar()) {
      how = m.as<std::string>();
    } else {
      if (!m.IsMap())
        return InvalidArgument(where + ".missing must be a policy or {impute, value}");
      RETURN_IF_ERROR(CheckKeys(m, where + ".missing", {"impute", "value"}));
      if (!m["impute"]) return InvalidArgument(where + ".missing needs 'impute'");
      how = m["impute"].as<std::string>();
      if (m["value"]) value = m["value"].as<double>();
    }
    using M = FeatureRule::Missing;
    static const std::map<std::string, M> kMissing = {
        {"pass", M::kPass},     {"reject", M::kReject}, {"mean", M::kMean},
        {"median", M::kMedian}, {"mode", M::kMode},     {"constant", M::kConstant}};
    auto it = kMissing.find(how);
    if (it == kMissing.end()) {
      return InvalidArgument(where + ".missing: unknown policy '" + how +
                             "' (pass, reject, mean, median, mode, constant)");
    }
    r->missing = it->second;
    if (r->missing == M::kConstant) {
      if (!value) return InvalidArgument(where + ".missing: impute constant needs a 'value'");
      r->impute = *value;
    } else if (value) {
      return InvalidArgument(where + ".missing: 'value' is for impute: constant");
    }
  }
  if (const auto& o = n["out_of_range"]) {
    const auto how = o.as<std::string>();
    using O = FeatureRule::OutOfRange;
    if (how == "pass") {
      r->out_of_range = O::kPass;
    } else if (how == "clip") {
      r->out_of_range = O::kClip;
    } else if (how == "reject") {
      r->out_of_range = O::kReject;
    } else {
      return InvalidArgument(where + ".out_of_range: unknown policy '" + how +
                             "' (pass, clip, reject)");
    }
  }
  if (const auto& u = n["unseen"]) {
    const auto how = u.as<std::string>();
    if (how == "missing") {
      r->unseen = FeatureRule::Unseen::kMissing;
    } else if (how == "reject") {
      r->unseen = FeatureRule::Unseen::kReject;
    } else {
      return InvalidArgument(where + ".unseen: unknown policy '" + how + "' (missing, reject)");
    }
  }
  if (n["nullable"]) r->nullable = n["nullable"].as<bool>();
  return Status::Ok();
}

// schema: {profile, defaults, features}. Rules come from profile.json when `profile` says so (true:
// <model_dir>/profile.json, or a file name in the model directory), then `defaults` set every
// feature's policies, then each entry of `features` (by name) sets its own.
StatusOr<std::shared_ptr<const preprocess::Schema>> ParseSchema(
    const YAML::Node& n, const std::filesystem::path& model_dir) {
  if (!n.IsMap()) return InvalidArgument("schema must be a mapping {profile, defaults, features}");
  RETURN_IF_ERROR(CheckKeys(n, "schema", {"profile", "defaults", "features"}));
  std::vector<FeatureRule> rules;
  std::optional<monitoring::Profile> profile;
  if (const auto& p = n["profile"]) {
    std::string file = "profile.json";
    bool wanted = true;
    if (p.IsScalar() && (p.as<std::string>() == "true" || p.as<std::string>() == "false")) {
      wanted = p.as<bool>();
    } else {
      file = p.as<std::string>();
      if (file.empty() || file.find('/') != std::string::npos || file == "." || file == "..") {
        return InvalidArgument("schema.profile must be true or a file name in the model directory");
      }
    }
    if (wanted) {
      if (model_dir.empty()) {
        return InvalidArgument("schema.profile: no model directory to read " + file + " from");
      }
      auto loaded = monitoring::Profile::Load(model_dir / file);
      if (!loaded.ok()) return loaded.status().WithContext("schema.profile");
      profile = std::move(loaded).value();
      rules = preprocess::Schema::Proposed(*profile);
    }
  }
  if (const auto& d = n["defaults"]) {
    RETURN_IF_ERROR(
        CheckKeys(d, "schema.defaults", {"missing", "out_of_range", "unseen", "nullable"}));
    FeatureRule defaults;
    RETURN_IF_ERROR(ParseFeaturePolicies(d, "schema.defaults", &defaults));
    for (auto& r : rules) {
      if (d["missing"]) r.missing = defaults.missing, r.impute = defaults.impute;
      if (d["out_of_range"]) r.out_of_range = defaults.out_of_range;
      if (d["unseen"]) r.unseen = defaults.unseen;
      if (d["nullable"]) r.nullable = defaults.nullable;
    }
  }
  if (const auto& fs = n["features"]) {
    if (!fs.IsSequence()) return InvalidArgument("schema.features must be a list of features");
    int i = 0;
    for (const auto& f : fs) {
      std::string where = "schema.features[" + std::to_string(i++) + "]";
      RETURN_IF_ERROR(CheckKeys(f, where,
                                {"name", "type", "min", "max", "categories", "nullable", "missing",
                                 "out_of_range", "unseen"}));
      if (!f["name"]) return InvalidArgument(where + ": missing 'name'");
      const auto name = f["name"].as<std::string>();
      where = "schema feature '" + name + "'";
      auto it =
          std::find_if(rules.begin(), rules.end(), [&](const auto& r) { return r.name == name; });
      if (it == rules.end()) {
        if (profile) {
          return InvalidArgument(where + " is not in profile.json (its features: " + [&] {
            std::string l;
            for (const auto& r : rules) l += (l.empty() ? "" : ", ") + r.name;
            return l;
          }() + ")");
        }
        rules.push_back(FeatureRule{.name = name});
        it = rules.end() - 1;
        if (const auto& d = n["defaults"]) RETURN_IF_ERROR(ParseFeaturePolicies(d, "", &*it));
      }
      FeatureRule& r = *it;
      if (const auto& t = f["type"]) {
        const auto type = t.as<std::string>();
        if (type == "numeric") {
          r.type = FeatureRule::Type::kNumeric;
          r.categories.clear(), r.codes.clear();
        } else if (type == "categorical") {
          r.type = FeatureRule::Type::kCategorical;
          r.min.reset(), r.max.reset();
        } else {
          return InvalidArgument(where + ": unknown type '" + type + "' (numeric, categorical)");
        }
      }
      if (f["min"]) r.min = f["min"].as<double>();
      if (f["max"]) r.max = f["max"].as<double>();
      if (const auto& c = f["categories"]) {
        r.categories.clear(), r.codes.clear();
        if (c.IsSequence()) {
          for (const auto& v : c) r.categories.push_back(v.as<std::string>());
        } else if (c.IsMap()) {
          for (const auto& kv : c) {
            r.categories.push_back(kv.first.as<std::string>());
            r.codes.push_back(kv.second.as<double>());
          }
        } else {
          return InvalidArgument(where +
                                 ": categories must be a list of names or a map of name: code");
        }
        if (!f["type"]) r.type = FeatureRule::Type::kCategorical;
      }
      RETURN_IF_ERROR(ParseFeaturePolicies(f, where, &r));
    }
  }
  if (rules.empty()) {
    return InvalidArgument("schema has no features (give schema.features or schema.profile)");
  }
  ASSIGN_OR_RETURN(auto schema,
                   preprocess::Schema::Make(std::move(rules), profile ? &*profile : nullptr));
  return std::make_shared<const preprocess::Schema>(std::move(schema));
}

StatusOr<ModelConfig> ParseNode(const YAML::Node& root, const std::string& name,
                                const std::filesystem::path& model_dir) {
  ModelConfig cfg;
  cfg.name = name;
  if (!root || root.IsNull()) return cfg;
  RETURN_IF_ERROR(CheckKeys(root, "config",
                            {"name", "backend", "max_batch_size", "version_policy", "inputs",
                             "outputs", "features", "parameters", "dynamic_batching", "instances",
                             "warmup", "rollout", "monitoring", "schema"}));
  if (root["name"] && root["name"].as<std::string>() != name) {
    return InvalidArgument("config name '" + root["name"].as<std::string>() +
                           "' differs from the model directory name '" + name + "'");
  }
  if (root["backend"]) {
    cfg.backend = root["backend"].as<std::string>();
    if (cfg.backend != "auto" && cfg.backend != "forest" && cfg.backend != "onnx") {
      return InvalidArgument("unknown backend '" + cfg.backend + "' (want auto, forest or onnx)");
    }
  }
  if (root["max_batch_size"]) {
    cfg.max_batch_size = root["max_batch_size"].as<int64_t>();
    cfg.max_batch_size_set = true;
    if (cfg.max_batch_size < 0) return InvalidArgument("max_batch_size must be >= 0");
  }
  if (const auto& vp = root["version_policy"]) {
    RETURN_IF_ERROR(CheckKeys(vp, "version_policy", {"latest", "all", "specific"}));
    if (vp.size() != 1) {
      return InvalidArgument("version_policy takes exactly one of latest, all, specific");
    }
    if (vp["latest"]) {
      cfg.version_policy.kind = VersionPolicy::Kind::kLatest;
      cfg.version_policy.latest = vp["latest"].as<int>();
      if (cfg.version_policy.latest < 1)
        return InvalidArgument("version_policy.latest must be >= 1");
    } else if (vp["all"]) {
      cfg.version_policy.kind = VersionPolicy::Kind::kAll;
    } else {
      cfg.version_policy.kind = VersionPolicy::Kind::kSpecific;
      if (!vp["specific"].IsSequence() || vp["specific"].size() == 0) {
        return InvalidArgument("version_policy.specific must be a non-empty list of versions");
      }
      for (const auto& v : vp["specific"]) {
        int64_t ver = v.as<int64_t>();
        if (ver < 1) return InvalidArgument("version_policy.specific: versions are >= 1");
        cfg.version_policy.specific.push_back(ver);
      }
    }
  }
  for (const char* key : {"inputs", "outputs"}) {
    if (!root[key]) continue;
    if (!root[key].IsSequence()) return InvalidArgument(std::string(key) + " must be a list");
    auto& dest = std::string_view(key) == "inputs" ? cfg.inputs : cfg.outputs;
    int i = 0;
    for (const auto& n : root[key]) {
      ASSIGN_OR_RETURN(auto spec,
                       ParseTensorSpec(n, std::string(key) + "[" + std::to_string(i++) + "]"));
      dest.push_back(std::move(spec));
    }
  }
  if (root["features"]) {
    if (!root["features"].IsSequence()) return InvalidArgument("features must be a list of names");
    std::set<std::string> seen;
    for (const auto& f : root["features"]) {
      auto s = f.as<std::string>();
      if (!seen.insert(s).second) return InvalidArgument("features: duplicate name '" + s + "'");
      cfg.features.push_back(s);
    }
  }
  if (const auto& db = root["dynamic_batching"]) {
    if (!db.IsMap()) return InvalidArgument("dynamic_batching must be a mapping");
    RETURN_IF_ERROR(CheckKeys(db, "dynamic_batching",
                              {"max_queue_delay_us", "preferred_batch_sizes", "max_queue_size",
                               "priority_levels", "default_priority_level", "default_timeout_us"}));
    DynamicBatching d;
    if (db["max_queue_delay_us"]) d.max_queue_delay_us = db["max_queue_delay_us"].as<int64_t>();
    if (db["max_queue_size"]) d.max_queue_size = db["max_queue_size"].as<int64_t>();
    if (db["priority_levels"]) d.priority_levels = db["priority_levels"].as<int>();
    if (db["default_priority_level"]) {
      d.default_priority_level = db["default_priority_level"].as<int>();
    }
    if (db["default_timeout_us"]) d.default_timeout_us = db["default_timeout_us"].as<int64_t>();
    if (const auto& p = db["preferred_batch_sizes"]) {
      if (!p.IsSequence()) {
        return InvalidArgument("dynamic_batching.preferred_batch_sizes must be a list");
      }
      for (const auto& v : p) d.preferred_batch_sizes.push_back(v.as<int64_t>());
    }
    if (d.max_queue_delay_us < 0 || d.max_queue_size < 0 || d.default_timeout_us < 0 ||
        d.priority_levels < 0) {
      return InvalidArgument(
          "dynamic_batching: max_queue_delay_us, max_queue_size, default_timeout_us and "
          "priority_levels must be >= 0");
    }
    if (d.priority_levels > 0 && d.default_priority_level == 0) d.default_priority_level = 1;
    if (d.default_priority_level < 0 || d.default_priority_level > d.priority_levels) {
      return InvalidArgument(
          "dynamic_batching.default_priority_level must be between 1 and "
          "priority_levels");
    }
    if (cfg.max_batch_size == 0) {
      return InvalidArgument("dynamic_batching needs max_batch_size > 0");
    }
    for (int64_t b : d.preferred_batch_sizes) {
      if (b < 1 || b > cfg.max_batch_size) {
        return InvalidArgument("dynamic_batching.preferred_batch_sizes: " + std::to_string(b) +
                               " is not between 1 and max_batch_size " +
                               std::to_string(cfg.max_batch_size));
      }
    }
    cfg.dynamic_batching = d;
  }
  if (const auto& r = root["rollout"]) {
    if (!r.IsMap()) return InvalidArgument("rollout must be a mapping");
    RETURN_IF_ERROR(CheckKeys(r, "rollout",
                              {"labels", "weights", "shadow", "auto_rollback", "route_key_input"}));
    if (const auto& k = r["route_key_input"]) {
      cfg.rollout.route_key_input = k.as<std::string>();
      if (cfg.rollout.route_key_input.empty()) {
        return InvalidArgument("rollout.route_key_input must name an input");
      }
    }
    if (const auto& a = r["auto_rollback"]) {
      rollout::AutoRollbackConfig& ar = cfg.auto_rollback;
      if (a.IsScalar()) {
        ar.enabled = a.as<bool>();
      } else {
        if (!a.IsMap())
          return InvalidArgument("rollout.auto_rollback must be true, false or a mapping");
        RETURN_IF_ERROR(
            CheckKeys(a, "rollout.auto_rollback",
                      {"enabled", "window_s", "min_samples", "error_rate_margin", "p99_margin",
                       "p99_min_diff_ms", "quality_margin", "min_feedback", "signals"}));
        ar.enabled = a["enabled"] ? a["enabled"].as<bool>() : true;
        if (a["window_s"]) ar.window = std::chrono::seconds(a["window_s"].as<int64_t>());
        if (a["min_samples"]) ar.min_samples = a["min_samples"].as<int64_t>();
        if (a["error_rate_margin"]) ar.error_rate_margin = a["error_rate_margin"].as<double>();
        if (a["p99_margin"]) ar.p99_margin = a["p99_margin"].as<double>();
        if (a["p99_min_diff_ms"]) ar.p99_min_diff_ms = a["p99_min_diff_ms"].as<double>();
        if (a["quality_margin"]) ar.quality_margin = a["quality_margin"].as<double>();
        if (a["min_feedback"]) ar.min_feedback = a["min_feedback"].as<int64_t>();
        if (const auto& signals = a["signals"]) {
          if (!signals.IsSequence()) {
            return InvalidArgument("rollout.auto_rollback.signals must be a list");
          }
          ar.signals.clear();
          for (const auto& s : signals) ar.signals.push_back(s.as<std::string>());
        }
      }
      if (Status st = rollout::ValidateAutoRollback(ar); !st.ok()) {
        return InvalidArgument("rollout.auto_rollback: " + st.message());
      }
    }
    if (const auto& shadow = r["shadow"]) {
      if (!shadow.IsMap()) {
        return InvalidArgument("rollout.shadow must be {version, percent, tolerance}");
      }
      RETURN_IF_ERROR(CheckKeys(shadow, "rollout.shadow", {"version", "percent", "tolerance"}));
      if (!shadow["version"]) return InvalidArgument("rollout.shadow needs a version");
      cfg.rollout.shadow_version = shadow["version"].as<int64_t>();
      cfg.rollout.shadow_percent = shadow["percent"] ? shadow["percent"].as<int64_t>() : 100;
      if (shadow["tolerance"]) cfg.rollout.shadow_tolerance = shadow["tolerance"].as<double>();
    }
    if (const auto& labels = r["labels"]) {
      if (!labels.IsMap()) {
        return InvalidArgument("rollout.labels must map label names to versions");
      }
      for (const auto& kv : labels) {
        cfg.rollout.labels[kv.first.as<std::string>()] = kv.second.as<int64_t>();
      }
    }
    if (const auto& weights = r["weights"]) {
      if (!weights.IsMap()) {
        return InvalidArgument("rollout.weights must map labels or versions to weights");
      }
      for (const auto& kv : weights) {
        cfg.rollout.weights.emplace_back(kv.first.as<std::string>(), kv.second.as<int64_t>());
      }
    }
    if (Status st = rollout::Validate(cfg.rollout); !st.ok()) {
      return InvalidArgument("rollout: " + st.message());
    }
  }
  if (root["instances"]) {
    cfg.instances = root["instances"].as<int>();
    if (cfg.instances < 1 || cfg.instances > 64) {
      return InvalidArgument("instances must be between 1 and 64");
    }
  }
  if (const auto& m = root["monitoring"]) {
    RETURN_IF_ERROR(ParseMonitoring(m, &cfg.monitoring));
  }
  if (const auto& sc = root["schema"]) {
    ASSIGN_OR_RETURN(cfg.schema, ParseSchema(sc, model_dir));
    // The feature names are the schema's, unless `features` names them (then they must agree).
    std::vector<std::string> names;
    for (const auto& r : cfg.schema->rules()) names.push_back(r.name);
    if (cfg.features.empty()) {
      cfg.features = names;
    } else if (cfg.features != names) {
      return InvalidArgument(
          "features and the schema's features differ (schema: " + cfg.schema->FeatureList() + ")");
    }
  }
  if (const auto& w = root["warmup"]) {
    if (w.IsScalar()) {
      cfg.warmup.enabled = w.as<bool>();
    } else {
      if (!w.IsMap()) return InvalidArgument("warmup must be true, false or a mapping");
      RETURN_IF_ERROR(CheckKeys(w, "warmup", {"batch_sizes", "data"}));
      if (const auto& b = w["batch_sizes"]) {
        if (!b.IsSequence()) return InvalidArgument("warmup.batch_sizes must be a list");
        for (const auto& v : b) {
          const int64_t size = v.as<int64_t>();
          if (size < 1) return InvalidArgument("warmup.batch_sizes must be >= 1");
          cfg.warmup.batch_sizes.push_back(size);
        }
        cfg.warmup.enabled = !cfg.warmup.batch_sizes.empty();
      }
      if (const auto& d = w["data"]) {
        if (!d.IsSequence()) return InvalidArgument("warmup.data must be a list (zero, random)");
        cfg.warmup.zero_data = cfg.warmup.random_data = false;
        for (const auto& v : d) {
          const auto kind = v.as<std::string>();
          if (kind == "zero") {
            cfg.warmup.zero_data = true;
          } else if (kind == "random") {
            cfg.warmup.random_data = true;
          } else {
            return InvalidArgument("warmup.data: unknown kind '" + kind + "' (zero, random)");
          }
        }
      }
    }
  }
  if (root["parameters"]) {
    if (!root["parameters"].IsMap()) return InvalidArgument("parameters must be a mapping");
    for (const auto& kv : root["parameters"]) {
      cfg.parameters[kv.first.as<std::string>()] = kv.second.as<std::string>();
    }
  }
  return cfg;
}

}  // namespace

StatusOr<ModelConfig> ParseModelConfig(std::string_view yaml_text, const std::string& name,
                                       const std::filesystem::path& model_dir) {
  try {
    return ParseNode(YAML::Load(std::string(yaml_text)), name, model_dir);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(std::string("invalid YAML: ") + e.what());
  }
}

namespace {

// Reads the label files the outputs name, from the model directory `dir`.
Status ReadLabels(const std::filesystem::path& dir, ModelConfig* cfg) {
  for (auto& spec : cfg->outputs) {
    if (spec.label_filename.empty()) continue;
    const std::string& file = spec.label_filename;
    if (file.find('/') != std::string::npos || file == "." || file == "..") {
      return InvalidArgument("output '" + spec.name + "': label_filename '" + file +
                             "' must be a file name in the model directory");
    }
    std::ifstream in(dir / file);
    if (!in) {
      return InvalidArgument("output '" + spec.name + "': label file " + (dir / file).string() +
                             " cannot be read");
    }
    spec.labels.clear();
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      spec.labels.push_back(std::move(line));
    }
    while (!spec.labels.empty() && spec.labels.back().empty()) spec.labels.pop_back();
  }
  return Status::Ok();
}

}  // namespace

StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& path, const std::string& name) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return base::NotFound("cannot read " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  StatusOr<ModelConfig> cfg = base::Internal("unparsed");
  if (path.extension() == ".pbtxt") {
    std::vector<std::string> warnings;
    cfg = ParseTritonConfig(ss.str(), name, &warnings);
    for (const auto& w : warnings) LOG_WARN("{}: {}", path.string(), w);
  } else {
    cfg = ParseModelConfig(ss.str(), name, path.parent_path());
  }
  if (cfg.ok()) {
    if (Status st = ReadLabels(path.parent_path(), &*cfg); !st.ok()) cfg = st;
  }
  if (!cfg.ok()) return cfg.status().WithContext(path.string());
  return cfg;
}

}  // namespace inferd::config
