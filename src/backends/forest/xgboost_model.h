// XgboostModel: an XGBoost tree model read from the JSON or UBJSON file that
// `Booster.save_model` writes (xgboost 1.7; the 2.x and 3.1 layouts are accepted too), fully
// validated so that a corrupt file is refused with a message naming the problem and never
// crashes or hangs prediction.
//
// Accepted: gradient_booster "gbtree" and "dart" (weight_drop), scalar-leaf trees with numerical
// and categorical splits, every objective of objective.h. Categorical splits (split_type 1,
// `enable_categorical`) become TreeEnsemble category sets with libxgboost 1.7's rule: a category
// in the node's set goes right, any other value left (also negative values and values >= 2^24;
// x is truncated to an int: 2.5 is category 2), NaN follows default_left. Refused with
// UNIMPLEMENTED: "gblinear", vector-leaf (multi-target) trees, unknown objectives.
// Format differences handled: base_score as "5E-1" (1.x, 2.x) or "[5E-1]" / "[a,b,c]" (3.1:
// one per output, or one for all); optional num_target, boost_from_average,
// iteration_indptr (checked), gbtree_model_param.size_leaf_vector, tree size_leaf_vector "0"
// (1.x) or "1" (2.x+), split_type absent (old models), default_left as 0/1 or booleans.
// Thread-safety: value type; the functions are pure.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "backends/forest/model_document.h"
#include "backends/forest/objective.h"
#include "backends/forest/tree_ensemble.h"
#include "base/status.h"

namespace inferd::backends::forest {

struct XgboostModel {
  Objective objective;
  TreeEnsemble forest;  // float32 values (held exactly in double), x < threshold, NaN = missing
  std::string booster;  // "gbtree" or "dart"
  std::string format_version;              // the file's "version", e.g. "1.7.4"
  std::string base_score_text;             // learner_model_param.base_score as stored, e.g. "5E-1"
  std::vector<float> base_score;           // parsed, one per output group (output space)
  int64_t num_class = 0;                   // learner_model_param.num_class (0 unless multi-class)
  int64_t num_target = 1;                  // learner_model_param.num_target (2.x multi-target)
  std::vector<std::string> feature_names;  // learner.feature_names, often empty
};

// Parses and validates a model document. Errors (messages do not name the file):
// DATA_LOSS for bytes that are not a JSON/UBJSON document (see model_document.h);
// INVALID_ARGUMENT for a document that is not a consistent XGBoost model, naming the field,
// e.g. "missing field 'learner.objective'", "tree 3: left_children has 5 entries, expected 7",
// "tree 0: node 4 has right child 99, outside [0, 13)", "tree 2: node 7 is reached twice (a
// cycle)", "tree 1: node 0 splits on feature 40, but num_feature is 30",
// "tree_info[5] is 3, but the model has 3 output groups (num_class 3)", "tree 2: categories[7]
// is -1, expected 0 to 16777215", "tree 0: node 3 is a categorical split (split_type 1) but is
// not listed in categories_nodes"; RESOURCE_EXHAUSTED when the category sets would need more
// than 128 MiB; UNIMPLEMENTED for "unknown objective 'foo'", gblinear, vector leaves.
// `readable` as ParseModelDocument's (in-place parsing when the buffer has padding).
base::StatusOr<XgboostModel> ParseXgboostModel(std::span<const uint8_t> bytes, ModelFormat format,
                                               size_t readable = 0);
// The same from a parsed document (ParseModelDocument), for a caller that also edits it.
base::StatusOr<XgboostModel> ParseXgboostModel(const ModelJson& document);

// The format a file name implies: ".ubj" is UBJSON, anything else JSON.
ModelFormat FormatForPath(const std::filesystem::path& path);

// Reads `path` and parses it (format from the extension); every error message starts with the
// path. Errors: NOT_FOUND when the file does not exist, RESOURCE_EXHAUSTED when it is larger than
// `max_bytes`, INTERNAL on read errors, else as ParseXgboostModel.
base::StatusOr<XgboostModel> ReadXgboostModel(const std::filesystem::path& path, int64_t max_bytes);

}  // namespace inferd::backends::forest
