// `inferd predict`: offline batch scoring of a CSV or JSON-lines file into a CSV file, streaming.
//
// Pipeline: `threads` workers each take the next chunk of `batch_rows` lines from the input (reads
// are serialized), parse it into a tensor, run LoadedModel::Execute on it, format the outputs as
// CSV text, and append that text to the output when every earlier chunk has been written (chunks
// are written in input order). Memory is bounded by `threads` chunks (text, tensor and output
// text), whatever the size of the input.
// The output goes to `<output>.tmp`, renamed to `output` at the end; on any error the temporary
// file is removed and nothing is left at `output`. Standard output cannot be taken back: an error
// there leaves the rows written so far.
// Progress (on `progress`): a bar redrawn a few times per second when it is a terminal, else a
// line every `progress_interval_lines`; then the summary line `rows N, seconds S, rows/s R`.
//
// Thread-safety: PredictFile and RunPredict are reentrant; they start and join their own threads
// and call Execute from several of them at once (LoadedModel::Execute is thread-safe).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "base/status.h"
#include "preprocess/schema.h"
#include "tools/row_parser.h"

namespace inferd::tools {

struct PredictOptions {
  // MODEL_DIR_OR_FILE (see local_model.h) and, for a model directory, the version (default: the
  // highest). Used by RunPredict only.
  std::filesystem::path model;
  std::optional<int64_t> model_version;
  // The backends to load with. Required by RunPredict, not owned.
  const backend::BackendRegistry* backends = nullptr;

  // Rows to score: CSV or JSON lines; "-" is standard input. Required.
  std::filesystem::path input;
  // Input format; nullopt detects it: `.jsonl`, `.ndjson` and `.json` files are JSON lines, `.csv`
  // files CSV, anything else by its first non-blank byte ('[' or '{': JSON lines).
  std::optional<InputFormat> input_format;
  // Where the CSV goes; empty = standard output.
  std::filesystem::path output;
  // Outputs to write, in this order; empty = every default output of the model, in signature
  // order (e.g. `probabilities` then `label`). Names must be outputs of the model (`margin` too).
  std::vector<std::string> outputs;
  // Worker threads; 0 = one per core. Must be >= 0.
  int threads = 0;
  // Input lines per chunk (one Execute call per chunk). Default 16384. Must be > 0. Memory is
  // about threads * batch_rows * (input line bytes + 4 or 8 bytes per feature + output bytes).
  int64_t batch_rows = 16384;

  // Progress and summary go here (nullptr: nowhere). Not owned.
  std::FILE* progress = stderr;
  // kAuto: a bar when `progress` is a terminal, lines otherwise, nothing while the CSV itself goes
  // to a terminal; or force one. kNone prints only the summary.
  enum class ProgressMode { kAuto, kBar, kLines, kNone } progress_mode = ProgressMode::kAuto;
  std::chrono::milliseconds progress_interval_bar{250};
  std::chrono::milliseconds progress_interval_lines{5000};
  // Also print the time spent in each stage (summed over the workers) after the summary.
  bool profile = false;
};

// CPU time spent per stage, summed over the workers, in seconds (thread CPU time, so that the
// split stays meaningful when the machine is busy; waiting for a lock or a turn costs none).
struct PredictStageSeconds {
  double read = 0;     // reading chunks from the input (serialized)
  double parse = 0;    // text to tensor
  double execute = 0;  // LoadedModel::Execute
  double format = 0;   // outputs to CSV text
  double write = 0;    // writing the text in input order
};

struct PredictStats {
  int64_t rows = 0;
  int64_t chunks = 0;
  double seconds = 0;  // wall time of the scoring (after the model is loaded)
  double load_seconds = 0;
  int threads = 0;
  PredictStageSeconds stages;
  // With a schema: its features and what it did to their values (summed over the workers).
  std::vector<std::string> schema_features;
  preprocess::Actions schema_actions;
};

// Scores `options.input` with `model` (already loaded), whose input is FP32 or FP64 [-1, F].
// `feature_names` (config.yaml `features`, may be empty) lets CSV headers and JSON objects name
// columns. Errors: NOT_FOUND for a missing input, INVALID_ARGUMENT for bad options or bad input
// (naming the line and column), UNIMPLEMENTED for a model this tool cannot feed (several inputs,
// integer input), UNAVAILABLE for I/O errors, and Execute's errors.
// `schema` (config.yaml's, may be null) reads text fields (category names) and applies its
// policies to every row before the model runs, as `serve` does; a rejection stops the run naming
// the line and feature.
base::StatusOr<PredictStats> PredictFile(const backend::LoadedModel& model,
                                         const std::vector<std::string>& feature_names,
                                         const PredictOptions& options,
                                         const preprocess::Schema* schema = nullptr);

// Loads `options.model` (LoadLocalModel) and runs PredictFile.
base::StatusOr<PredictStats> RunPredict(const PredictOptions& options);

// "rows 1000000, seconds 0.812, rows/s 1231527".
std::string SummaryLine(const PredictStats& stats);
// "schema: age imputed 3, clipped 1; color unseen 2" (empty when the schema changed nothing).
std::string SchemaLine(const PredictStats& stats);
// "stages (CPU seconds, 2 threads, 62 chunks): read 0.01, parse 0.61, ...".
std::string ProfileLine(const PredictStats& stats);

}  // namespace inferd::tools
