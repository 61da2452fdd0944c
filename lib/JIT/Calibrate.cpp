//===- Calibrate.cpp - Calibrated quantization in the JIT -----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Calibrate.h"

#include "llm/Import/HFImporter.h"
#include "llm/Quant/Calibrated.h"
#include "llm/dialects/LLM/IR/LLMOps.h"

#include "Generate.h"
#include "Quant.h"
#include "SafeTensors.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <chrono>
#include <cstring>
#include <map>
#include <set>
#include <unordered_map>

using namespace mlir;
using namespace mlir::llm;

namespace {

std::string makeKey(llvm::StringRef name, bool transpose,
                    llvm::ArrayRef<int64_t> rowBlocks) {
  std::string key = name.str() + (transpose ? "|T|" : "||");
  for (int64_t v : rowBlocks)
    key += std::to_string(v) + ",";
  return key;
}

std::string paramKey(ParamOp param) {
  std::optional<llvm::ArrayRef<int64_t>> blocks = param.getRowBlocks();
  return makeKey(param.getName(), param.getTranspose(),
                 blocks ? *blocks : llvm::ArrayRef<int64_t>());
}

/// The llm.param of rank `rank` (not stacked) that defines `value`, or null.
ParamOp getParam(Value value, int64_t rank) {
  auto param = value ? value.getDefiningOp<ParamOp>() : ParamOp();
  if (!param || param.getStacked())
    return ParamOp();
  auto type = dyn_cast<RankedTensorType>(param.getType());
  if (!type || type.getRank() != rank)
    return ParamOp();
  return param;
}

/// The keys of the weights of the projections that read `value`, when
/// nothing else reads it; empty otherwise.
std::vector<std::string> readingProjections(Value value) {
  std::vector<std::string> keys;
  for (OpOperand &use : value.getUses()) {
    auto linear = dyn_cast<LinearOp>(use.getOwner());
    if (!linear || use.getOperandNumber() != 0)
      return {};
    ParamOp weight = getParam(linear.getWeight(), 2);
    if (!weight)
      return {};
    keys.push_back(paramKey(weight));
  }
  return keys;
}

} // namespace

std::string mlir::llm::paramKey(const llmrt::ParamDesc &param) {
  std::vector<int64_t> blocks;
  if (param.rowBlocks)
    blocks.assign(param.rowBlocks->begin(), param.rowBlocks->end());
  return makeKey(param.name, param.transpose, blocks);
}

std::vector<ScalingGroup> mlir::llm::findScalingGroups(ModuleOp module) {
  std::vector<ScalingGroup> groups;
  std::set<std::vector<std::string>> seen;
  auto add = [&](ScalingGroup group) {
    if (!group.linears.empty() && seen.insert(group.linears).second)
      groups.push_back(std::move(group));
  };
  module.walk([&](Operation *op) {
    ScalingGroup group;
    if (auto norm = dyn_cast<RMSNormOp>(op)) {
      ParamOp weight = getParam(norm.getWeight(), 1);
      // (A per-head norm's weight is not the features' scale.)
      if (!weight || !weight->hasOneUse() ||
          cast<RankedTensorType>(norm.getWeight().getType()).getShape() !=
              norm.getInput().getType().getShape().take_back())
        return;
      group.norm = {::paramKey(weight)};
      group.normOffset = norm.getWeightOffset().convertToDouble();
      group.linears = readingProjections(norm.getResult());
    } else if (auto norm = dyn_cast<LayerNormOp>(op)) {
      ParamOp weight = getParam(norm.getWeight(), 1);
      if (!weight || !weight->hasOneUse())
        return;
      group.norm = {::paramKey(weight)};
      if (Value bias = norm.getBias()) {
        ParamOp param = getParam(bias, 1);
        if (!param || !param->hasOneUse())
          return;
        group.norm.push_back(::paramKey(param));
      }
      group.linears = readingProjections(norm.getResult());
    } else if (auto glu = dyn_cast<GluOp>(op)) {
      auto up = glu.getUp().getDefiningOp<LinearOp>();
      if (!up || !glu.getUp().hasOneUse())
        return;
      ParamOp weight = getParam(up.getWeight(), 2);
      if (!weight || !weight->hasOneUse())
        return;
      group.upWeight = ::paramKey(weight);
      if (Value bias = up.getBias()) {
        ParamOp param = getParam(bias, 1);
        if (!param || !param->hasOneUse())
          return;
        group.upBias = ::paramKey(param);
      }
      group.linears = readingProjections(glu.getResult());
    } else {
      return;
    }
    add(std::move(group));
  });
  return groups;
}

namespace {

/// Accumulates the statistics of each projection's inputs while the float
/// model runs (llmk::setLinearObserver). Projections that read the same
/// input (q, k and v; gate and up) share one statistics slot: a call whose
/// input equals the previous call's, byte for byte, is the same input.
class Observer {
public:
  /// `weights`: the float model's parameter pointers and their keys.
  explicit Observer(std::unordered_map<const void *, std::string> keys)
      : keys(std::move(keys)) {
    llmk::setLinearObserver(&Observer::observe, this);
  }
  ~Observer() { llmk::setLinearObserver(nullptr, nullptr); }

  /// The statistics of the parameter `key`'s inputs, or null.
  const llmq::InputStatistics *find(const std::string &key) const {
    auto it = slotOf.find(key);
    return it == slotOf.end() ? nullptr : stats[it->second].get();
  }
  /// Frees what only accumulating needed.
  void finish() {
    llmk::setLinearObserver(nullptr, nullptr);
    for (auto &s : stats)
      s->releaseScratch();
    std::vector<float>().swap(last);
  }

  /// Whether the parameters read the same input.
  bool share(const std::string &a, const std::string &b) const {
    auto ia = slotOf.find(a), ib = slotOf.find(b);
    return ia != slotOf.end() && ib != slotOf.end() && ia->second == ib->second;
  }

private:
  static void observe(void *context, const void *w, const float *x, int64_t m,
                      int64_t k) {
    static_cast<Observer *>(context)->add(w, x, m, k);
  }

  void add(const void *w, const float *x, int64_t m, int64_t k) {
    // InputStatistics::add multiplies on the same kernels.
    if (busy)
      return;
    auto key = keys.find(w);
    if (key == keys.end())
      return;
    busy = true;
    bool same = m == lastRows && k == lastFeatures &&
                std::memcmp(x, last.data(), m * k * sizeof(float)) == 0;
    auto slot = slotOf.find(key->second);
    if (slot == slotOf.end()) {
      if (same) {
        slotOf[key->second] = lastSlot;
        busy = false;
        return;
      }
      slot = slotOf.emplace(key->second, stats.size()).first;
      stats.push_back(std::make_unique<llmq::InputStatistics>(k));
    } else if (same && slot->second == lastSlot) {
      busy = false;
      return;
    }
    llmq::InputStatistics &into = *stats[slot->second];
    if (into.getFeatures() == k)
      into.add(x, m);
    last.assign(x, x + m * k);
    lastRows = m;
    lastFeatures = k;
    lastSlot = slot->second;
    busy = false;
  }

  std::unordered_map<const void *, std::string> keys;
  std::unordered_map<std::string, size_t> slotOf;
  std::vector<std::unique_ptr<llmq::InputStatistics>> stats;
  std::vector<float> last;
  int64_t lastRows = -1, lastFeatures = -1;
  size_t lastSlot = 0;
  bool busy = false;
};

llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Error toError(const llmrt::Status &status) {
  return makeError(status.message());
}

} // namespace

llvm::Expected<llmrt::ParamValues> mlir::llm::calibrateQuantization(
    MLIRContext &context, const HFModel &model,
    std::shared_ptr<const llmrt::SafeTensorsArchive> weights,
    const JITOptions &options, const llmrt::Manifest &quantized,
    const std::vector<ScalingGroup> &groups) {
  using Clock = std::chrono::steady_clock;
  auto start = Clock::now();
  auto note = [&](const std::string &text) {
    if (options.note)
      options.note(text);
  };
  const std::string method = options.quantizeMethod;

  // The float model, over windows of the calibration text.
  const llmrt::ModelInfo &info = model.getInfo();
  int64_t context_ = info.contextLength  ? info.contextLength
                     : info.maxPositions ? info.maxPositions
                                         : options.calibrationWindow;
  const std::vector<int64_t> &tokens = options.calibrationTokens;
  int64_t window = std::min<int64_t>({options.calibrationWindow, context_,
                                      static_cast<int64_t>(tokens.size())});
  for (int64_t id : tokens)
    if (id < 0 || id >= info.vocabSize)
      return makeError(llvm::formatv(
          "calibration: token id {0} is outside the model's vocabulary of "
          "{1}",
          id, info.vocabSize));
  JITOptions floatOptions;
  floatOptions.seqLen = window;
  floatOptions.decomposeAttention = options.decomposeAttention;
  floatOptions.attentionPasses = options.attentionPasses;
  floatOptions.optLevel = options.optLevel;
  floatOptions.checkMemory = options.checkMemory;
  floatOptions.allowUnusedWeights = true; // already checked
  llvm::Expected<std::unique_ptr<llmrt::Model>> floatModel =
      compileModel(context, model, weights, floatOptions);
  if (!floatModel)
    return floatModel.takeError();
  // Only the projections whose values calibration computes (and, for AWQ,
  // those that share their inputs) are observed: a Gram matrix each.
  std::set<std::string> needed;
  for (const llmrt::ParamDesc &param : quantized.params)
    if (param.quant && param.quant->method == options.quantizeMethod)
      needed.insert(paramKey(param));
  for (const ScalingGroup &group : groups)
    if (llvm::any_of(group.linears,
                     [&](const std::string &key) { return needed.count(key); }))
      needed.insert(group.linears.begin(), group.linears.end());
  const llmrt::Manifest &floatManifest = (*floatModel)->getManifest();
  std::unordered_map<const void *, std::string> pointers;
  for (size_t i = 0; i < floatManifest.params.size(); ++i)
    if (floatManifest.params[i].shape.size() == 2 &&
        needed.count(paramKey(floatManifest.params[i])))
      pointers[(*floatModel)->getParamPointer(i)] =
          paramKey(floatManifest.params[i]);

  llmrt::Expected<std::unique_ptr<llmrt::SequenceSet>> sequences =
      llmrt::makeRecomputedSequences(**floatModel);
  if (!sequences)
    return toError(sequences.status());
  Observer observer(std::move(pointers));
  std::vector<float> logits(window * info.vocabSize);
  int64_t windows = static_cast<int64_t>(tokens.size()) / window;
  for (int64_t w = 0; w < windows; ++w) {
    std::vector<int64_t> ids(tokens.begin() + w * window,
                             tokens.begin() + (w + 1) * window);
    llmrt::Expected<int64_t> seq = (*sequences)->start(ids, {}, logits.data());
    if (!seq)
      return makeError("calibration: " + seq.error());
    (*sequences)->release(*seq);
  }
  observer.finish();
  double runSeconds =
      std::chrono::duration<double>(Clock::now() - start).count();
  note(llvm::formatv("calibration: {0} tokens in {1} windows of {2} through "
                     "the float model, {3:f2} s",
                     windows * window, windows, window, runSeconds));

  // The quantized model's parameters by key.
  std::map<std::string, size_t> indexOf;
  for (size_t i = 0; i < quantized.params.size(); ++i)
    indexOf.emplace(paramKey(quantized.params[i]), i);
  auto isCalibrated = [&](const llmrt::ParamDesc &param) {
    return param.quant && param.quant->method == method;
  };
  auto schemeOf = [](const llmrt::ParamDesc &param) {
    return llmq::Scheme{param.quant->bits, param.quant->group,
                        param.quant->symmetric};
  };
  auto load =
      [&](const llmrt::ParamDesc &param) -> llvm::Expected<std::vector<float>> {
    llmrt::Expected<std::vector<float>> values =
        llmrt::Model::loadParamF32(*weights, param);
    if (!values)
      return toError(values.status());
    return std::move(*values);
  };

  llmrt::ParamValues result;
  auto computeStart = Clock::now();
  if (method == "gptq") {
    llmq::GPTQOptions gptq;
    gptq.damp = options.gptqDamp;
    gptq.actOrder = options.gptqActOrder;
    double before = 0, after = 0;
    // One plan per input: q, k and v share theirs, as do gate and up; each
    // is dropped after the last projection that reads it.
    std::map<const llmq::InputStatistics *, llmq::GPTQPlan> plans;
    std::map<const llmq::InputStatistics *, int> readers;
    for (const llmrt::ParamDesc &param : quantized.params)
      if (isCalibrated(param))
        if (const llmq::InputStatistics *stats = observer.find(paramKey(param)))
          ++readers[stats];
    for (size_t i = 0; i < quantized.params.size(); ++i) {
      const llmrt::ParamDesc &param = quantized.params[i];
      if (!isCalibrated(param))
        continue;
      llvm::Expected<std::vector<float>> w = load(param);
      if (!w)
        return w.takeError();
      int64_t n = param.shape[0], k = param.shape[1];
      const llmq::InputStatistics *stats = observer.find(paramKey(param));
      if (!stats || stats->getRows() == 0 || stats->getFeatures() != k) {
        note("calibration: no input of " + std::to_string(k) +
             " features reached '" + param.name + "'; rounded to nearest");
        result[i].values = std::move(*w);
        continue;
      }
      auto plan = plans.find(stats);
      if (plan == plans.end()) {
        plan = plans.emplace(stats, llmq::planGPTQ(*stats, gptq)).first;
        if (!plan->second.note.empty())
          note("calibration: '" + param.name + "': " + plan->second.note);
      }
      llmq::QuantizedMatrix q = llmq::quantizeGPTQ(
          w->data(), n, k, plan->second, schemeOf(param), gptq);
      if (--readers[stats] == 0)
        plans.erase(plan);
      llmq::Scheme scheme = schemeOf(param);
      before += llmq::outputError(
          w->data(),
          llmq::dequantize(llmq::quantizeRTN(w->data(), n, k, scheme), n, k,
                           scheme)
              .data(),
          n, k, *stats);
      after += llmq::outputError(
          w->data(), llmq::dequantize(q, n, k, scheme).data(), n, k, *stats);
      llmrt::ParamValue &value = result[i];
      value.codes = std::move(q.codes);
      value.scales = std::move(q.scales);
      value.offsets = std::move(q.offsets);
    }
    note(llvm::formatv(
        "calibration: GPTQ, summed output error of the "
        "projections {0:e3} (round to nearest: {1:e3}), "
        "{2:f2} s",
        after, before,
        std::chrono::duration<double>(Clock::now() - computeStart).count()));
    return result;
  }

  // AWQ: the scaled float values of every parameter it touches.
  std::map<size_t, std::vector<float>> scaled;
  auto valuesOf =
      [&](const std::string &key) -> llvm::Expected<std::vector<float> *> {
    auto index = indexOf.find(key);
    if (index == indexOf.end())
      return nullptr;
    auto it = scaled.find(index->second);
    if (it == scaled.end()) {
      llvm::Expected<std::vector<float>> values =
          load(quantized.params[index->second]);
      if (!values)
        return values.takeError();
      it = scaled.emplace(index->second, std::move(*values)).first;
    }
    return &it->second;
  };
  int applied = 0;
  double before = 0, after = 0;
  // The statistics of the inputs of the scaled projections, by key.
  std::map<std::string, std::shared_ptr<llmq::InputStatistics>> scaledStats;
  for (const ScalingGroup &group : groups) {
    // Every projection of the group is in the model as an f32 (or
    // quantized, read as f32) 2-D parameter, at least one quantized with
    // AWQ, and all read one input; the ops before take f32 parameters.
    bool usable = !group.linears.empty(), anyCalibrated = false;
    std::vector<std::string> keys = group.linears;
    keys.insert(keys.end(), group.norm.begin(), group.norm.end());
    if (!group.upWeight.empty())
      keys.push_back(group.upWeight);
    if (!group.upBias.empty())
      keys.push_back(group.upBias);
    for (const std::string &key : keys) {
      auto index = indexOf.find(key);
      usable =
          usable && index != indexOf.end() &&
          quantized.params[index->second].dtype == llmrt::ElementType::F32 &&
          quantized.params[index->second].stacked.empty();
    }
    for (const std::string &key : group.linears) {
      usable = usable && observer.share(key, group.linears.front());
      auto index = indexOf.find(key);
      anyCalibrated =
          anyCalibrated || (index != indexOf.end() &&
                            isCalibrated(quantized.params[index->second]));
    }
    if (!usable || !anyCalibrated)
      continue;
    const llmrt::ParamDesc &first = quantized.params[indexOf[group.linears[0]]];
    int64_t k = first.shape[1];
    if (observer.find(group.linears[0])->getFeatures() != k)
      continue;
    // The scheme of the group's calibrated projections (they share it: one
    // llm-quantize run).
    llmq::Scheme scheme;
    for (const std::string &key : group.linears)
      if (isCalibrated(quantized.params[indexOf[key]]))
        scheme = schemeOf(quantized.params[indexOf[key]]);
    std::vector<llmq::WeightRef> refs;
    for (const std::string &key : group.linears) {
      llvm::Expected<std::vector<float> *> values = valuesOf(key);
      if (!values)
        return values.takeError();
      refs.push_back(
          {(*values)->data(), quantized.params[indexOf[key]].shape[0]});
    }
    llmq::AWQResult found = llmq::searchAWQScales(
        refs, k, *observer.find(group.linears[0]), scheme);
    before += found.errorBefore;
    after += found.errorAfter;
    if (found.ratio < 0)
      continue;
    ++applied;
    const std::vector<float> &s = found.scales;
    auto divided = std::make_shared<llmq::InputStatistics>(
        observer.find(group.linears[0])->dividedBy(s));
    for (const std::string &key : group.linears)
      scaledStats[key] = divided;
    for (const std::string &key : group.linears) {
      std::vector<float> &w = **valuesOf(key);
      for (size_t e = 0; e < w.size(); ++e)
        w[e] *= s[e % k];
    }
    for (size_t j = 0; j < group.norm.size(); ++j) {
      llvm::Expected<std::vector<float> *> values = valuesOf(group.norm[j]);
      if (!values)
        return values.takeError();
      std::vector<float> &g = **values;
      if (static_cast<int64_t>(g.size()) != k)
        return makeError("internal error: AWQ: norm parameter of " +
                         std::to_string(g.size()) + " values for " +
                         std::to_string(k) + " features");
      // The weight scales the output as (w + offset); the bias alone.
      double offset = j == 0 ? group.normOffset : 0.0;
      for (int64_t c = 0; c < k; ++c)
        g[c] = static_cast<float>((g[c] + offset) / s[c] - offset);
    }
    if (!group.upWeight.empty()) {
      llvm::Expected<std::vector<float> *> values = valuesOf(group.upWeight);
      if (!values)
        return values.takeError();
      std::vector<float> &up = **values;
      int64_t cols = static_cast<int64_t>(up.size()) / k;
      for (int64_t r = 0; r < k; ++r)
        for (int64_t c = 0; c < cols; ++c)
          up[r * cols + c] /= s[r];
      if (!group.upBias.empty()) {
        llvm::Expected<std::vector<float> *> bias = valuesOf(group.upBias);
        if (!bias)
          return bias.takeError();
        for (int64_t r = 0; r < k; ++r)
          (**bias)[r] /= s[r];
      }
    }
  }
  // Then the clipping search on every AWQ projection, against the
  // statistics of its (scaled) inputs.
  double clipBefore = 0, clipAfter = 0;
  for (size_t i = 0; i < quantized.params.size(); ++i) {
    const llmrt::ParamDesc &param = quantized.params[i];
    if (!isCalibrated(param))
      continue;
    std::string key = paramKey(param);
    const llmq::InputStatistics *stats = observer.find(key);
    if (auto it = scaledStats.find(key); it != scaledStats.end())
      stats = it->second.get();
    if (!stats || stats->getRows() == 0 ||
        stats->getFeatures() != param.shape[1])
      continue;
    llvm::Expected<std::vector<float> *> values = valuesOf(key);
    if (!values)
      return values.takeError();
    auto [first, best] = llmq::clipAWQ((*values)->data(), param.shape[0],
                                       param.shape[1], *stats, schemeOf(param));
    clipBefore += first;
    clipAfter += best;
  }
  for (auto &[index, values] : scaled)
    result[index].values = std::move(values);
  // The other AWQ projections (no op before to fold into: o_proj under
  // grouped-query attention) round to nearest.
  for (size_t i = 0; i < quantized.params.size(); ++i)
    if (isCalibrated(quantized.params[i]) && !result.count(i)) {
      llvm::Expected<std::vector<float>> values = load(quantized.params[i]);
      if (!values)
        return values.takeError();
      result[i].values = std::move(*values);
    }
  note(llvm::formatv(
      "calibration: AWQ scaled {0} of {1} groups of "
      "projections; their summed output error {2:e3} (round "
      "to nearest: {3:e3}); clipping: {5:e3} to {6:e3} "
      "(groups' own errors), {4:f2} s",
      applied, groups.size(), after, before,
      std::chrono::duration<double>(Clock::now() - computeStart).count(),
      clipBefore, clipAfter));
  return result;
}
