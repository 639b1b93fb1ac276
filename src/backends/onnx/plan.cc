#include "backends/onnx/plan.h"

#include <cstring>

namespace inferd::backends::onnx {

using base::InvalidArgument;
using base::Status;
using base::StatusOr;

namespace {
constexpr size_t kAlign = 64;
size_t Aligned(size_t n) { return (n + kAlign - 1) / kAlign * kAlign; }
}  // namespace

StatusOr<std::unique_ptr<OnnxPlan>> OnnxPlan::Create(const OnnxGraph& graph, int64_t batch) {
  std::unique_ptr<OnnxPlan> plan(new OnnxPlan());
  plan->graph_ = &graph;
  plan->slots_.resize(graph.values.size());
  std::vector<bool> known(graph.values.size(), false);
  std::vector<bool> constant(graph.values.size(), false);
  for (size_t i = 0; i < graph.values.size(); ++i) {
    const OnnxValue& v = graph.values[i];
    if (!v.constant) continue;
    plan->slots_[i].view = TensorView{v.constant->dtype(), v.constant->shape(),
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
    plan->slots_[static_cast<size_t>(id)].view = TensorView{*v.dtype, shape, nullptr};
    plan->slots_[static_cast<size_t>(id)].input = static_cast<int>(k);
    known[static_cast<size_t>(id)] = true;
  }

  std::vector<TensorView> in_views, out_views;
  for (const OnnxNode& node : graph.nodes) {
    const OpDef* op = FindOp(node.op);
    if (op == nullptr)
      return base::Unimplemented("operator " + node.op + " (node '" + node.name + "')");
    in_views.clear();
    bool all_constant = true;
    for (int id : node.inputs) {
      if (id < 0) {  // an omitted optional input keeps its position
        TensorView absent;
        absent.present = false;
        in_views.push_back(absent);
        continue;
      }
      if (!known[static_cast<size_t>(id)]) {
        return InvalidArgument("node '" + node.name + "' reads '" +
                               graph.values[static_cast<size_t>(id)].name + "' before it exists");
      }
      in_views.push_back(plan->slots_[static_cast<size_t>(id)].view);
      all_constant = all_constant && constant[static_cast<size_t>(id)];
    }
    out_views.clear();
    RETURN_IF_ERROR(op->shape(node, in_views, &out_views));
    std::vector<int> outputs;
    for (int id : node.outputs) outputs.push_back(id);
    while (!outputs.empty() && outputs.back() < 0) outputs.pop_back();
    if (outputs.size() > out_views.size()) {
      return InvalidArgument("node '" + node.name + "' (" + node.op + ") has " +
                             std::to_string(outputs.size()) + " outputs; inferd computes " +
                             std::to_string(out_views.size()));
    }
    if (all_constant || op->shape_only) {
      // Constant and shape folding: run it now; the results are constants of the plan.
      for (size_t o = 0; o < outputs.size(); ++o) {
        plan->folded_.emplace_back(graph.values[static_cast<size_t>(outputs[o])].name,
                                   out_views[o].dtype, out_views[o].shape);
        out_views[o].data = plan->folded_.back().bytes().data();
      }
      // (A Tensor keeps its buffer when folded_ grows, so views into it stay valid.)
      RETURN_IF_ERROR(op->kernel(node, in_views, out_views));
      for (size_t o = 0; o < outputs.size(); ++o) {
        const size_t id = static_cast<size_t>(outputs[o]);
        plan->slots_[id].view = out_views[o];
        known[id] = constant[id] = true;
      }
      continue;
    }
    Step step{&node, op, node.inputs, outputs};
    for (size_t o = 0; o < outputs.size(); ++o) {
      const size_t id = static_cast<size_t>(outputs[o]);
      Slot& slot = plan->slots_[id];
      slot.view = out_views[o];
      slot.view.data = nullptr;
      slot.offset = static_cast<int64_t>(plan->arena_bytes_);
      const int64_t count = slot.view.elements();
      if (count < 0) return InvalidArgument("node '" + node.name + "': invalid output shape");
      plan->arena_bytes_ +=
          Aligned(static_cast<size_t>(count) * tensor::DataTypeSize(slot.view.dtype));
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
  return plan;
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
  return a;
}

void OnnxPlan::Return(std::unique_ptr<Arena> arena) const {
  std::lock_guard<std::mutex> lock(mu_);
  free_.push_back(std::move(arena));
}

StatusOr<std::vector<tensor::Tensor>> OnnxPlan::Run(std::span<const tensor::Tensor> inputs) const {
  auto arena = Checkout();
  auto view_of = [&](int id) {
    if (id < 0) {
      TensorView absent;
      absent.present = false;
      return absent;
    }
    const Slot& s = slots_[static_cast<size_t>(id)];
    TensorView v = s.view;
    if (s.input >= 0) {
      v.data = const_cast<uint8_t*>(inputs[static_cast<size_t>(s.input)].bytes().data());
    } else if (s.offset >= 0) {
      v.data = arena->base + s.offset;
    }
    return v;
  };
  Status st;
  for (const Step& step : steps_) {
    arena->in.clear();
    arena->out.clear();
    for (int id : step.inputs) arena->in.push_back(view_of(id));
    for (int id : step.outputs) arena->out.push_back(view_of(id));
    st = step.op->kernel(*step.node, arena->in, arena->out);
    if (!st.ok()) break;
  }
  std::vector<tensor::Tensor> out;
  if (st.ok()) {
    for (int id : graph_->outputs) {
      const TensorView v = view_of(id);
      tensor::Tensor t(graph_->values[static_cast<size_t>(id)].name, v.dtype, v.shape);
      std::memcpy(t.bytes().data(), v.data, t.byte_size());
      out.push_back(std::move(t));
    }
  }
  Return(std::move(arena));
  if (!st.ok()) return st;
  return out;
}

}  // namespace inferd::backends::onnx
