//===- LLMAttrs.cpp - Enums and attributes of the llm dialect -------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMAttrs.h"
#include "llm/dialects/LLM/IR/LLMDialect.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/APFloat.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::llm;

#include "llm/dialects/LLM/IR/LLMEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "llm/dialects/LLM/IR/LLMAttrs.cpp.inc"

FailureOr<APFloat> mlir::llm::parseF64Parameter(AsmParser &parser) {
  double value;
  if (parser.parseFloat(value))
    return failure();
  return APFloat(value);
}

void mlir::llm::printF64Parameter(AsmPrinter &printer, const APFloat &value) {
  // APFloat prints the shortest decimal that reads back to the same double;
  // keep a decimal point so the text stays a float literal.
  SmallString<32> text;
  value.toString(text);
  if (!StringRef(text).contains_insensitive('.') &&
      !StringRef(text).contains_insensitive('e') &&
      !StringRef(text).contains_insensitive("inf") &&
      !StringRef(text).contains_insensitive("nan"))
    text += ".0";
  printer << text;
}

LogicalResult
RopeScalingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        RopeScalingKind kind, APFloat factorValue,
                        int64_t originalMaxPosition, APFloat lowFreqValue,
                        APFloat highFreqValue, APFloat betaFastValue,
                        APFloat betaSlowValue, APFloat attentionFactorValue) {
  double factor = factorValue.convertToDouble();
  double lowFreqFactor = lowFreqValue.convertToDouble();
  double highFreqFactor = highFreqValue.convertToDouble();
  double betaFast = betaFastValue.convertToDouble();
  double betaSlow = betaSlowValue.convertToDouble();
  double attentionFactor = attentionFactorValue.convertToDouble();
  // Non-finite values cannot be printed back as float literals, and no
  // checkpoint has them.
  for (auto [name, value] : {std::pair<StringRef, double>{"factor", factor},
                             {"low_freq_factor", lowFreqFactor},
                             {"high_freq_factor", highFreqFactor},
                             {"beta_fast", betaFast},
                             {"beta_slow", betaSlow},
                             {"attention_factor", attentionFactor}})
    if (!std::isfinite(value))
      return emitError() << "expected a finite rope scaling " << name
                         << ", found " << value;
  if (!(factor > 0.0))
    return emitError() << "expected rope scaling factor > 0, found " << factor;
  bool needsOriginal = kind == RopeScalingKind::Dynamic ||
                       kind == RopeScalingKind::Yarn ||
                       kind == RopeScalingKind::Llama3;
  if (needsOriginal && originalMaxPosition <= 0)
    return emitError() << "expected original_max_position > 0 for '"
                       << stringifyRopeScalingKind(kind)
                       << "' rope scaling, found " << originalMaxPosition;
  if (originalMaxPosition < 0)
    return emitError() << "expected original_max_position >= 0, found "
                       << originalMaxPosition;
  if (kind == RopeScalingKind::Llama3 &&
      !(lowFreqFactor > 0.0 && lowFreqFactor < highFreqFactor))
    return emitError() << "expected 0 < low_freq_factor < high_freq_factor for "
                          "'llama3' rope scaling, found low_freq_factor = "
                       << lowFreqFactor
                       << ", high_freq_factor = " << highFreqFactor;
  if (kind == RopeScalingKind::Yarn && !(betaFast > betaSlow && betaSlow > 0.0))
    return emitError() << "expected beta_fast > beta_slow > 0 for 'yarn' rope "
                          "scaling, found beta_fast = "
                       << betaFast << ", beta_slow = " << betaSlow;
  if (attentionFactor < 0.0)
    return emitError() << "expected attention_factor >= 0, found "
                       << attentionFactor;
  return success();
}

void LLMDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "llm/dialects/LLM/IR/LLMAttrs.cpp.inc"
      >();
}

LogicalResult
ModelInfoAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                      StringRef type, ModelKind kind, int64_t vocabSize,
                      int64_t hiddenSize, int64_t positionOffset,
                      ArrayRef<int64_t> eosTokenIds,
                      int64_t decoderStartTokenId, int64_t maxPositions,
                      int64_t contextLength, int64_t slidingWindow) {
  if (type.empty())
    return emitError() << "expected a non-empty model type";
  if (vocabSize <= 0 || hiddenSize <= 0)
    return emitError() << "expected vocab_size > 0 and hidden_size > 0, found "
                       << vocabSize << " and " << hiddenSize;
  for (auto [name, value] :
       {std::pair<StringRef, int64_t>{"position_offset", positionOffset},
        {"max_positions", maxPositions},
        {"context_length", contextLength},
        {"sliding_window", slidingWindow}})
    if (value < 0)
      return emitError() << "expected " << name << " >= 0, found " << value;
  if (maxPositions && contextLength > maxPositions)
    return emitError() << "expected context_length <= max_positions ("
                       << maxPositions << "), found " << contextLength;
  for (int64_t id : eosTokenIds)
    if (id < 0)
      return emitError() << "expected eos token ids >= 0, found " << id;
  if (decoderStartTokenId < 0 || decoderStartTokenId >= vocabSize)
    return emitError() << "expected decoder_start_token_id in [0, " << vocabSize
                       << "), found " << decoderStartTokenId;
  return success();
}

FailureOr<SmallVector<int64_t>> mlir::llm::parseI64List(AsmParser &parser) {
  SmallVector<int64_t> values;
  if (failed(parser.parseCommaSeparatedList(
          AsmParser::Delimiter::Square, [&]() -> ParseResult {
            return parser.parseInteger(values.emplace_back());
          })))
    return failure();
  return values;
}

void mlir::llm::printI64List(AsmPrinter &printer, ArrayRef<int64_t> values) {
  printer << '[';
  llvm::interleaveComma(values, printer);
  printer << ']';
}
