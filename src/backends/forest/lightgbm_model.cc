#include "backends/forest/lightgbm_model.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <system_error>
#include <type_traits>
#include <utility>

#include "backends/forest/model_common.h"

namespace inferd::backends::forest {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

// Largest num_class / num_tree_per_iteration accepted.
constexpr int64_t kMaxGroups = int64_t{1} << 16;

std::string Clip(std::string_view s) {
  constexpr size_t kMax = 40;
  return s.size() <= kMax ? std::string(s) : std::string(s.substr(0, kMax)) + "...";
}

// Lines of the text, '\r\n' or '\n' terminated, numbered from 1.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}
  bool Next(std::string_view* line) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    std::string_view l = text_.substr(pos_, end - pos_);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    pos_ = end + 1;
    ++number_;
    *line = l;
    return true;
  }
  size_t number() const { return number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t number_ = 0;
};

struct Field {
  std::string_view key;
  std::string_view value;
};

// The `key=value` lines of the header or of one tree, in file order.
struct Block {
  std::string label;  // "header" or "Tree=3"
  std::vector<Field> fields;

  std::optional<std::string_view> Find(std::string_view key) const {
    for (const Field& f : fields) {
      if (f.key == key) return f.value;
    }
    return std::nullopt;
  }
  Status Add(std::string_view key, std::string_view value) {
    if (Find(key)) return InvalidArgument(label + ": field '" + Clip(key) + "' appears twice");
    fields.push_back({key, value});
    return Status::Ok();
  }
};

// Parses all of `s` as a T (an integer type or double); false on anything else.
template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto r = std::from_chars(s.data(), end, *out);
  return r.ec == std::errc() && r.ptr == end;
}

template <typename T>
const char* KindName() {
  return std::is_floating_point_v<T> ? "a number" : "an integer";
}

// Space-separated values of `key` in `block`: exactly `expected` of them. `what` explains the
// expectation in messages, e.g. "num_leaves 15".
template <typename T>
Status ParseArray(const Block& block, std::string_view key, size_t expected,
                  const std::string& what, std::vector<T>* out) {
  out->clear();
  std::optional<std::string_view> value = block.Find(key);
  if (!value) {
    if (expected == 0) return Status::Ok();
    return InvalidArgument(block.label + ": missing field '" + std::string(key) + "'");
  }
  out->reserve(std::min<size_t>(expected, value->size() / 2 + 1));
  const std::string_view s = *value;
  size_t i = 0;
  size_t count = 0;
  while (true) {
    while (i < s.size() && s[i] == ' ') ++i;
    if (i >= s.size()) break;
    size_t j = i;
    while (j < s.size() && s[j] != ' ') ++j;
    if (count < expected) {
      T v{};
      if (!ParseNumber(s.substr(i, j - i), &v)) {
        return InvalidArgument(block.label + ": " + std::string(key) + "[" + std::to_string(count) +
                               "] '" + Clip(s.substr(i, j - i)) + "' is not " + KindName<T>());
      }
      out->push_back(v);
    }
    ++count;
    i = j;
  }
  if (count != expected) {
    return InvalidArgument(block.label + ": " + std::string(key) + " has " + std::to_string(count) +
                           " entries, expected " + std::to_string(expected) + " (" + what + ")");
  }
  return Status::Ok();
}

// A required integer field in [lo, hi].
StatusOr<int64_t> IntField(const Block& block, std::string_view key, int64_t lo, int64_t hi) {
  std::optional<std::string_view> value = block.Find(key);
  if (!value) return InvalidArgument(block.label + ": missing field '" + std::string(key) + "'");
  int64_t v = 0;
  if (!ParseNumber(*value, &v)) {
    return InvalidArgument(block.label + ": " + std::string(key) + " '" + Clip(*value) +
                           "' is not an integer");
  }
  if (v < lo || v > hi) {
    return InvalidArgument(block.label + ": " + std::string(key) + " is " + std::to_string(v) +
                           ", outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return v;
}

struct TreeContext {
  int64_t num_features = 0;  // max_feature_idx + 1
  int32_t group = 0;
};

// Appends one tree (its nodes, category sets and TreeInfo) to `e`.
Status AddTree(const Block& b, const TreeContext& ctx, TreeEnsemble* e) {
  ASSIGN_OR_RETURN(const int64_t leaves, IntField(b, "num_leaves", 1, kLightgbmMaxLeaves));
  if (std::optional<std::string_view> linear = b.Find("is_linear")) {
    if (*linear == "1") {
      return base::Unimplemented(b.label + ": linear trees (is_linear=1) are not supported");
    }
    if (*linear != "0") {
      return InvalidArgument(b.label + ": is_linear '" + Clip(*linear) + "' is not 0 or 1");
    }
  }
  int64_t num_cat = 0;
  if (b.Find("num_cat")) {
    ASSIGN_OR_RETURN(num_cat, IntField(b, "num_cat", 0, leaves - 1));
  }
  const std::string leaves_note = "num_leaves " + std::to_string(leaves);
  std::vector<double> leaf_value;
  RETURN_IF_ERROR(
      ParseArray(b, "leaf_value", static_cast<size_t>(leaves), leaves_note, &leaf_value));
  for (size_t i = 0; i < leaf_value.size(); ++i) {
    if (!std::isfinite(leaf_value[i])) {
      return InvalidArgument(b.label + ": leaf_value[" + std::to_string(i) + "] is not finite");
    }
  }

  TreeInfo info;
  info.first_node = e->nodes.size();
  info.num_nodes = static_cast<size_t>(2 * leaves - 1);
  info.group = ctx.group;
  if (leaves == 1) {  // a constant
    TreeNode leaf;
    leaf.value = leaf_value[0];
    e->nodes.push_back(leaf);
    e->trees.push_back(info);
    return Status::Ok();
  }

  const auto splits = static_cast<size_t>(leaves - 1);
  std::vector<int64_t> split_feature, decision_type, left_child, right_child;
  std::vector<double> threshold;
  RETURN_IF_ERROR(ParseArray(b, "split_feature", splits, leaves_note, &split_feature));
  RETURN_IF_ERROR(ParseArray(b, "threshold", splits, leaves_note, &threshold));
  RETURN_IF_ERROR(ParseArray(b, "decision_type", splits, leaves_note, &decision_type));
  RETURN_IF_ERROR(ParseArray(b, "left_child", splits, leaves_note, &left_child));
  RETURN_IF_ERROR(ParseArray(b, "right_child", splits, leaves_note, &right_child));

  // Category sets: cat_threshold[cat_boundaries[k] .. cat_boundaries[k + 1]).
  const size_t set_base = e->category_sets.size();
  if (num_cat > 0) {
    std::vector<int64_t> bounds;
    std::vector<uint32_t> words;
    RETURN_IF_ERROR(ParseArray(b, "cat_boundaries", static_cast<size_t>(num_cat + 1),
                               "num_cat " + std::to_string(num_cat), &bounds));
    if (bounds[0] != 0) {
      return InvalidArgument(b.label + ": cat_boundaries[0] is " + std::to_string(bounds[0]) +
                             ", expected 0");
    }
    for (size_t k = 1; k < bounds.size(); ++k) {
      if (bounds[k] < bounds[k - 1]) {
        return InvalidArgument(b.label + ": cat_boundaries decrease at entry " + std::to_string(k));
      }
    }
    std::optional<std::string_view> cat_text = b.Find("cat_threshold");
    // Bounds the expected count by what the text can hold before anything is allocated.
    const int64_t max_words = cat_text ? static_cast<int64_t>(cat_text->size() / 2 + 1) : 0;
    if (bounds.back() > max_words) {
      return InvalidArgument(b.label + ": cat_boundaries ends at " + std::to_string(bounds.back()) +
                             ", but cat_threshold has fewer " + "entries");
    }
    RETURN_IF_ERROR(ParseArray(b, "cat_threshold", static_cast<size_t>(bounds.back()),
                               "the last cat_boundaries entry", &words));
    for (int64_t k = 0; k < num_cat; ++k) {
      CategorySet set;
      set.bits.assign(words.begin() + bounds[k], words.begin() + bounds[k + 1]);
      set.in_set_goes_left = true;    // categories in the bitset go left
      set.invalid_goes_left = false;  // negative or out-of-int values go right
      e->category_sets.push_back(std::move(set));
    }
  }

  // Split node i is node i; leaf j is node splits + j.
  const auto n_splits = static_cast<int64_t>(splits);
  auto child_id = [&](const std::vector<int64_t>& field, const char* name, size_t i,
                      int32_t* out) -> Status {
    const int64_t c = field[i];
    if (c < -leaves || c >= n_splits) {
      return InvalidArgument(b.label + ": " + name + "[" + std::to_string(i) + "] is " +
                             std::to_string(c) + ", outside [" + std::to_string(-leaves) + ", " +
                             std::to_string(n_splits - 1) + "]");
    }
    *out = static_cast<int32_t>(c >= 0 ? c : n_splits + ~c);
    return Status::Ok();
  };

  std::vector<TreeNode> nodes(static_cast<size_t>(2 * leaves - 1));
  for (size_t i = 0; i < splits; ++i) {
    TreeNode& n = nodes[i];
    const std::string at = "[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(child_id(left_child, "left_child", i, &n.left));
    RETURN_IF_ERROR(child_id(right_child, "right_child", i, &n.right));
    if (split_feature[i] < 0 || split_feature[i] >= ctx.num_features) {
      return InvalidArgument(b.label + ": split_feature" + at + " is " +
                             std::to_string(split_feature[i]) + ", but max_feature_idx is " +
                             std::to_string(ctx.num_features - 1));
    }
    n.feature = static_cast<uint32_t>(split_feature[i]);
    const int64_t dt = decision_type[i];
    if (dt < 0 || dt > 15) {
      return InvalidArgument(b.label + ": decision_type" + at + " is " + std::to_string(dt) +
                             ", outside [0, 15]");
    }
    if (dt & 1) {  // categorical: threshold indexes cat_boundaries
      const double k = threshold[i];
      if (!(k >= 0 && k < static_cast<double>(num_cat)) || k != std::floor(k)) {
        return InvalidArgument(b.label + ": threshold" + at + " of a categorical split is " +
                               Clip(std::to_string(k)) + ", not a category set index below " +
                               "num_cat " + std::to_string(num_cat));
      }
      n.category_set = static_cast<int32_t>(set_base + static_cast<size_t>(k));
      n.default_left = false;  // NaN goes right whatever the bit says
      continue;
    }
    const int64_t missing = (dt >> 2) & 3;
    if (missing == 3) {
      return InvalidArgument(b.label + ": decision_type" + at + " is " + std::to_string(dt) +
                             ": missing type 3 is not None, Zero or NaN");
    }
    if (std::isnan(threshold[i])) {
      return InvalidArgument(b.label + ": threshold" + at + " is NaN");
    }
    n.value = threshold[i];
    n.default_left = (dt & 2) != 0;
    n.missing = missing == 0   ? MissingKind::kNone
                : missing == 1 ? MissingKind::kZero
                               : MissingKind::kNaN;
  }
  for (size_t j = 0; j < leaf_value.size(); ++j) nodes[splits + j].value = leaf_value[j];

  // Every node is reached exactly once from the root: no cycles, no shared or lost children.
  std::vector<uint8_t> seen(nodes.size(), 0);
  std::vector<int32_t> pending = {0};
  seen[0] = 1;
  while (!pending.empty()) {
    const int32_t id = pending.back();
    pending.pop_back();
    if (static_cast<size_t>(id) >= splits) continue;
    for (const bool left : {true, false}) {
      const int32_t child = left ? nodes[id].left : nodes[id].right;
      if (seen[child]) {
        const std::string target = static_cast<size_t>(child) >= splits
                                       ? "leaf " + std::to_string(child - n_splits)
                                       : "split node " + std::to_string(child);
        return InvalidArgument(b.label + ": " + (left ? "left_child[" : "right_child[") +
                               std::to_string(id) + "] leads to " + target +
                               " again (a cycle or a shared child)");
      }
      seen[child] = 1;
      pending.push_back(child);
    }
  }
  for (size_t id = 0; id < nodes.size(); ++id) {
    if (!seen[id]) {
      return InvalidArgument(b.label + ": " +
                             (id >= splits ? "leaf " + std::to_string(id - splits)
                                           : "split node " + std::to_string(id)) +
                             " is not reachable from the root");
    }
  }
  e->nodes.insert(e->nodes.end(), nodes.begin(), nodes.end());
  e->trees.push_back(info);
  return Status::Ok();
}

// Reads `key=value` lines into `block` until a line that starts a tree, ends the trees, or the
// text ends; that line (if any) is left in `*stop`.
Status ReadBlock(LineReader& lines, Block* block, std::optional<std::string_view>* stop,
                 bool header) {
  std::string_view line;
  while (lines.Next(&line)) {
    if (line.starts_with("Tree=") || line == "end of trees") {
      *stop = line;
      return Status::Ok();
    }
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      if (header) {
        if (line == "average_output") RETURN_IF_ERROR(block->Add(line, ""));
        continue;  // other bare header lines carry nothing for prediction
      }
      return InvalidArgument(block->label + ": line " + std::to_string(lines.number()) + " '" +
                             Clip(line) + "' is not key=value");
    }
    RETURN_IF_ERROR(block->Add(line.substr(0, eq), line.substr(eq + 1)));
  }
  *stop = std::nullopt;
  return Status::Ok();
}

}  // namespace

StatusOr<LightgbmModel> ParseLightgbmModel(std::string_view text) {
  LineReader lines(text);
  std::string_view first;
  if (!lines.Next(&first) || first != "tree") {
    return InvalidArgument("line 1: expected 'tree' (not a LightGBM text model)");
  }
  if (text.find("\nend of trees") == std::string_view::npos) {
    return base::DataLoss("truncated: no 'end of trees' line");
  }
  Block header{"header", {}};
  std::optional<std::string_view> stop;
  RETURN_IF_ERROR(ReadBlock(lines, &header, &stop, true));

  LightgbmModel model;
  if (auto v = header.Find("version")) model.version = Clip(*v);
  if (!model.version.empty() && model.version != "v2" && model.version != "v3" &&
      model.version != "v4") {
    return base::Unimplemented("unsupported LightGBM model version '" + model.version + "'");
  }
  ASSIGN_OR_RETURN(model.num_class, IntField(header, "num_class", 1, kMaxGroups));
  model.num_tree_per_iteration = model.num_class;
  if (header.Find("num_tree_per_iteration")) {
    ASSIGN_OR_RETURN(model.num_tree_per_iteration,
                     IntField(header, "num_tree_per_iteration", 1, kMaxGroups));
  }
  ASSIGN_OR_RETURN(const int64_t max_feature_idx,
                   IntField(header, "max_feature_idx", 0, kMaxFeatures - 1));
  if (auto objective = header.Find("objective")) {
    ASSIGN_OR_RETURN(model.objective, ParseLightgbmObjective(*objective));
  }
  model.average_output = header.Find("average_output").has_value();
  const int64_t num_features = max_feature_idx + 1;
  if (auto names = header.Find("feature_names")) {
    size_t i = 0;
    while (i < names->size()) {
      size_t j = names->find(' ', i);
      if (j == std::string_view::npos) j = names->size();
      if (j > i) {
        if (static_cast<int64_t>(model.feature_names.size()) >= num_features) {
          return InvalidArgument("header: feature_names has more than max_feature_idx + 1 = " +
                                 std::to_string(num_features) + " names");
        }
        model.feature_names.emplace_back(names->substr(i, j - i));
      }
      i = j + 1;
    }
    if (static_cast<int64_t>(model.feature_names.size()) != num_features) {
      return InvalidArgument(
          "header: feature_names has " + std::to_string(model.feature_names.size()) +
          " names, expected max_feature_idx + 1 = " + std::to_string(num_features));
    }
  }
  std::optional<size_t> listed_trees;
  if (auto sizes = header.Find("tree_sizes")) {
    size_t count = 0;
    for (size_t i = 0; i < sizes->size();) {
      while (i < sizes->size() && (*sizes)[i] == ' ') ++i;
      if (i < sizes->size()) ++count;
      while (i < sizes->size() && (*sizes)[i] != ' ') ++i;
    }
    listed_trees = count;
  }

  const LightgbmObjective& obj = model.objective;
  if (obj.task == LightgbmTask::kBinary && model.num_tree_per_iteration != 1) {
    return InvalidArgument("objective 'binary' needs num_tree_per_iteration 1, the header says " +
                           std::to_string(model.num_tree_per_iteration));
  }
  if (obj.task == LightgbmTask::kMulticlass &&
      (obj.num_class != model.num_class || model.num_tree_per_iteration != model.num_class)) {
    return InvalidArgument("objective '" + obj.text.substr(0, 64) +
                           "' does not agree with num_class " + std::to_string(model.num_class) +
                           " and num_tree_per_iteration " +
                           std::to_string(model.num_tree_per_iteration));
  }

  TreeEnsemble& e = model.ensemble;
  e.precision = Precision::kFloat64;
  e.comparison = Comparison::kLessEqual;
  e.num_features = num_features;
  e.num_groups = model.num_tree_per_iteration;
  e.base_margin.assign(static_cast<size_t>(e.num_groups), 0.0);

  while (stop && *stop != "end of trees") {
    const std::string label(Clip(*stop));
    int64_t index = -1;
    if (!ParseNumber(stop->substr(5), &index) || index != static_cast<int64_t>(e.trees.size())) {
      return InvalidArgument("line " + std::to_string(lines.number()) + ": '" + label +
                             "', expected Tree=" + std::to_string(e.trees.size()));
    }
    Block tree{label, {}};
    RETURN_IF_ERROR(ReadBlock(lines, &tree, &stop, false));
    TreeContext ctx;
    ctx.num_features = num_features;
    ctx.group = static_cast<int32_t>(index % model.num_tree_per_iteration);
    RETURN_IF_ERROR(AddTree(tree, ctx, &e));
  }
  if (!stop) {
    return base::DataLoss("truncated: the text ends after " + std::to_string(e.trees.size()) +
                          " trees without 'end of trees'");
  }
  if (listed_trees && *listed_trees != e.trees.size()) {
    return base::DataLoss("the header's tree_sizes lists " + std::to_string(*listed_trees) +
                          " trees, but the file has " + std::to_string(e.trees.size()));
  }
  if (e.trees.empty()) return InvalidArgument("the model has no trees");
  if (e.trees.size() % static_cast<size_t>(model.num_tree_per_iteration) != 0) {
    return InvalidArgument("the model has " + std::to_string(e.trees.size()) +
                           " trees, not a multiple of num_tree_per_iteration " +
                           std::to_string(model.num_tree_per_iteration));
  }
  model.num_iterations = static_cast<int64_t>(e.trees.size()) / model.num_tree_per_iteration;
  RETURN_IF_ERROR(Validate(e));

  // How each feature is split: 1 numeric, 2 categorical.
  std::vector<uint8_t> use(static_cast<size_t>(num_features), 0);
  for (size_t t = 0; t < e.trees.size(); ++t) {
    const TreeInfo& info = e.trees[t];
    for (size_t i = info.first_node; i < info.first_node + info.num_nodes; ++i) {
      const TreeNode& n = e.nodes[i];
      if (n.is_leaf()) continue;
      use[n.feature] |= n.is_categorical() ? 2 : 1;
      if (use[n.feature] == 3) {
        return InvalidArgument("Tree=" + std::to_string(t) + ": feature " +
                               std::to_string(n.feature) +
                               " has both categorical and numeric splits");
      }
    }
  }
  for (size_t f = 0; f < use.size(); ++f) {
    if (use[f] == 2) model.categorical_features.push_back(static_cast<uint32_t>(f));
  }
  return model;
}

const double* LightgbmInputs(const std::vector<uint32_t>& categorical_features,
                             int64_t num_features, const double* x, int64_t rows,
                             std::vector<double>* scratch) {
  // LightGBM keeps only values with |x| > kZeroThreshold (or NaN) when it builds a row, so tiny
  // values are 0.0 for it; in categorical columns (-1, 0) truncates to category 0.
  std::vector<uint8_t> categorical(static_cast<size_t>(num_features), 0);
  for (uint32_t f : categorical_features) categorical[f] = 1;
  auto rewritten = [&](double v, int64_t f) {
    if (v != 0.0 && std::fabs(v) <= kZeroThreshold) return 0.0;
    if (categorical[static_cast<size_t>(f)] && v < 0 && v > -1) return 0.0;
    return v;
  };
  const int64_t n = rows * num_features;
  int64_t first = n;
  for (int64_t i = 0; i < n; ++i) {
    const double v = x[i];
    if (!(v == rewritten(v, i % num_features))) {
      if (!std::isnan(v)) {
        first = i;
        break;
      }
    }
  }
  if (first == n) return x;
  scratch->assign(x, x + n);
  for (int64_t i = first; i < n; ++i) {
    double& v = (*scratch)[static_cast<size_t>(i)];
    v = rewritten(v, i % num_features);
  }
  return scratch->data();
}

StatusOr<LightgbmModel> ReadLightgbmModel(const std::filesystem::path& path, int64_t max_bytes) {
  ASSIGN_OR_RETURN(std::string text, backend::ReadModelFile(path, max_bytes));
  auto model = ParseLightgbmModel(text);
  if (!model.ok()) return model.status().WithContext(path.string());
  return model;
}

}  // namespace inferd::backends::forest
