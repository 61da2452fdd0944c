//===- Manifest.cpp - The entry-point manifest of a lowered module --------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/codegen/CPU/Manifest.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/dialects/LLM/IR/LLMTypes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"

using namespace mlir;
using namespace mlir::llm;

namespace {

/// The manifest's name of an element type, or "" when it has none.
std::string elementName(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  for (unsigned width : {64u, 32u, 8u, 1u})
    if (type.isSignlessInteger(width))
      return "i" + std::to_string(width);
  return "";
}

llvm::Error unsupported(const Twine &where, Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type;
  return llvm::createStringError(llvm::formatv(
      "manifest: {0}: no runtime description of type {1}", where.str(), text));
}

/// {"dtype", "shape"} of a statically shaped tensor.
llvm::Expected<llvm::json::Object> describeTensor(const Twine &where,
                                                  Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  std::string dtype = tensor ? elementName(tensor.getElementType()) : "";
  if (!tensor || !tensor.hasStaticShape() || dtype.empty())
    return unsupported(where, type);
  return llvm::json::Object{{"dtype", dtype},
                            {"shape", llvm::json::Array(tensor.getShape())}};
}

llvm::Expected<llvm::json::Object> describeArg(const Twine &where, Type type,
                                               Attribute kind) {
  std::string kindName = "input";
  if (auto k = dyn_cast_or_null<ArgKindAttr>(kind))
    kindName = stringifyArgKind(k.getValue()).str();
  if (auto cache = dyn_cast<KVCacheType>(type)) {
    std::string dtype = elementName(cache.getElementType());
    if (dtype.empty())
      return unsupported(where, type);
    return llvm::json::Object{
        {"kind", kindName},
        {"cache", llvm::json::Object{{"layers", cache.getNumLayers()},
                                     {"kv_heads", cache.getNumKvHeads()},
                                     {"head_dim", cache.getHeadDim()},
                                     {"block_size", cache.getBlockSize()},
                                     {"dtype", dtype}}}};
  }
  llvm::Expected<llvm::json::Object> tensor = describeTensor(where, type);
  if (!tensor)
    return tensor.takeError();
  (*tensor)["kind"] = kindName;
  return std::move(*tensor);
}

llvm::json::Object describeModel(ModelInfoAttr model) {
  return llvm::json::Object{
      {"type", model.getType()},
      {"kind", stringifyModelKind(model.getKind())},
      {"vocab_size", model.getVocabSize()},
      {"hidden_size", model.getHiddenSize()},
      {"position_offset", model.getPositionOffset()},
      {"eos_token_ids", llvm::json::Array(model.getEosTokenIds())},
      {"decoder_start_token_id", model.getDecoderStartTokenId()},
      {"max_positions", model.getMaxPositions()},
      {"context_length", model.getContextLength()},
      {"sliding_window", model.getSlidingWindow()}};
}

} // namespace

llvm::Expected<std::string> mlir::llm::buildManifest(ModuleOp lowered) {
  auto *dialect = lowered.getContext()->getLoadedDialect<LLMDialect>();
  if (!dialect || !dialect->getParamsAttrHelper().isAttrPresent(lowered))
    return llvm::createStringError("manifest: expected a module lowered by "
                                   "--llm-lower-to-cpu (no 'llm.params')");
  llvm::json::Object manifest{{"format", "llmc-manifest"}, {"version", 1}};
  if (ModelInfoAttr model = dialect->getModelAttrHelper().getAttr(lowered))
    manifest["model"] = describeModel(model);

  llvm::json::Array params;
  for (Attribute attr : dialect->getParamsAttrHelper().getAttr(lowered)) {
    auto param = cast<DictionaryAttr>(attr);
    StringRef name = param.getAs<StringAttr>("name").getValue();
    Type type = param.getAs<TypeAttr>("type").getValue();
    // A quantized weight is read from the checkpoint as f32 and quantized
    // by the runtime: its float shape, and how to quantize it.
    auto quantized = dyn_cast<QuantizedType>(type);
    if (quantized)
      type = RankedTensorType::get(quantized.getShape(),
                                   Float32Type::get(type.getContext()));
    llvm::Expected<llvm::json::Object> entry =
        describeTensor("parameter '" + name + "'", type);
    if (!entry)
      return entry.takeError();
    (*entry)["name"] = name;
    if (param.get("transpose"))
      (*entry)["transpose"] = true;
    if (auto blocks = param.getAs<DenseI64ArrayAttr>("row_blocks"))
      (*entry)["row_blocks"] = llvm::json::Array(blocks.asArrayRef());
    if (auto panels = param.getAs<IntegerAttr>("panels"))
      (*entry)["panels"] = panels.getInt();
    if (quantized)
      (*entry)["quant"] = llvm::json::Object{
          {"bits", quantized.getBits()},
          {"group", quantized.getGroupSize()},
          {"symmetric", quantized.getSymmetric()},
          {"int8_activations", bool(param.get("int8_activations"))},
          {"method", param.getAs<StringAttr>("quant_method")
                         ? param.getAs<StringAttr>("quant_method").getValue()
                         : "rtn"}};
    if (auto format = param.getAs<StringAttr>("checkpoint_format"))
      (*entry->getObject("quant"))["checkpoint"] = format.getValue();
    if (param.get("act_order"))
      (*entry->getObject("quant"))["act_order"] = true;
    if (auto stacked = param.getAs<ArrayAttr>("stacked")) {
      llvm::json::Array parts;
      for (StringRef part : stacked.getAsValueRange<StringAttr>())
        parts.push_back(part);
      (*entry)["stacked"] = std::move(parts);
    }
    params.push_back(std::move(*entry));
  }
  manifest["params"] = std::move(params);

  llvm::json::Array entries;
  for (auto func : lowered.getOps<LLVM::LLVMFuncOp>()) {
    IntegerAttr arena = dialect->getArenaBytesAttrHelper().getAttr(func);
    if (!arena)
      continue; // A kernel declaration, or a helper.
    ArrayAttr argTypes = dialect->getArgTypesAttrHelper().getAttr(func);
    ArrayAttr argKinds = dialect->getArgKindsAttrHelper().getAttr(func);
    ArrayAttr resultTypes = dialect->getResultTypesAttrHelper().getAttr(func);
    if (!argTypes || !resultTypes)
      return llvm::createStringError(
          llvm::formatv("manifest: entry point '{0}' has no llm.arg_types or "
                        "llm.result_types",
                        func.getSymName()));
    llvm::json::Array args, results;
    for (auto [i, type] :
         llvm::enumerate(argTypes.getAsValueRange<TypeAttr>())) {
      Attribute kind = argKinds && i < argKinds.size() ? argKinds[i] : nullptr;
      llvm::Expected<llvm::json::Object> arg = describeArg(
          llvm::formatv("entry point '{0}' argument {1}", func.getSymName(), i),
          type, kind);
      if (!arg)
        return arg.takeError();
      args.push_back(std::move(*arg));
    }
    for (auto [i, type] :
         llvm::enumerate(resultTypes.getAsValueRange<TypeAttr>())) {
      llvm::Expected<llvm::json::Object> result = describeTensor(
          llvm::formatv("entry point '{0}' result {1}", func.getSymName(), i),
          type);
      if (!result)
        return result.takeError();
      results.push_back(std::move(*result));
    }
    entries.push_back(llvm::json::Object{{"name", func.getSymName()},
                                         {"arena_bytes", arena.getInt()},
                                         {"args", std::move(args)},
                                         {"results", std::move(results)}});
  }
  manifest["entry_points"] = std::move(entries);
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(manifest)));
  return text;
}
