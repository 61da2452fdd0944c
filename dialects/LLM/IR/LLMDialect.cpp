//===- LLMDialect.cpp - The llm dialect -----------------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llm/dialects/LLM/IR/LLMOps.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;
using namespace mlir::llm;

#include "llm/dialects/LLM/IR/LLMDialect.cpp.inc"
#include "llm/dialects/LLM/IR/LLMInterfaces.cpp.inc"

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
/// [, stacked]}.
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
               cast<DenseI64ArrayAttr>(value).size() == 4);
    if (!ok)
      return op->emitOpError()
             << "'llm.params' entry " << index << ": unexpected field '" << key
             << "' = " << value
             << " (expected name, type, transpose, row_blocks [4 integers] "
                "or stacked)";
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
  if (name == ArgTypesAttrHelper::getNameStr())
    return verifyEntryTypes(op, name, value, /*allowCache=*/true);
  if (name == ResultTypesAttrHelper::getNameStr())
    return verifyEntryTypes(op, name, value, /*allowCache=*/false);
  return op->emitOpError() << "unknown attribute '" << name
                           << "' of the llm dialect";
}
