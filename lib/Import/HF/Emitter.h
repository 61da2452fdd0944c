//===- Emitter.h - llm IR builder of the Hugging Face importer --*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Private to the Hugging Face importer: the ops every family builds from
// (parameters checked against the archive, linear layers, norms, attention,
// RoPE), so that a family file spells out its architecture and nothing else.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_LIB_IMPORT_HF_EMITTER_H
#define LLM_LIB_IMPORT_HF_EMITTER_H

#include "Config.h"

#include "SafeTensors.h"
#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

#include <array>
#include <map>
#include <optional>
#include <string>

namespace mlir::llm::hf {

/// How a weight is laid out in the archive relative to the IR's [out, in].
struct ParamLayout {
  bool transpose = false;
  /// start, size, stride, count (see llm.param).
  std::optional<std::array<int64_t, 4>> rowBlocks;
  /// With rowBlocks: the rows of the whole fused tensor (e.g. 3 * hidden for
  /// a fused QKV), which must match exactly; 0 only requires enough rows.
  int64_t fusedRows = 0;
};

/// An argument of the emitted function and what the runtime passes in it.
struct FunctionArg {
  Type type;
  ArgKind kind;
};

/// Emits llm ops for one model, checking weights as it goes. The first error
/// sticks; later calls return null values and the caller reports the error.
class Emitter {
public:
  Emitter(MLIRContext &context, const SafeTensorsArchive &archive,
          std::string prefix = "")
      : context(context), builder(&context), loc(UnknownLoc::get(&context)),
        archive(archive), prefix(std::move(prefix)) {}

  bool failed() const { return error.has_value(); }
  void fail(const llvm::Twine &message) {
    if (!error)
      error = message.str();
  }
  llvm::Error takeError() {
    return error ? makeError(*error) : llvm::Error::success();
  }

  /// Prefixes the names of all tensors with the first of `prefixes` under
  /// which `probe` exists (the first when none does): checkpoints of task
  /// models nest the base model ("transformer.", "bert.").
  void selectPrefix(llvm::StringRef probe,
                    llvm::ArrayRef<llvm::StringRef> prefixes);

  RankedTensorType f32(llvm::ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getF32Type());
  }
  RankedTensorType i64(llvm::ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, builder.getI64Type());
  }

  bool hasTensor(llvm::StringRef name) const {
    return archive.lookup(prefix + name.str()) != nullptr;
  }

  /// `llm.param` for `name` (prefixed), checked against the archive.
  /// `keepDtype`: big matrices keep their stored f16/bf16 (the kernels
  /// convert on the fly); everything else is read as f32.
  Value param(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
              bool keepDtype = false, ParamLayout layout = {});

  /// The `!llm.qweight` parameter `name` (prefixed) of a pre-quantized
  /// checkpoint, [out, in], its packed tensors checked.
  Value quantizedParam(llvm::StringRef name, int64_t out, int64_t in);

  /// `llm.param` stacking the archive tensors `names` (per-expert weights).
  Value stackedParam(llvm::StringRef label, llvm::ArrayRef<std::string> names,
                     llvm::ArrayRef<int64_t> partShape);

  /// input · Wᵀ (+ b) with W `name`.weight of logical shape [out, in]; in a
  /// pre-quantized checkpoint, W read from `name`.qweight and its zero
  /// points and scales, as a `!llm.qweight`.

  Value linear(Value x, llvm::StringRef name, int64_t out, bool bias,
               ParamLayout layout = {});

  /// RMSNorm over the last dimension, or with `groupSize` over each group
  /// of that many of its values (per-head norms).
  Value rmsNorm(Value x, llvm::StringRef weight, double eps,
                int64_t groupSize = 0);
  /// sigmoid(gate) * x, `gate` one value per row or per value.
  Value sigmoidGate(Value x, Value gate);
  Value layerNorm(Value x, llvm::StringRef name, double eps);
  Value embedding(Value ids, llvm::StringRef name, int64_t rows, int64_t dim);

  Value add(Value a, Value b) {
    if (failed() || !a || !b)
      return nullptr;
    return arith::AddFOp::create(builder, loc, a, b);
  }
  Value scale(Value x, double s);
  Value relu(Value x);
  /// `llm.gelu` of `x` (null once failed).
  Value gelu(Value x, GeluApproximation approximation);
  /// `llm.glu`: activation(gate) * up (null once failed).
  Value glu(Value gate, Value up, Activation activation);

  /// `llm.attention`, or its op-by-op spelling with decomposeAttention.
  Value attention(Value q, Value k, Value v, int64_t heads, int64_t kvHeads,
                  std::optional<double> scale, MaskKind mask,
                  std::optional<int64_t> window = std::nullopt,
                  Value bias = nullptr);

  /// NeoX-paired RoPE over the first `rotaryDim` of each head's dimensions.
  Value rope(Value x, Value positions, int64_t heads, int64_t rotaryDim,
             double theta, RopeScalingAttr scaling);

  /// Starts `func.func @<functionName>(args) -> results`, each argument
  /// with its `llm.arg_kind`; returns its arguments.
  llvm::SmallVector<Value> beginFunction(ModuleOp module,
                                         llvm::ArrayRef<FunctionArg> args,
                                         llvm::ArrayRef<Type> results);
  void endFunction(Value result);
  /// A [heads, q_len, kv_len] bias at the scores' [batch, heads, q_len,
  /// kv_len] shape, for arith.addf.
  Value broadcastBias(Value bias, RankedTensorType scoresType);

  MLIRContext &context;
  OpBuilder builder;
  Location loc;
  /// Sequences per call, and the emitted function's name.
  int64_t batch = 1;
  /// Emit attention op by op (HFImportOptions::decomposeAttention).
  bool decomposeAttention = false;
  /// The checkpoint's quantization, when its projections are stored
  /// quantized (HFModel::getCheckpointQuantization).
  const CheckpointQuantization *checkpointQuantization = nullptr;
  /// A GGUF file's projection weights in ggml block formats (name ->
  /// "ggml_q8_0", ...).
  const std::map<std::string, std::string> *ggmlFormats = nullptr;
  /// GPT-2's Conv1D weights stored [out, in] (HFModel::setConv1DOutIn).
  bool conv1dOutIn = false;
  /// ggml's 5- and 6-bit formats in 5- and 6-bit layouts, not bytes
  /// (HFModel::setGGMLPackedCodes).
  bool ggmlPackedCodes = false;
  std::string functionName = "forward";

private:
  /// softmax(Q·Kᵀ * factor + bias + mask) · V spelled out op by op over
  /// [batch, heads, seq, head_dim] planes, as exported graphs have it: the
  /// input --llm-fuse-attention raises back into llm.flash_attention.
  Value decomposedAttention(Value q, Value k, Value v, int64_t heads,
                            int64_t kvHeads, double factor, MaskKind mask,
                            std::optional<int64_t> window, Value bias);
  /// The additive mask: 0 where query i (at position i + kv_len - q_len)
  /// sees key j, -inf elsewhere, the same for every batch and head.
  Value maskConstant(RankedTensorType type, MaskKind mask,
                     std::optional<int64_t> window);

  const SafeTensorsArchive &archive;
  std::string prefix;
  std::optional<std::string> error;
};

} // namespace mlir::llm::hf

#endif // LLM_LIB_IMPORT_HF_EMITTER_H
