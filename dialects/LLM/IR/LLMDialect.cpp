//===- LLMDialect.cpp - The llm dialect -----------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::llm;

#include "llm/dialects/LLM/IR/LLMDialect.cpp.inc"
#include "llm/dialects/LLM/IR/LLMInterfaces.cpp.inc"

llvm::ArrayRef<llvm::StringRef> mlir::llm::getCheckpointFormats() {
  static const llvm::StringRef kFormats[] = {
      "gptq",      "gptq_v2",   "awq",       "ggml_q8_0",
      "ggml_q4_0", "ggml_q4_1", "ggml_q5_0", "ggml_q5_1",
      "ggml_q4_k", "ggml_q5_k", "ggml_q6_k"};
  return kFormats;
}

void LLMDialect::initialize() {
  registerAttributes();
  registerTypes();
  addOperations<
#define GET_OP_LIST
#include "llm/dialects/LLM/IR/LLMOps.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Attributes that code generation records
//===----------------------------------------------------------------------===//

/// Checks one `llm.params` entry: {name, type[, transpose][, row_blocks]
/// [, stacked][, panels][, int8_activations][, quant_method]
/// [, checkpoint_format][, act_order]}.
static LogicalResult verifyParamEntry(Operation *op, Attribute attr,
                                      size_t index) {
  auto entry = dyn_cast<DictionaryAttr>(attr);
  if (!entry)
    return op->emitOpError() << "'llm.params' entry " << index
                             << ": expected a dictionary, found " << attr;
  if (!entry.getAs<StringAttr>("name"))
    return op->emitOpError()
           << "'llm.params' entry " << index << ": expected a string 'name'";
  auto type = entry.getAs<TypeAttr>("type");
  if (!type || !isa<RankedTensorType, QuantizedType>(type.getValue()))
    return op->emitOpError()
           << "'llm.params' entry " << index
           << ": expected a 'type' holding a ranked tensor or quantized type";
  for (NamedAttribute field : entry) {
    StringRef key = field.getName().getValue();
    Attribute value = field.getValue();
    bool ok = key == "name" || key == "type" ||
              (key == "transpose" && isa<UnitAttr>(value)) ||
              (key == "stacked" && isa<ArrayAttr>(value)) ||
              (key == "row_blocks" && isa<DenseI64ArrayAttr>(value) &&
               cast<DenseI64ArrayAttr>(value).size() == 4) ||
              (key == "panels" && isa<IntegerAttr>(value) &&
               cast<IntegerAttr>(value).getInt() > 0) ||
              (key == "int8_activations" && isa<UnitAttr>(value) &&
               isa<QuantizedType>(type.getValue())) ||
              (key == "quant_method" && isa<StringAttr>(value) &&
               isa<QuantizedType>(type.getValue()) &&
               llvm::is_contained({"gptq", "awq"},
                                  cast<StringAttr>(value).getValue())) ||
              (key == "act_order" && isa<UnitAttr>(value) &&
               entry.get("checkpoint_format")) ||
              (key == "checkpoint_format" && isa<StringAttr>(value) &&
               isa<QuantizedType>(type.getValue()) &&
               llvm::is_contained(getCheckpointFormats(),
                                  cast<StringAttr>(value).getValue()));
    if (!ok)
      return op->emitOpError()
             << "'llm.params' entry " << index << ": unexpected field '" << key
             << "' = " << value
             << " (expected name, type, transpose, row_blocks [4 integers], "
                "stacked, panels [a positive integer] or, on a quantized "
                "type, int8_activations, quant_method [gptq or awq], "
                "checkpoint_format ["
             << llvm::join(getCheckpointFormats(), ", ") << "] and act_order)";
  }
  return success();
}

/// Checks `llm.arg_types` / `llm.result_types`: statically shaped tensors,
/// and caches among the arguments.
static LogicalResult verifyEntryTypes(Operation *op, StringRef name,
                                      Attribute attr, bool allowCache) {
  auto types = dyn_cast<ArrayAttr>(attr);
  if (!types)
    return op->emitOpError() << "'" << name << "': expected an array of types";
  for (auto [i, element] : llvm::enumerate(types)) {
    auto type = dyn_cast<TypeAttr>(element);
    auto tensor = type ? dyn_cast<RankedTensorType>(type.getValue()) : nullptr;
    bool ok = (tensor && tensor.hasStaticShape()) ||
              (allowCache && type && isa<KVCacheType>(type.getValue()));
    if (!ok)
      return op->emitOpError()
             << "'" << name << "' element " << i << ": expected "
             << (allowCache ? "a statically shaped tensor or !llm.kv_cache"
                            : "a statically shaped tensor")
             << ", found " << element;
  }
  return success();
}

LogicalResult LLMDialect::verifyOperationAttribute(Operation *op,
                                                   NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  Attribute value = attribute.getValue();
  if (name == ParamsAttrHelper::getNameStr()) {
    auto params = dyn_cast<ArrayAttr>(value);
    if (!isa<ModuleOp>(op) || !params)
      return op->emitOpError() << "'llm.params': expected an array on a module";
    for (auto [i, entry] : llvm::enumerate(params))
      if (failed(verifyParamEntry(op, entry, i)))
        return failure();
    return success();
  }
  if (name == ArenaBytesAttrHelper::getNameStr()) {
    auto bytes = dyn_cast<IntegerAttr>(value);
    if (!bytes || bytes.getValue().isNegative())
      return op->emitOpError()
             << "'llm.arena_bytes': expected a non-negative integer, found "
             << value;
    return success();
  }
  if (name == ModelAttrHelper::getNameStr()) {
    if (!isa<ModuleOp>(op) || !isa<ModelInfoAttr>(value))
      return op->emitOpError() << "'llm.model': expected a #llm.model on a "
                                  "module, found "
                               << value;
    return success();
  }
  if (name == ArgKindsAttrHelper::getNameStr()) {
    auto kinds = dyn_cast<ArrayAttr>(value);
    if (!kinds)
      return op->emitOpError()
             << "'llm.arg_kinds': expected an array, found " << value;
    for (auto [i, kind] : llvm::enumerate(kinds))
      if (!isa<ArgKindAttr, UnitAttr>(kind))
        return op->emitOpError()
               << "'llm.arg_kinds' element " << i
               << ": expected a #llm.arg_kind or unit, found " << kind;
    return success();
  }
  if (name == ArgTypesAttrHelper::getNameStr())
    return verifyEntryTypes(op, name, value, /*allowCache=*/true);
  if (name == ResultTypesAttrHelper::getNameStr())
    return verifyEntryTypes(op, name, value, /*allowCache=*/false);
  return op->emitOpError() << "unknown attribute '" << name
                           << "' of the llm dialect";
}

LogicalResult LLMDialect::verifyRegionArgAttribute(Operation *op,
                                                   unsigned regionIndex,
                                                   unsigned argIndex,
                                                   NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  if (name != ArgKindAttrHelper::getNameStr())
    return op->emitOpError()
           << "unknown argument attribute '" << name << "' of the llm dialect";
  auto kind = dyn_cast<ArgKindAttr>(attribute.getValue());
  if (!kind)
    return op->emitOpError() << "argument " << argIndex
                             << ": 'llm.arg_kind': expected a #llm.arg_kind, "
                                "found "
                             << attribute.getValue();
  Region &region = op->getRegion(regionIndex);
  if (region.empty())
    return success();
  Type type = region.front().getArgument(argIndex).getType();
  // Caches are descriptors; token-like arguments are i64 ids; the cache's
  // bookkeeping (slots, tables, lengths) is i32, as the kernels read it.
  auto expect = [&](bool ok, StringRef expected) -> LogicalResult {
    if (ok)
      return success();
    return op->emitOpError()
           << "argument " << argIndex << " of kind '"
           << stringifyArgKind(kind.getValue()) << "': expected " << expected
           << ", found " << type;
  };
  auto tensorOf = [&](unsigned width) {
    auto tensor = dyn_cast<RankedTensorType>(type);
    return tensor && tensor.getElementType().isSignlessInteger(width);
  };
  switch (kind.getValue()) {
  case ArgKind::KVCache:
  case ArgKind::CrossCache:
    return expect(isa<KVCacheType>(type), "!llm.kv_cache");
  case ArgKind::Tokens:
  case ArgKind::Positions:
  case ArgKind::TokenTypes:
  case ArgKind::EncoderTokens:
    return expect(tensorOf(64), "a ranked tensor of i64");
  case ArgKind::Slots:
  case ArgKind::BlockTables:
  case ArgKind::ContextLens:
  case ArgKind::CrossSlots:
  case ArgKind::CrossBlockTables:
  case ArgKind::CrossContextLens:
    return expect(tensorOf(32), "a ranked tensor of i32");
  }
  return success();
}
