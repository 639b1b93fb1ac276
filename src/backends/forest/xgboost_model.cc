#include "backends/forest/xgboost_model.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>
#include <span>
#include <system_error>
#include <utility>

#include "backends/forest/model_common.h"

namespace inferd::backends::forest {
namespace {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

// ---- field access with the field's path in every message -------------------------------------

std::string Join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : std::string(path) + "." + std::string(key);
}

// "an array", "a string", ... for messages.
std::string Described(const ModelJson& v) {
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  if (v.is_null()) return "null";
  return std::string("a ") + v.type_name();
}

StatusOr<const ModelJson*> Member(const ModelJson& object, std::string_view path,
                                  std::string_view key) {
  const auto& map = object.get_ref<const ModelJson::object_t&>();
  auto it = map.find(std::string(key));
  if (it == map.end()) return InvalidArgument("missing field '" + Join(path, key) + "'");
  return &it->second;
}

const ModelJson* OptionalMember(const ModelJson& object, std::string_view key) {
  const auto& map = object.get_ref<const ModelJson::object_t&>();
  auto it = map.find(std::string(key));
  return it == map.end() ? nullptr : &it->second;
}

StatusOr<const ModelJson*> ObjectMember(const ModelJson& object, std::string_view path,
                                        std::string_view key) {
  ASSIGN_OR_RETURN(const ModelJson* v, Member(object, path, key));
  if (!v->is_object()) {
    return InvalidArgument("field '" + Join(path, key) + "' is " + Described(*v) +
                           ", expected an object");
  }
  return v;
}

// An array, or a packed one (DocumentMode::kForServing's per-node arrays).
bool IsPacked(const ModelJson& v) {
  return v.is_binary() && v.get_binary().has_subtype() &&
         (v.get_binary().subtype() == kPackedInt64 || v.get_binary().subtype() == kPackedFloat32);
}

size_t Elements(const ModelJson& array) {
  if (!IsPacked(array)) return array.size();
  const auto& b = array.get_binary();
  return b.size() / (b.subtype() == kPackedInt64 ? sizeof(int64_t) : sizeof(float));
}

StatusOr<const ModelJson*> ArrayMember(const ModelJson& object, std::string_view path,
                                       std::string_view key) {
  ASSIGN_OR_RETURN(const ModelJson* v, Member(object, path, key));
  if (!v->is_array()) {
    return InvalidArgument("field '" + Join(path, key) + "' is " + Described(*v) +
                           ", expected an array");
  }
  return v;
}

// A tree's per-node array: an array, or packed (DocumentMode::kForServing).
StatusOr<const ModelJson*> NodeArrayMember(const ModelJson& object, std::string_view path,
                                           std::string_view key) {
  ASSIGN_OR_RETURN(const ModelJson* v, Member(object, path, key));
  if (!v->is_array() && !IsPacked(*v)) {
    return InvalidArgument("field '" + Join(path, key) + "' is " + Described(*v) +
                           ", expected an array");
  }
  return v;
}

StatusOr<std::string> StringMember(const ModelJson& object, std::string_view path,
                                   std::string_view key) {
  ASSIGN_OR_RETURN(const ModelJson* v, Member(object, path, key));
  if (!v->is_string()) {
    return InvalidArgument("field '" + Join(path, key) + "' is " + Described(*v) +
                           ", expected a string");
  }
  return v->get_ref<const std::string&>();
}

StatusOr<int64_t> ParseInt(std::string_view text, const std::string& field) {
  int64_t value = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end) {
    return InvalidArgument("field '" + field + "' is \"" + std::string(text) +
                           "\", expected an integer");
  }
  return value;
}

// XGBoost stores integer parameters as strings ("30"); a plain integer is accepted too.
StatusOr<int64_t> IntParam(const ModelJson& v, const std::string& field) {
  if (v.is_number_integer()) {
    if (v.is_number_unsigned() &&
        v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgument("field '" + field + "' is out of range");
    }
    return v.get<int64_t>();
  }
  if (!v.is_string()) {
    return InvalidArgument("field '" + field + "' is " + Described(v) +
                           ", expected an integer string");
  }
  return ParseInt(v.get_ref<const std::string&>(), field);
}

StatusOr<int64_t> IntParamMember(const ModelJson& object, std::string_view path,
                                 std::string_view key) {
  ASSIGN_OR_RETURN(const ModelJson* v, Member(object, path, key));
  return IntParam(*v, Join(path, key));
}

StatusOr<int64_t> IntegerValue(const ModelJson& v, const std::string& what) {
  if (v.is_number_unsigned()) {
    if (v.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgument(what + " is out of range");
    }
    return v.get<int64_t>();
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_boolean()) return v.get<bool>() ? 1 : 0;
  return InvalidArgument(what + " is " + Described(v) + ", expected an integer");
}

StatusOr<std::vector<int64_t>> IntArray(const ModelJson& array, const std::string& what) {
  if (IsPacked(array)) {
    // Packed as int64 only when every element was an integer (or a boolean) in range.
    const auto& b = array.get_binary();
    if (b.subtype() != kPackedInt64) return InvalidArgument(what + " holds non-integers");
    std::vector<int64_t> out(b.size() / sizeof(int64_t));
    if (!out.empty()) std::memcpy(out.data(), b.data(), out.size() * sizeof(int64_t));
    return out;
  }
  const auto& items = array.get_ref<const ModelJson::array_t&>();
  std::vector<int64_t> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    ASSIGN_OR_RETURN(int64_t v, IntegerValue(items[i], what + "[" + std::to_string(i) + "]"));
    out.push_back(v);
  }
  return out;
}

StatusOr<std::vector<float>> FloatArray(const ModelJson& array, const std::string& what) {
  if (IsPacked(array)) {
    const auto& b = array.get_binary();
    std::vector<float> out;
    if (b.subtype() == kPackedFloat32) {
      out.resize(b.size() / sizeof(float));
      if (!out.empty()) std::memcpy(out.data(), b.data(), out.size() * sizeof(float));
    } else {
      for (size_t i = 0; i + sizeof(int64_t) <= b.size(); i += sizeof(int64_t)) {
        int64_t v;
        std::memcpy(&v, b.data() + i, sizeof v);
        out.push_back(static_cast<float>(v));
      }
    }
    return out;
  }
  const auto& items = array.get_ref<const ModelJson::array_t&>();
  std::vector<float> out;
  out.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_number()) {
      return InvalidArgument(what + "[" + std::to_string(i) + "] is " + Described(items[i]) +
                             ", expected a number");
    }
    out.push_back(items[i].get<float>());
  }
  return out;
}

// ---- learner-level fields ----------------------------------------------------------------------

// "5E-1", "[5E-1]", "[5E-1,2E-1]" or "(5E-1)" -> floats.
StatusOr<std::vector<float>> ParseBaseScore(std::string_view text) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  std::string_view s = trim(text);
  if (s.size() >= 2 &&
      ((s.front() == '[' && s.back() == ']') || (s.front() == '(' && s.back() == ')'))) {
    s = s.substr(1, s.size() - 2);
  }
  std::vector<float> values;
  while (true) {
    const size_t comma = s.find(',');
    std::string_view item = trim(s.substr(0, comma));
    if (!item.empty() && item.front() == '+') item.remove_prefix(1);
    float v = 0;
    const char* end = item.data() + item.size();
    auto [ptr, ec] = std::from_chars(item.data(), end, v);
    if (item.empty() || ec != std::errc() || ptr != end) {
      return InvalidArgument("learner.learner_model_param.base_score \"" + std::string(text) +
                             "\" is not a number or a bracketed list of numbers");
    }
    values.push_back(v);
    if (comma == std::string_view::npos) break;
    s = s.substr(comma + 1);
  }
  return values;
}

StatusOr<std::string> ParseVersion(const ModelJson& root) {
  ASSIGN_OR_RETURN(const ModelJson* version, ArrayMember(root, "", "version"));
  const auto& items = version->get_ref<const ModelJson::array_t&>();
  if (items.size() != 3) {
    return InvalidArgument("field 'version' has " + std::to_string(items.size()) +
                           " entries, expected 3");
  }
  std::string text;
  for (size_t i = 0; i < 3; ++i) {
    ASSIGN_OR_RETURN(int64_t v, IntegerValue(items[i], "version[" + std::to_string(i) + "]"));
    if (v < 0 || (i == 0 && v < 1)) {
      return InvalidArgument("field 'version' has an invalid entry " + std::to_string(v));
    }
    if (i > 0) text += '.';
    text += std::to_string(v);
  }
  return text;
}

// ---- trees
// ---------------------------------------------------------------------------------------

// A per-node column: a view of a packed array (DocumentMode::kForServing, no copy) or an array of
// its own (read from a JSON array).
template <typename T>
class Column {
 public:
  Column() = default;
  explicit Column(std::vector<T> owned) : owned_(std::move(owned)), view_(owned_) {}
  explicit Column(std::span<const T> view) : view_(view) {}
  Column(Column&&) = default;  // (a moved vector keeps its buffer: the view stays valid)
  Column& operator=(Column&&) = default;
  Column(const Column&) = delete;
  Column& operator=(const Column&) = delete;
  const T& operator[](size_t i) const { return view_[i]; }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }

 private:
  std::vector<T> owned_;
  std::span<const T> view_;
};

struct TreeArrays {
  Column<int64_t> left, right, split_index, default_left, split_type;
  Column<float> split_condition;
};

// The packed array itself when it holds T. (Its buffer comes from operator new, aligned for T,
// and its bytes were written by memcpy of T values, which creates the T objects read here.)
template <typename T>
std::span<const T> PackedView(const ModelJson& array, uint64_t subtype) {
  if (!IsPacked(array) || array.get_binary().subtype() != subtype) return {};
  const auto& b = array.get_binary();
  return {reinterpret_cast<const T*>(b.data()), b.size() / sizeof(T)};
}

StatusOr<Column<int64_t>> SizedIntArray(const ModelJson& tree, std::string_view key,
                                        int64_t num_nodes) {
  ASSIGN_OR_RETURN(const ModelJson* a, NodeArrayMember(tree, "", key));
  if (static_cast<int64_t>(Elements(*a)) != num_nodes) {
    return InvalidArgument(std::string(key) + " has " + std::to_string(Elements(*a)) +
                           " entries, expected " + std::to_string(num_nodes));
  }
  if (auto view = PackedView<int64_t>(*a, kPackedInt64); !view.empty()) {
    return Column<int64_t>(view);
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> v, IntArray(*a, std::string(key)));
  return Column<int64_t>(std::move(v));
}

StatusOr<TreeArrays> ReadTreeArrays(const ModelJson& tree, int64_t num_nodes) {
  TreeArrays a;
  ASSIGN_OR_RETURN(a.left, SizedIntArray(tree, "left_children", num_nodes));
  ASSIGN_OR_RETURN(a.right, SizedIntArray(tree, "right_children", num_nodes));
  ASSIGN_OR_RETURN(a.split_index, SizedIntArray(tree, "split_indices", num_nodes));
  ASSIGN_OR_RETURN(a.default_left, SizedIntArray(tree, "default_left", num_nodes));
  if (OptionalMember(tree, "split_type") != nullptr) {  // absent in models before 1.6
    ASSIGN_OR_RETURN(a.split_type, SizedIntArray(tree, "split_type", num_nodes));
  }
  ASSIGN_OR_RETURN(const ModelJson* conditions, NodeArrayMember(tree, "", "split_conditions"));
  if (static_cast<int64_t>(Elements(*conditions)) != num_nodes) {
    return InvalidArgument("split_conditions has " + std::to_string(Elements(*conditions)) +
                           " entries, expected " + std::to_string(num_nodes));
  }
  if (auto view = PackedView<float>(*conditions, kPackedFloat32); !view.empty()) {
    a.split_condition = Column<float>(view);
  } else {
    ASSIGN_OR_RETURN(std::vector<float> v, FloatArray(*conditions, "split_conditions"));
    a.split_condition = Column<float>(std::move(v));
  }
  return a;
}

// ---- categorical splits ------------------------------------------------------------------------
//
// A tree with categorical splits (split_type 1, xgboost >= 1.6) lists them in categories_nodes
// (ascending node ids: exactly the nodes whose split_type is 1); the k-th has the categories
// categories[categories_segments[k] .. + categories_sizes[k]). libxgboost 1.7.4 decides, for a
// feature value x (float32): NaN follows default_left; x < 0 (-0.5 too, not -0.0) or x >= 2^24
// goes left; otherwise category (int32)x (truncated) goes RIGHT when it is in the set and LEFT
// when it is not. Established by experiment against libxgboost 1.7.4 (the edge rows of
// tests/fixtures/xgboost/*categorical*, xgboost_categorical_test.cc); xgboost's current source
// states the same rule in common::Decision ("go to left if it's NOT the matching category") and
// common::InvalidCat (cat < 0 || cat >= 2^24).

// Categories must lie below 2^24: libxgboost sends every value at or above it left, so a larger
// category could never be matched (and xgboost cannot train one).
constexpr int64_t kCategoryLimit = int64_t{1} << 24;
// Total size of all category bitsets of a model: a category near 2^24 costs 2 MiB of bits, so a
// small corrupt file could otherwise claim gigabytes.
constexpr int64_t kMaxCategoryWords = int64_t{1} << 25;  // 128 MiB

struct CategoricalArrays {
  std::vector<int64_t> nodes, segments, sizes, categories;
  std::vector<int32_t> index_of_node;  // node id -> k, or -1
};

// Reads and checks the categories* arrays against split_type. A tree without categorical splits
// may lack them (models before 1.6) or hold them empty.
StatusOr<CategoricalArrays> ReadCategoricalArrays(const ModelJson& tree, const TreeArrays& a,
                                                  int64_t num_nodes) {
  CategoricalArrays c;
  const bool present = OptionalMember(tree, "categories_nodes") != nullptr ||
                       OptionalMember(tree, "categories") != nullptr ||
                       OptionalMember(tree, "categories_segments") != nullptr ||
                       OptionalMember(tree, "categories_sizes") != nullptr;
  if (present) {
    ASSIGN_OR_RETURN(const ModelJson* nodes, ArrayMember(tree, "", "categories_nodes"));
    ASSIGN_OR_RETURN(const ModelJson* segments, ArrayMember(tree, "", "categories_segments"));
    ASSIGN_OR_RETURN(const ModelJson* sizes, ArrayMember(tree, "", "categories_sizes"));
    ASSIGN_OR_RETURN(const ModelJson* categories, ArrayMember(tree, "", "categories"));
    ASSIGN_OR_RETURN(c.nodes, IntArray(*nodes, "categories_nodes"));
    ASSIGN_OR_RETURN(c.segments, IntArray(*segments, "categories_segments"));
    ASSIGN_OR_RETURN(c.sizes, IntArray(*sizes, "categories_sizes"));
    ASSIGN_OR_RETURN(c.categories, IntArray(*categories, "categories"));
  }
  const size_t n = c.nodes.size();
  for (const auto& [name, v] :
       {std::pair{"categories_segments", &c.segments}, std::pair{"categories_sizes", &c.sizes}}) {
    if (v->size() != n) {
      return InvalidArgument(std::string(name) + " has " + std::to_string(v->size()) +
                             " entries, expected " + std::to_string(n) +
                             " (one per categories_nodes entry)");
    }
  }
  c.index_of_node.assign(static_cast<size_t>(num_nodes), -1);
  for (size_t k = 0; k < n; ++k) {
    const int64_t node = c.nodes[k];
    const std::string where = "categories_nodes[" + std::to_string(k) + "]";
    if (node < 0 || node >= num_nodes || (k > 0 && node <= c.nodes[k - 1])) {
      return InvalidArgument(where + " is " + std::to_string(node) +
                             ", expected ascending node ids below " + std::to_string(num_nodes));
    }
    if (a.split_type.empty() || a.split_type[node] != 1) {
      return InvalidArgument(
          where + " is node " + std::to_string(node) +
          ", which is not a categorical split (split_type " +
          (a.split_type.empty() ? std::string("absent") : std::to_string(a.split_type[node])) +
          ")");
    }
    const int64_t begin = c.segments[k];
    const int64_t size = c.sizes[k];
    const int64_t total = static_cast<int64_t>(c.categories.size());
    if (size < 1 || begin < 0 || begin > total || size > total - begin) {
      return InvalidArgument(
          "node " + std::to_string(node) + ": categories_segments[" + std::to_string(k) + "] " +
          std::to_string(begin) + " and categories_sizes[" + std::to_string(k) + "] " +
          std::to_string(size) + " do not give a non-empty range inside categories (" +
          std::to_string(total) + " entries)");
    }
    c.index_of_node[node] = static_cast<int32_t>(k);
  }
  for (size_t i = 0; i < a.split_type.size(); ++i) {
    if (a.split_type[i] == 1 && c.index_of_node[i] < 0) {
      return InvalidArgument("node " + std::to_string(i) +
                             " is a categorical split (split_type 1) but is not listed in "
                             "categories_nodes");
    }
  }
  for (size_t j = 0; j < c.categories.size(); ++j) {
    if (c.categories[j] < 0 || c.categories[j] >= kCategoryLimit) {
      return InvalidArgument("categories[" + std::to_string(j) + "] is " +
                             std::to_string(c.categories[j]) + ", expected 0 to " +
                             std::to_string(kCategoryLimit - 1));
    }
  }
  return c;
}

// The category set of categorical node `node`, appended to forest->category_sets; returns its
// index. `words_left` is the remaining bitset budget of the model.
StatusOr<int32_t> AddCategorySet(const CategoricalArrays& c, int64_t node, TreeEnsemble* forest,
                                 int64_t* words_left) {
  const size_t k = static_cast<size_t>(c.index_of_node[static_cast<size_t>(node)]);
  const auto begin = c.categories.begin() + c.segments[k];
  const auto end = begin + c.sizes[k];
  const int64_t words = *std::max_element(begin, end) / 32 + 1;
  if (words > *words_left) {
    return base::ResourceExhausted("node " + std::to_string(node) +
                                   ": the category sets of the model need more than " +
                                   std::to_string(kMaxCategoryWords * 4 / (1 << 20)) + " MiB");
  }
  *words_left -= words;
  CategorySet set;
  set.bits.assign(static_cast<size_t>(words), 0);
  for (auto it = begin; it != end; ++it) {
    set.bits[static_cast<size_t>(*it / 32)] |= uint32_t{1} << (*it % 32);
  }
  set.in_set_goes_left = false;  // libxgboost: a matching category goes right
  set.invalid_goes_left = true;  // negative or >= 2^24 goes left (NaN: default_left)
  forest->category_sets.push_back(std::move(set));
  return static_cast<int32_t>(forest->category_sets.size() - 1);
}

// Reads one tree into `forest` (appending its nodes). Validates everything the engine relies on
// by walking from the root: children in range, no node reached twice, split features below
// num_features, categorical split arrays. Messages do not name the tree; the caller adds it.
Status ReadTree(const ModelJson& tree, float weight, int32_t group, TreeEnsemble* forest,
                int64_t* category_words_left) {
  if (!tree.is_object()) {
    return InvalidArgument("is " + Described(tree) + ", expected an object");
  }
  ASSIGN_OR_RETURN(const ModelJson* param, ObjectMember(tree, "", "tree_param"));
  ASSIGN_OR_RETURN(const int64_t num_nodes, IntParamMember(*param, "tree_param", "num_nodes"));
  if (num_nodes < 1 || num_nodes > std::numeric_limits<int32_t>::max()) {
    return InvalidArgument("tree_param.num_nodes is " + std::to_string(num_nodes) +
                           ", expected at least 1");
  }
  if (const ModelJson* slv = OptionalMember(*param, "size_leaf_vector")) {
    ASSIGN_OR_RETURN(int64_t size_leaf_vector, IntParam(*slv, "tree_param.size_leaf_vector"));
    if (size_leaf_vector > 1) {
      return base::Unimplemented(
          "vector-leaf (multi-target) trees are not supported (size_leaf_vector " +
          std::to_string(size_leaf_vector) + ")");
    }
  }
  ASSIGN_OR_RETURN(const TreeArrays a, ReadTreeArrays(tree, num_nodes));
  ASSIGN_OR_RETURN(const CategoricalArrays categorical, ReadCategoricalArrays(tree, a, num_nodes));

  // Walk from the root; unreachable nodes (deleted by pruning) stay zero-valued leaves.
  const size_t first = forest->nodes.size();
  forest->nodes.resize(first + static_cast<size_t>(num_nodes));
  TreeNode* nodes = forest->nodes.data() + first;
  std::vector<uint8_t> seen(static_cast<size_t>(num_nodes), 0);
  std::vector<int64_t> pending = {0};
  seen[0] = 1;
  while (!pending.empty()) {
    const int64_t id = pending.back();
    pending.pop_back();
    // (Named only when something is wrong: most nodes never need the string.)
    auto node_name = [id] { return "node " + std::to_string(id); };
    TreeNode& out = nodes[id];
    out.value = a.split_condition[id];
    if (a.left[id] == -1) {
      if (a.right[id] != -1) {
        return InvalidArgument(node_name() + " has no left child but right child " +
                               std::to_string(a.right[id]));
      }
      continue;  // a leaf: out.left stays -1
    }
    for (auto [side, child] : {std::pair{"left", a.left[id]}, std::pair{"right", a.right[id]}}) {
      if (child < 0 || child >= num_nodes) {
        return InvalidArgument(node_name() + " has " + side + " child " + std::to_string(child) +
                               ", outside [0, " + std::to_string(num_nodes) + ")");
      }
      if (seen[child]) {
        return InvalidArgument("node " + std::to_string(child) +
                               " is reached twice (a cycle or a shared child), again from " +
                               node_name());
      }
      seen[child] = 1;
      pending.push_back(child);
    }
    const int64_t split_type = a.split_type.empty() ? 0 : a.split_type[id];
    if (split_type != 0 && split_type != 1) {
      return InvalidArgument(node_name() + " has split_type " + std::to_string(split_type) +
                             ", expected 0 (numerical) or 1 (categorical)");
    }
    if (split_type == 1) {
      ASSIGN_OR_RETURN(out.category_set,
                       AddCategorySet(categorical, id, forest, category_words_left));
      out.value = 0;  // the stored split condition is NaN and unused
    }
    const int64_t feature = a.split_index[id];
    if (feature < 0 || feature >= forest->num_features) {
      return InvalidArgument(node_name() + " splits on feature " + std::to_string(feature) +
                             ", but num_feature is " + std::to_string(forest->num_features));
    }
    if (a.default_left[id] != 0 && a.default_left[id] != 1) {
      return InvalidArgument(node_name() + " has default_left " +
                             std::to_string(a.default_left[id]) + ", expected 0 or 1");
    }
    out.feature = static_cast<uint32_t>(feature);
    out.default_left = a.default_left[id] != 0;
    out.left = static_cast<int32_t>(a.left[id]);
    out.right = static_cast<int32_t>(a.right[id]);
  }
  forest->trees.push_back(TreeInfo{first, static_cast<size_t>(num_nodes), group, weight});
  return Status::Ok();
}

Status CheckIterationIndptr(const ModelJson& model, size_t num_trees) {
  const ModelJson* indptr = OptionalMember(model, "iteration_indptr");
  if (indptr == nullptr) return Status::Ok();
  const std::string field = "learner.gradient_booster.model.iteration_indptr";
  if (!indptr->is_array()) {
    return InvalidArgument("field '" + field + "' is " + Described(*indptr) +
                           ", expected an array");
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> v, IntArray(*indptr, field));
  bool ok = !v.empty() && v.front() == 0 && v.back() == static_cast<int64_t>(num_trees);
  for (size_t i = 1; ok && i < v.size(); ++i) ok = v[i] >= v[i - 1];
  if (!ok) {
    return InvalidArgument("field '" + field +
                           "' is not a non-decreasing list from 0 to the number of trees (" +
                           std::to_string(num_trees) + ")");
  }
  return Status::Ok();
}

StatusOr<XgboostModel> ParseModel(const ModelJson& root) {
  if (!root.is_object()) {
    return InvalidArgument("the document is " + Described(root) + ", expected an object");
  }
  XgboostModel m;
  ASSIGN_OR_RETURN(m.format_version, ParseVersion(root));
  ASSIGN_OR_RETURN(const ModelJson* learner, ObjectMember(root, "", "learner"));

  // Objective.
  ASSIGN_OR_RETURN(const ModelJson* objective, ObjectMember(*learner, "learner", "objective"));
  ASSIGN_OR_RETURN(std::string objective_name,
                   StringMember(*objective, "learner.objective", "name"));
  ASSIGN_OR_RETURN(m.objective, FindObjective(objective_name));

  // Model parameters.
  const std::string lmp_path = "learner.learner_model_param";
  ASSIGN_OR_RETURN(const ModelJson* lmp, ObjectMember(*learner, "learner", "learner_model_param"));
  ASSIGN_OR_RETURN(int64_t num_feature, IntParamMember(*lmp, lmp_path, "num_feature"));
  if (num_feature < 1 || num_feature > kMaxFeatures) {
    return InvalidArgument(lmp_path + ".num_feature is " + std::to_string(num_feature) +
                           ", expected 1 to " + std::to_string(kMaxFeatures));
  }
  ASSIGN_OR_RETURN(m.num_class, IntParamMember(*lmp, lmp_path, "num_class"));
  if (const ModelJson* nt = OptionalMember(*lmp, "num_target")) {
    ASSIGN_OR_RETURN(m.num_target, IntParam(*nt, lmp_path + ".num_target"));
  }
  constexpr int64_t kMaxGroups = 1 << 20;
  if (m.num_class < 0 || m.num_class > kMaxGroups || m.num_target < 1 ||
      m.num_target > kMaxGroups) {
    return InvalidArgument(lmp_path + ": num_class " + std::to_string(m.num_class) +
                           " / num_target " + std::to_string(m.num_target) + " out of range");
  }
  if (m.num_class > 1 && m.num_target > 1) {
    return base::Unimplemented("multi-class multi-target models are not supported");
  }
  const int64_t num_groups = std::max<int64_t>({m.num_class, m.num_target, 1});
  const Task task = m.objective.task;
  if ((task == Task::kMultiProb || task == Task::kMultiIndex) && m.num_class < 1) {
    return InvalidArgument(m.objective.name + " needs " + lmp_path + ".num_class >= 1, got " +
                           std::to_string(m.num_class));
  }
  if ((task == Task::kBinary || task == Task::kHinge) && num_groups != 1) {
    return InvalidArgument(m.objective.name + " models have one output group, this one has " +
                           std::to_string(num_groups));
  }
  ASSIGN_OR_RETURN(m.base_score_text, StringMember(*lmp, lmp_path, "base_score"));
  ASSIGN_OR_RETURN(m.base_score, ParseBaseScore(m.base_score_text));
  if (m.base_score.size() == 1) {
    m.base_score.resize(static_cast<size_t>(num_groups), m.base_score[0]);
  } else if (static_cast<int64_t>(m.base_score.size()) != num_groups) {
    return InvalidArgument(lmp_path + ".base_score has " + std::to_string(m.base_score.size()) +
                           " values, expected 1 or " + std::to_string(num_groups));
  }
  TreeEnsemble& forest = m.forest;
  forest.precision = Precision::kFloat32;
  forest.comparison = Comparison::kLess;
  forest.num_features = num_feature;
  forest.num_groups = num_groups;
  for (float bs : m.base_score) {
    auto margin = BaseScoreToMargin(m.objective, bs);
    if (!margin.ok()) return margin.status().WithContext(lmp_path);
    forest.base_margin.push_back(*margin);
  }

  if (const ModelJson* names = OptionalMember(*learner, "feature_names");
      names != nullptr && names->is_array()) {
    for (const ModelJson& n : *names) {
      if (n.is_string()) m.feature_names.push_back(n.get<std::string>());
    }
  }

  // Booster.
  ASSIGN_OR_RETURN(const ModelJson* booster, ObjectMember(*learner, "learner", "gradient_booster"));
  ASSIGN_OR_RETURN(m.booster, StringMember(*booster, "learner.gradient_booster", "name"));
  std::string model_path = "learner.gradient_booster";
  const ModelJson* gbtree = booster;
  std::vector<float> weights;
  if (m.booster == "dart") {
    ASSIGN_OR_RETURN(gbtree, ObjectMember(*booster, model_path, "gbtree"));
    ASSIGN_OR_RETURN(const ModelJson* drop, ArrayMember(*booster, model_path, "weight_drop"));
    ASSIGN_OR_RETURN(weights, FloatArray(*drop, model_path + ".weight_drop"));
    model_path += ".gbtree";
  } else if (m.booster == "gblinear") {
    return base::Unimplemented("gblinear models are not supported (tree models only)");
  } else if (m.booster != "gbtree") {
    return InvalidArgument("unknown gradient_booster '" + m.booster + "', expected gbtree or dart");
  }
  ASSIGN_OR_RETURN(const ModelJson* model, ObjectMember(*gbtree, model_path, "model"));
  model_path += ".model";
  ASSIGN_OR_RETURN(const ModelJson* gbp, ObjectMember(*model, model_path, "gbtree_model_param"));
  ASSIGN_OR_RETURN(int64_t num_trees,
                   IntParamMember(*gbp, model_path + ".gbtree_model_param", "num_trees"));
  ASSIGN_OR_RETURN(const ModelJson* trees, ArrayMember(*model, model_path, "trees"));
  ASSIGN_OR_RETURN(const ModelJson* tree_info_json, ArrayMember(*model, model_path, "tree_info"));
  if (num_trees < 0 || static_cast<size_t>(num_trees) != trees->size()) {
    return InvalidArgument(model_path + ".gbtree_model_param.num_trees is " +
                           std::to_string(num_trees) + ", but there are " +
                           std::to_string(trees->size()) + " trees");
  }
  if (tree_info_json->size() != trees->size()) {
    return InvalidArgument(model_path + ".tree_info has " + std::to_string(tree_info_json->size()) +
                           " entries, expected " + std::to_string(trees->size()) +
                           " (one per tree)");
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> tree_info, IntArray(*tree_info_json, "tree_info"));
  if (m.booster == "dart") {
    if (weights.size() != trees->size()) {
      return InvalidArgument("learner.gradient_booster.weight_drop has " +
                             std::to_string(weights.size()) + " entries, expected " +
                             std::to_string(trees->size()) + " (one per tree)");
    }
    forest.weighted = true;
  }
  RETURN_IF_ERROR(CheckIterationIndptr(*model, trees->size()));

  forest.trees.reserve(trees->size());
  int64_t category_words_left = kMaxCategoryWords;
  for (size_t i = 0; i < trees->size(); ++i) {
    if (tree_info[i] < 0 || tree_info[i] >= num_groups) {
      return InvalidArgument("tree_info[" + std::to_string(i) + "] is " +
                             std::to_string(tree_info[i]) + ", but the model has " +
                             std::to_string(num_groups) + " output group(s) (num_class " +
                             std::to_string(m.num_class) + ")");
    }
    RETURN_IF_ERROR(ReadTree((*trees)[i], weights.empty() ? 1.0f : weights[i],
                             static_cast<int32_t>(tree_info[i]), &forest, &category_words_left)
                        .WithContext("tree " + std::to_string(i)));
  }
  RETURN_IF_ERROR(Validate(forest));
  return m;
}

}  // namespace

StatusOr<XgboostModel> ParseXgboostModel(std::span<const uint8_t> bytes, ModelFormat format,
                                         size_t readable) {
  ASSIGN_OR_RETURN(ModelJson document,
                   ParseModelDocument(bytes, format, DocumentMode::kForServing, readable));
  return ParseXgboostModel(document);
}

StatusOr<XgboostModel> ParseXgboostModel(const ModelJson& document) {
  try {
    return ParseModel(document);
  } catch (const std::bad_alloc&) {
    return base::ResourceExhausted("out of memory while reading the model");
  } catch (const std::exception& e) {
    // Not expected: every access above checks the type first.
    return base::Internal(std::string("unexpected error reading the model: ") + e.what());
  }
}

ModelFormat FormatForPath(const std::filesystem::path& path) {
  return path.extension() == ".ubj" ? ModelFormat::kUbjson : ModelFormat::kJson;
}

StatusOr<XgboostModel> ReadXgboostModel(const std::filesystem::path& path, int64_t max_bytes) {
  ASSIGN_OR_RETURN(std::string bytes, backend::ReadModelFile(path, max_bytes));
  auto model = ParseXgboostModel(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()),
      FormatForPath(path), bytes.capacity());
  if (!model.ok()) return model.status().WithContext(path.string());
  return model;
}

}  // namespace inferd::backends::forest
