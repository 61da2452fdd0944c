//===- Model.h - A compiled model: native code, weights, manifest -*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A model as the runtime runs it: the manifest the compiler wrote, the
// native code of its entry points (from a `CodeProvider`: the JIT in-process,
// or a compiled artifact's shared library), and its weights bound from a
// safetensors archive. Weights whose layout and dtype match what the kernels
// read are used in place from the memory mapping; the others (transposed,
// gathered from fused tensors, stacked, or converted to f32) are packed once.
// No MLIR or LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_MODEL_H
#define LLM_RUNTIME_MODEL_H

#include "Error.h"
#include "Manifest.h"
#include "Memory.h"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace llmrt {

namespace cuda {
class LaunchExecutor;
} // namespace cuda

class SafeTensorsArchive;

/// The tensor name of parameter `index` (called `name`) in a file of
/// packed parameters: "<index>/<name>" (a tied weight is two parameters of
/// one name in two layouts).
std::string packedParamName(size_t index, const std::string &name);

/// The native function of an entry point.
using EntryFunction = void (*)(void **params, void *arena, void **args,
                               void **results);

/// Where a model's native code lives. It must keep the code alive for as
/// long as it exists; the model owns it.
class CodeProvider {
public:
  virtual ~CodeProvider();
  /// The address of `symbol`, or null when there is none.
  virtual void *lookup(std::string_view symbol) = 0;
};

/// One entry point: its description and its function.
struct Entry {
  const EntryDesc *desc = nullptr;
  EntryFunction function = nullptr;
};

/// Values the compiler computed for one parameter from calibration data
/// (llm-quantize's gptq and awq methods), which replace the checkpoint's.
struct ParamValue {
  /// The parameter as f32, in its shape (after transpose and row_blocks),
  /// laid out as the manifest says (a quantized one rounded to nearest):
  /// AWQ's scaled weights and norms.
  std::vector<float> values;
  /// Or, for a quantized parameter, the values chosen (GPTQ): per element
  /// its code ([n, k], llmk::QuantGrid's codes), and per row and group the
  /// scale and offset it dequantizes with (f16 values).
  std::vector<int8_t> codes;
  std::vector<float> scales, offsets;
};

/// Computed values, by index into Manifest::params.
using ParamValues = std::map<size_t, ParamValue>;

/// Produces a model's native code (e.g. by JIT-compiling it).
using CodeFactory = std::function<Expected<std::unique_ptr<CodeProvider>>()>;

/// The buffers of a call's arguments, by kind: each argument of an entry
/// point gets the buffer of its kind (`ArgKind`), so callers never depend on
/// the order of the arguments.
struct EntryArgs {
  const int64_t *tokens = nullptr;
  const int64_t *positions = nullptr;
  const int64_t *tokenTypes = nullptr;
  const int64_t *encoderTokens = nullptr;
  /// `LLMKCache *` descriptors (Kernels.h).
  void *cache = nullptr;
  void *crossCache = nullptr;
  const int32_t *slots = nullptr;
  const int32_t *blockTables = nullptr;
  const int32_t *contextLens = nullptr;
  const int32_t *crossSlots = nullptr;
  const int32_t *crossBlockTables = nullptr;
  const int32_t *crossContextLens = nullptr;
};

class Model {
public:
  /// Binds every param of `manifest` from `weights` (kept alive by the
  /// model: weights are read in place), then gets the native code from
  /// `makeCode` (after the weights, so that a bad checkpoint fails before
  /// any compilation), looks up every entry point in it, and allocates the
  /// arena. Errors name the tensor, the expected and the found shape or
  /// dtype. With `checkMemory`, the weights (read in place and repacked) and
  /// the arena are first estimated against the memory available, and
  /// refused when they cannot fit (ErrorCode::OutOfMemory, with the
  /// numbers).
  /// `values` (when given) replace the checkpoint's values of some
  /// parameters; a parameter quantized with gptq or awq must have one.
  static Expected<std::unique_ptr<Model>>
  create(Manifest manifest, std::shared_ptr<const SafeTensorsArchive> weights,
         const CodeFactory &makeCode, bool checkMemory = true,
         const ParamValues *values = nullptr,
         const std::vector<uint64_t> *prepackedBytes = nullptr);

  /// Each parameter of `manifest` as the kernels read it (packed in panels,
  /// quantized, gathered, or the checkpoint's bytes when they already fit):
  /// what an artifact stores so that loading maps it in place
  /// (`prepackedBytes`: then `weights` holds each parameter as a U8 tensor
  /// of its name and exactly that many bytes, 64-byte aligned).
  struct PackedParam {
    const uint8_t *data = nullptr;
    uint64_t size = 0;
    /// Set when packing allocated the bytes.
    HeapArray<uint8_t> storage;
  };
  static Expected<std::vector<PackedParam>>
  packParams(const Manifest &manifest, const SafeTensorsArchive &weights);

  /// Parameter `param` of `weights` as f32 in its shape (stacked,
  /// transposed, rows gathered), ignoring its layout and quantization: the
  /// float weight that calibrated quantization starts from.
  static Expected<std::vector<float>>
  loadParamF32(const SafeTensorsArchive &weights, const ParamDesc &param);

  /// The bytes `create` allocates for `manifest`: the weights that must be
  /// repacked (transposed, gathered, stacked or converted), and the arena.
  /// `mapped` (when given) receives the bytes of the weights read in place
  /// from the checkpoint's mapping, which must stay resident as well.
  static uint64_t estimateBytes(const Manifest &manifest,
                                const SafeTensorsArchive *weights,
                                uint64_t *mapped = nullptr);
  ~Model();

  const Manifest &getManifest() const { return manifest; }
  /// The model's description; an error when the manifest has none (a
  /// module that no importer made).
  Expected<const ModelInfo *> getInfo() const;

  /// Every entry point, in manifest order.
  const std::vector<Entry> &getEntries() const { return entries; }
  /// The entry point called `name`, or null.
  const Entry *find(std::string_view name) const;

  /// Runs `entry` on buffers matching its arguments (a cache argument is an
  /// `LLMKCache *`) and results. Fails with ErrorCode::Kernel when a kernel
  /// recorded an error. Calls from several threads (sessions of one model)
  /// take turns: they share the arena.
  Status run(const Entry &entry, void *const *args, void *const *results);
  /// Runs `entry` with each argument taken from `args` by its kind; fails
  /// (ErrorCode::Unsupported) when the entry takes a kind `args` leaves null
  /// or one without a role (`input`).
  Status run(const Entry &entry, const EntryArgs &args, void *const *results);

  /// Why the model may compute NaN: the first weight it reads that holds a
  /// NaN or infinity ("tensor 'w' in 'model.safetensors' holds NaN at
  /// element 5", and how many other tensors do), or "" when every weight is
  /// finite. Scans the checkpoint: for error paths.
  std::string describeNonFiniteWeights() const;

  /// Bytes of weights used in place from the mapping, and packed at load.
  uint64_t getMappedBytes() const { return mappedBytes; }
  uint64_t getPackedBytes() const { return packedBytes; }

  /// Runs the model (code lowered by llm-lower-to-cuda) on `executor`: its
  /// weights are copied into the executor's memory (the host's repacked
  /// copies freed), its arena allocated there, and every call's arguments
  /// and results staged through buffers there. Once per model.
  Status useLaunchExecutor(std::shared_ptr<cuda::LaunchExecutor> executor);
  /// The executor the model runs on, or null (CPU code).
  const std::shared_ptr<cuda::LaunchExecutor> &getLaunchExecutor() const {
    return launchExecutor;
  }

  /// The address the native code reads parameter `index` at (packed or in
  /// place), in Manifest::params order.
  const void *getParamPointer(size_t index) const {
    return paramPointers[index];
  }

private:
  Model() = default;
  Status bindParams(const ParamValues *values,
                    const std::vector<uint64_t> *prepackedBytes);

  Manifest manifest;
  std::unique_ptr<CodeProvider> code;
  std::shared_ptr<const SafeTensorsArchive> weights;
  std::vector<Entry> entries;
  std::vector<void *> paramPointers;
  std::vector<HeapArray<uint8_t>> packed;
  HeapArray<uint8_t> arenaStorage;
  void *arena = nullptr;
  /// Held by run(): one call at a time uses the arena.
  std::mutex runMutex;
  uint64_t mappedBytes = 0, packedBytes = 0;
  /// Bytes of each parameter at paramPointers[i].
  std::vector<uint64_t> paramBytes;
  /// With a launch executor: the buffers an entry point's arguments and
  /// results are staged through, and every allocation of the executor's.
  struct Staging {
    std::vector<void *> args, results;
  };
  std::shared_ptr<cuda::LaunchExecutor> launchExecutor;
  std::map<const EntryDesc *, Staging> staged;
  std::vector<void *> executorMemory;
};

/// Sets the number of kernel worker threads (0: one per core), and reads it.
void setNumThreads(int32_t threads);
int32_t getNumThreads();

} // namespace llmrt

#endif // LLM_RUNTIME_MODEL_H
