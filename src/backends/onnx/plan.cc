#include "backends/onnx/plan.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {

constexpr size_t kAlign = 64;
// The largest value a plan computes (2^34 elements: 64 GiB of FP32); larger shapes are refused.
constexpr int64_t kMaxElements = int64_t{1} << 34;
size_t Aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }

TensorView Absent() {
  TensorView v;
  v.present = false;
  return v;
}

// The FP32 constant `c` as one value per position of `out`'s dimension `axis`, when `c`
// broadcasts into `out` without changing it and varies along that dimension only.
bool PerChannel(const TensorView& c, const tensor::Shape& out, size_t axis,
                std::vector<float>* values) {
  if (c.dtype != tensor::DataType::kFp32 || c.data == nullptr || c.shape.size() > out.size()) {
    return false;
  }
  const size_t offset = out.size() - c.shape.size();
  for (size_t i = 0; i < c.shape.size(); ++i) {
    if (c.shape[i] != 1 && (offset + i != axis || c.shape[i] != out[axis])) return false;
  }
  const float* p = c.as<float>();
  values->resize(static_cast<size_t>(out[axis]));
  for (size_t k = 0; k < values->size(); ++k) (*values)[k] = c.elements() == 1 ? p[0] : p[k];
  return true;
}

}  // namespace

StatusOr<std::unique_ptr<OnnxPlan>> OnnxPlan::Create(const OnnxGraph& graph, int64_t batch,
                                                     const PlanOptions& options) {
  ASSIGN_OR_RETURN(auto plan, Build(graph, batch, options, {}));
  if (!options.blocked) return plan;
  // Second pass when a kernel reorders its input: its producer is asked for that layout.
  std::vector<std::shared_ptr<const BlockedLayout>> wanted(graph.values.size());
  bool any = false;
  for (const Step& step : plan->steps_) {
    if (!step.kernel || step.inputs.empty() || step.inputs[0] < 0) continue;
    auto layout = step.kernel->input_layout();
    const int source = plan->slots_[static_cast<size_t>(step.inputs[0])].buffer;
    if (!layout || source < 0) continue;
    wanted[static_cast<size_t>(source)] = std::move(layout);
    any = true;
  }
  if (!any) return plan;
  return Build(graph, batch, options, wanted);
}

StatusOr<std::unique_ptr<OnnxPlan>> OnnxPlan::Build(
    const OnnxGraph& graph, int64_t batch, const PlanOptions& options,
    const std::vector<std::shared_ptr<const BlockedLayout>>& wanted) {
  std::unique_ptr<OnnxPlan> plan(new OnnxPlan());
  plan->graph_ = &graph;
  auto& slots = plan->slots_;
  slots.resize(graph.values.size());
  std::vector<bool> known(graph.values.size(), false);
  std::vector<bool> constant(graph.values.size(), false);
  for (size_t i = 0; i < graph.values.size(); ++i) {
    const OnnxValue& v = graph.values[i];
    if (!v.constant) continue;
    slots[i].view = TensorView{v.constant->dtype(), v.constant->shape(),
                               const_cast<uint8_t*>(v.constant->bytes().data())};
    known[i] = constant[i] = true;
  }
  for (size_t k = 0; k < graph.inputs.size(); ++k) {
    const int id = graph.inputs[k];
    const OnnxValue& v = graph.values[static_cast<size_t>(id)];
    if (!v.dtype) return InvalidArgument("input '" + v.name + "' has no tensor type");
    tensor::Shape shape = v.shape;
    for (size_t d = 0; d < shape.size(); ++d) {
      if (shape[d] >= 0) continue;
      if (d != 0) {
        return InvalidArgument("input '" + v.name + "' has a dynamic dimension " +
                               std::to_string(d) + "; only the first (batch) may be dynamic");
      }
      shape[d] = batch;
    }
    slots[static_cast<size_t>(id)].view = TensorView{*v.dtype, shape, nullptr};
    slots[static_cast<size_t>(id)].input = static_cast<int>(k);
    known[static_cast<size_t>(id)] = true;
  }

  // Who reads each value: fusion needs a value read by exactly one node and not a graph output.
  std::vector<int> uses(graph.values.size(), 0);
  std::vector<int> reader(graph.values.size(), -1);
  std::vector<std::vector<int>> readers(graph.values.size());
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    for (int id : graph.nodes[i].inputs) {
      if (id < 0) continue;
      ++uses[static_cast<size_t>(id)];
      reader[static_cast<size_t>(id)] = static_cast<int>(i);
      readers[static_cast<size_t>(id)].push_back(static_cast<int>(i));
    }
  }
  for (int id : graph.outputs) uses[static_cast<size_t>(id)] += 2;
  std::vector<bool> absorbed(graph.nodes.size(), false);
  int64_t folded_bytes = 0;  // of the constants folded so far

  auto views_of = [&](const OnnxNode& node, std::vector<TensorView>* views) {
    views->clear();
    for (int id : node.inputs) {
      views->push_back(id < 0 ? Absent() : slots[static_cast<size_t>(id)].view);
    }
  };

  // Absorbs the BatchNormalization, Add of a per-channel constant and activation that follow
  // `head` (in that order, each optional) into `epi`; returns the value the fused step computes.
  // `bias_ok`: an Add (or BatchNormalization) may fold in along the channel axis (not for a MatMul
  // by a vector, whose last output dimension is not its columns).
  auto fuse = [&](const OpDef& op, const TensorView& head_out, int out_id, bool bias_ok,
                  Epilogue* epi, std::string* fused) {
    const size_t axis = op.fuses_batchnorm ? 1 : head_out.shape.size() - 1;
    if (head_out.shape.empty() || axis >= head_out.shape.size()) return out_id;
    const size_t channels = static_cast<size_t>(head_out.shape[axis]);
    int cur = out_id;
    std::vector<TensorView> views;
    while (uses[static_cast<size_t>(cur)] == 1 && epi->act == Activation::kNone) {
      const size_t ni = static_cast<size_t>(reader[static_cast<size_t>(cur)]);
      const OnnxNode& next = graph.nodes[ni];
      if (next.outputs.empty() || next.outputs[0] < 0) break;
      // Every other input must be a constant already.
      bool ok = true;
      for (int id : next.inputs) {
        ok = ok && (id < 0 || id == cur || constant[static_cast<size_t>(id)]);
      }
      if (!ok) break;
      views_of(next, &views);
      for (size_t i = 0; i < views.size(); ++i) {
        if (next.inputs[i] == cur) views[i] = head_out;
      }
      if (!bias_ok && (next.op == "BatchNormalization" || next.op == "Add")) break;
      if (next.op == "BatchNormalization" && op.fuses_batchnorm && epi->scale.empty() &&
          views.size() == 5 && next.inputs[0] == cur) {
        std::vector<float> p[4];
        bool fits = true;
        for (size_t i = 0; i < 4; ++i) {
          fits = fits && views[i + 1].dtype == tensor::DataType::kFp32 &&
                 static_cast<size_t>(views[i + 1].elements()) == channels;
          if (fits) p[i].assign(views[i + 1].as<float>(), views[i + 1].as<float>() + channels);
        }
        auto eps = next.Get<float>("epsilon", 1e-5f);
        auto training = next.Get<int64_t>("training_mode", 0);
        if (!fits || !eps.ok() || !training.ok() || *training != 0) break;
        // A bias added before it (b) folds in too: s * (z + b) + t = s * z + (s * b + t).
        const std::vector<float> before = std::move(epi->bias);
        epi->scale.assign(channels, 1.0f);
        epi->bias.assign(channels, 0.0f);
        for (size_t c = 0; c < channels; ++c) {
          const float s = p[0][c] / std::sqrt(p[3][c] + *eps);
          epi->scale[c] = s;
          epi->bias[c] = p[1][c] - p[2][c] * s + (before.empty() ? 0.0f : s * before[c]);
        }
      } else if (next.op == "Add" && op.fuses_bias_act && views.size() == 2) {
        const TensorView& other = views[next.inputs[0] == cur ? 1 : 0];
        std::vector<float> add;
        if (next.inputs[0] == next.inputs[1] || !PerChannel(other, head_out.shape, axis, &add)) {
          break;
        }
        if (epi->bias.empty()) epi->bias.assign(channels, 0.0f);
        for (size_t c = 0; c < channels; ++c) epi->bias[c] += add[c];
      } else if (!(op.fuses_bias_act &&
                   FusableActivation(next, views, &epi->act, &epi->alpha, &epi->beta))) {
        epi->act = Activation::kNone;
        break;
      }
      absorbed[ni] = true;
      *fused += (fused->empty() ? "" : " + ") + next.op + " '" + next.name + "'";
      known[static_cast<size_t>(cur)] = true;
      cur = next.outputs[0];
    }
    return cur;
  };

  // A value may take a blocked layout when every node reading it reads it as its input 0 and
  // takes blocked inputs, its other inputs being constants (so that it runs as a prepared
  // primitive), and it is not a graph output.
  // A view that keeps the shape (Identity, a Pad by zeros) passes the layout on to its readers.
  std::vector<TensorView> scratch_views;
  auto same_shape_view = [&](const OnnxNode& node, const OpDef& op) {
    if (!options.views) return false;
    if (node.op == "Identity" || node.op == "Dropout") return node.outputs.size() == 1;
    if (op.identity == nullptr) return false;
    for (int in : node.inputs) {
      if (in >= 0 && in != node.inputs[0] && !constant[static_cast<size_t>(in)]) return false;
    }
    views_of(node, &scratch_views);
    return op.identity(node, scratch_views);
  };
  std::function<bool(int)> blocked_ok = [&](int id) {
    if (!options.blocked) return false;
    if (uses[static_cast<size_t>(id)] > static_cast<int>(readers[static_cast<size_t>(id)].size()))
      return false;  // a graph output
    for (int r : readers[static_cast<size_t>(id)]) {
      const OnnxNode& node = graph.nodes[static_cast<size_t>(r)];
      const OpDef* op = FindOp(node.op);
      if (op == nullptr || node.inputs.empty() || node.inputs[0] != id) return false;
      for (size_t i = 1; i < node.inputs.size(); ++i) {
        const int in = node.inputs[i];
        if (in == id || (in >= 0 && !constant[static_cast<size_t>(in)])) return false;
      }
      if (op->accepts_blocked) continue;
      if (!same_shape_view(node, *op) || node.outputs[0] < 0 || !blocked_ok(node.outputs[0])) {
        return false;
      }
    }
    return !readers[static_cast<size_t>(id)].empty();
  };

  // Constant nodes first (they read nothing), so that every constant is known when deciding
  // fusions and layouts.
  std::vector<size_t> order;
  for (size_t ni = 0; ni < graph.nodes.size(); ++ni) {
    if (graph.nodes[ni].op == "Constant") order.push_back(ni);
  }
  for (size_t ni = 0; ni < graph.nodes.size(); ++ni) {
    if (graph.nodes[ni].op != "Constant") order.push_back(ni);
  }

  std::vector<TensorView> in_views, out_views;
  for (size_t ni : order) {
    if (absorbed[ni]) continue;
    const OnnxNode& node = graph.nodes[ni];
    const OpDef* op = FindOp(node.op);
    if (op == nullptr)
      return base::Unimplemented("operator " + node.op + " (node '" + node.name + "')");
    bool all_constant = true;
    for (int id : node.inputs) {
      if (id < 0) continue;
      if (!known[static_cast<size_t>(id)]) {
        return InvalidArgument("node '" + node.name + "' reads '" +
                               graph.values[static_cast<size_t>(id)].name + "' before it exists");
      }
      all_constant = all_constant && constant[static_cast<size_t>(id)];
    }
    views_of(node, &in_views);
    out_views.clear();
    RETURN_IF_ERROR(op->shape(node, in_views, &out_views));
    std::vector<int> outputs;
    for (int id : node.outputs) outputs.push_back(id);
    while (!outputs.empty() && outputs.back() < 0) outputs.pop_back();
    if (std::find(outputs.begin(), outputs.end(), -1) != outputs.end()) {
      return InvalidArgument("node '" + node.name + "' (" + node.op +
                             ") omits an output before the last; inferd needs every output named");
    }
    if (outputs.size() > out_views.size()) {
      return InvalidArgument("node '" + node.name + "' (" + node.op + ") has " +
                             std::to_string(outputs.size()) + " outputs; inferd computes " +
                             std::to_string(out_views.size()));
    }
    for (const TensorView& v : out_views) {
      // Every dimension checked so that the element count (and the byte size) cannot overflow.
      int64_t count = 1;
      for (int64_t d : v.shape) {
        if (d < 0 || __builtin_mul_overflow(count, d, &count) || count > kMaxElements) {
          return InvalidArgument("node '" + node.name + "' (" + node.op + "): output shape " +
                                 tensor::ShapeToString(v.shape) + " is invalid or too large");
        }
      }
    }
    if (all_constant || op->shape_only) {
      // Constant and shape folding: run it now; the results are constants of the plan, held to
      // the arena's limit in all (a crafted file must not take the server's memory this way
      // either).
      for (size_t o = 0; o < outputs.size(); ++o) {
        const int64_t bytes =
            out_views[o].elements() * static_cast<int64_t>(ElemSize(out_views[o]));
        folded_bytes += bytes;
        if (bytes < 0 || folded_bytes > options.max_arena_bytes) {
          return InvalidArgument(
              "node '" + node.name + "' (" + node.op + "): its constant output " +
              tensor::ShapeToString(out_views[o].shape) + " would take the " + "plan past its " +
              std::to_string(options.max_arena_bytes >> 20) + " MiB limit");
        }
      }
      for (size_t o = 0; o < outputs.size(); ++o) {
        plan->folded_.emplace_back(graph.values[static_cast<size_t>(outputs[o])].name,
                                   out_views[o].dtype, out_views[o].shape);
        out_views[o].data = plan->folded_.back().bytes().data();
      }
      // (A Tensor keeps its buffer when folded_ grows, so views into it stay valid.)
      RETURN_IF_ERROR(op->kernel(node, in_views, out_views));
      for (size_t o = 0; o < outputs.size(); ++o) {
        const size_t id = static_cast<size_t>(outputs[o]);
        slots[id].view = out_views[o];
        known[id] = constant[id] = true;
      }
      continue;
    }
    const bool view =
        options.views && (op->alias || (op->identity != nullptr && op->identity(node, in_views)));
    if (view && !outputs.empty() && node.inputs[0] >= 0) {
      // A view of the input's bytes under the new shape: no step, no copy.
      const Slot& src = slots[static_cast<size_t>(node.inputs[0])];
      Slot& dst = slots[static_cast<size_t>(outputs[0])];
      dst.view = out_views[0];
      dst.view.data = src.buffer < 0 && src.input < 0 ? src.view.data : nullptr;  // a constant
      if (dst.view.shape == src.view.shape) dst.view.layout = src.view.layout;
      dst.input = src.input;
      dst.buffer = src.buffer;
      known[static_cast<size_t>(outputs[0])] = true;
      continue;
    }
    Step step{&node, op, nullptr, node.inputs, outputs, ""};
    Epilogue epi;
    if (options.fuse && (op->fuses_bias_act || op->fuses_batchnorm) && outputs.size() == 1) {
      const bool bias_ok =
          !(node.op == "MatMul" && in_views.size() > 1 && in_views[1].shape.size() == 1);
      step.outputs[0] = fuse(*op, out_views[0], outputs[0], bias_ok, &epi, &step.fused);
    }
    if (op->prepare != nullptr) {
      const bool blocked = step.outputs.size() == 1 && blocked_ok(step.outputs[0]);
      if (blocked && !wanted.empty()) {
        out_views[0].layout = wanted[static_cast<size_t>(step.outputs[0])];
      }
      ASSIGN_OR_RETURN(step.kernel, op->prepare(node, in_views, out_views, epi, blocked));
      if (!out_views.empty()) out_views[0].layout = step.kernel->output_layout();
    } else {
      for (const TensorView& v : in_views) {
        if (v.layout) {  // the planner only allows blocked values into prepared kernels
          return base::Internal("node '" + node.name + "' reads a blocked layout");
        }
      }
    }
    for (size_t o = 0; o < step.outputs.size(); ++o) {
      const size_t id = static_cast<size_t>(step.outputs[o]);
      Slot& slot = slots[id];
      slot.view = out_views[o];
      slot.view.data = nullptr;
      slot.buffer = static_cast<int>(id);
      const int64_t elements = slot.view.elements();
      size_t bytes = 0;
      if (elements < 0 ||
          (!slot.view.layout &&
           __builtin_mul_overflow(static_cast<size_t>(elements), ElemSize(slot.view), &bytes))) {
        return InvalidArgument("node '" + node.name + "': output shape " +
                               tensor::ShapeToString(slot.view.shape) + " is too large");
      }
      slot.bytes = Aligned(slot.view.layout ? slot.view.layout->bytes() : bytes);
      if (slot.bytes > static_cast<size_t>(options.max_arena_bytes)) {
        return InvalidArgument("node '" + node.name + "': output shape " +
                               tensor::ShapeToString(slot.view.shape) + " needs " +
                               std::to_string(slot.bytes) + " bytes; a plan may use at most " +
                               std::to_string(options.max_arena_bytes));
      }
      known[id] = true;
    }
    plan->steps_.push_back(std::move(step));
  }
  for (int id : graph.outputs) {
    if (!known[static_cast<size_t>(id)]) {
      return InvalidArgument("graph output '" + graph.values[static_cast<size_t>(id)].name +
                             "' is never computed");
    }
  }
  plan->LayOut();
  if (plan->arena_bytes_ > static_cast<size_t>(options.max_arena_bytes)) {
    return InvalidArgument("the plan for batch " + std::to_string(batch) + " needs " +
                           std::to_string(plan->arena_bytes_) +
                           " bytes of intermediate tensors; the limit is " +
                           std::to_string(options.max_arena_bytes));
  }
  return plan;
}

// Gives each buffer an arena offset: a buffer lives from the step that writes it to the last
// step that reads it (or a view of it); graph outputs live to the end. Buffers are placed in step
// order at the lowest offset free for their whole lifetime.
void OnnxPlan::LayOut() {
  const int end = static_cast<int>(steps_.size());
  std::vector<int> first(slots_.size(), -1), last(slots_.size(), -1);
  for (int s = 0; s < end; ++s) {
    for (int id : steps_[static_cast<size_t>(s)].outputs) {
      first[static_cast<size_t>(id)] = s;
      last[static_cast<size_t>(id)] = std::max(last[static_cast<size_t>(id)], s);
    }
    for (int id : steps_[static_cast<size_t>(s)].inputs) {
      if (id < 0) continue;
      const int b = slots_[static_cast<size_t>(id)].buffer;
      if (b >= 0) last[static_cast<size_t>(b)] = std::max(last[static_cast<size_t>(b)], s);
    }
  }
  for (int id : graph_->outputs) {
    const int b = slots_[static_cast<size_t>(id)].buffer;
    if (b >= 0) last[static_cast<size_t>(b)] = end;
  }
  struct Live {
    size_t offset, bytes;
    int last;
  };
  std::vector<Live> live;  // sorted by offset
  arena_bytes_ = 0;
  for (int s = 0; s < end; ++s) {
    // A step's outputs never share bytes with its inputs: buffers read by this step stay live.
    std::erase_if(live, [s](const Live& l) { return l.last < s; });
    auto place = [&](size_t bytes, int until) {
      size_t at = 0;
      auto it = live.begin();
      for (; it != live.end(); ++it) {
        if (it->offset >= at + bytes) break;
        at = std::max(at, it->offset + it->bytes);
      }
      live.insert(it, Live{at, bytes, until});
      arena_bytes_ = std::max(arena_bytes_, at + bytes);
      return at;
    };
    Step& step = steps_[static_cast<size_t>(s)];
    for (int id : step.outputs) {
      Slot& slot = slots_[static_cast<size_t>(id)];
      slot.offset = static_cast<int64_t>(place(slot.bytes, last[static_cast<size_t>(id)]));
    }
    if (step.kernel && step.kernel->scratch_bytes() > 0) {
      step.scratch_offset = static_cast<int64_t>(place(Aligned(step.kernel->scratch_bytes()), s));
    }
  }
  // Views take their source buffer's offset.
  for (Slot& slot : slots_) {
    if (slot.buffer >= 0) slot.offset = slots_[static_cast<size_t>(slot.buffer)].offset;
  }
}

TensorView OnnxPlan::Bind(int id, std::byte* base) const {
  if (id < 0) return Absent();
  const Slot& s = slots_[static_cast<size_t>(id)];
  TensorView v = s.view;
  if (s.buffer >= 0) v.data = base + s.offset;
  return v;
}

std::vector<std::string> OnnxPlan::Describe() const {
  std::vector<std::string> out;
  for (const Step& s : steps_) {
    std::string line = s.node->op + " '" + s.node->name + "'";
    if (!s.fused.empty()) line += " + " + s.fused;
    if (s.kernel && !s.kernel->implementation().empty()) {
      line += " [" + s.kernel->implementation() + "]";
    }
    out.push_back(std::move(line));
  }
  return out;
}

StatusOr<std::vector<double>> OnnxPlan::Profile(std::span<const tensor::Tensor> inputs,
                                                int reps) const {
  auto arena = Checkout();
  for (size_t i = 0; i < arena->input_views.size(); ++i) {
    arena->input_views[i]->data =
        const_cast<uint8_t*>(inputs[static_cast<size_t>(arena->input_index[i])].bytes().data());
  }
  std::vector<std::vector<double>> times(steps_.size());
  Status st;
  for (int r = 0; r < reps && st.ok(); ++r) {
    for (size_t s = 0; s < steps_.size() && st.ok(); ++s) {
      const Step& step = steps_[s];
      const auto t0 = std::chrono::steady_clock::now();
      st = step.kernel
               ? step.kernel->Run(arena->in[s], arena->out[s], arena->base + step.scratch_offset)
               : step.op->kernel(*step.node, arena->in[s], arena->out[s]);
      times[s].push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  Return(std::move(arena));
  if (!st.ok()) return st;
  std::vector<double> medians;
  for (auto& t : times) {
    std::sort(t.begin(), t.end());
    medians.push_back(t.empty() ? 0.0 : t[t.size() / 2]);
  }
  return medians;
}

std::unique_ptr<OnnxPlan::Arena> OnnxPlan::Checkout() const {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!free_.empty()) {
      auto a = std::move(free_.back());
      free_.pop_back();
      return a;
    }
  }
  auto a = std::make_unique<Arena>();
  a->storage.resize(arena_bytes_ + kAlign);
  const auto addr = reinterpret_cast<uintptr_t>(a->storage.data());
  a->base = a->storage.data() + (Aligned(addr) - addr);
  a->in.resize(steps_.size());
  a->out.resize(steps_.size());
  for (size_t s = 0; s < steps_.size(); ++s) {
    for (int id : steps_[s].inputs) a->in[s].push_back(Bind(id, a->base));
    for (int id : steps_[s].outputs) a->out[s].push_back(Bind(id, a->base));
  }
  // (The vectors are complete: pointers into them stay valid.)
  for (size_t s = 0; s < steps_.size(); ++s) {
    for (size_t i = 0; i < steps_[s].inputs.size(); ++i) {
      const int id = steps_[s].inputs[i];
      if (id >= 0 && slots_[static_cast<size_t>(id)].input >= 0) {
        a->input_views.push_back(&a->in[s][i]);
        a->input_index.push_back(slots_[static_cast<size_t>(id)].input);
      }
    }
  }
  return a;
}

void OnnxPlan::Return(std::unique_ptr<Arena> arena) const {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(std::move(arena));
}

StatusOr<std::vector<tensor::Tensor>> OnnxPlan::Run(std::span<const tensor::Tensor> inputs) const {
  auto arena = Checkout();
  for (size_t i = 0; i < arena->input_views.size(); ++i) {
    arena->input_views[i]->data =
        const_cast<uint8_t*>(inputs[static_cast<size_t>(arena->input_index[i])].bytes().data());
  }
  Status st;
  for (size_t s = 0; s < steps_.size() && st.ok(); ++s) {
    const Step& step = steps_[s];
    st = step.kernel
             ? step.kernel->Run(arena->in[s], arena->out[s], arena->base + step.scratch_offset)
             : step.op->kernel(*step.node, arena->in[s], arena->out[s]);
  }
  std::vector<tensor::Tensor> out;
  if (st.ok()) {
    for (int id : graph_->outputs) {
      TensorView v = Bind(id, arena->base);
      const Slot& slot = slots_[static_cast<size_t>(id)];
      if (slot.input >= 0) v.data = const_cast<uint8_t*>(inputs[slot.input].bytes().data());
      tensor::Tensor t(graph_->values[static_cast<size_t>(id)].name, v.dtype, v.shape);
      if (t.byte_size() > 0) std::memcpy(t.bytes().data(), v.data, t.byte_size());
      out.push_back(std::move(t));
    }
  }
  Return(std::move(arena));
  if (!st.ok()) return st;
  return out;
}

}  // namespace inferd::backends::onnx
