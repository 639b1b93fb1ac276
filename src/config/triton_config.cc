#include "config/triton_config.h"

#include <cctype>
#include <charconv>
#include <map>
#include <memory>
#include <set>

namespace inferd::config {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

// ---- the text format
// -----------------------------------------------------------------------------

struct Message;

// A field's value: a scalar (its text; `quoted` for strings) or a nested message.
struct Value {
  std::string text;
  bool quoted = false;
  std::shared_ptr<Message> message;
  int line = 0;
};

struct Message {
  std::vector<std::pair<std::string, Value>> fields;  // repeated fields appear once per value

  std::vector<const Value*> All(std::string_view name) const {
    std::vector<const Value*> out;
    for (const auto& [n, v] : fields) {
      if (n == name) out.push_back(&v);
    }
    return out;
  }
  const Value* One(std::string_view name) const {
    auto all = All(name);
    return all.empty() ? nullptr : all.back();  // the last one wins, as in protobuf
  }
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  StatusOr<std::shared_ptr<Message>> ParseAll() {
    ASSIGN_OR_RETURN(auto message, ParseMessage(/*closing=*/'\0'));
    return message;
  }

 private:
  Status Error(const std::string& what) const {
    return InvalidArgument("config.pbtxt line " + std::to_string(line_) + ": " + what);
  }

  void Skip() {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (c == '\n') {
        ++line_;
        ++pos_;
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        ++pos_;
      } else if (c == '#') {
        while (pos_ < text_.size() && text_[pos_] != '\n') ++pos_;
      } else {
        break;
      }
    }
  }
  bool Peek(char c) {
    Skip();
    return pos_ < text_.size() && text_[pos_] == c;
  }
  bool Eat(char c) {
    if (!Peek(c)) return false;
    ++pos_;
    return true;
  }

  StatusOr<std::string> Identifier() {
    Skip();
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_')) {
      ++pos_;
    }
    if (pos_ == start) {
      return Error(pos_ < text_.size() ? "unexpected '" + std::string(1, text_[pos_]) + "'"
                                       : "unexpected end of file");
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  StatusOr<std::shared_ptr<Message>> ParseMessage(char closing) {
    auto message = std::make_shared<Message>();
    while (true) {
      Skip();
      if (pos_ >= text_.size()) {
        if (closing != '\0') return Error("missing '" + std::string(1, closing) + "'");
        return message;
      }
      if (closing != '\0' && Eat(closing)) return message;
      ASSIGN_OR_RETURN(std::string name, Identifier());
      const bool colon = Eat(':');
      if (Peek('{') || Peek('<')) {
        ASSIGN_OR_RETURN(Value v, Nested());
        message->fields.emplace_back(name, std::move(v));
      } else if (Eat('[')) {  // (a list of messages may go without the colon)
        // A list: scalars or messages, separated by commas.
        if (!Eat(']')) {
          while (true) {
            ASSIGN_OR_RETURN(Value v, Peek('{') || Peek('<') ? Nested() : Scalar());
            message->fields.emplace_back(name, std::move(v));
            if (Eat(']')) break;
            if (!Eat(',')) return Error("expected ',' or ']' in the list '" + name + "'");
          }
        }
      } else if (!colon) {
        return Error("expected ':' or '{' after '" + name + "'");
      } else {
        ASSIGN_OR_RETURN(Value v, Scalar());
        message->fields.emplace_back(name, std::move(v));
      }
      if (!Eat(',')) Eat(';');  // optional separators
    }
  }

  StatusOr<Value> Nested() {
    Value v;
    v.line = line_;
    const char closing = Eat('{') ? '}' : (Eat('<'), '>');
    ASSIGN_OR_RETURN(v.message, ParseMessage(closing));
    return v;
  }

  StatusOr<Value> Scalar() {
    Skip();
    Value v;
    v.line = line_;
    if (pos_ >= text_.size()) return Error("unexpected end of file");
    const char q = text_[pos_];
    if (q == '"' || q == '\'') {
      v.quoted = true;
      // Adjacent strings concatenate.
      while (Peek('"') || Peek('\'')) {
        const char quote = text_[pos_++];
        while (true) {
          if (pos_ >= text_.size() || text_[pos_] == '\n') return Error("unterminated string");
          char c = text_[pos_++];
          if (c == quote) break;
          if (c == '\\' && pos_ < text_.size()) {
            const char e = text_[pos_++];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
          }
          v.text += c;
        }
      }
      return v;
    }
    const size_t start = pos_;
    while (pos_ < text_.size() &&
           (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_' ||
            text_[pos_] == '-' || text_[pos_] == '+' || text_[pos_] == '.')) {
      ++pos_;
    }
    if (pos_ == start) return Error("expected a value, got '" + std::string(1, q) + "'");
    v.text = std::string(text_.substr(start, pos_ - start));
    return v;
  }

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
};

// ---- from the parsed message to a ModelConfig ---------------------------------------------------

Status FieldError(const Value& v, const std::string& what) {
  return InvalidArgument("config.pbtxt line " + std::to_string(v.line) + ": " + what);
}

StatusOr<int64_t> Int(const Value& v, const std::string& field) {
  int64_t out = 0;
  const std::string& t = v.text;
  auto r = std::from_chars(t.data(), t.data() + t.size(), out);
  if (v.quoted || v.message || r.ec != std::errc() || r.ptr != t.data() + t.size()) {
    return FieldError(v, "'" + field + "' must be an integer, got '" + t + "'");
  }
  return out;
}

StatusOr<std::string> String(const Value& v, const std::string& field) {
  if (v.message) return FieldError(v, "'" + field + "' must be a value, not a message");
  return v.text;
}

// Warns about every field of `m` outside `used`.
void WarnUnused(const Message& m, const std::set<std::string>& used, const std::string& where,
                std::vector<std::string>* warnings) {
  if (warnings == nullptr) return;
  std::set<std::string> seen;
  for (const auto& [name, v] : m.fields) {
    if (used.count(name) || !seen.insert(name).second) continue;
    warnings->push_back("config.pbtxt line " + std::to_string(v.line) + ": '" + where + name +
                        "' is not used by inferd");
  }
}

StatusOr<tensor::DataType> DataType(const Value& v) {
  ASSIGN_OR_RETURN(std::string t, String(v, "data_type"));
  if (t.rfind("TYPE_", 0) != 0) return FieldError(v, "data_type '" + t + "' is not TYPE_*");
  std::string name = t.substr(5);
  if (name == "STRING") name = "BYTES";
  auto dtype = tensor::DataTypeFromName(name);
  if (!dtype) return FieldError(v, "unknown data_type '" + t + "'");
  return *dtype;
}

StatusOr<std::vector<TensorSpec>> Tensors(const Message& m, const char* field, bool batched,
                                          std::vector<std::string>* warnings) {
  std::vector<TensorSpec> out;
  for (const Value* v : m.All(field)) {
    if (!v->message) return FieldError(*v, std::string("'") + field + "' must be a message");
    const Message& t = *v->message;
    TensorSpec spec;
    const Value* name = t.One("name");
    if (name == nullptr) return FieldError(*v, std::string(field) + " without a name");
    ASSIGN_OR_RETURN(spec.name, String(*name, "name"));
    const Value* type = t.One("data_type");
    if (type == nullptr) return FieldError(*v, "'" + spec.name + "' has no data_type");
    ASSIGN_OR_RETURN(spec.dtype, DataType(*type));
    // A batching model's dims leave the batch dimension out.
    if (batched) spec.shape.push_back(-1);
    for (const Value* d : t.All("dims")) {
      ASSIGN_OR_RETURN(int64_t dim, Int(*d, "dims"));
      spec.shape.push_back(dim);
    }
    if (const Value* reshape = t.One("reshape")) {
      return FieldError(*reshape, "'" + spec.name + "': reshape is not supported");
    }
    if (const Value* labels = t.One("label_filename")) {
      if (std::string_view(field) != "output") {
        return FieldError(*labels, "'" + spec.name + "': label_filename is for outputs");
      }
      ASSIGN_OR_RETURN(spec.label_filename, String(*labels, "label_filename"));
    }
    WarnUnused(t, {"name", "data_type", "dims", "format", "label_filename"},
               std::string(field) + "." + spec.name + ".", warnings);
    out.push_back(std::move(spec));
  }
  return out;
}

}  // namespace

StatusOr<ModelConfig> ParseTritonConfig(std::string_view text, const std::string& model_name,
                                        std::vector<std::string>* warnings) {
  ASSIGN_OR_RETURN(auto root, Parser(text).ParseAll());
  const Message& m = *root;
  ModelConfig cfg;
  cfg.name = model_name;
  if (const Value* v = m.One("name")) {
    ASSIGN_OR_RETURN(std::string name, String(*v, "name"));
    if (name != model_name) {
      return FieldError(
          *v, "name '" + name + "' differs from the model directory name '" + model_name + "'");
    }
  }
  // backend / platform: the FIL forest backend and ONNX Runtime have inferd engines.
  std::string backend, platform;
  if (const Value* v = m.One("backend")) {
    ASSIGN_OR_RETURN(backend, String(*v, "backend"));
  }
  if (const Value* v = m.One("platform")) {
    ASSIGN_OR_RETURN(platform, String(*v, "platform"));
  }
  if (backend == "fil") {
    cfg.backend = "forest";
  } else if (backend == "onnxruntime" || platform == "onnxruntime_onnx") {
    cfg.backend = "onnx";
  } else if (!backend.empty() || !platform.empty()) {
    return InvalidArgument("config.pbtxt: backend '" + (backend.empty() ? platform : backend) +
                           "' is not supported (inferd runs fil and onnxruntime models)");
  }
  for (const char* unsupported : {"sequence_batching", "ensemble_scheduling"}) {
    if (const Value* v = m.One(unsupported)) {
      return FieldError(*v, std::string(unsupported) + " is not supported");
    }
  }
  if (const Value* v = m.One("max_batch_size")) {
    ASSIGN_OR_RETURN(cfg.max_batch_size, Int(*v, "max_batch_size"));
    cfg.max_batch_size_set = true;
    if (cfg.max_batch_size < 0) return FieldError(*v, "max_batch_size must be >= 0");
  }
  const bool batched = cfg.max_batch_size > 0;
  ASSIGN_OR_RETURN(cfg.inputs, Tensors(m, "input", batched, warnings));
  ASSIGN_OR_RETURN(cfg.outputs, Tensors(m, "output", batched, warnings));

  if (const Value* v = m.One("dynamic_batching")) {
    if (!v->message) return FieldError(*v, "dynamic_batching must be a message");
    const Message& d = *v->message;
    DynamicBatching db;
    for (const Value* p : d.All("preferred_batch_size")) {
      ASSIGN_OR_RETURN(int64_t size, Int(*p, "preferred_batch_size"));
      db.preferred_batch_sizes.push_back(size);
    }
    if (const Value* p = d.One("max_queue_delay_microseconds")) {
      ASSIGN_OR_RETURN(db.max_queue_delay_us, Int(*p, "max_queue_delay_microseconds"));
    }
    if (const Value* p = d.One("priority_levels")) {
      ASSIGN_OR_RETURN(int64_t levels, Int(*p, "priority_levels"));
      db.priority_levels = static_cast<int>(levels);
    }
    if (const Value* p = d.One("default_priority_level")) {
      ASSIGN_OR_RETURN(int64_t level, Int(*p, "default_priority_level"));
      db.default_priority_level = static_cast<int>(level);
    }
    if (const Value* p = d.One("default_queue_policy"); p != nullptr && p->message) {
      const Message& q = *p->message;
      if (const Value* s = q.One("max_queue_size")) {
        ASSIGN_OR_RETURN(db.max_queue_size, Int(*s, "max_queue_size"));
      }
      if (const Value* s = q.One("default_timeout_microseconds")) {
        ASSIGN_OR_RETURN(db.default_timeout_us, Int(*s, "default_timeout_microseconds"));
      }
      WarnUnused(q, {"max_queue_size", "default_timeout_microseconds"},
                 "dynamic_batching.default_queue_policy.", warnings);
    }
    WarnUnused(d,
               {"preferred_batch_size", "max_queue_delay_microseconds", "priority_levels",
                "default_priority_level", "default_queue_policy"},
               "dynamic_batching.", warnings);
    if (db.priority_levels > 0 && db.default_priority_level == 0) db.default_priority_level = 1;
    if (!batched) return FieldError(*v, "dynamic_batching needs max_batch_size > 0");
    for (int64_t b : db.preferred_batch_sizes) {
      if (b < 1 || b > cfg.max_batch_size) {
        return FieldError(*v, "preferred_batch_size " + std::to_string(b) +
                                  " is not between 1 and max_batch_size");
      }
    }
    cfg.dynamic_batching = db;
  }
  if (auto groups = m.All("instance_group"); !groups.empty()) {
    int64_t count = 0;
    for (const Value* g : groups) {
      if (!g->message) return FieldError(*g, "instance_group must be a message");
      int64_t n = 1;
      if (const Value* c = g->message->One("count")) {
        ASSIGN_OR_RETURN(n, Int(*c, "count"));
      }
      if (const Value* k = g->message->One("kind")) {
        ASSIGN_OR_RETURN(std::string kind, String(*k, "kind"));
        if (kind != "KIND_CPU" && kind != "KIND_AUTO") {
          return FieldError(*k, "instance_group kind " + kind + ": inferd runs on CPUs");
        }
      }
      WarnUnused(*g->message, {"name", "count", "kind"}, "instance_group.", warnings);
      count += n;
    }
    if (count < 1 || count > 64) return InvalidArgument("instance_group count must be 1 to 64");
    cfg.instances = static_cast<int>(count);
  }
  if (const Value* v = m.One("version_policy")) {
    if (!v->message) return FieldError(*v, "version_policy must be a message");
    const Message& p = *v->message;
    if (const Value* l = p.One("latest")) {
      cfg.version_policy.kind = VersionPolicy::Kind::kLatest;
      cfg.version_policy.latest = 1;
      if (l->message) {
        if (const Value* n = l->message->One("num_versions")) {
          ASSIGN_OR_RETURN(int64_t num, Int(*n, "num_versions"));
          if (num < 1) return FieldError(*n, "num_versions must be >= 1");
          cfg.version_policy.latest = static_cast<int>(num);
        }
      }
    } else if (p.One("all")) {
      cfg.version_policy.kind = VersionPolicy::Kind::kAll;
    } else if (const Value* s = p.One("specific")) {
      cfg.version_policy.kind = VersionPolicy::Kind::kSpecific;
      if (s->message) {
        for (const Value* ver : s->message->All("versions")) {
          ASSIGN_OR_RETURN(int64_t version, Int(*ver, "versions"));
          if (version < 1) return FieldError(*ver, "versions must be >= 1");
          cfg.version_policy.specific.push_back(version);
        }
      }
      if (cfg.version_policy.specific.empty()) {
        return FieldError(*s, "version_policy.specific needs versions");
      }
    }
  }
  for (const Value* v : m.All("parameters")) {
    if (!v->message) return FieldError(*v, "parameters must be a message");
    const Value* key = v->message->One("key");
    const Value* value = v->message->One("value");
    if (key == nullptr || value == nullptr || !value->message) {
      return FieldError(*v, "parameters need a key and a value { string_value: ... }");
    }
    const Value* s = value->message->One("string_value");
    if (s == nullptr) return FieldError(*value, "parameters take a string_value");
    ASSIGN_OR_RETURN(std::string k, String(*key, "key"));
    ASSIGN_OR_RETURN(std::string val, String(*s, "string_value"));
    cfg.parameters[k] = val;
  }
  // The FIL backend's parameters: the model format, and which output output__0 is.
  if (cfg.backend == "forest") {
    if (auto it = cfg.parameters.find("model_type"); it != cfg.parameters.end()) {
      const std::string& type = it->second;
      if (type == "xgboost") {
        return InvalidArgument(
            "config.pbtxt: model_type 'xgboost' is XGBoost's old binary format, which inferd "
            "does not read; save the model as JSON (xgboost.json, model_type 'xgboost_json')");
      }
      if (type != "xgboost_json" && type != "xgboost_ubj" && type != "lightgbm") {
        return InvalidArgument("config.pbtxt: model_type '" + type +
                               "' is not supported (xgboost_json, xgboost_ubj, lightgbm)");
      }
    }
    const bool classifier =
        cfg.parameters.count("output_class") && cfg.parameters["output_class"] == "true";
    const bool proba =
        cfg.parameters.count("predict_proba") && cfg.parameters["predict_proba"] == "true";
    // FIL answers with one output: the probabilities, the class, or the prediction.
    if (cfg.outputs.size() == 1) {
      cfg.outputs[0].source = proba ? "probabilities" : classifier ? "label" : "prediction";
    }
  }
  WarnUnused(m,
             {"name", "backend", "platform", "max_batch_size", "input", "output",
              "dynamic_batching", "instance_group", "version_policy", "parameters"},
             "", warnings);
  return cfg;
}

}  // namespace inferd::config
