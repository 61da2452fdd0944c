//===- JITKernelsTest.cpp - Every kernel the lowering emits, JIT-run ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// One function whose ops lower to every kernel of Kernels.def: the test
// checks that the lowering declares exactly the kernels Kernels.def lists
// (a kernel added there without an op here fails), that the JIT's symbol
// map holds every one, and that the compiled function runs through
// libllmrt without a kernel error.
//
//===----------------------------------------------------------------------===//

#include "llm/InitAll.h"
#include "llm/JIT/JIT.h"
#include "llm/codegen/CPU/Passes.h"

#include "KVCache.h"
#include "Model.h"
#include "SafeTensors.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <set>

using namespace mlir;

namespace {

// Inputs are constants (non-splat where a splat would fold into the call),
// and the cache's arguments carry their kinds, as llm-insert-kv-cache
// writes them.
constexpr const char *kModule = R"mlir(
!cache = !llm.kv_cache<layers = 1, kv_heads = 2, head_dim = 4, block_size = 4, dtype = f32>
func.func @kernels(%cache: !cache {llm.arg_kind = #llm.arg_kind<kv_cache>},
                   %slots: tensor<1x2xi32> {llm.arg_kind = #llm.arg_kind<slots>},
                   %tables: tensor<1x2xi32> {llm.arg_kind = #llm.arg_kind<block_tables>},
                   %lens: tensor<1xi32> {llm.arg_kind = #llm.arg_kind<context_lens>},
                   %ids: tensor<1x2xi64> {llm.arg_kind = #llm.arg_kind<tokens>},
                   %pos: tensor<1x2xi64> {llm.arg_kind = #llm.arg_kind<positions>})
    -> (tensor<1x2x8xf32>, tensor<2xi64>, tensor<1x2xi64>) {
  %table = arith.constant dense<0.25> : tensor<16x8xf32>
  %x = llm.embedding %table[%ids] : tensor<16x8xf32>, tensor<1x2xi64> -> tensor<1x2x8xf32>
  %g = arith.constant dense<1.0> : tensor<8xf32>
  %n = llm.rms_norm %x, %g {epsilon = 1.0e-05} : tensor<1x2x8xf32>, tensor<8xf32>
  %ln = llm.layer_norm %n, %g, %g {epsilon = 1.0e-05} : tensor<1x2x8xf32>, tensor<8xf32>, tensor<8xf32>
  %w = arith.constant dense<0.125> : tensor<8x8xf32>
  %q = llm.linear %ln, %w : tensor<1x2x8xf32>, tensor<8x8xf32> -> tensor<1x2x8xf32>
  %inv = llm.rope_inv_freq %pos {rotary_dim = 4, scaling = #llm.rope_scaling<kind = dynamic, factor = 2.0, original_max_position = 16>}
      : tensor<1x2xi64> -> tensor<2xf32>
  %k = llm.linear_rope %ln, %w, %pos, %inv {num_heads = 2, rotary_dim = 4}
      : tensor<1x2x8xf32>, tensor<8x8xf32>, tensor<1x2xi64>, tensor<2xf32> -> tensor<1x2x8xf32>
  %qw = llm.param "qw" {int8_activations} : !llm.qweight<8x8, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>
  %qy = llm.linear %ln, %qw : tensor<1x2x8xf32>, !llm.qweight<8x8, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte> -> tensor<1x2x8xf32>
  %qw4 = llm.param "qw4" : !llm.qweight<8x8, bits = 4, group = per_channel, scale = f32, asymmetric, packing = nibble>
  %qk = llm.linear_rope %qy, %qw4, %pos, %inv {num_heads = 2, rotary_dim = 4}
      : tensor<1x2x8xf32>, !llm.qweight<8x8, bits = 4, group = per_channel, scale = f32, asymmetric, packing = nibble>, tensor<1x2xi64>, tensor<2xf32> -> tensor<1x2x8xf32>
  %qr = llm.rope %q, %pos {num_heads = 2} : tensor<1x2x8xf32>, tensor<1x2xi64>
  %c1 = llm.kv_cache_append %cache[%slots], %k, %k {layer = 0}
      : !cache, tensor<1x2xi32>, tensor<1x2x8xf32>, tensor<1x2x8xf32>
  %pa = llm.paged_attention %qr, %c1, %tables, %lens {layer = 0, num_heads = 2, scale = 0.5, mask = #llm.mask<causal>}
      : tensor<1x2x8xf32>, !cache, tensor<1x2xi32>, tensor<1xi32> -> tensor<1x2x8xf32>
  %alibi = llm.alibi : tensor<2x2x2xf32>
  %att = llm.attention %pa, %k, %qk bias(%alibi : tensor<2x2x2xf32>) {num_heads = 2, num_kv_heads = 2, mask = #llm.mask<causal>}
      : tensor<1x2x8xf32>, tensor<1x2x8xf32>, tensor<1x2x8xf32> -> tensor<1x2x8xf32>
  %rtab = arith.constant dense<0.1> : tensor<4x2xf32>
  %rb = llm.relative_position_bias %rtab {num_buckets = 4, max_distance = 8} : tensor<4x2xf32> -> tensor<2x2x2xf32>
  %a = arith.constant dense<[[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]]> : tensor<2x8xf32>
  %mm = llm.matmul %a, %w : tensor<2x8xf32>, tensor<8x8xf32> -> tensor<2x8xf32>
  %sm = llm.softmax %mm {axis = 1} : tensor<2x8xf32>
  %ge = llm.gelu %sm : tensor<2x8xf32>
  %si = llm.silu %ge : tensor<2x8xf32>
  %gl0 = llm.glu %si, %ge : tensor<2x8xf32>
  %sgate = arith.constant dense<[[0.5], [-0.5]]> : tensor<2x1xf32>
  %gl = llm.sigmoid_gate %gl0, %sgate : tensor<2x8xf32>, tensor<2x1xf32>
  %zero = arith.constant dense<0.0> : tensor<2x8xf32>
  %re = arith.maximumf %gl, %zero : tensor<2x8xf32>
  %half = arith.constant dense<0.5> : tensor<2x8xf32>
  %sc = arith.mulf %re, %half : tensor<2x8xf32>
  %ad = arith.addf %sc, %a : tensor<2x8xf32>
  %mu = arith.mulf %ad, %a : tensor<2x8xf32>
  %su = arith.subf %mu, %a : tensor<2x8xf32>
  %router = arith.constant dense<0.1> : tensor<4x8xf32>
  %gate = arith.constant dense<0.05> : tensor<4x6x8xf32>
  %down = arith.constant dense<0.05> : tensor<4x8x6xf32>
  %rl = llm.linear %att, %router : tensor<1x2x8xf32>, tensor<4x8xf32> -> tensor<1x2x4xf32>
  %rw, %ri = llm.moe_route %rl {top_k = 2, normalize} : tensor<1x2x4xf32> -> tensor<1x2x2xf32>, tensor<1x2x2xi32>
  %rp, %roff, %rsrc = llm.moe_permute %att, %ri {num_experts = 4}
      : tensor<1x2x8xf32>, tensor<1x2x2xi32> -> tensor<4x8xf32>, tensor<5xi32>, tensor<4xi32>
  %rg = llm.grouped_matmul %rp, %gate, %roff : tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<5xi32> -> tensor<4x6xf32>
  %rgd = llm.grouped_matmul %rp, %gate, %roff {decode} : tensor<4x8xf32>, tensor<4x6x8xf32>, tensor<5xi32> -> tensor<4x6xf32>
  %rg2 = arith.addf %rg, %rgd : tensor<4x6xf32>
  %rd = llm.grouped_matmul %rg2, %down, %roff : tensor<4x6xf32>, tensor<4x8x6xf32>, tensor<5xi32> -> tensor<4x8xf32>
  %moe = llm.moe_combine %rd, %rw, %rsrc : tensor<4x8xf32>, tensor<1x2x2xf32>, tensor<4xi32> -> tensor<1x2x8xf32>
  %qgate = llm.param "qgate" {stacked = ["qw", "qw4"]} : !llm.qweight<2x8x8, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>
  %qoff = arith.constant dense<[0, 1, 2]> : tensor<3xi32>
  %gq = llm.grouped_matmul %su, %qgate, %qoff : tensor<2x8xf32>, !llm.qweight<2x8x8, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>, tensor<3xi32> -> tensor<2x8xf32>
  %gqd = llm.grouped_matmul %su, %qgate, %qoff {decode} : tensor<2x8xf32>, !llm.qweight<2x8x8, bits = 8, group = per_channel, scale = f32, symmetric, packing = byte>, tensor<3xi32> -> tensor<2x8xf32>
  %gq2 = arith.addf %gq, %gqd : tensor<2x8xf32>
  %next = llm.sample %gq2 {temperature = 1.0, seed = 3} : tensor<2x8xf32> -> tensor<2xi64>
  return %moe, %next, %ids : tensor<1x2x8xf32>, tensor<2xi64>, tensor<1x2xi64>
}
)mlir";

/// A folder whose model.safetensors holds the quantized weights' float
/// values (the runtime quantizes them when it binds them).
class QuantizedWeights {
public:
  QuantizedWeights() {
    EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("llmc-kernels", dir));
    llvm::SmallString<128> file(dir);
    llvm::sys::path::append(file, "model.safetensors");
    std::error_code ec;
    llvm::raw_fd_ostream os(file, ec);
    EXPECT_FALSE(ec);
    std::string header = R"({"qw":{"dtype":"F32","shape":[8,8],)"
                         R"("data_offsets":[0,256]},)"
                         R"("qw4":{"dtype":"F32","shape":[8,8],)"
                         R"("data_offsets":[256,512]}})";
    uint64_t size = header.size();
    os.write(reinterpret_cast<const char *>(&size), 8);
    os << header;
    for (int i = 0; i < 128; ++i) {
      float value = 0.01f * static_cast<float>(i % 17) - 0.08f;
      os.write(reinterpret_cast<const char *>(&value), sizeof(value));
    }
  }
  ~QuantizedWeights() { llvm::sys::fs::remove_directories(dir); }
  llvm::StringRef path() const { return dir; }

private:
  llvm::SmallString<128> dir;
};

TEST(JITKernelsTest, EveryKernelIsEmittedResolvedAndRun) {
  DialectRegistry registry;
  llm::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kModule, &context);
  ASSERT_TRUE(module);
  PassManager pm(&context);
  pm.addPass(llm::createLowerToCPUPass());
  ASSERT_TRUE(succeeded(pm.run(*module)));

  // The lowering declares exactly the kernels of Kernels.def, and the JIT
  // resolves each of them itself.
  std::set<std::string> declared, listed;
  for (auto func : module->getOps<LLVM::LLVMFuncOp>())
    if (func.isExternal())
      declared.insert(func.getSymName().str());
  for (const std::string &name : llm::getJITKernelSymbols())
    listed.insert(name);
  EXPECT_EQ(declared, listed);

  QuantizedWeights folder;
  llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> archive =
      llmrt::SafeTensorsArchive::openDirectory(folder.path().str());
  ASSERT_TRUE(bool(archive)) << archive.error();
  llvm::Expected<std::unique_ptr<llmrt::Model>> model =
      llm::jitCompile(*module, std::move(*archive));
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  const llmrt::Entry *entry = (*model)->find("kernels");
  ASSERT_TRUE(entry);

  llmrt::KVCacheConfig config;
  config.numLayers = 1;
  config.kvHeads = 2;
  config.headDim = 4;
  config.blockSize = 4;
  config.dtype = LLMK_F32;
  std::string error;
  std::unique_ptr<llmrt::KVCachePool> pool =
      llmrt::KVCachePool::create(config, 2, error);
  ASSERT_TRUE(pool) << error;
  std::vector<int32_t> slots = {0, 1}, tables = {0, -1}, lens = {2};
  std::vector<int64_t> ids = {3, 7}, positions = {0, 1};
  llmrt::EntryArgs args;
  args.cache = pool->descriptor();
  args.slots = slots.data();
  args.blockTables = tables.data();
  args.contextLens = lens.data();
  args.tokens = ids.data();
  args.positions = positions.data();
  std::vector<float> hidden(16, NAN);
  std::vector<int64_t> sampled(2, -1), copied(2, -1);
  void *results[] = {hidden.data(), sampled.data(), copied.data()};
  llmrt::Status status = (*model)->run(*entry, args, results);
  ASSERT_TRUE(status.isOk()) << status.message();
  for (float value : hidden)
    EXPECT_TRUE(std::isfinite(value));
  for (int64_t id : sampled)
    EXPECT_TRUE(id >= 0 && id < 8) << id;
  EXPECT_EQ(copied, ids);
}

} // namespace
