//===- LLMTypes.cpp - Types of the llm dialect ----------------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMTypes.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"
#include "llvm/ADT/StringExtras.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::llm;

#define GET_TYPEDEF_CLASSES
#include "llm/dialects/LLM/IR/LLMTypes.cpp.inc"

void LLMDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "llm/dialects/LLM/IR/LLMTypes.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// KVCacheType
//===----------------------------------------------------------------------===//

LogicalResult KVCacheType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  int64_t numLayers, int64_t numKvHeads,
                                  int64_t headDim, int64_t blockSize,
                                  Type elementType) {
  auto positive = [&](StringRef name, int64_t value) -> LogicalResult {
    if (value > 0)
      return success();
    return emitError() << "expected kv_cache " << name << " > 0, found "
                       << value;
  };
  if (failed(positive("layers", numLayers)) ||
      failed(positive("kv_heads", numKvHeads)) ||
      failed(positive("head_dim", headDim)) ||
      failed(positive("block_size", blockSize)))
    return failure();
  if (!elementType.isF32() && !elementType.isF16() && !elementType.isBF16() &&
      !elementType.isSignlessInteger(8))
    return emitError() << "expected kv_cache dtype f32, f16, bf16 or i8, found "
                       << elementType;
  return success();
}

double KVCacheType::getBytesPerToken() const {
  double perValue = getElementType().getIntOrFloatBitWidth() / 8.0;
  // An i8 cache keeps one f32 scale per block and head, amortized over the
  // block's tokens.
  if (getElementType().isSignlessInteger(8))
    perValue += 4.0 / (getHeadDim() * getBlockSize());
  return 2.0 * getNumLayers() * getTokenWidth() * perValue;
}

//===----------------------------------------------------------------------===//
// QuantizedType
//===----------------------------------------------------------------------===//

LogicalResult
QuantizedType::verify(function_ref<InFlightDiagnostic()> emitError,
                      ArrayRef<int64_t> shape, unsigned bits, int64_t groupSize,
                      Type scaleType, bool symmetric, QuantPacking packing) {
  if (shape.size() != 2 && shape.size() != 3)
    return emitError() << "expected a qweight of rank 2 ([out, in]) or 3 "
                          "([experts, out, in]), found rank "
                       << shape.size();
  if (llvm::any_of(shape, [](int64_t d) { return d <= 0; }))
    return emitError() << "expected positive qweight dimensions, found "
                       << llvm::join(llvm::map_range(shape,
                                                     [](int64_t d) {
                                                       return std::to_string(d);
                                                     }),
                                     "x");
  // The input (last) and output dimensions of each matrix.
  shape = shape.take_back(2);
  if (bits < 4 || bits > 8 || bits == 7)
    return emitError() << "expected qweight bits 4, 5, 6 or 8, found " << bits;
  if (groupSize < 0)
    return emitError()
           << "expected qweight group size > 0 or per_channel, found "
           << groupSize;
  if (groupSize > 0 && shape[1] % groupSize != 0)
    return emitError() << "expected qweight group size " << groupSize
                       << " to divide the input dimension " << shape[1];
  if (!scaleType.isF32() && !scaleType.isF16() && !scaleType.isBF16())
    return emitError() << "expected qweight scale type f32, f16 or bf16, found "
                       << scaleType;
  if (bits == 8 && packing != QuantPacking::Byte)
    return emitError() << "expected packing 'byte' for 8-bit qweight, found '"
                       << stringifyQuantPacking(packing) << "'";
  if (bits == 4 &&
      (packing == QuantPacking::Byte || packing == QuantPacking::NibblePlane))
    return emitError() << "expected packing 'nibble', 'gptq' or 'awq' for "
                          "4-bit qweight, found '"
                       << stringifyQuantPacking(packing) << "'";
  if ((bits == 5 || bits == 6) != (packing == QuantPacking::NibblePlane))
    return emitError() << "expected packing 'nibble_plane' with 5 or 6 bits "
                          "and only then, found "
                       << bits << " bits and '"
                       << stringifyQuantPacking(packing) << "'";
  if (packing == QuantPacking::NibblePlane && shape[1] % 32 != 0)
    return emitError() << "expected an input dimension divisible by 32 for "
                          "'nibble_plane' packing, found "
                       << shape[1];
  if (packing == QuantPacking::Nibble && shape[1] % 2 != 0)
    return emitError() << "expected an even input dimension for 'nibble' "
                          "packing, found "
                       << shape[1];
  if (packing == QuantPacking::GPTQ && shape[1] % 8 != 0)
    return emitError() << "expected an input dimension divisible by 8 for "
                          "'gptq' packing, found "
                       << shape[1];
  if (packing == QuantPacking::AWQ && shape[0] % 8 != 0)
    return emitError() << "expected an output dimension divisible by 8 for "
                          "'awq' packing, found "
                       << shape[0];
  return success();
}

int64_t QuantizedType::getNumGroups() const {
  return getNumElements() / getEffectiveGroupSize();
}

int64_t QuantizedType::getPackedWeightBytes() const {
  // The verifier guarantees that rows pack into whole bytes.
  return getNumElements() * getBits() / 8;
}

int64_t QuantizedType::getScaleBytes() const {
  return getNumGroups() * getScaleType().getIntOrFloatBitWidth() / 8;
}

int64_t QuantizedType::getZeroPointBytes() const {
  if (getSymmetric())
    return 0;
  return (getNumGroups() * getBits() + 7) / 8;
}

int64_t QuantizedType::getStorageBytes() const {
  return getPackedWeightBytes() + getScaleBytes() + getZeroPointBytes();
}

double QuantizedType::getBitsPerWeight() const {
  return 8.0 * static_cast<double>(getStorageBytes()) /
         static_cast<double>(getNumElements());
}

/// qweight-type ::= `<` dims `,` `bits` `=` int `,` `group` `=` (int |
///                  `per_channel`) `,` `scale` `=` type `,`
///                  (`symmetric` | `asymmetric`) `,` `packing` `=` keyword `>`
Type QuantizedType::parse(AsmParser &parser) {
  SmallVector<int64_t> shape;
  int64_t bits = 0;
  int64_t groupSize = 0;
  Type scaleType;
  StringRef packingName;
  SMLoc loc = parser.getCurrentLocation();
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false) ||
      parser.parseComma() || parser.parseKeyword("bits") ||
      parser.parseEqual() || parser.parseInteger(bits) || parser.parseComma() ||
      parser.parseKeyword("group") || parser.parseEqual())
    return {};
  if (failed(parser.parseOptionalKeyword("per_channel"))) {
    SMLoc groupLoc = parser.getCurrentLocation();
    if (parser.parseInteger(groupSize))
      return {};
    // 0 is how per-channel is stored; spelled as a number it is a mistake.
    if (groupSize <= 0) {
      parser.emitError(groupLoc)
          << "expected qweight group size > 0 or per_channel, found "
          << groupSize;
      return {};
    }
  }
  if (parser.parseComma() || parser.parseKeyword("scale") ||
      parser.parseEqual() || parser.parseType(scaleType) || parser.parseComma())
    return {};
  bool symmetric;
  if (succeeded(parser.parseOptionalKeyword("symmetric"))) {
    symmetric = true;
  } else if (succeeded(parser.parseOptionalKeyword("asymmetric"))) {
    symmetric = false;
  } else {
    parser.emitError(parser.getCurrentLocation(),
                     "expected 'symmetric' or 'asymmetric'");
    return {};
  }
  SMLoc packingLoc;
  if (parser.parseComma() || parser.parseKeyword("packing") ||
      parser.parseEqual() ||
      (packingLoc = parser.getCurrentLocation(),
       parser.parseKeyword(&packingName)) ||
      parser.parseGreater())
    return {};
  std::optional<QuantPacking> packing = symbolizeQuantPacking(packingName);
  if (!packing) {
    parser.emitError(packingLoc)
        << "expected packing 'byte', 'nibble', 'nibble_plane', 'gptq' or "
           "'awq', found '"
        << packingName << "'";
    return {};
  }
  if (bits < 4 || bits > 8 || bits == 7) {
    parser.emitError(loc) << "expected qweight bits 4, 5, 6 or 8, found "
                          << bits;
    return {};
  }
  return parser.getChecked<QuantizedType>(
      loc, parser.getContext(), shape, static_cast<unsigned>(bits), groupSize,
      scaleType, symmetric, *packing);
}

void QuantizedType::print(AsmPrinter &printer) const {
  printer << "<";
  llvm::interleave(getShape(), printer.getStream(), "x");
  printer << ", bits = " << getBits() << ", group = ";
  if (getGroupSize() == 0)
    printer << "per_channel";
  else
    printer << getGroupSize();
  printer << ", scale = " << getScaleType() << ", "
          << (getSymmetric() ? "symmetric" : "asymmetric")
          << ", packing = " << stringifyQuantPacking(getPacking()) << ">";
}
