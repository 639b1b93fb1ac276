#include "tools/forest_optimize.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>

#include "backends/forest/model_document.h"
#include "backends/forest/xgboost_model.h"
#include "base/file.h"
#include "monitoring/quality.h"

namespace inferd::tools {

using backends::forest::ModelJson;
using backends::forest::TreeEnsemble;
using base::InvalidArgument;
using base::StatusOr;

namespace {

constexpr int64_t kRootParent = 2147483647;  // XGBoost's "no parent"

int64_t IntOf(const ModelJson& v) {
  if (v.is_string()) return std::stoll(v.get<std::string>());
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  if (v.is_number_float()) return static_cast<int64_t>(v.get<float>());
  return v.get<int64_t>();
}

// `value` as `like` stores numbers: a string ("300") or a number.
ModelJson IntLike(const ModelJson& like, int64_t value) {
  if (like.is_string()) return ModelJson(std::to_string(value));
  return ModelJson(value);
}

}  // namespace

struct ForestOptimizer::Impl {
  ModelJson doc;
  backends::forest::XgboostModel model;
  int64_t groups = 1, round_size = 1, rounds = 0, depth = 0;
  std::vector<std::vector<float>> cover;  // per tree, per node: sum_hessian (1 when absent)

  ModelJson& Trees(ModelJson& d) const {
    return d["learner"]["gradient_booster"]["model"]["trees"];
  }

  // The cover-weighted mean of the leaves under `node` of tree t (as trained).
  std::pair<double, double> LeafSums(size_t t, int32_t node) const {
    const auto* nodes = model.forest.nodes.data() + model.forest.trees[t].first_node;
    if (nodes[node].is_leaf()) {
      const double c = cover[t][node] > 0 ? cover[t][node] : 1e-12;
      return {nodes[node].value * c, c};
    }
    auto l = LeafSums(t, nodes[node].left);
    auto r = LeafSums(t, nodes[node].right);
    return {l.first + r.first, l.second + r.second};
  }
  float CappedValue(size_t t, int32_t node) const {
    auto [vc, c] = LeafSums(t, node);
    return static_cast<float>(vc / c);
  }

  // The model with every node at depth `cap` a leaf (0: as trained).
  TreeEnsemble Capped(int64_t cap) const {
    TreeEnsemble e = model.forest;
    if (cap <= 0) return e;
    for (size_t t = 0; t < e.trees.size(); ++t) {
      auto* nodes = e.nodes.data() + e.trees[t].first_node;
      std::vector<std::pair<int32_t, int64_t>> stack = {{0, 0}};
      while (!stack.empty()) {
        auto [n, d] = stack.back();
        stack.pop_back();
        if (nodes[n].is_leaf()) continue;
        if (d == cap) {
          nodes[n].value = CappedValue(t, n);
          nodes[n].left = nodes[n].right = -1;
          nodes[n].category_set = -1;
          continue;
        }
        stack.push_back({nodes[n].left, d + 1});
        stack.push_back({nodes[n].right, d + 1});
      }
    }
    return e;
  }

  // The metric of margins [rows, groups] against `labels`.
  double MetricOf(const std::vector<float>& margins, int64_t rows,
                  const std::vector<double>& labels, const std::string& task,
                  const std::string& metric) const {
    std::vector<float> v = margins;
    auto transform = model.objective.transform;
    if (transform == backends::forest::PredTransform::kArgmax) {
      transform = backends::forest::PredTransform::kSoftmax;
    }
    backends::forest::ApplyTransform(transform, rows, groups, v);
    std::map<std::string, double> m;
    if (task == "regression") {
      monitoring::RegressionCounts c;
      for (int64_t r = 0; r < rows; ++r) {
        if (!std::isnan(labels[r])) c.Add(labels[r], v[r * groups]);
      }
      m = MetricMap(monitoring::ComputeRegression(c));
    } else {
      const int classes = groups == 1 ? 2 : static_cast<int>(groups);
      monitoring::ClassificationCounts c(classes);
      std::vector<double> p(classes);
      for (int64_t r = 0; r < rows; ++r) {
        if (std::isnan(labels[r])) continue;
        if (groups == 1) {
          p = {1.0 - v[r], static_cast<double>(v[r])};
        } else {
          for (int k = 0; k < classes; ++k) p[k] = v[r * groups + k];
        }
        const int predicted = static_cast<int>(std::max_element(p.begin(), p.end()) - p.begin());
        c.Add(static_cast<int>(labels[r]), predicted, p);
      }
      m = MetricMap(monitoring::ComputeClassification(c), classes);
    }
    auto it = m.find(metric);
    return it == m.end() ? std::nan("") : it->second;
  }

  // Tree `t` of the document rebuilt: nodes at depth `cap` (0: none) become leaves of their
  // cover-weighted mean, equal sibling leaves merge, nodes are renumbered breadth first. With
  // `root_value`, the tree is a single leaf of that value.
  ModelJson Rebuild(size_t t, int64_t cap, std::optional<float> root_value, int64_t id,
                    int64_t* merged, int64_t* nodes_out, int64_t* depth_out) const {
    const ModelJson& in = Trees(const_cast<ModelJson&>(doc))[t];
    const auto* nodes = model.forest.nodes.data() + model.forest.trees[t].first_node;
    const size_t n = model.forest.trees[t].num_nodes;
    std::vector<uint8_t> leaf(n, 0);
    std::vector<float> value(n, 0), cov(n, 0);
    std::vector<int64_t> depth(n, 0);
    std::function<void(int32_t, int64_t)> visit = [&](int32_t i, int64_t d) {
      depth[i] = d;
      if (root_value) {
        leaf[i] = 1;
        value[i] = *root_value;
        cov[i] = cover[t][i];
      } else if (nodes[i].is_leaf()) {
        leaf[i] = 1;
        value[i] = static_cast<float>(nodes[i].value);
        cov[i] = cover[t][i];
      } else if (cap > 0 && d == cap) {
        leaf[i] = 1;
        value[i] = CappedValue(t, i);
        cov[i] = cover[t][i];
      } else {
        visit(nodes[i].left, d + 1);
        visit(nodes[i].right, d + 1);
        const int32_t l = nodes[i].left, r = nodes[i].right;
        if (leaf[l] && leaf[r] && value[l] == value[r]) {
          leaf[i] = 1;
          value[i] = value[l];
          cov[i] = cov[l] + cov[r];
          ++*merged;
        }
      }
    };
    visit(0, 0);
    // Breadth first from the root, stopping at leaves.
    std::vector<int32_t> order = {0};
    std::vector<int64_t> new_id(n, -1);
    new_id[0] = 0;
    for (size_t k = 0; k < order.size(); ++k) {
      const int32_t i = order[k];
      if (leaf[i]) continue;
      for (int32_t c : {nodes[i].left, nodes[i].right}) {
        new_id[c] = static_cast<int64_t>(order.size());
        order.push_back(c);
      }
    }
    std::vector<int64_t> parent(n, kRootParent);
    for (int32_t i : order) {
      if (!leaf[i]) parent[nodes[i].left] = parent[nodes[i].right] = new_id[i];
    }
    ModelJson out = in;
    auto array = [&](const char* key, auto&& element) {
      if (!in.contains(key)) return;
      ModelJson a = ModelJson::array();
      for (int32_t i : order) a.push_back(element(i, in[key]));
      out[key] = std::move(a);
    };
    array("left_children", [&](int32_t i, const ModelJson&) {
      return ModelJson(leaf[i] ? int64_t{-1} : new_id[nodes[i].left]);
    });
    array("right_children", [&](int32_t i, const ModelJson&) {
      return ModelJson(leaf[i] ? int64_t{-1} : new_id[nodes[i].right]);
    });
    array("parents",
          [&](int32_t i, const ModelJson&) { return ModelJson(i == 0 ? kRootParent : parent[i]); });
    array("split_indices",
          [&](int32_t i, const ModelJson& a) { return leaf[i] ? ModelJson(int64_t{0}) : a[i]; });
    array("split_conditions",
          [&](int32_t i, const ModelJson& a) { return leaf[i] ? ModelJson(value[i]) : a[i]; });
    array("split_type",
          [&](int32_t i, const ModelJson& a) { return leaf[i] ? ModelJson(int64_t{0}) : a[i]; });
    array("default_left", [&](int32_t i, const ModelJson& a) {
      if (!leaf[i]) return a[i];
      return a[i].is_boolean() ? ModelJson(false) : ModelJson(int64_t{0});
    });
    array("base_weights",
          [&](int32_t i, const ModelJson& a) { return leaf[i] ? ModelJson(value[i]) : a[i]; });
    array("loss_changes",
          [&](int32_t i, const ModelJson& a) { return leaf[i] ? ModelJson(0.0f) : a[i]; });
    array("sum_hessian", [&](int32_t i, const ModelJson&) { return ModelJson(cov[i]); });
    for (const char* key :
         {"categories", "categories_nodes", "categories_segments", "categories_sizes"}) {
      if (out.contains(key)) out[key] = ModelJson::array();
    }
    out["id"] = id;
    auto& param = out["tree_param"];
    param["num_nodes"] = IntLike(param["num_nodes"], static_cast<int64_t>(order.size()));
    if (param.contains("num_deleted")) param["num_deleted"] = IntLike(param["num_deleted"], 0);
    *nodes_out += static_cast<int64_t>(order.size());
    for (int32_t i : order) *depth_out = std::max(*depth_out, depth[i]);
    return out;
  }

  // The document of a candidate: rounds `kept` (ascending) of the model capped at `cap`, plus
  // `bias` per group.
  ForestCandidate Materialize(const std::vector<int64_t>& kept, int64_t cap,
                              const std::vector<double>& bias) const {
    ForestCandidate c;
    ModelJson out = doc;
    auto& model_json = out["learner"]["gradient_booster"]["model"];
    const ModelJson& info_in = doc["learner"]["gradient_booster"]["model"]["tree_info"];
    ModelJson trees = ModelJson::array(), info = ModelJson::array();
    for (int64_t round : kept) {
      for (int64_t k = 0; k < round_size; ++k) {
        const size_t t = static_cast<size_t>(round * round_size + k);
        trees.push_back(Rebuild(t, cap, std::nullopt, static_cast<int64_t>(trees.size()), &c.merged,
                                &c.nodes, &c.max_depth));
        info.push_back(info_in[t]);
      }
    }
    c.trees = static_cast<int64_t>(trees.size());
    // The dropped trees' mean margin: in base_score when it can hold it, else one-leaf trees.
    bool in_base_score = false;
    const auto link = model.objective.link;
    if (groups == 1 && !bias.empty() && bias[0] != 0) {
      auto& bs = out["learner"]["learner_model_param"]["base_score"];
      if (bs.is_string()) {
        const std::string text = bs.get<std::string>();
        const float base = model.base_score.empty() ? 0.5f : model.base_score[0];
        auto margin = backends::forest::BaseScoreToMargin(model.objective, base);
        if (margin.ok()) {
          const double m = *margin + bias[0];
          const double value = link == backends::forest::BaseLink::kLogit ? 1 / (1 + std::exp(-m))
                               : link == backends::forest::BaseLink::kLog ? std::exp(m)
                                                                          : m;
          if (std::isfinite(value) &&
              (link != backends::forest::BaseLink::kLogit || (value > 0 && value < 1))) {
            char buf[40];
            std::snprintf(buf, sizeof buf, "%.9g", value);
            bs = text.starts_with("[") ? "[" + std::string(buf) + "]" : std::string(buf);
            in_base_score = true;
          }
        }
      }
    }
    int64_t stumps = 0;
    if (!in_base_score) {
      for (int64_t g = 0; g < groups && g < static_cast<int64_t>(bias.size()); ++g) {
        if (bias[g] == 0) continue;
        int64_t ignored = 0;
        trees.push_back(Rebuild(0, 0, static_cast<float>(bias[g]),
                                static_cast<int64_t>(trees.size()), &ignored, &ignored, &ignored));
        info.push_back(ModelJson(g));
        ++stumps;
      }
    }
    const int64_t total = static_cast<int64_t>(trees.size());
    model_json["trees"] = std::move(trees);
    model_json["tree_info"] = std::move(info);
    auto& param = model_json["gbtree_model_param"];
    param["num_trees"] = IntLike(param["num_trees"], total);
    if (model_json.contains("iteration_indptr")) {
      ModelJson ptr = ModelJson::array({int64_t{0}});
      for (size_t r = 0; r < kept.size(); ++r)
        ptr.push_back(static_cast<int64_t>(r + 1) * round_size);
      if (stumps > 0) ptr.push_back(total);
      model_json["iteration_indptr"] = std::move(ptr);
    }
    auto& attributes = out["learner"]["attributes"];
    if (attributes.is_object()) {
      const int64_t new_rounds = static_cast<int64_t>(kept.size()) + (stumps > 0);
      if (attributes.contains("best_iteration")) {
        attributes["best_iteration"] = IntLike(attributes["best_iteration"], new_rounds - 1);
      }
      if (attributes.contains("best_ntree_limit")) {
        attributes["best_ntree_limit"] = IntLike(attributes["best_ntree_limit"], total);
      }
    }
    c.model_json = out.dump();
    return c;
  }
};

ForestOptimizer::ForestOptimizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ForestOptimizer::ForestOptimizer(ForestOptimizer&&) noexcept = default;
ForestOptimizer& ForestOptimizer::operator=(ForestOptimizer&&) noexcept = default;
ForestOptimizer::~ForestOptimizer() = default;

int64_t ForestOptimizer::num_trees() const {
  return static_cast<int64_t>(impl_->model.forest.trees.size());
}
int64_t ForestOptimizer::max_depth() const { return impl_->depth; }
int64_t ForestOptimizer::rounds() const { return impl_->rounds; }

ForestCandidate ForestOptimizer::Make(const std::vector<int64_t>& rounds, int64_t cap,
                                      const std::vector<double>& bias) const {
  return impl_->Materialize(rounds, cap, bias);
}

StatusOr<ForestOptimizer> ForestOptimizer::Load(const std::filesystem::path& model_file) {
  ASSIGN_OR_RETURN(std::string bytes, base::ReadWholeFile(model_file, "model"));
  const auto format = backends::forest::FormatForPath(model_file);
  const std::span<const uint8_t> span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  auto impl = std::make_unique<Impl>();
  auto doc = backends::forest::ParseModelDocument(span, format);
  if (!doc.ok()) return doc.status().WithContext(model_file.string());
  impl->doc = std::move(doc).value();
  auto model = backends::forest::ParseXgboostModel(impl->doc);
  if (!model.ok()) return model.status().WithContext(model_file.string());
  impl->model = std::move(model).value();
  if (impl->model.booster != "gbtree") {
    return base::Unimplemented("optimize handles gbtree models; this one is " +
                               impl->model.booster);
  }
  if (!impl->model.forest.category_sets.empty()) {
    return base::Unimplemented("optimize does not handle categorical splits yet");
  }
  auto& f = impl->model.forest;
  impl->groups = f.num_groups;
  int64_t parallel = 1;
  const auto& param = impl->doc["learner"]["gradient_booster"]["model"]["gbtree_model_param"];
  if (param.contains("num_parallel_tree"))
    parallel = std::max<int64_t>(1, IntOf(param["num_parallel_tree"]));
  impl->round_size = impl->groups * parallel;
  if (f.trees.empty() || f.trees.size() % impl->round_size != 0) {
    return InvalidArgument("the model's " + std::to_string(f.trees.size()) +
                           " trees are not whole boosting rounds of " +
                           std::to_string(impl->round_size));
  }
  impl->rounds = static_cast<int64_t>(f.trees.size()) / impl->round_size;
  const auto& trees = impl->Trees(impl->doc);
  for (size_t t = 0; t < f.trees.size(); ++t) {
    std::vector<float> c(f.trees[t].num_nodes, 1.0f);
    if (trees[t].contains("sum_hessian") && trees[t]["sum_hessian"].is_array() &&
        trees[t]["sum_hessian"].size() == c.size()) {
      for (size_t i = 0; i < c.size(); ++i) c[i] = trees[t]["sum_hessian"][i].get<float>();
    }
    impl->cover.push_back(std::move(c));
    impl->depth = std::max<int64_t>(impl->depth, backends::forest::TreeDepth(f, t));
  }
  if (impl->depth > 500) return base::Unimplemented("trees deeper than 500 levels");
  return ForestOptimizer(std::move(impl));
}

StatusOr<std::vector<ForestCandidate>> ForestOptimizer::Candidates(
    const LabelledData& data, const std::string& task, const std::string& metric, double reference,
    double max_drop, int64_t max_rows) const {
  const Impl& m = *impl_;
  const int64_t width = static_cast<int64_t>(data.features.size());
  if (width != m.model.forest.num_features) {
    return InvalidArgument("the data has " + std::to_string(width) + " features, the model " +
                           std::to_string(m.model.forest.num_features));
  }
  const int64_t rows = std::min(data.rows, max_rows);
  const int64_t groups = m.groups, trees = num_trees();
  std::vector<ForestCandidate> out;
  std::vector<int64_t> caps = {0};
  for (int64_t d = m.depth - 1; d >= std::max<int64_t>(1, m.depth - 3); --d) caps.push_back(d);
  for (int64_t cap : caps) {
    const TreeEnsemble e = m.Capped(cap);
    // leaf[t * rows + r]: what tree t gives row r.
    std::vector<float> leaf(static_cast<size_t>(trees * rows));
    for (int64_t t = 0; t < trees; ++t) {
      for (int64_t r = 0; r < rows; ++r) {
        leaf[t * rows + r] = backends::forest::ReferencePredictTree<float>(
            e, static_cast<size_t>(t), data.x.data() + r * width);
      }
    }
    std::vector<double> mean(trees), mean_abs(trees);
    std::vector<double> total(groups, 0.0);
    for (int64_t t = 0; t < trees; ++t) {
      double s = 0, sa = 0;
      for (int64_t r = 0; r < rows; ++r) {
        s += leaf[t * rows + r];
        sa += std::fabs(leaf[t * rows + r]);
      }
      mean[t] = s / rows;
      mean_abs[t] = sa / rows;
      total[e.trees[t].group] += mean[t];
    }
    for (const std::string method : {"tail", "contribution"}) {
      std::vector<int64_t> order(m.rounds);
      std::iota(order.begin(), order.end(), 0);
      if (method == "contribution") {
        std::vector<double> weight(m.rounds, 0.0);
        for (int64_t t = 0; t < trees; ++t) weight[t / m.round_size] += mean_abs[t];
        std::stable_sort(order.begin(), order.end(),
                         [&](int64_t a, int64_t b) { return weight[a] > weight[b]; });
      }
      // Margins of the first k rounds of `order`, for k = 1..rounds, with the dropped rounds'
      // mean margin added back.
      std::vector<float> margins(rows * groups), shown(rows * groups);
      for (int64_t r = 0; r < rows; ++r) {
        for (int64_t g = 0; g < groups; ++g) {
          margins[r * groups + g] = static_cast<float>(e.base_margin[g]);
        }
      }
      std::vector<double> kept(groups, 0.0), metric_at(m.rounds + 1, std::nan(""));
      std::vector<std::vector<double>> bias_at(m.rounds + 1);
      for (int64_t k = 1; k <= m.rounds; ++k) {
        const int64_t round = order[k - 1];
        for (int64_t i = 0; i < m.round_size; ++i) {
          const int64_t t = round * m.round_size + i;
          const int64_t g = e.trees[t].group;
          for (int64_t r = 0; r < rows; ++r) margins[r * groups + g] += leaf[t * rows + r];
          kept[g] += mean[t];
        }
        std::vector<double> bias(groups);
        for (int64_t g = 0; g < groups; ++g) bias[g] = k == m.rounds ? 0.0 : total[g] - kept[g];
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t g = 0; g < groups; ++g) {
            shown[r * groups + g] = margins[r * groups + g] + static_cast<float>(bias[g]);
          }
        }
        metric_at[k] = m.MetricOf(shown, rows, data.labels, task, metric);
        bias_at[k] = std::move(bias);
      }
      // The smallest k from which on every count stays within the budget.
      int64_t best = 0;
      for (int64_t k = m.rounds; k >= 1; --k) {
        if (!(MetricDrop(metric, reference, metric_at[k]) <= max_drop)) break;
        best = k;
      }
      if (best == 0) continue;
      if (cap == 0 && best == m.rounds && method == "contribution") continue;  // the tail's twin
      std::vector<int64_t> rounds(order.begin(), order.begin() + best);
      std::sort(rounds.begin(), rounds.end());
      ForestCandidate c = m.Materialize(rounds, cap, bias_at[best]);
      c.method = method;
      c.estimated = metric_at[best];
      c.name = method + ", " + std::to_string(best * m.round_size) + " of " +
               std::to_string(trees) + " trees";
      if (cap > 0) c.name += ", depth <= " + std::to_string(cap);
      if (c.merged > 0) c.name += ", " + std::to_string(c.merged) + " merged";
      out.push_back(std::move(c));
    }
  }
  return out;
}

}  // namespace inferd::tools
