//===- InsertKVCache.cpp - Attention over a paged KV cache ----------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// Implements --llm-insert-kv-cache: causal attention over a function's own
// tokens becomes kv_cache_append + paged_attention over a block pool.
//
//===----------------------------------------------------------------------===//

#include "llm/dialects/LLM/IR/LLMOps.h"
#include "llm/passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::llm {
#define GEN_PASS_DEF_INSERTKVCACHEPASS
#include "llm/passes/Passes.h.inc"
} // namespace mlir::llm

using namespace mlir;
using namespace mlir::llm;

namespace {

/// What the rewrite needs from one attention op.
struct AttentionSite {
  Operation *op;
  Value query, key, value, alibiSlopes;
  int64_t numHeads, numKvHeads;
  double scale;
  MaskKind mask;
  std::optional<int64_t> window;
};

/// Reads `op` if it is attention this pass can serve from a cache.
FailureOr<AttentionSite> getSite(Operation *op) {
  AttentionSite site;
  site.op = op;
  Value keyPadding, bias;
  if (auto a = dyn_cast<AttentionOp>(op)) {
    site = {
        op,          a.getQuery(),    a.getKey(),        a.getValue(),
        Value(),     a.getNumHeads(), a.getNumKvHeads(), a.getEffectiveScale(),
        a.getMask(), a.getWindow()};
    keyPadding = a.getKeyPadding();
    bias = a.getBias();
  } else if (auto f = dyn_cast<FlashAttentionOp>(op)) {
    site = {op,
            f.getQuery(),
            f.getKey(),
            f.getValue(),
            f.getAlibiSlopes(),
            f.getNumHeads(),
            f.getNumKvHeads(),
            f.getScale().convertToDouble(),
            f.getMask(),
            f.getWindow()};
    keyPadding = f.getKeyPadding();
    bias = f.getBias();
  } else {
    return failure();
  }
  if (site.mask != MaskKind::Causal && site.mask != MaskKind::SlidingWindow)
    return op->emitOpError()
           << "llm-insert-kv-cache: expected causal or sliding-window "
              "attention, found mask '"
           << stringifyMaskKind(site.mask) << "'";
  if (keyPadding || bias)
    return op->emitOpError()
           << "llm-insert-kv-cache: attention with a key_padding or bias "
              "operand cannot use the cache (run llm-lower-alibi for ALiBi)";
  ArrayRef<int64_t> q = cast<RankedTensorType>(site.query.getType()).getShape();
  ArrayRef<int64_t> k = cast<RankedTensorType>(site.key.getType()).getShape();
  ArrayRef<int64_t> v = cast<RankedTensorType>(site.value.getType()).getShape();
  if (q[1] != k[1])
    return op->emitOpError() << "llm-insert-kv-cache: expected attention over "
                                "the function's own tokens (q_len == kv_len), "
                                "found q_len = "
                             << q[1] << ", kv_len = " << k[1];
  if (k[2] != v[2])
    return op->emitOpError() << "llm-insert-kv-cache: expected equal key and "
                                "value head dims, found widths "
                             << k[2] << " and " << v[2];
  return site;
}

struct InsertKVCachePass : llm::impl::InsertKVCachePassBase<InsertKVCachePass> {
  using Base::Base;

  void runOnOperation() override {
    Type dtype = parseDtype();
    if (!dtype) {
      getOperation().emitError()
          << "llm-insert-kv-cache: expected cache-dtype f32, f16, bf16 or "
             "i8, found '"
          << cacheDtype << "'";
      return signalPassFailure();
    }
    if (blockSize <= 0 || maxSeqLen <= 0) {
      getOperation().emitError()
          << "llm-insert-kv-cache: expected block-size > 0 and max-seq-len "
             "> 0, found block-size = "
          << static_cast<int64_t>(blockSize)
          << ", max-seq-len = " << static_cast<int64_t>(maxSeqLen);
      return signalPassFailure();
    }
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (failed(rewrite(func, dtype)))
        return signalPassFailure();
  }

  Type parseDtype() {
    Builder b(&getContext());
    if (cacheDtype == "f32")
      return b.getF32Type();
    if (cacheDtype == "f16")
      return b.getF16Type();
    if (cacheDtype == "bf16")
      return b.getBF16Type();
    if (cacheDtype == "i8")
      return b.getIntegerType(8);
    return {};
  }

  LogicalResult rewrite(func::FuncOp func, Type dtype) {
    if (func.isDeclaration())
      return success();
    SmallVector<AttentionSite> sites;
    WalkResult walk = func.walk([&](Operation *op) {
      if (!isa<AttentionOp, FlashAttentionOp>(op))
        return WalkResult::advance();
      FailureOr<AttentionSite> site = getSite(op);
      if (failed(site))
        return WalkResult::interrupt();
      sites.push_back(*site);
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return failure();
    if (sites.empty())
      return success();

    auto keyType = cast<RankedTensorType>(sites[0].key.getType());
    int64_t batch = keyType.getDimSize(0), seq = keyType.getDimSize(1);
    int64_t kvHeads = sites[0].numKvHeads;
    int64_t headDim = keyType.getDimSize(2) / kvHeads;
    for (const AttentionSite &s : sites) {
      auto k = cast<RankedTensorType>(s.key.getType());
      if (s.numKvHeads != kvHeads || k.getDimSize(2) != kvHeads * headDim ||
          k.getDimSize(0) != batch || k.getDimSize(1) != seq)
        return s.op->emitOpError()
               << "llm-insert-kv-cache: expected every layer to have "
               << kvHeads << " kv heads of " << headDim << " features over ["
               << batch << ", " << seq << "] tokens";
    }

    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    auto cacheType =
        KVCacheType::get(ctx, sites.size(), kvHeads, headDim, blockSize, dtype);
    int64_t maxBlocks = llvm::divideCeil(maxSeqLen, blockSize);
    Type i32 = b.getI32Type();
    auto slotsType = RankedTensorType::get({batch, seq}, i32);
    auto tablesType = RankedTensorType::get({batch, maxBlocks}, i32);
    auto lensType = RankedTensorType::get({batch}, i32);
    Block &entry = func.getBody().front();
    Location loc = func.getLoc();
    Value cache = entry.addArgument(cacheType, loc);
    Value slots = entry.addArgument(slotsType, loc);
    Value tables = entry.addArgument(tablesType, loc);
    Value lens = entry.addArgument(lensType, loc);
    func.setType(FunctionType::get(ctx, entry.getArgumentTypes(),
                                   func.getResultTypes()));

    for (auto [layer, site] : llvm::enumerate(sites)) {
      // Re-read the operands: an earlier layer's rewrite may have replaced
      // one of them.
      AttentionSite s = *getSite(site.op);
      b.setInsertionPoint(s.op);
      cache =
          KVCacheAppendOp::create(b, s.op->getLoc(), cacheType, cache, slots,
                                  s.key, s.value, b.getI64IntegerAttr(layer));
      auto paged = PagedAttentionOp::create(
          b, s.op->getLoc(), s.op->getResult(0).getType(), s.query, cache,
          tables, lens, s.alibiSlopes, b.getI64IntegerAttr(layer),
          b.getI64IntegerAttr(s.numHeads), b.getF64FloatAttr(s.scale),
          MaskKindAttr::get(ctx, s.mask),
          s.window ? b.getI64IntegerAttr(*s.window) : IntegerAttr());
      s.op->getResult(0).replaceAllUsesWith(paged.getResult());
      s.op->erase();
    }
    return success();
  }
};

} // namespace
