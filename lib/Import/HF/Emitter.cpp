//===- Emitter.cpp - llm IR builder of the Hugging Face importer ----------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Emitter.h"

#include "GGMLBlocks.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstring>
#include <limits>

using namespace mlir;
using namespace mlir::llm;
using namespace mlir::llm::hf;
using llmrt::DType;
using llmrt::TensorInfo;

static std::string fmt(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(d);
  return text + "]";
}

/// The stored shape that would have produced `shape` under `layout`.
static llvm::SmallVector<int64_t> expectedStored(llvm::ArrayRef<int64_t> shape,
                                                 const ParamLayout &layout) {
  llvm::SmallVector<int64_t> s(shape.begin(), shape.end());
  if (layout.rowBlocks && !s.empty() && layout.fusedRows)
    s[0] = layout.fusedRows;
  else if (layout.rowBlocks && !s.empty())
    s[0] = std::max(s[0],
                    (*layout.rowBlocks)[0] +
                        ((*layout.rowBlocks)[3] - 1) * (*layout.rowBlocks)[2] +
                        (*layout.rowBlocks)[1]);
  if (layout.transpose && s.size() == 2)
    std::swap(s[0], s[1]);
  return s;
}

void Emitter::selectPrefix(llvm::StringRef probe,
                           llvm::ArrayRef<llvm::StringRef> prefixes) {
  prefix = prefixes.front().str();
  for (llvm::StringRef p : prefixes) {
    if (archive.lookup((p + probe).str())) {
      prefix = p.str();
      break;
    }
  }
}

Value Emitter::param(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                     bool keepDtype, ParamLayout layout) {
  if (failed())
    return nullptr;
  std::string full = prefix + name.str();
  const TensorInfo *info = archive.lookup(full);
  if (!info) {
    fail(llvm::formatv("{0}: missing tensor '{1}' (expected shape {2})",
                       archive.directory(), full, fmt(shape)));
    return nullptr;
  }
  Type element;
  switch (info->dtype) {
  case DType::F32:
    element = builder.getF32Type();
    break;
  case DType::F16:
    element = keepDtype ? builder.getF16Type() : builder.getF32Type();
    break;
  case DType::BF16:
    element = keepDtype ? builder.getBF16Type() : builder.getF32Type();
    break;
  default:
    fail(llvm::formatv("{0}: tensor '{1}': dtype {2}, expected F32, F16 or "
                       "BF16",
                       info->file, full, getDTypeName(info->dtype)));
    return nullptr;
  }
  // The archive shape the layout implies.
  llvm::SmallVector<int64_t> stored(info->shape.begin(), info->shape.end());
  llvm::SmallVector<int64_t> logical = stored;
  if (layout.transpose && stored.size() == 2)
    logical = {stored[1], stored[0]};
  if (layout.rowBlocks && !logical.empty()) {
    auto [start, size, stride, count] = *layout.rowBlocks;
    if (layout.fusedRows ? logical[0] != layout.fusedRows
                         : start + (count - 1) * stride + size > logical[0]) {
      fail(llvm::formatv("{0}: tensor '{1}': shape {2}, expected {3} (fused "
                         "projections)",
                         info->file, full, fmt(stored),
                         fmt(expectedStored(shape, layout))));
      return nullptr;
    }
    logical[0] = size * count;
  }
  if (llvm::ArrayRef<int64_t>(logical) != shape) {
    fail(llvm::formatv("{0}: tensor '{1}': shape {2}, expected {3}", info->file,
                       full, fmt(stored), fmt(expectedStored(shape, layout))));
    return nullptr;
  }
  auto op = ParamOp::create(builder, loc, RankedTensorType::get(shape, element),
                            full);
  if (layout.transpose)
    op.setTranspose(true);
  if (layout.rowBlocks)
    op.setRowBlocks(llvm::ArrayRef<int64_t>(*layout.rowBlocks));
  return op;
}

Value Emitter::quantizedParam(llvm::StringRef name, int64_t out, int64_t in) {
  if (failed())
    return nullptr;
  const CheckpointQuantization &q = *checkpointQuantization;
  std::string full = prefix + name.str();
  const bool awq = q.format == "awq";
  const int64_t pack = 32 / q.bits;
  const int64_t size = q.group == 0 ? in : q.group;
  if (in % size != 0 || in % pack != 0 || out % pack != 0) {
    fail(llvm::formatv("{0}: tensor '{1}.qweight': a [{2}, {3}] projection, "
                       "which groups of {4} input features and {5} values "
                       "per int32 do not divide",
                       archive.directory(), full, out, in, size, pack));
    return nullptr;
  }
  struct Expected {
    const char *suffix;
    llvm::SmallVector<int64_t> shape;
    bool floats;
  };
  Expected tensors[] = {{".qweight",
                         awq ? llvm::SmallVector<int64_t>{in, out / pack}
                             : llvm::SmallVector<int64_t>{in / pack, out},
                         false},
                        {".qzeros", {in / size, out / pack}, false},
                        {".scales", {in / size, out}, true}};
  for (const Expected &e : tensors) {
    std::string tensorName = full + e.suffix;
    const TensorInfo *info = archive.lookup(tensorName);
    if (!info) {
      fail(llvm::formatv("{0}: missing tensor '{1}' (a {2} projection, "
                         "expected shape {3})",
                         archive.directory(), tensorName, q.format,
                         fmt(e.shape)));
      return nullptr;
    }
    bool dtypeOk =
        e.floats ? (info->dtype == DType::F16 || info->dtype == DType::BF16 ||
                    info->dtype == DType::F32)
                 : info->dtype == DType::I32;
    if (!dtypeOk) {
      fail(llvm::formatv("{0}: tensor '{1}': dtype {2}, expected {3} ({4} "
                         "packing)",
                         info->file, tensorName, getDTypeName(info->dtype),
                         e.floats ? "F16, BF16 or F32" : "I32", q.format));
      return nullptr;
    }
    if (llvm::ArrayRef<int64_t>(info->shape) != llvm::ArrayRef(e.shape)) {
      fail(llvm::formatv("{0}: tensor '{1}': shape {2}, expected {3} ({4} "
                         "packing of a [{5}, {6}] projection in groups of "
                         "{7})",
                         info->file, tensorName, fmt(info->shape), fmt(e.shape),
                         q.format, out, in, size));
      return nullptr;
    }
  }
  auto type = QuantizedType::get(
      &context, {out, in}, static_cast<unsigned>(q.bits), q.group,
      builder.getF32Type(), /*symmetric=*/false,
      q.bits == 8 ? QuantPacking::Byte : QuantPacking::Nibble);
  // GPTQ's g_idx: each input feature's group. Consecutive groups are the
  // kernels' own; others (act-order) must hold `size` features each, which
  // the runtime then stores grouped.
  bool actOrder = false;
  if (!awq && archive.lookup(full + ".g_idx")) {
    const TensorInfo *info = archive.lookup(full + ".g_idx");
    if (info->dtype != DType::I32 ||
        llvm::ArrayRef<int64_t>(info->shape) != llvm::ArrayRef<int64_t>{in}) {
      fail(llvm::formatv("{0}: tensor '{1}.g_idx': {2} {3}, expected I32 "
                         "[{4}] (gptq packing)",
                         info->file, full, getDTypeName(info->dtype),
                         fmt(info->shape), in));
      return nullptr;
    }
    llvm::SmallVector<int64_t> count(in / size, 0);
    for (int64_t i = 0; i < in; ++i) {
      int32_t g;
      std::memcpy(&g, info->data + i * 4, 4);
      actOrder = actOrder || g != i / size;
      if (g < 0 || g >= in / size || ++count[g] > size) {
        fail(llvm::formatv("{0}: tensor '{1}.g_idx': element {2} is {3}, "
                           "expected a group in [0, {4}) that holds {5} "
                           "input features",
                           info->file, full, i, g, in / size, size));
        return nullptr;
      }
    }
  }
  auto op = ParamOp::create(builder, loc, type, full);
  op.setCheckpointFormat(q.format);
  if (actOrder)
    op.setActOrder(true);
  return op;
}

Value Emitter::stackedParam(llvm::StringRef label,
                            llvm::ArrayRef<std::string> names,
                            llvm::ArrayRef<int64_t> partShape) {
  if (failed())
    return nullptr;
  Type element;
  llvm::SmallVector<Attribute> attrs;
  for (const std::string &name : names) {
    std::string full = prefix + name;
    const TensorInfo *info = archive.lookup(full);
    if (!info) {
      fail(llvm::formatv("{0}: missing tensor '{1}' (expected shape {2})",
                         archive.directory(), full, fmt(partShape)));
      return nullptr;
    }
    if (llvm::ArrayRef<int64_t>(info->shape) != partShape) {
      fail(llvm::formatv("{0}: tensor '{1}': shape {2}, expected {3}",
                         info->file, full, fmt(info->shape), fmt(partShape)));
      return nullptr;
    }
    Type t = info->dtype == DType::BF16  ? builder.getBF16Type()
             : info->dtype == DType::F16 ? builder.getF16Type()
             : info->dtype == DType::F32 ? builder.getF32Type()
                                         : Type();
    if (!t || (element && element != t)) {
      fail(llvm::formatv("{0}: tensor '{1}': dtype {2}, expected {3}",
                         info->file, full, getDTypeName(info->dtype),
                         element ? "the dtype of the other experts"
                                 : "F32, F16 or BF16"));
      return nullptr;
    }
    element = t;
    attrs.push_back(builder.getStringAttr(full));
  }
  llvm::SmallVector<int64_t> shape = {static_cast<int64_t>(names.size())};
  shape.append(partShape.begin(), partShape.end());
  auto op = ParamOp::create(builder, loc, RankedTensorType::get(shape, element),
                            prefix + label.str());
  op.setStackedAttr(builder.getArrayAttr(attrs));
  return op;
}

Value Emitter::linear(Value x, llvm::StringRef name, int64_t out, bool bias,
                      ParamLayout layout) {
  if (failed() || !x)
    return nullptr;
  auto xt = cast<RankedTensorType>(x.getType());
  int64_t in = xt.getShape().back();
  Value w;
  std::string weightName = prefix + (name + ".weight").str();
  const llmk::GGMLKernelFormat *ggml =
      ggmlFormats && ggmlFormats->count(weightName)
          ? llmk::findGGMLKernelFormat(ggmlFormats->at(weightName).c_str())
          : nullptr;
  if (ggml && !layout.transpose && !layout.rowBlocks &&
      in % ggml->blockElements == 0) {
    // A GGUF projection in a ggml block format that the kernels read: their
    // quantized weight, repacked at load (Model.cpp).
    llvm::StringRef format = ggml->checkpoint;
    const TensorInfo *info = archive.lookup(weightName);
    const uint64_t bytes =
        uint64_t(out) * (in / ggml->blockElements) * ggml->blockBytes;
    if (!info || info->numBytes != bytes) {
      fail(llvm::formatv("{0}: tensor '{1}': expected {2} bytes of {3} "
                         "blocks for a [{4}, {5}] projection, found {6}",
                         archive.directory(), weightName, bytes,
                         format.drop_front(5), out, in,
                         info ? std::to_string(info->numBytes) + " bytes"
                              : std::string("no such tensor")));
      return nullptr;
    }
    const unsigned bits = ggml->bits == 4 || ggmlPackedCodes ? ggml->bits : 8;
    auto type = QuantizedType::get(&context, {out, in}, bits, ggml->group,
                                   builder.getF32Type(), ggml->symmetric,
                                   bits == 8   ? QuantPacking::Byte
                                   : bits == 4 ? QuantPacking::Nibble
                                               : QuantPacking::NibblePlane);
    auto op = ParamOp::create(builder, loc, type, weightName);
    op.setCheckpointFormat(format);
    w = op;
  } else if (checkpointQuantization && !hasTensor((name + ".weight").str()) &&
             hasTensor((name + ".qweight").str())) {
    if (layout.transpose || layout.rowBlocks) {
      fail(llvm::formatv("{0}: tensor '{1}{2}.qweight': a {3} projection "
                         "fused with others or stored transposed, which "
                         "LLMC reads only in float",
                         archive.directory(), prefix, name,
                         checkpointQuantization->format));
      return nullptr;
    }
    w = quantizedParam(name, out, in);
  } else {
    w = param((name + ".weight").str(), {out, in}, /*keepDtype=*/true, layout);
  }
  Value b;
  if (bias) {
    ParamLayout biasLayout;
    biasLayout.rowBlocks = layout.rowBlocks;
    biasLayout.fusedRows = layout.fusedRows;
    b = param((name + ".bias").str(), {out}, false, biasLayout);
  }
  if (failed())
    return nullptr;
  llvm::SmallVector<int64_t> shape(xt.getShape().drop_back());
  shape.push_back(out);
  return LinearOp::create(builder, loc, f32(shape), x, w, b);
}

Value Emitter::rmsNorm(Value x, llvm::StringRef weight, double eps,
                       int64_t groupSize) {
  if (failed() || !x)
    return nullptr;
  int64_t dim = groupSize
                    ? groupSize
                    : cast<RankedTensorType>(x.getType()).getShape().back();
  Value w = param(weight, {dim});
  if (failed())
    return nullptr;
  return RMSNormOp::create(builder, loc, x.getType(), x, w,
                           builder.getF64FloatAttr(eps),
                           builder.getF64FloatAttr(0.0));
}

Value Emitter::sigmoidGate(Value x, Value gate) {
  if (failed() || !x || !gate)
    return nullptr;
  return SigmoidGateOp::create(builder, loc, x.getType(), x, gate);
}

Value Emitter::layerNorm(Value x, llvm::StringRef name, double eps) {
  if (failed() || !x)
    return nullptr;
  int64_t dim = cast<RankedTensorType>(x.getType()).getShape().back();
  Value w = param((name + ".weight").str(), {dim});
  Value b = param((name + ".bias").str(), {dim});
  if (failed())
    return nullptr;
  return LayerNormOp::create(builder, loc, x.getType(), x, w, b,
                             builder.getF64FloatAttr(eps));
}

Value Emitter::embedding(Value ids, llvm::StringRef name, int64_t rows,
                         int64_t dim) {
  if (failed())
    return nullptr;
  Value table = param(name, {rows, dim}, /*keepDtype=*/true);
  if (failed())
    return nullptr;
  llvm::SmallVector<int64_t> shape(
      cast<RankedTensorType>(ids.getType()).getShape());
  shape.push_back(dim);
  return EmbeddingOp::create(builder, loc, f32(shape), table, ids);
}

Value Emitter::scale(Value x, double s) {
  if (failed() || !x)
    return nullptr;
  auto type = cast<RankedTensorType>(x.getType());
  Value c = arith::ConstantOp::create(
      builder, loc, DenseElementsAttr::get(type, builder.getF32FloatAttr(s)));
  return arith::MulFOp::create(builder, loc, x, c);
}

Value Emitter::relu(Value x) {
  if (failed() || !x)
    return nullptr;
  auto type = cast<RankedTensorType>(x.getType());
  Value zero = arith::ConstantOp::create(
      builder, loc, DenseElementsAttr::get(type, builder.getF32FloatAttr(0.0)));
  return arith::MaximumFOp::create(builder, loc, x, zero);
}

Value Emitter::gelu(Value x, GeluApproximation approximation) {
  if (failed() || !x)
    return nullptr;
  return GeluOp::create(builder, loc, x.getType(), x,
                        GeluApproximationAttr::get(&context, approximation));
}

Value Emitter::glu(Value gate, Value up, Activation activation) {
  if (failed() || !gate || !up)
    return nullptr;
  return GluOp::create(builder, loc, gate.getType(), gate, up,
                       ActivationAttr::get(&context, activation));
}

Value Emitter::attention(Value q, Value k, Value v, int64_t heads,
                         int64_t kvHeads, std::optional<double> scale,
                         MaskKind mask, std::optional<int64_t> window,
                         Value bias) {
  if (failed() || !q || !k || !v)
    return nullptr;
  auto qt = cast<RankedTensorType>(q.getType());
  auto vt = cast<RankedTensorType>(v.getType());
  int64_t vHeadDim = vt.getShape().back() / kvHeads;
  if (decomposeAttention) {
    double headDim = static_cast<double>(qt.getShape().back() / heads);
    return decomposedAttention(q, k, v, heads, kvHeads,
                               scale.value_or(1.0 / std::sqrt(headDim)), mask,
                               window, bias);
  }
  auto result = f32({qt.getDimSize(0), qt.getDimSize(1), heads * vHeadDim});
  return AttentionOp::create(
      builder, loc, result, q, k, v, /*key_padding=*/Value(), bias,
      builder.getI64IntegerAttr(heads), builder.getI64IntegerAttr(kvHeads),
      scale ? builder.getF64FloatAttr(*scale) : FloatAttr(),
      MaskKindAttr::get(&context, mask),
      window ? builder.getI64IntegerAttr(*window) : IntegerAttr());
}

Value Emitter::decomposedAttention(Value q, Value k, Value v, int64_t heads,
                                   int64_t kvHeads, double factor,
                                   MaskKind mask, std::optional<int64_t> window,
                                   Value bias) {
  llvm::ArrayRef<int64_t> qs = cast<RankedTensorType>(q.getType()).getShape();
  int64_t batch = qs[0], qLen = qs[1];
  int64_t kvLen = cast<RankedTensorType>(k.getType()).getDimSize(1);
  int64_t headDim = qs[2] / heads;
  int64_t vHeadDim =
      cast<RankedTensorType>(v.getType()).getDimSize(2) / kvHeads;
  auto split = [&](Value x, int64_t n, int64_t len, int64_t dim) -> Value {
    return SplitHeadsOp::create(builder, loc, f32({batch, n, len, dim}), x,
                                builder.getI64IntegerAttr(n));
  };
  auto repeat = [&](Value x, int64_t dim) -> Value {
    if (kvHeads == heads)
      return x;
    return RepeatKVOp::create(builder, loc, f32({batch, heads, kvLen, dim}), x,
                              builder.getI64IntegerAttr(heads / kvHeads));
  };
  Value qh = split(q, heads, qLen, headDim);
  Value kh = repeat(split(k, kvHeads, kvLen, headDim), headDim);
  Value vh = repeat(split(v, kvHeads, kvLen, vHeadDim), vHeadDim);
  // Without a bias the factor may as well scale the queries, as some
  // exports do; with one it must scale the scores alone.
  bool scaleQuery = !bias && factor != 1.0;
  if (scaleQuery)
    qh = scale(qh, factor);
  RankedTensorType scoresType = f32({batch, heads, qLen, kvLen});
  Value s =
      MatmulOp::create(builder, loc, scoresType, qh, kh, builder.getUnitAttr());
  if (!scaleQuery && factor != 1.0)
    s = scale(s, factor);
  if (bias)
    s = add(s, broadcastBias(bias, scoresType));
  if (mask != MaskKind::Bidirectional)
    s = add(s, maskConstant(scoresType, mask, window));
  Value p = SoftmaxOp::create(builder, loc, scoresType, s,
                              builder.getI64IntegerAttr(3));
  Value o = MatmulOp::create(builder, loc, f32({batch, heads, qLen, vHeadDim}),
                             p, vh, UnitAttr());
  return MergeHeadsOp::create(builder, loc,
                              f32({batch, qLen, heads * vHeadDim}), o);
}

Value Emitter::broadcastBias(Value bias, RankedTensorType scoresType) {
  if (bias.getType() == scoresType)
    return bias;
  if (scoresType.getDimSize(0) == 1)
    return tensor::ExpandShapeOp::create(
        builder, loc, scoresType, bias,
        llvm::ArrayRef<ReassociationIndices>{{0, 1}, {2}, {3}});
  Value init = tensor::EmptyOp::create(builder, loc, scoresType.getShape(),
                                       scoresType.getElementType());
  return linalg::BroadcastOp::create(builder, loc, bias, init,
                                     llvm::ArrayRef<int64_t>{0})
      ->getResult(0);
}

Value Emitter::maskConstant(RankedTensorType type, MaskKind mask,
                            std::optional<int64_t> window) {
  llvm::ArrayRef<int64_t> shape = type.getShape();
  int64_t qLen = shape[2], kvLen = shape[3];
  std::vector<float> plane(qLen * kvLen);
  for (int64_t i = 0; i < qLen; ++i) {
    int64_t position = i + kvLen - qLen;
    for (int64_t j = 0; j < kvLen; ++j) {
      bool visible = j <= position;
      if (mask == MaskKind::SlidingWindow && window)
        visible = visible && j > position - *window;
      plane[i * kvLen + j] =
          visible ? 0.0f : -std::numeric_limits<float>::infinity();
    }
  }
  std::vector<float> values;
  values.reserve(type.getNumElements());
  for (int64_t n = 0; n < shape[0] * shape[1]; ++n)
    values.insert(values.end(), plane.begin(), plane.end());
  return arith::ConstantOp::create(
      builder, loc,
      DenseElementsAttr::get(type, llvm::ArrayRef<float>(values)));
}

Value Emitter::rope(Value x, Value positions, int64_t heads, int64_t rotaryDim,
                    double theta, RopeScalingAttr scaling) {
  if (failed() || !x)
    return nullptr;
  int64_t headDim =
      cast<RankedTensorType>(x.getType()).getShape().back() / heads;
  return RoPEOp::create(
      builder, loc, x.getType(), x, positions, builder.getI64IntegerAttr(heads),
      rotaryDim == headDim ? IntegerAttr()
                           : builder.getI64IntegerAttr(rotaryDim),
      builder.getF64FloatAttr(theta),
      RopePairingAttr::get(&context, RopePairing::NeoX), scaling);
}

llvm::SmallVector<Value>
Emitter::beginFunction(ModuleOp module, llvm::ArrayRef<FunctionArg> args,
                       llvm::ArrayRef<Type> results) {
  builder.setInsertionPointToEnd(module.getBody());
  // Each family gives its arguments' kinds with their types; they are set
  // here alone, so that the runtime (and llm-insert-kv-cache, which keeps
  // them) never infers an argument's role from its position or type.
  llvm::SmallVector<Type> types;
  llvm::SmallVector<DictionaryAttr> argAttrs;
  for (const FunctionArg &arg : args) {
    types.push_back(arg.type);
    argAttrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr(LLMDialect::ArgKindAttrHelper::getNameStr(),
                             ArgKindAttr::get(&context, arg.kind))));
  }
  auto fn = func::FuncOp::create(builder, loc, functionName,
                                 builder.getFunctionType(types, results),
                                 /*attrs=*/{}, argAttrs);
  Block *entry = fn.addEntryBlock();
  builder.setInsertionPointToStart(entry);
  return llvm::SmallVector<Value>(entry->getArguments());
}

void Emitter::endFunction(Value result) {
  if (!failed() && result)
    func::ReturnOp::create(builder, loc, result);
}
