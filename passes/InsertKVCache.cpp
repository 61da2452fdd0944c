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

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/BitVector.h"

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
  /// T5's relative position bias, when the bias operand is one.
  RelativePositionBiasOp relativeBias;
  /// Cross-attention: keys and values that do not depend on the tokens the
  /// function is called with (an encoder's output).
  bool cross = false;
};

/// For each value of a function body, the entry-block arguments it depends
/// on, as a bit set (functions take few arguments; more than 64 are treated
/// as depending on all of them).
class ArgumentDeps {
public:
  explicit ArgumentDeps(Block &entry) {
    for (BlockArgument arg : entry.getArguments())
      deps[arg] = arg.getArgNumber() < 64 ? uint64_t(1) << arg.getArgNumber()
                                          : ~uint64_t(0);
    for (Operation &op : entry) {
      // The operands of the op and of the ops nested in it.
      uint64_t bits = 0;
      op.walk([&](Operation *nested) {
        for (Value operand : nested->getOperands())
          bits |= deps.lookup(operand);
      });
      for (Value result : op.getResults())
        deps[result] = bits;
    }
  }
  uint64_t get(Value v) const { return deps.lookup(v); }

private:
  DenseMap<Value, uint64_t> deps;
};

/// True for bidirectional attention whose query depends on an argument (the
/// tokens being decoded) that neither its keys nor its values depend on.
bool isCrossAttention(Operation *op, const ArgumentDeps &deps) {
  auto attention = cast<AttentionOpInterface>(op);
  Value query = op->getOperand(0), key = op->getOperand(1),
        value = op->getOperand(2);
  return attention.getMask() == MaskKind::Bidirectional &&
         (deps.get(query) & ~(deps.get(key) | deps.get(value)));
}

/// Reads `op` if it is attention this pass can serve from a cache.
FailureOr<AttentionSite> getSite(Operation *op, const ArgumentDeps &deps) {
  AttentionSite site;
  site.op = op;
  Value keyPadding, bias;
  if (auto a = dyn_cast<AttentionOp>(op)) {
    site = {op,
            a.getQuery(),
            a.getKey(),
            a.getValue(),
            Value(),
            a.getNumHeads(),
            a.getNumKvHeads(),
            a.getEffectiveScale(),
            a.getMask(),
            a.getWindow(),
            {},
            false};
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
            f.getWindow(),
            {},
            false};
    keyPadding = f.getKeyPadding();
    bias = f.getBias();
  } else {
    return failure();
  }
  site.cross = isCrossAttention(op, deps);
  // One query over one key of its own tokens: causal and bidirectional
  // alike (an imported graph's 1x1 mask cannot say which), served as causal.
  auto tokens = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getDimSize(1);
  };
  if (!site.cross && site.mask == MaskKind::Bidirectional &&
      tokens(site.query) == 1 && tokens(site.key) == 1)
    site.mask = MaskKind::Causal;
  if (!site.cross && site.mask != MaskKind::Causal &&
      site.mask != MaskKind::SlidingWindow)
    return op->emitOpError()
           << "llm-insert-kv-cache: expected causal or sliding-window "
              "attention, or bidirectional cross-attention whose keys and "
              "values do not depend on the query's tokens, found mask '"
           << stringifyMaskKind(site.mask) << "' over the query's own tokens";
  if (bias && !site.cross)
    site.relativeBias = bias.getDefiningOp<RelativePositionBiasOp>();
  if (keyPadding || (bias && !site.relativeBias))
    return op->emitOpError()
           << "llm-insert-kv-cache: attention with a key_padding or bias "
              "operand cannot use the cache (run llm-lower-alibi for ALiBi; "
              "a relative position bias must come from "
              "llm.relative_position_bias)";
  ArrayRef<int64_t> q = cast<RankedTensorType>(site.query.getType()).getShape();
  ArrayRef<int64_t> k = cast<RankedTensorType>(site.key.getType()).getShape();
  ArrayRef<int64_t> v = cast<RankedTensorType>(site.value.getType()).getShape();
  if (!site.cross && q[1] != k[1])
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

/// Checks that every site has the same kv heads, head width, batch and key
/// length as the first; returns the cache geometry (kv heads, head dim,
/// batch, key length).
FailureOr<std::array<int64_t, 4>> getGeometry(ArrayRef<AttentionSite> sites,
                                              StringRef what) {
  auto keyType = cast<RankedTensorType>(sites[0].key.getType());
  int64_t batch = keyType.getDimSize(0), seq = keyType.getDimSize(1);
  int64_t kvHeads = sites[0].numKvHeads;
  int64_t headDim = keyType.getDimSize(2) / kvHeads;
  for (const AttentionSite &s : sites) {
    auto k = cast<RankedTensorType>(s.key.getType());
    if (s.numKvHeads != kvHeads || k.getDimSize(2) != kvHeads * headDim ||
        k.getDimSize(0) != batch || k.getDimSize(1) != seq)
      return s.op->emitOpError()
             << "llm-insert-kv-cache: expected every " << what << "layer to "
             << "have " << kvHeads << " kv heads of " << headDim
             << " features over [" << batch << ", " << seq << "] tokens";
  }
  return std::array<int64_t, 4>{kvHeads, headDim, batch, seq};
}

/// The operations that compute the keys and values of the cross-attention
/// sites `cross` (the encoder and the projections of its output), in block
/// order.
SmallVector<Operation *> getEncoderOps(ArrayRef<AttentionSite> cross) {
  SetVector<Operation *> slice;
  BackwardSliceOptions options;
  options.omitBlockArguments = true;
  options.inclusive = true;
  for (const AttentionSite &s : cross)
    for (Value v : {s.key, s.value})
      if (Operation *def = v.getDefiningOp())
        (void)getBackwardSlice(def, &slice, options);
  SmallVector<Operation *> ops(slice.begin(), slice.end());
  llvm::sort(ops,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return ops;
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
    if (decodeBatch < 0) {
      getOperation().emitError()
          << "llm-insert-kv-cache: expected decode-batch >= 0 (0: no decode "
             "entry point), found "
          << static_cast<int64_t>(decodeBatch);
      return signalPassFailure();
    }
    SmallVector<func::FuncOp> funcs(getOperation().getOps<func::FuncOp>());
    for (func::FuncOp func : funcs)
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

  /// `llm.arg_kind = kind`, the attributes of an argument the pass adds.
  static DictionaryAttr kindAttrs(MLIRContext *ctx, ArgKind kind) {
    return DictionaryAttr::get(
        ctx, {NamedAttribute(LLMDialect::ArgKindAttrHelper::getNameStr(),
                             ArgKindAttr::get(ctx, kind))});
  }

  /// Appends an argument of `type` and `kind` to `func`'s signature.
  static Value addArgument(func::FuncOp func, Type type, ArgKind kind) {
    unsigned index = func.getNumArguments();
    // Fails only for an index past the end, which this is not.
    (void)func.insertArgument(index, type, kindAttrs(func.getContext(), kind),
                              func.getLoc());
    return func.getArgument(index);
  }

  /// Moves the computation of the cross-attention keys and values (the
  /// encoder and the projections of its output) into a new function
  /// `<func>_encode(<arguments they use>, cross_cache, cross_slots) ->
  /// cross_cache` that writes them into the cross cache, once per input.
  /// `ops` is that computation (getEncoderOps) and `used` the entry-block
  /// arguments it reads (an ArgumentDeps bit set).
  LogicalResult outlineEncoder(func::FuncOp func, ArrayRef<AttentionSite> cross,
                               ArrayRef<Operation *> ops, uint64_t used,
                               KVCacheType cacheType, int64_t batch,
                               int64_t seq) {
    Block &entry = func.getBody().front();

    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    b.setInsertionPointAfter(func);
    SmallVector<Type> argTypes;
    SmallVector<BlockArgument> usedArgs;
    for (BlockArgument arg : entry.getArguments())
      if (arg.getArgNumber() < 64 && (used >> arg.getArgNumber()) & 1) {
        usedArgs.push_back(arg);
        argTypes.push_back(arg.getType());
      }
    argTypes.push_back(cacheType);
    argTypes.push_back(RankedTensorType::get({batch, seq}, b.getI32Type()));
    // The encoder's inputs keep their kinds; the cache and its slots are
    // the cross-attention cache's.
    SmallVector<DictionaryAttr> argAttrs;
    for (BlockArgument arg : usedArgs)
      argAttrs.push_back(func.getArgAttrDict(arg.getArgNumber()));
    argAttrs.push_back(kindAttrs(ctx, ArgKind::CrossCache));
    argAttrs.push_back(kindAttrs(ctx, ArgKind::CrossSlots));
    std::string name = (func.getSymName() + "_encode").str();
    if (SymbolTable::lookupSymbolIn(getOperation(), name))
      return func.emitOpError() << "llm-insert-kv-cache: expected no function "
                                   "named '"
                                << name << "' (the encoder entry point)";
    auto encode = func::FuncOp::create(
        b, func.getLoc(), name, FunctionType::get(ctx, argTypes, {cacheType}),
        /*attrs=*/{}, argAttrs);
    Block *body = encode.addEntryBlock();
    IRMapping mapping;
    for (auto [i, arg] : llvm::enumerate(usedArgs))
      mapping.map(arg, body->getArgument(i));
    b.setInsertionPointToStart(body);
    for (Operation *op : ops)
      b.clone(*op, mapping);
    Value cache = body->getArgument(usedArgs.size());
    Value slots = body->getArgument(usedArgs.size() + 1);
    for (auto [layer, s] : llvm::enumerate(cross))
      cache = KVCacheAppendOp::create(
          b, s.op->getLoc(), cacheType, cache, slots, mapping.lookup(s.key),
          mapping.lookup(s.value), b.getI64IntegerAttr(layer));
    func::ReturnOp::create(b, func.getLoc(), cache);
    return success();
  }

  LogicalResult rewrite(func::FuncOp func, Type dtype) {
    if (func.isDeclaration())
      return success();
    Block &entry = func.getBody().front();
    ArgumentDeps deps(entry);
    SmallVector<Operation *> attention;
    func.walk([&](Operation *op) {
      if (isa<AttentionOp, FlashAttentionOp>(op))
        attention.push_back(op);
    });
    if (attention.empty())
      return success();

    // Cross sites first: attention inside the computation of their keys and
    // values (the encoder) moves out with it and is not rewritten.
    SmallVector<AttentionSite> cross, self;
    SmallVector<Operation *> deferred;
    for (Operation *op : attention) {
      if (!isCrossAttention(op, deps)) {
        deferred.push_back(op);
        continue;
      }
      FailureOr<AttentionSite> site = getSite(op, deps);
      if (failed(site))
        return failure();
      cross.push_back(*site);
    }
    SmallVector<Operation *> encoderSlice = getEncoderOps(cross);
    DenseSet<Operation *> encoderOps(encoderSlice.begin(), encoderSlice.end());
    uint64_t crossDeps = 0;
    for (const AttentionSite &s : cross)
      crossDeps |= deps.get(s.key) | deps.get(s.value);
    for (Operation *op : deferred) {
      if (encoderOps.contains(op))
        continue;
      FailureOr<AttentionSite> site = getSite(op, deps);
      if (failed(site))
        return failure();
      self.push_back(*site);
    }

    MLIRContext *ctx = &getContext();
    OpBuilder b(ctx);
    Type i32 = b.getI32Type();
    int64_t maxBlocks =
        llvm::divideCeil(int64_t(maxSeqLen), int64_t(blockSize));
    // The block-table and length arguments (their first dimension is the
    // batch, whatever the other).
    SmallVector<Value> perSequence;
    int64_t batch = 0, seq = 0;
    if (!self.empty()) {
      FailureOr<std::array<int64_t, 4>> geometry = getGeometry(self, "");
      if (failed(geometry))
        return failure();
      auto [kvHeads, headDim, selfBatch, selfSeq] = *geometry;
      batch = selfBatch;
      seq = selfSeq;
      auto cacheType = KVCacheType::get(ctx, self.size(), kvHeads, headDim,
                                        blockSize, dtype);
      Value cache = addArgument(func, cacheType, ArgKind::KVCache);
      Value slots = addArgument(func, RankedTensorType::get({batch, seq}, i32),
                                ArgKind::Slots);
      Value tables =
          addArgument(func, RankedTensorType::get({batch, maxBlocks}, i32),
                      ArgKind::BlockTables);
      Value lens = addArgument(func, RankedTensorType::get({batch}, i32),
                               ArgKind::ContextLens);
      perSequence = {tables, lens};
      for (auto [layer, s] : llvm::enumerate(self)) {
        b.setInsertionPoint(s.op);
        // Re-read the operands: an earlier layer's rewrite may have
        // replaced one of them.
        AttentionSite site = *getSite(s.op, deps);
        cache = KVCacheAppendOp::create(b, s.op->getLoc(), cacheType, cache,
                                        slots, site.key, site.value,
                                        b.getI64IntegerAttr(layer));
        replace(b, site, cache, tables, lens, layer);
      }
    }
    if (cross.empty())
      return deriveDecode(func, batch, seq, perSequence);

    FailureOr<std::array<int64_t, 4>> geometry =
        getGeometry(cross, "cross-attention ");
    if (failed(geometry))
      return failure();
    auto [kvHeads, headDim, crossBatch, crossSeq] = *geometry;
    auto crossType =
        KVCacheType::get(ctx, cross.size(), kvHeads, headDim, blockSize, dtype);
    if (failed(outlineEncoder(func, cross, encoderSlice, crossDeps, crossType,
                              crossBatch, crossSeq)))
      return failure();
    Value crossCache = addArgument(func, crossType, ArgKind::CrossCache);
    int64_t crossBlocks = llvm::divideCeil(crossSeq, int64_t(blockSize));
    Value crossTables =
        addArgument(func, RankedTensorType::get({crossBatch, crossBlocks}, i32),
                    ArgKind::CrossBlockTables);
    Value crossLens =
        addArgument(func, RankedTensorType::get({crossBatch}, i32),
                    ArgKind::CrossContextLens);
    perSequence.append({crossTables, crossLens});
    for (auto [layer, s] : llvm::enumerate(cross)) {
      b.setInsertionPoint(s.op);
      replace(b, s, crossCache, crossTables, crossLens, layer);
    }
    // The encoder now runs in <func>_encode: erase what only it used here,
    // then the arguments only it read.
    SmallVector<Operation *> ops;
    for (Operation &op : entry.without_terminator())
      ops.push_back(&op);
    for (Operation *op : llvm::reverse(ops))
      if (isOpTriviallyDead(op))
        op->erase();
    llvm::BitVector erase(entry.getNumArguments());
    for (BlockArgument arg : entry.getArguments())
      if (arg.getArgNumber() < 64 && (crossDeps >> arg.getArgNumber()) & 1 &&
          arg.use_empty())
        erase.set(arg.getArgNumber());
    if (failed(func.eraseArguments(erase)))
      return func.emitOpError()
             << "llm-insert-kv-cache: cannot remove the encoder's arguments";
    return deriveDecode(func, batch, seq, perSequence);
  }

  /// With decode-batch = B, adds `<func>_decode`: `func` (over `batch`
  /// sequences of `seq` tokens) re-specialized to B sequences of one token.
  /// Every activation (a value computed from the arguments) whose leading
  /// dimensions are [batch, seq] becomes [B, 1]; the per-sequence arguments
  /// (block tables, lengths) become [B, ...], as do splat constants shaped
  /// like activations; weights, other constants and caches keep their
  /// types.
  LogicalResult deriveDecode(func::FuncOp func, int64_t batch, int64_t seq,
                             ArrayRef<Value> perSequence) {
    if (decodeBatch == 0 || batch == 0)
      return success();
    std::string name = (func.getSymName() + "_decode").str();
    if (SymbolTable::lookupSymbolIn(getOperation(), name))
      return func.emitOpError() << "llm-insert-kv-cache: expected no function "
                                   "named '"
                                << name << "' (the decode entry point)";
    int64_t rows = decodeBatch;
    auto respecialize = [&](Type type) -> Type {
      auto tensor = dyn_cast<RankedTensorType>(type);
      if (!tensor || tensor.getRank() < 2 || tensor.getDimSize(0) != batch ||
          tensor.getDimSize(1) != seq)
        return type;
      SmallVector<int64_t> shape(tensor.getShape());
      shape[0] = rows;
      shape[1] = 1;
      return tensor.clone(shape);
    };
    DenseSet<unsigned> perSequenceArgs;
    for (Value v : perSequence)
      perSequenceArgs.insert(cast<BlockArgument>(v).getArgNumber());

    OpBuilder b(&getContext());
    b.setInsertionPointAfter(func);
    auto decode = cast<func::FuncOp>(b.clone(*func));
    decode.setSymName(name);
    Block &entry = decode.getBody().front();
    for (BlockArgument arg : entry.getArguments()) {
      if (!perSequenceArgs.contains(arg.getArgNumber())) {
        arg.setType(respecialize(arg.getType()));
        continue;
      }
      auto tensor = cast<RankedTensorType>(arg.getType());
      SmallVector<int64_t> shape(tensor.getShape());
      shape[0] = rows;
      arg.setType(tensor.clone(shape));
    }
    decode.walk([&](Operation *op) {
      if (isa<ParamOp>(op))
        return;
      // Splat constants shaped like activations (operands of elementwise
      // ops) take the new shape; other constants keep theirs.
      if (auto constant = dyn_cast<arith::ConstantOp>(op)) {
        auto splat = dyn_cast<SplatElementsAttr>(constant.getValue());
        Type type = respecialize(constant.getType());
        if (!splat || type == constant.getType())
          return;
        constant.setValueAttr(DenseElementsAttr::get(
            cast<ShapedType>(type), splat.getSplatValue<Attribute>()));
        constant.getResult().setType(type);
        return;
      }
      for (Value result : op->getResults())
        result.setType(respecialize(result.getType()));
    });
    auto ret = cast<func::ReturnOp>(entry.getTerminator());
    decode.setType(FunctionType::get(&getContext(), entry.getArgumentTypes(),
                                     ret.getOperandTypes()));
    if (failed(verify(decode))) {
      decode.erase();
      return func.emitOpError()
             << "llm-insert-kv-cache: cannot derive the decode entry point '"
             << name << "' for " << rows
             << " sequences of one token (see the diagnostics above)";
    }
    return success();
  }

  /// Replaces the attention of `s` by paged attention over layer `layer` of
  /// `cache`.
  void replace(OpBuilder &b, const AttentionSite &s, Value cache, Value tables,
               Value lens, int64_t layer) {
    MLIRContext *ctx = b.getContext();
    RelativePositionBiasOp bias = s.relativeBias;
    // The query as it is now: rewriting an earlier layer may have replaced
    // the value `s` recorded.
    Value query = s.op->getOperand(0);
    auto paged = PagedAttentionOp::create(
        b, s.op->getLoc(), s.op->getResult(0).getType(), query, cache, tables,
        lens, s.alibiSlopes, bias ? bias.getTable() : Value(),
        b.getI64IntegerAttr(layer), b.getI64IntegerAttr(s.numHeads),
        b.getF64FloatAttr(s.scale), MaskKindAttr::get(ctx, s.mask),
        s.window ? b.getI64IntegerAttr(*s.window) : IntegerAttr(),
        bias ? b.getI64IntegerAttr(bias.getNumBuckets()) : IntegerAttr(),
        bias ? b.getI64IntegerAttr(bias.getMaxDistance()) : IntegerAttr(),
        bias && bias.getBidirectional() ? b.getUnitAttr() : UnitAttr());
    s.op->getResult(0).replaceAllUsesWith(paged.getResult());
    s.op->erase();
  }
};

} // namespace
