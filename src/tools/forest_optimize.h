// Shrinking an XGBoost forest within a metric budget (`inferd optimize` on tree models):
//  - drop trees: the tail (the last boosting rounds), or the rounds of least contribution (the
//    mean |leaf| a round's trees give the data); the mean margin the dropped trees gave is kept,
//    in base_score (one output group) or a one-leaf tree per group;
//  - cap the depth: a node at the cap becomes a leaf holding the cover-weighted mean (training
//    sum_hessian) of the leaves below it;
//  - merge equal leaves: a split whose two children are leaves of the same value becomes that
//    leaf.
// For each way to drop trees and each depth cap, the search scores every tree count on the data
// from a per-tree leaf matrix (no model is rebuilt per count) and keeps the smallest count from
// which on every larger one stays within the budget. The candidates come out as XGBoost JSON
// documents that libxgboost 1.7 loads too.
// Thread-safety: a ForestOptimizer is not synchronized.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/evaluate.h"

namespace inferd::tools {

struct ForestCandidate {
  std::string name;        // "contribution, 80 of 300 trees, depth <= 5"
  std::string method;      // tail or contribution
  int64_t trees = 0;       // without the one-leaf bias trees
  int64_t max_depth = 0;   // of the result
  int64_t nodes = 0;       // of the result
  int64_t merged = 0;      // splits merged into leaves
  double estimated = 0;    // the metric the search estimated on the data
  std::string model_json;  // the document
};

class ForestOptimizer {
 public:
  // Reads an XGBoost JSON or UBJSON model. Errors: the reader's; UNIMPLEMENTED for dart boosters
  // and categorical splits.
  static base::StatusOr<ForestOptimizer> Load(const std::filesystem::path& model_file);
  ForestOptimizer(ForestOptimizer&&) noexcept;
  ForestOptimizer& operator=(ForestOptimizer&&) noexcept;
  ~ForestOptimizer();

  int64_t num_trees() const;
  int64_t rounds() const;  // boosting rounds (trees per round: groups x parallel trees)
  int64_t max_depth() const;

  // One candidate: boosting rounds `rounds` (ascending) at depth cap `cap` (0: as trained), with
  // `bias` (per output group, or empty) added to the margin.
  ForestCandidate Make(const std::vector<int64_t>& rounds, int64_t cap,
                       const std::vector<double>& bias) const;

  // The candidates within `max_drop` of `reference` on `metric` (estimated on `data`, at most
  // `max_rows` of its rows), at most one per (method, depth cap). `task` as Evaluate gives it.
  // Errors: INVALID_ARGUMENT when the data's width is not the model's.
  base::StatusOr<std::vector<ForestCandidate>> Candidates(const LabelledData& data,
                                                          const std::string& task,
                                                          const std::string& metric,
                                                          double reference, double max_drop,
                                                          int64_t max_rows = 20000) const;

 private:
  struct Impl;
  explicit ForestOptimizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferd::tools
