#include "tools/predict.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <thread>

#include "base/thread_annotations.h"
#include "tools/chunk_reader.h"
#include "tools/csv_output.h"
#include "tools/local_model.h"
#include "tools/progress.h"

namespace inferd::tools {

namespace fs = std::filesystem;
using base::Status;
using base::StatusOr;
using tensor::DataType;
using SteadyClock = std::chrono::steady_clock;

namespace {

double SecondsSince(SteadyClock::time_point t) {
  return std::chrono::duration<double>(SteadyClock::now() - t).count();
}

// CPU time of the calling thread, in seconds: stage times stay meaningful on a busy machine.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// The CSV destination: `<path>.tmp` renamed to `path` on Commit, or standard output.
class OutputFile {
 public:
  static StatusOr<std::unique_ptr<OutputFile>> Open(const fs::path& path) {
    auto out = std::unique_ptr<OutputFile>(new OutputFile());
    if (path.empty()) {
      out->fd_ = STDOUT_FILENO;
      return out;
    }
    std::error_code ec;
    // Through symbolic links to the file they name; a directory is refused before any work.
    const fs::path target = fs::weakly_canonical(path, ec);
    const fs::path real = ec ? path : target;
    const auto status = fs::status(real, ec);
    if (!ec && fs::is_directory(status)) {
      return base::InvalidArgument("output " + path.string() + " is a directory");
    }
    if (!ec && fs::exists(status) && !fs::is_regular_file(status)) {
      // A device or a pipe (e.g. /dev/null): write to it directly, never replace it.
      out->fd_ = ::open(real.c_str(), O_WRONLY | O_CLOEXEC);
      if (out->fd_ < 0) {
        return base::Unavailable("cannot open output " + path.string() + ": " +
                                 std::strerror(errno));
      }
      out->direct_ = real;
      return out;
    }
    out->path_ = real;
    out->tmp_ = real.string() + ".tmp";
    out->fd_ = ::open(out->tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out->fd_ < 0) {
      return base::Unavailable("cannot create output file " + out->tmp_.string() + ": " +
                               std::strerror(errno));
    }
    return out;
  }
  ~OutputFile() { Abort(); }

  Status Write(std::string_view text) {
    while (!text.empty()) {
      ssize_t n = ::write(fd_, text.data(), text.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        return base::Unavailable("writing " + Name() + ": " + std::strerror(errno));
      }
      text.remove_prefix(static_cast<size_t>(n));
    }
    return Status::Ok();
  }

  Status Commit() {
    if (!direct_.empty() && fd_ >= 0 && ::close(std::exchange(fd_, -1)) != 0) {
      return base::Unavailable("writing " + direct_.string() + ": " + std::strerror(errno));
    }
    if (path_.empty()) return Status::Ok();
    int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) {
      return base::Unavailable("writing " + tmp_.string() + ": " + std::strerror(errno));
    }
    std::error_code ec;
    fs::rename(tmp_, path_, ec);
    if (ec) return base::Unavailable("renaming " + tmp_.string() + ": " + ec.message());
    tmp_.clear();
    return Status::Ok();
  }

  // Removes the temporary file (nothing is left at the output path).
  void Abort() {
    if (path_.empty()) return;
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
    if (!tmp_.empty()) {
      std::error_code ec;
      fs::remove(tmp_, ec);
      tmp_.clear();
    }
  }

 private:
  OutputFile() = default;
  std::string Name() const {
    if (!direct_.empty()) return direct_.string();
    return path_.empty() ? "standard output" : tmp_.string();
  }

  int fd_ = -1;
  fs::path path_;  // empty: standard output
  fs::path tmp_;
  fs::path direct_;  // a device or pipe written in place
};

// What every worker shares. The reader and the output are each used by one worker at a time.
struct Pipeline {
  ChunkReader* reader = nullptr;
  OutputFile* output = nullptr;
  const backend::LoadedModel* model = nullptr;
  const RowLayout* layout = nullptr;
  const CsvOutputPlan* plan = nullptr;
  std::vector<std::string> requested;
  std::string input_name;
  DataType dtype = DataType::kFp32;
  int64_t batch_rows = 0;
  const preprocess::Schema* schema = nullptr;

  base::Mutex read_mu;
  bool input_done GUARDED_BY(read_mu) = false;

  // Chunks are written in input order. A worker whose chunk is not next parks its text (output
  // text is small: a few bytes per row) and goes on; whoever writes chunk k also writes the parked
  // chunks k+1, k+2, ... At most max_parked texts wait, which bounds the memory.
  base::Mutex write_mu;
  base::CondVar write_cv;
  int64_t next_write GUARDED_BY(write_mu) = 0;
  std::map<int64_t, std::string> parked GUARDED_BY(write_mu);
  std::vector<std::string> spare GUARDED_BY(write_mu);  // emptied texts, for reuse
  size_t max_parked = 0;

  base::Mutex state_mu;
  base::CondVar state_cv;
  int running GUARDED_BY(state_mu) = 0;
  // The error of the earliest failed chunk: the one reported, whatever the threads' timing.
  int64_t error_chunk GUARDED_BY(state_mu) = std::numeric_limits<int64_t>::max();
  Status error GUARDED_BY(state_mu);
  std::atomic<bool> failed{false};

  std::atomic<int64_t> rows_done{0};
  std::atomic<int64_t> chunks_done{0};

  void Fail(int64_t chunk, Status st) {
    base::MutexLock l(state_mu);
    if (chunk < error_chunk) {
      error_chunk = chunk;
      error = std::move(st);
    }
    failed.store(true);
  }
};

// Parses, runs and formats one chunk into `text`; returns the rows scored.
StatusOr<int64_t> ScoreChunk(Pipeline& p, const Chunk& chunk, RowParser& parser, std::string* text,
                             PredictStageSeconds* t, preprocess::Actions* actions) {
  const double t0 = ThreadCpuSeconds();
  const int64_t nf = p.layout->num_features;
  tensor::Tensor x(p.input_name, p.dtype, {chunk.lines, nf});
  StatusOr<int64_t> rows = p.dtype == DataType::kFp64
                               ? parser.Parse(chunk.text, chunk.first_line, x.data<double>())
                               : parser.Parse(chunk.text, chunk.first_line, x.data<float>());
  if (!rows.ok()) return rows.status();
  if (*rows < chunk.lines) {  // blank lines: a tensor of the rows only
    tensor::Tensor y(p.input_name, p.dtype, {*rows, nf});
    std::memcpy(y.bytes().data(), x.bytes().data(), y.byte_size());
    x = std::move(y);
  }
  if (p.schema != nullptr && *rows > 0) {
    // Rows are lines unless the chunk had blank lines; then rows are counted within the chunk.
    const bool lines = *rows == chunk.lines;
    const preprocess::RowNaming naming{lines ? "line" : "data row", lines ? chunk.first_line : 1};
    Status st = p.dtype == DataType::kFp64
                    ? p.schema->Apply(x.data<double>(), static_cast<size_t>(*rows), actions, naming)
                    : p.schema->Apply(x.data<float>(), static_cast<size_t>(*rows), actions, naming);
    if (!st.ok()) {
      if (lines) return st;
      return st.WithContext("lines " + std::to_string(chunk.first_line) + "-" +
                            std::to_string(chunk.first_line + chunk.lines - 1));
    }
  }
  const double t1 = ThreadCpuSeconds();
  t->parse += t1 - t0;
  if (*rows == 0) return 0;
  auto outputs = p.model->Execute(std::span<const tensor::Tensor>(&x, 1), p.requested);
  const double t2 = ThreadCpuSeconds();
  t->execute += t2 - t1;
  const std::string lines = "lines " + std::to_string(chunk.first_line) + "-" +
                            std::to_string(chunk.first_line + chunk.lines - 1);
  if (!outputs.ok()) return outputs.status().WithContext(lines);
  RETURN_IF_ERROR(AppendCsvRows(*outputs, *p.plan, text).WithContext(lines));
  t->format += ThreadCpuSeconds() - t2;
  return rows;
}

// Writes `text` (chunk next_write) and the parked chunks that follow it.
void WriteInOrder(Pipeline& p, std::string* text) REQUIRES(p.write_mu) {
  while (true) {
    if (!p.failed.load()) {
      Status st = p.output->Write(*text);
      if (!st.ok()) p.Fail(p.next_write, st);
    }
    ++p.next_write;
    auto it = p.parked.find(p.next_write);
    if (it == p.parked.end()) break;
    text->clear();
    p.spare.push_back(std::move(*text));
    *text = std::move(it->second);
    p.parked.erase(it);
  }
  p.write_cv.NotifyAll();
}

void Worker(Pipeline& p, PredictStageSeconds* t, preprocess::Actions* actions) {
  Chunk chunk;
  RowParser parser(p.layout);
  if (p.schema != nullptr) {
    actions->Resize(p.schema->width());
    parser.set_text_value([schema = p.schema, actions](int32_t f, std::string_view text) {
      return schema->TextValue(static_cast<size_t>(f), text, actions);
    });
  }
  std::string text;
  while (!p.failed.load()) {
    const double t0 = ThreadCpuSeconds();
    {
      base::MutexLock l(p.read_mu);
      if (p.input_done) break;
      StatusOr<bool> more = p.reader->Next(p.batch_rows, &chunk);
      if (!more.ok() || !*more) {
        p.input_done = true;
        if (!more.ok()) p.Fail(chunk.index, more.status());
        break;
      }
    }
    t->read += ThreadCpuSeconds() - t0;
    text.clear();
    StatusOr<int64_t> rows = ScoreChunk(p, chunk, parser, &text, t, actions);
    const double t1 = ThreadCpuSeconds();
    if (!rows.ok()) {
      p.Fail(chunk.index, rows.status());
      text.clear();
    }
    {
      base::MutexLock l(p.write_mu);
      p.write_cv.Wait(p.write_mu, [&]() NO_THREAD_SAFETY_ANALYSIS {
        return p.next_write == chunk.index || p.parked.size() < p.max_parked;
      });
      if (p.next_write != chunk.index) {
        p.parked.emplace(chunk.index, std::move(text));
        text = std::string();
        if (!p.spare.empty()) {
          text = std::move(p.spare.back());
          p.spare.pop_back();
        }
      } else {
        WriteInOrder(p, &text);
      }
    }
    t->write += ThreadCpuSeconds() - t1;
    if (rows.ok()) p.rows_done.fetch_add(*rows, std::memory_order_relaxed);
    p.chunks_done.fetch_add(1, std::memory_order_relaxed);
  }
  base::MutexLock l(p.state_mu);
  --p.running;
  p.state_cv.NotifyAll();
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Decides the input format and reads the CSV header, leaving the reader at the first data line.
StatusOr<RowLayout> ReadLayout(ChunkReader& reader, const PredictOptions& options,
                               int64_t num_features,
                               const std::vector<std::string>& feature_names) {
  // Leading blank lines carry nothing (the line count stays right for messages).
  std::optional<std::string_view> first;
  while (true) {
    ASSIGN_OR_RETURN(first, reader.PeekLine());
    if (!first || first->find_first_not_of(" \t") != std::string_view::npos) break;
    reader.SkipLine();
  }
  std::optional<InputFormat> format = options.input_format;
  if (!format) {
    const std::string ext = Lower(options.input.extension().string());
    if (ext == ".jsonl" || ext == ".ndjson" || ext == ".json") {
      format = InputFormat::kJsonLines;
    } else if (ext == ".csv") {
      format = InputFormat::kCsv;
    } else {
      size_t at = first ? first->find_first_not_of(" \t") : std::string_view::npos;
      bool json = at != std::string_view::npos && ((*first)[at] == '[' || (*first)[at] == '{');
      format = json ? InputFormat::kJsonLines : InputFormat::kCsv;
    }
  }
  if (*format == InputFormat::kJsonLines) {
    RowLayout layout;
    layout.format = InputFormat::kJsonLines;
    layout.num_features = num_features;
    layout.feature_names = feature_names;
    return layout;
  }
  std::optional<std::vector<std::string>> header;
  if (first && LooksLikeCsvHeader(*first)) {
    header = SplitCsvLine(*first);
    reader.SkipLine();
  }
  auto layout = MakeCsvLayout(header, num_features, feature_names);
  if (!layout.ok()) return layout.status().WithContext(options.input.string());
  return layout;
}

// The outputs to write: the requested ones, or every default output in signature order.
StatusOr<std::vector<config::TensorSpec>> SelectOutputs(const backend::ModelSignature& sig,
                                                        const std::vector<std::string>& names) {
  std::vector<config::TensorSpec> out;
  if (names.empty()) {
    for (const auto& o : sig.outputs) {
      if (o.default_output) out.push_back(o);
    }
    return out;
  }
  std::set<std::string> seen;
  for (const auto& name : names) {
    auto it = std::find_if(sig.outputs.begin(), sig.outputs.end(),
                           [&](const config::TensorSpec& o) { return o.name == name; });
    if (it == sig.outputs.end()) {
      std::string known;
      for (const auto& o : sig.outputs) known += (known.empty() ? "" : ", ") + o.name;
      return base::InvalidArgument("the model has no output '" + name + "' (it has " + known + ")");
    }
    if (!seen.insert(name).second) {
      return base::InvalidArgument("output '" + name + "' is asked for twice");
    }
    out.push_back(*it);
  }
  return out;
}

}  // namespace

StatusOr<PredictStats> PredictFile(const backend::LoadedModel& model,
                                   const std::vector<std::string>& feature_names,
                                   const PredictOptions& options,
                                   const preprocess::Schema* schema) {
  if (options.threads < 0) return base::InvalidArgument("--threads must be >= 0");
  if (options.batch_rows <= 0) return base::InvalidArgument("--batch must be > 0");
  if (options.input.empty()) return base::InvalidArgument("no input file given");
  const backend::ModelSignature& sig = model.signature();
  if (sig.inputs.size() != 1) {
    return base::Unimplemented("predict feeds models with one input; this one has " +
                               std::to_string(sig.inputs.size()));
  }
  const config::TensorSpec& in = sig.inputs[0];
  if (in.dtype != DataType::kFp32 && in.dtype != DataType::kFp64) {
    return base::Unimplemented("predict feeds FP32 or FP64 inputs; input '" + in.name + "' is " +
                               std::string(tensor::DataTypeName(in.dtype)));
  }
  if (in.shape.size() != 2 || in.shape[1] <= 0) {
    return base::Unimplemented("predict feeds inputs of shape [-1, features]; input '" + in.name +
                               "' is " + tensor::ShapeToString(in.shape));
  }
  const int64_t num_features = in.shape[1];
  if (schema != nullptr && static_cast<int64_t>(schema->width()) != num_features) {
    return base::InvalidArgument("the schema has " + std::to_string(schema->width()) +
                                 " features (" + schema->FeatureList() + ") but the model takes " +
                                 std::to_string(num_features));
  }
  if (!feature_names.empty() && static_cast<int64_t>(feature_names.size()) != num_features) {
    return base::InvalidArgument("config.yaml lists " + std::to_string(feature_names.size()) +
                                 " features but the model takes " + std::to_string(num_features));
  }
  ASSIGN_OR_RETURN(std::vector<config::TensorSpec> outputs, SelectOutputs(sig, options.outputs));
  ASSIGN_OR_RETURN(CsvOutputPlan plan, PlanCsvOutput(outputs));

  ASSIGN_OR_RETURN(auto reader, ChunkReader::Open({.path = options.input}));
  ASSIGN_OR_RETURN(RowLayout layout, ReadLayout(*reader, options, num_features, feature_names));
  ASSIGN_OR_RETURN(auto output, OutputFile::Open(options.output));
  RETURN_IF_ERROR(output->Write(CsvHeader(plan)));

  Pipeline p;
  p.reader = reader.get();
  p.output = output.get();
  p.model = &model;
  p.layout = &layout;
  p.plan = &plan;
  for (const auto& o : outputs) p.requested.push_back(o.name);
  p.input_name = in.name;
  p.dtype = in.dtype;
  p.schema = schema;
  // Memory is bounded by the chunk: a wide model gets fewer rows per chunk, so that one chunk's
  // input tensor stays within kMaxChunkTensorBytes whatever --batch says.
  constexpr int64_t kMaxChunkTensorBytes = int64_t{32} << 20;
  const int64_t row_bytes =
      std::max<int64_t>(1, num_features * static_cast<int64_t>(tensor::DataTypeSize(in.dtype)));
  p.batch_rows = std::clamp<int64_t>(kMaxChunkTensorBytes / row_bytes, 1, options.batch_rows);

  PredictStats stats;
  stats.threads = options.threads > 0
                      ? options.threads
                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  using Mode = PredictOptions::ProgressMode;
  Mode mode = options.progress_mode;
  if (mode == Mode::kAuto) {
    if (options.output.empty() && ::isatty(STDOUT_FILENO)) {
      mode = Mode::kNone;  // the rows go to the terminal: progress would garble them
    } else {
      mode = options.progress && ::isatty(::fileno(options.progress)) ? Mode::kBar : Mode::kLines;
    }
  }
  ProgressMeter meter({.out = mode == Mode::kNone ? nullptr : options.progress,
                       .bar = mode == Mode::kBar,
                       .total_bytes = reader->file_size()});
  const auto interval =
      mode == Mode::kBar ? options.progress_interval_bar : options.progress_interval_lines;

  p.max_parked = static_cast<size_t>(2 * stats.threads);
  const auto start = SteadyClock::now();
  std::vector<PredictStageSeconds> times(stats.threads);
  std::vector<preprocess::Actions> actions(static_cast<size_t>(stats.threads));
  std::vector<std::thread> workers;
  {
    base::MutexLock l(p.state_mu);
    p.running = stats.threads;
  }
  for (int i = 0; i < stats.threads; ++i) {
    workers.emplace_back(
        [&p, t = &times[i], a = &actions[static_cast<size_t>(i)]] { Worker(p, t, a); });
  }
  {
    base::MutexLock l(p.state_mu);
    while (!p.state_cv.WaitFor(p.state_mu, interval,
                               [&]() NO_THREAD_SAFETY_ANALYSIS { return p.running == 0; })) {
      meter.Update(p.rows_done.load(), reader->bytes_read(), SecondsSince(start));
    }
  }
  for (auto& w : workers) w.join();
  meter.Finish();
  stats.seconds = SecondsSince(start);
  stats.rows = p.rows_done.load();
  stats.chunks = p.chunks_done.load();
  for (const auto& t : times) {
    stats.stages.read += t.read;
    stats.stages.parse += t.parse;
    stats.stages.execute += t.execute;
    stats.stages.format += t.format;
    stats.stages.write += t.write;
  }
  if (schema != nullptr) {
    for (const auto& r : schema->rules()) stats.schema_features.push_back(r.name);
    stats.schema_actions.Resize(schema->width());
    for (const auto& a : actions) {
      for (size_t f = 0; f < a.imputed.size(); ++f) {
        stats.schema_actions.imputed[f] += a.imputed[f];
        stats.schema_actions.clipped[f] += a.clipped[f];
        stats.schema_actions.unseen[f] += a.unseen[f];
        stats.schema_actions.rejected[f] += a.rejected[f];
      }
    }
  }
  {
    base::MutexLock l(p.state_mu);
    if (p.failed.load()) {
      Status st = p.error;
      output->Abort();
      return st;
    }
  }
  RETURN_IF_ERROR(output->Commit());
  if (options.progress) {
    std::fprintf(options.progress, "%s\n", SummaryLine(stats).c_str());
    if (const std::string line = SchemaLine(stats); !line.empty()) {
      std::fprintf(options.progress, "%s\n", line.c_str());
    }
    if (options.profile) std::fprintf(options.progress, "%s\n", ProfileLine(stats).c_str());
    std::fflush(options.progress);
  }
  return stats;
}

StatusOr<PredictStats> RunPredict(const PredictOptions& options) {
  if (!options.backends) return base::InvalidArgument("RunPredict: no backends");
  const auto start = SteadyClock::now();
  ASSIGN_OR_RETURN(LocalModel local, LoadLocalModel({.path = options.model,
                                                     .version = options.model_version,
                                                     .backends = options.backends}));
  const double load_seconds = SecondsSince(start);
  if (options.progress && options.profile) {
    std::fprintf(options.progress, "model %s version %lld from %s (%s), loaded in %.3f s\n",
                 local.name.c_str(), static_cast<long long>(local.version),
                 local.model_file.c_str(), local.backend.c_str(), load_seconds);
  }
  ASSIGN_OR_RETURN(PredictStats stats, PredictFile(*local.model, local.config.features, options,
                                                   local.config.schema.get()));
  stats.load_seconds = load_seconds;
  return stats;
}

std::string SchemaLine(const PredictStats& stats) {
  std::string out;
  const auto& a = stats.schema_actions;
  for (size_t f = 0; f < stats.schema_features.size() && f < a.imputed.size(); ++f) {
    std::string parts;
    for (auto [n, what] : {std::pair{a.imputed[f], "imputed"},
                           {a.clipped[f], "clipped"},
                           {a.unseen[f], "unseen"},
                           {a.rejected[f], "rejected"}}) {
      if (n > 0)
        parts += (parts.empty() ? " " : ", ") + std::string(what) + " " + std::to_string(n);
    }
    if (!parts.empty()) out += (out.empty() ? "schema: " : "; ") + stats.schema_features[f] + parts;
  }
  return out;
}

std::string SummaryLine(const PredictStats& stats) {
  char buf[160];
  double rate = stats.seconds > 0 ? static_cast<double>(stats.rows) / stats.seconds : 0;
  std::snprintf(buf, sizeof buf, "rows %lld, seconds %.3f, rows/s %.0f",
                static_cast<long long>(stats.rows), stats.seconds, rate);
  return buf;
}

std::string ProfileLine(const PredictStats& stats) {
  const auto& s = stats.stages;
  char buf[320];
  std::snprintf(buf, sizeof buf,
                "stages (CPU seconds, %d threads, %lld chunks): read %.3f, parse %.3f, "
                "execute %.3f, format %.3f, write %.3f",
                stats.threads, static_cast<long long>(stats.chunks), s.read, s.parse, s.execute,
                s.format, s.write);
  return buf;
}

}  // namespace inferd::tools
