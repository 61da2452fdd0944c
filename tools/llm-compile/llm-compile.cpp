//===- llm-compile.cpp - Compiles a model ahead of time -------------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// `llm-compile MODEL -o NAME.llmc` compiles a Hugging Face folder or a GGUF
// file, as llm-run's JIT would, into an artifact folder that libllmrt loads
// without MLIR or LLVM (runtime/Artifact.h): manifest.json, model.so (the
// host CPU's code), params.safetensors (the weights the code reads) and the
// tokenizer's files. `llm-run NAME.llmc` runs it. `--emit=mlir|llvm|obj`
// writes an intermediate form to -o instead.
//
// A decoder's entry points are prefill functions of the lengths in
// --prompt-lens (a prompt of another length is prefilled in chunks of these
// lengths and of the decode function's single token, through the cache)
// and a decode function for --decode-batch sequences, over a paged KV cache
// of --kv-block-size tokens per block holding up to --max-seq-len tokens.
// An encoder's is one forward function of the one length in --prompt-lens;
// an encoder-decoder's, an encoder function per length in --prompt-lens,
// the decoder's prefill of its start token and its decode function.
//
//===----------------------------------------------------------------------===//

#include "llm/Import/GGUFImporter.h"
#include "llm/Import/HFImporter.h"
#include "llm/Import/ONNXImporter.h"
#include "llm/JIT/JIT.h"
#include "llm/JIT/NativeCode.h"
#include "llm/Support/ToolSupport.h"
#include "llm/codegen/CPU/Manifest.h"

#include "Artifact.h"
#include "Manifest.h"
#include "SafeTensors.h"
#include "cuda/KernelSources.h"
#include "cuda/Nvrtc.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Host.h"

#include <chrono>
#include <dlfcn.h>
#include <set>
#include <unistd.h>

using namespace mlir;
using namespace mlir::llm;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("llm-compile options");
cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                               cl::desc("<model folder, .gguf or .onnx file>"),
                               cl::cat(category));
cl::opt<std::string> outputPath("o", cl::Required,
                                cl::desc("Output: the artifact folder "
                                         "(NAME.llmc), or the --emit file"),
                                cl::value_desc("path"), cl::cat(category));
cl::opt<std::string>
    emit("emit",
         cl::desc("What to write: artifact (default: a folder llm-run and "
                  "libllmrt load), exe (a standalone executable, with the "
                  "artifact's parameters beside it in NAME.llmc/), mlir (the "
                  "module after the CPU pipeline), llvm (optimized LLVM IR), "
                  "obj (an object file)"),
         cl::init("artifact"), cl::cat(category));
cl::opt<std::string>
    target("target",
           cl::desc("cpu (default), or cuda: an artifact of the CUDA "
                    "backend's code (llm-lower-to-cuda) with its kernels' "
                    "cubins for --cuda-archs, run on a device by llm-run; "
                    "with --emit=cuda, the kernels alone, as sources and "
                    "cubins (docs/CUDA.md)"),
           cl::init("cpu"), cl::cat(category));
cl::list<int> cudaArchs("cuda-archs", cl::CommaSeparated,
                        cl::desc("With --target=cuda: the architectures of the "
                                 "cubins (default 80,90: sm_80, sm_90)"),
                        cl::cat(category));
cl::list<int64_t>
    promptLens("prompt-lens", cl::CommaSeparated,
               cl::desc("Prefill entry points, one per length (default "
                        "16,64,256, those no longer than --max-seq-len)"),
               cl::cat(category));
cl::opt<int64_t> decodeBatch("decode-batch",
                             cl::desc("Sequences per decode call (default 1)"),
                             cl::init(1), cl::cat(category));
cl::opt<int64_t> maxSeqLen(
    "max-seq-len",
    cl::desc("Longest sequence (prompt plus generated tokens) the block "
             "tables describe (default: the model's context length, at most "
             "4096)"),
    cl::init(0), cl::cat(category));
cl::opt<int64_t> kvBlockSize("kv-block-size",
                             cl::desc("Tokens per KV-cache block"),
                             cl::init(kDefaultKVBlockSize), cl::cat(category));
cl::opt<std::string> kvDtype("kv-dtype",
                             cl::desc("KV-cache dtype: f32, f16, bf16 or i8"),
                             cl::init("f32"), cl::cat(category));
cl::opt<bool> allLogits(
    "all-logits",
    cl::desc("Prefill returns every position's logits (for --dump-logits "
             "and perplexity), not only the last one's"),
    cl::init(false), cl::cat(category));
cl::opt<std::string> quantize("quantize",
                              cl::desc("Quantize the projections: int8, "
                                       "int4 or w8a8 (rounded to nearest)"),
                              cl::init(""), cl::cat(category));
cl::opt<int64_t> groupSize("group-size",
                           cl::desc("With --quantize: input features per "
                                    "scale (0: per output row)"),
                           cl::init(32), cl::cat(category));
cl::opt<bool> asymmetric("asymmetric", cl::desc("With --quantize: zero points"),
                         cl::init(false), cl::cat(category));
cl::opt<std::string>
    quantizeSkip("quantize-skip",
                 cl::desc("With --quantize: comma-separated name patterns "
                          "kept in float"),
                 cl::init("lm_head"), cl::cat(category));
cl::opt<int64_t> moeDecodeMaxTokens(
    "moe-decode-max-tokens",
    cl::desc("MoE layers of at most this many tokens take the decode form"),
    cl::init(8), cl::cat(category));
cl::opt<bool> allowUnusedWeights(
    "allow-unused-weights",
    cl::desc("Compile a checkpoint holding tensors config.json has no place "
             "for"),
    cl::init(false), cl::cat(category));

int fail(const llvm::Twine &message) {
  llvm::errs() << "llm-compile: error: " << message << "\n";
  return 1;
}

/// Stages on stderr, as a line and a bar, when stderr is a terminal.
class Progress {
public:
  explicit Progress(int stages)
      : stages(stages), shown(::isatty(STDERR_FILENO) != 0),
        start(std::chrono::steady_clock::now()) {}
  void stage(llvm::StringRef name) {
    ++done;
    draw(name);
  }
  /// What the current stage is doing (a pass's name), on the same line.
  void detail(llvm::StringRef what) {
    draw(("passes: " + what.take_front(31)).str());
  }
  ~Progress() {
    if (shown && done)
      llvm::errs() << "\r" << std::string(72, ' ') << "\r";
  }

private:
  void draw(llvm::StringRef label) {
    if (!shown)
      return;
    const int width = 20, filled = width * (done - 1) / stages;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    llvm::errs() << llvm::formatv(
        "\r[{0}{1}] {2,5:f1} s  {3,-40}", std::string(filled, '#'),
        std::string(width - filled, '.'), seconds, label);
  }

  int stages, done = 0;
  bool shown;
  std::chrono::steady_clock::time_point start;
};

/// The artifact's "artifact" object.
llvm::json::Object describeArtifact(bool tokenizer, llvm::StringRef flags,
                                    llvm::StringRef code,
                                    llvm::json::Array paramBytes,
                                    std::optional<llvm::json::Object> device) {
  HostCPU cpu = getHostCPU();
  llvm::json::Array features;
  for (const std::string &name : llmrt::getCheckableCPUFeatures())
    if (llvm::is_contained(llvm::split(cpu.features, ','), "+" + name))
      features.push_back(name);
  llvm::json::Object description{
      {"format", "llmc-artifact"},
      {"version", llmrt::kArtifactVersion},
      {"compiler", "LLMC llm-compile (LLVM " LLVM_VERSION_STRING ")"},
      {"target", llvm::json::Object{{"triple", llvm::sys::getProcessTriple()},
                                    {"cpu", cpu.name},
                                    {"features", std::move(features)}}},
      {"options", flags},
      {"code", code},
      {"params", "params.safetensors"},
      {"params_layout", "packed"},
      {"param_bytes", std::move(paramBytes)},
      {"tokenizer", tokenizer}};
  if (device)
    description["device"] = std::move(*device);
  return description;
}

llvm::Error writeText(llvm::StringRef path, llvm::StringRef text) {
  return writeOutputFile(path, [&](llvm::raw_ostream &os) { os << text; });
}

/// Compiles the CUDA kernels for `headDim` and each of `archs` with NVRTC
/// and writes `prefix`kernels.sm_<arch>.cubin (through `pathOf`); appends
/// each kernel's ptxas resources to `kernels` and each cubin's {arch, file}
/// to `files`.
llvm::Error
writeCubins(llvm::function_ref<std::string(const std::string &)> pathOf,
            llvm::StringRef prefix, int64_t headDim, llvm::ArrayRef<int> archs,
            llvm::json::Array &kernels, llvm::json::Array &files) {
  const llmrt::cuda::CudaSource source = llmrt::cuda::getKernelSource();
  for (int arch : archs) {
    llmrt::Expected<llmrt::cuda::CompiledKernel> compiled =
        llmrt::cuda::compileCuda(
            source, arch, {"-DLLMC_HEAD_DIM=" + std::to_string(headDim)});
    if (!compiled)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     compiled.error());
    const std::string cubin =
        prefix.str() + "kernels.sm_" + std::to_string(arch) + ".cubin";
    if (llvm::Error err =
            writeText(pathOf(cubin), llvm::StringRef(compiled->cubin.data(),
                                                     compiled->cubin.size())))
      return err;
    files.push_back(llvm::json::Object{{"arch", arch}, {"file", cubin}});
    for (const llmrt::cuda::KernelResources &k :
         llmrt::cuda::parsePtxasResources(compiled->log))
      kernels.push_back(llvm::json::Object{{"name", k.name},
                                           {"arch", arch},
                                           {"registers", k.registers},
                                           {"shared_bytes", k.sharedBytes},
                                           {"spill_stores", k.spillStores},
                                           {"spill_loads", k.spillLoads}});
  }
  return llvm::Error::success();
}

} // namespace

/// --emit=cuda: the folder -o with the CUDA kernels' sources (Kernels.cu,
/// Common.cuh), a cubin per --cuda-archs for the model's head dimension
/// (its KV cache's, from the manifest) and cuda.json (the head dimension,
/// NVRTC's version, each kernel's registers, shared memory and spills).
int emitCuda(ModuleOp module) {
  llvm::Expected<std::string> text = buildManifest(module);
  if (!text)
    return fail(llvm::toString(text.takeError()));
  llmrt::Expected<llmrt::Manifest> manifest =
      llmrt::Manifest::parse(*text, "the compiled manifest");
  if (!manifest)
    return fail(manifest.error());
  int64_t headDim = 0;
  for (const llmrt::EntryDesc &entry : manifest->entries)
    if (entry.hasArg(llmrt::ArgKind::KVCache))
      headDim = entry.getArg(llmrt::ArgKind::KVCache).cache->headDim;
  if (headDim <= 0 || headDim % 16 != 0 || headDim > 256)
    return fail(llvm::formatv(
        "--emit=cuda: the CUDA attention kernels take head dimensions that "
        "are multiples of 16 up to 256; the model's is {0}",
        headDim));
  llmrt::Expected<std::pair<int, int>> nvrtc = llmrt::cuda::getNvrtcVersion();
  if (!nvrtc)
    return fail("--emit=cuda: " + nvrtc.error());
  if (std::error_code ec = llvm::sys::fs::create_directories(outputPath))
    return fail(llvm::formatv("-o {0}: cannot create the folder: {1}",
                              outputPath, ec.message()));
  auto inDir = [&](const std::string &name) {
    llvm::SmallString<256> path(outputPath);
    llvm::sys::path::append(path, name);
    return path.str().str();
  };
  const llmrt::cuda::CudaSource source = llmrt::cuda::getKernelSource();
  if (llvm::Error err = writeText(inDir(source.name), source.text))
    return fail(llvm::toString(std::move(err)));
  for (const auto &[name, header] : source.headers)
    if (llvm::Error err = writeText(inDir(name), header))
      return fail(llvm::toString(std::move(err)));
  std::vector<int> archs(cudaArchs.begin(), cudaArchs.end());
  if (archs.empty())
    archs = {80, 90};
  llvm::json::Array kernels, files;
  if (llvm::Error err = writeCubins(inDir, "", headDim, archs, kernels, files))
    return fail(llvm::toString(std::move(err)));
  llvm::json::Array archList;
  for (int arch : archs)
    archList.push_back(arch);
  llvm::json::Object description{{"head_dim", headDim},
                                 {"nvrtc", std::to_string(nvrtc->first) + "." +
                                               std::to_string(nvrtc->second)},
                                 {"archs", std::move(archList)},
                                 {"kernels", std::move(kernels)}};
  std::string json;
  llvm::raw_string_ostream os(json);
  os << llvm::formatv("{0:2}", llvm::json::Value(std::move(description)))
     << "\n";
  if (llvm::Error err = writeText(inDir("cuda.json"), json))
    return fail(llvm::toString(std::move(err)));
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "llm-compile: compiles a model (a Hugging Face folder or a .gguf "
      "file) ahead of time into an artifact folder for llm-run and "
      "libllmrt\n");

  if (!llvm::is_contained({"artifact", "exe", "mlir", "llvm", "obj", "cuda"},
                          emit.getValue()))
    return fail(llvm::formatv("--emit: expected artifact, exe, mlir, llvm, "
                              "obj or cuda, found '{0}'",
                              emit));
  if (target != "cpu" && target != "cuda")
    return fail(
        llvm::formatv("--target: expected cpu or cuda, found '{0}'", target));
  if (emit == "cuda" && target != "cuda")
    return fail("--emit=cuda needs --target=cuda");
  if (target == "cuda" && emit == "exe")
    return fail("--target=cuda: --emit=exe is not available (the "
                "executable's runner does not place a model on a device); "
                "write an artifact and run it with llm-run");
  for (int arch : cudaArchs)
    if (arch < 70 || arch > 120)
      return fail(llvm::formatv("--cuda-archs: expected compute capabilities "
                                "such as 80 or 90, found {0}",
                                arch));
  if (!quantize.empty() && quantize != "int8" && quantize != "int4" &&
      quantize != "w8a8")
    return fail(llvm::formatv(
        "--quantize: expected int8, int4 or w8a8, found '{0}'", quantize));
  if (decodeBatch < 1 || decodeBatch > 1024)
    return fail(llvm::formatv(
        "--decode-batch: expected a value in [1, 1024], found {0}",
        decodeBatch.getValue()));
  if (maxSeqLen < 0 || maxSeqLen > kMaxSequenceLength)
    return fail(llvm::formatv("--max-seq-len: expected a value in [1, {0}] "
                              "(0: the model's context), found {1}",
                              kMaxSequenceLength, maxSeqLen.getValue()));
  if (moeDecodeMaxTokens < 0)
    return fail(llvm::formatv("--moe-decode-max-tokens: expected a value >= "
                              "0, found {0}",
                              moeDecodeMaxTokens.getValue()));

  const bool exe = emit == "exe";
  Progress progress(emit == "artifact" || exe ? 5 : 3);
  progress.stage("import");
  // The model and its weights, as llm-run opens them.
  std::unique_ptr<HFModel> model;
  std::shared_ptr<const llmrt::SafeTensorsArchive> weights;
  bool gguf = isGGUFPath(modelPath);
  const bool onnx = isONNXPath(modelPath);
  // An ONNX file: imported once here for what it is (its kind, vocabulary
  // and limits, with the config.json beside it), then at each length.
  MLIRContext onnxContext;
  llmrt::ModelInfo onnxInfo;
  if (onnx) {
    ONNXImportOptions probe;
    probe.seqLen = 1;
    llvm::Expected<ONNXModel> imported =
        importONNX(onnxContext, modelPath, probe);
    if (!imported)
      return fail(llvm::toString(imported.takeError()));
    onnxInfo = imported->info;
  } else if (gguf) {
    llvm::Expected<GGUFModel> opened = openGGUF(modelPath);
    if (!opened)
      return fail(llvm::toString(opened.takeError()));
    for (const std::string &note : opened->notes)
      llvm::errs() << "llm-compile: note: " << note << "\n";
    model = std::move(opened->model);
    weights = std::move(opened->weights);
  } else {
    llvm::Expected<std::unique_ptr<HFModel>> opened = HFModel::open(modelPath);
    if (!opened)
      return fail(llvm::toString(opened.takeError()));
    model = std::move(*opened);
    llmrt::Expected<std::unique_ptr<llmrt::SafeTensorsArchive>> archive =
        llmrt::SafeTensorsArchive::openDirectory(modelPath.getValue());
    if (!archive)
      return fail(archive.error());
    weights = std::move(*archive);
  }
  const llmrt::ModelInfo &info = onnx ? onnxInfo : model->getInfo();
  const bool encoder = info.kind == llmrt::ModelKind::Encoder;
  const bool seq2seq = info.kind == llmrt::ModelKind::EncoderDecoder;
  if (encoder && promptLens.size() != 1)
    return fail(llvm::formatv(
        "--prompt-lens: '{0}' is an encoder: expected the one input length "
        "its forward entry point takes (bidirectional attention has no "
        "chunks), found {1}",
        info.type, promptLens.size()));

  // The entry points: a decoder's prefills and decode over the cache; an
  // encoder's forward over one input length; an encoder-decoder's encoder
  // per input length, its decoder prefill of the start token and decode.
  JITOptions options;
  options.kvCache = !encoder;
  int64_t limit = info.maxPositions ? info.maxPositions : kMaxSequenceLength;
  int64_t longest = maxSeqLen;
  if (longest == 0)
    longest = std::min<int64_t>(
        std::min<int64_t>(info.contextLength ? info.contextLength : 4096, 4096),
        limit);
  if (longest > limit)
    return fail(llvm::formatv("--max-seq-len: the model supports {0} "
                              "positions, found {1}",
                              limit, longest));
  options.maxSeqLen = longest;
  if (promptLens.empty()) {
    for (int64_t len : {16, 64, 256})
      if (len <= longest)
        options.promptLens.push_back(len);
  } else {
    for (int64_t len : promptLens) {
      if (len < 1 || len > longest)
        return fail(llvm::formatv("--prompt-lens: expected lengths in [1, "
                                  "{0}] (--max-seq-len), found {1}",
                                  longest, len));
      if (!llvm::is_contained(options.promptLens, len))
        options.promptLens.push_back(len);
    }
  }
  llvm::sort(options.promptLens);
  if (options.promptLens.empty())
    options.promptLens.push_back(1);
  // A sliding window shows in an ONNX graph's folded mask only past its
  // width (llm-run refuses the same prompts).
  if (onnx && !encoder && !seq2seq && info.slidingWindow > 0 &&
      options.promptLens.front() <= info.slidingWindow)
    return fail(llvm::formatv(
        "--prompt-lens: {0}: expected lengths above config.json's "
        "sliding_window ({1}), whose mask a graph imported at no more tokens "
        "does not show; found {2}",
        modelPath, info.slidingWindow, options.promptLens.front()));
  if (encoder) {
    options.seqLen = options.promptLens.front();
    options.promptLens.clear();
  } else if (seq2seq) {
    options.encoderLens = std::move(options.promptLens);
    options.promptLens.clear();
    options.decoderPromptLen = 1;
  }
  options.decodeBatch = decodeBatch;
  options.blockSize = kvBlockSize;
  options.cacheDtype = kvDtype;
  options.lastLogitsOnly = !allLogits;
  setQuantizeFlag(options, quantize);
  options.quantizeGroupSize = groupSize;
  options.quantizeSymmetric = !asymmetric;
  options.quantizeSkip = quantizeSkip;
  options.moeDecodeMaxTokens = moeDecodeMaxTokens;
  options.allowUnusedWeights = allowUnusedWeights;
  // The CUDA backend's host program (llm-lower-to-cuda), for a launch
  // executor; --emit=cuda writes the kernels alone.
  if (target == "cuda" && emit != "cuda")
    options.target = "cuda";
  options.warn = [](const std::string &message) {
    llvm::errs() << "llm-compile: warning: " << message << "\n";
  };
  std::string lens;
  for (int64_t len : encoder   ? std::vector<int64_t>{options.seqLen}
                     : seq2seq ? options.encoderLens
                               : options.promptLens)
    lens += (lens.empty() ? "" : ",") + std::to_string(len);
  std::string flags = llvm::formatv(
      "--prompt-lens {0} --decode-batch {1} --max-seq-len {2} "
      "--kv-block-size {3} --kv-dtype {4}{5}{6}",
      lens, options.decodeBatch, options.maxSeqLen, options.blockSize,
      options.cacheDtype, allLogits ? " --all-logits" : "",
      quantize.empty()
          ? std::string()
          : llvm::formatv(" --quantize {0} --group-size {1}{2}", quantize,
                          groupSize, asymmetric ? " --asymmetric" : "")
                .str());

  options.onPass = [&](llvm::StringRef pass) { progress.detail(pass); };
  MLIRContext context;
  progress.stage("passes");
  llvm::Expected<OwningOpRef<ModuleOp>> lowered =
      onnx ? lowerONNX(context, modelPath, options, weights)
           : lowerModel(context, *model, *weights, options);
  if (!lowered)
    return fail(llvm::toString(lowered.takeError()));
  ModuleOp module = **lowered;

  if (emit == "cuda")
    return emitCuda(module);
  if (emit == "mlir") {
    if (llvm::Error err = writeOutputFile(
            outputPath, [&](llvm::raw_ostream &os) { module->print(os); }))
      return fail(llvm::toString(std::move(err)));
    return 0;
  }
  progress.stage("code generation");
  if (emit == "llvm" || emit == "obj") {
    llvm::LLVMContext llvmContext;
    llvm::Expected<std::unique_ptr<llvm::Module>> ir =
        translateToHostLLVMIR(module, llvmContext, 3);
    if (!ir)
      return fail(llvm::toString(ir.takeError()));
    llvm::Error written = emit == "llvm"
                              ? writeOutputFile(outputPath,
                                                [&](llvm::raw_ostream &os) {
                                                  (*ir)->print(os, nullptr);
                                                })
                              : emitObjectFile(**ir, 3, outputPath);
    if (written)
      return fail(llvm::toString(std::move(written)));
    return 0;
  }

  // The artifact folder: new, or one an earlier llm-compile wrote (an
  // executable's is NAME.llmc beside it).
  llvm::SmallString<256> dir(outputPath);
  if (exe)
    dir += ".llmc";
  if (llvm::sys::fs::exists(dir)) {
    if (!llvm::sys::fs::is_directory(dir))
      return fail(llvm::formatv("-o {0}: expected a folder to write the "
                                "artifact into, found a file",
                                dir));
    std::error_code ec;
    llvm::sys::fs::directory_iterator it(dir, ec);
    bool empty = !ec && it == llvm::sys::fs::directory_iterator();
    if (!empty && !llmrt::isArtifact(dir.str().str()))
      return fail(llvm::formatv("-o {0}: the folder exists and is not an "
                                "artifact; refusing to write into it",
                                dir));
  } else if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
    return fail(llvm::formatv("-o {0}: cannot create the folder: {1}", dir,
                              ec.message()));
  }
  auto inDir = [&](llvm::StringRef name) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    return path.str().str();
  };
  if (exe) {
    // The code, linked with the runner's main() and libllmrt (where this
    // process found it) into the executable.
    Dl_info where;
    if (!dladdr(reinterpret_cast<void *>(&llmrt::isArtifact), &where) ||
        !where.dli_fname)
      return fail("--emit=exe: cannot find libllmrt's folder");
    llvm::SmallString<256> libDir(where.dli_fname);
    llvm::sys::path::remove_filename(libDir);
    llvm::SmallString<256> runner(libDir);
    llvm::sys::path::append(runner, "libLLMCRunner.a");
    if (!llvm::sys::fs::exists(runner))
      return fail(llvm::formatv("--emit=exe: expected the runner {0} next to "
                                "libllmrt, found nothing",
                                runner));
    llvm::LLVMContext llvmContext;
    llvm::Expected<std::unique_ptr<llvm::Module>> ir =
        translateToHostLLVMIR(module, llvmContext, 3);
    if (!ir)
      return fail(llvm::toString(ir.takeError()));
    std::string object = inDir("model.o");
    if (llvm::Error err = emitObjectFile(**ir, 3, object))
      return fail(llvm::toString(std::move(err)));
    std::vector<std::string> inputs = {runner.str().str(),
                                       "-L" + libDir.str().str(),
                                       "-lllmrt",
                                       "-lLLMKernelsCPU",
                                       "-Wl,-rpath," + libDir.str().str(),
                                       "-lstdc++",
                                       "-lm"};
    for (llvm::StringRef flag : llvm::split(LLMC_EXE_LINK_FLAGS, ' '))
      if (!flag.empty())
        inputs.push_back(flag.str());
    llvm::Error linked = linkExecutable(object, inputs, outputPath);
    llvm::sys::fs::remove(object);
    if (linked)
      return fail(llvm::toString(std::move(linked)));
  } else if (llvm::Error err =
                 emitSharedLibrary(module, 3, inDir("model.so"))) {
    return fail(llvm::toString(std::move(err)));
  }

  progress.stage("parameters");
  llvm::Expected<std::string> manifestText = buildManifest(module);
  if (!manifestText)
    return fail(llvm::toString(manifestText.takeError()));
  llmrt::Expected<llmrt::Manifest> manifest =
      llmrt::Manifest::parse(*manifestText, "the compiled manifest");
  if (!manifest)
    return fail(manifest.error());
  // Each parameter as the kernels read it (in panels, quantized, gathered),
  // 64-byte aligned, so that loading maps it in place.
  llmrt::Expected<std::vector<llmrt::Model::PackedParam>> packed =
      llmrt::Model::packParams(*manifest, *weights);
  if (!packed)
    return fail(packed.error());
  static const std::vector<uint8_t> zeros(64, 0);
  std::vector<llmrt::TensorToWrite> tensors;
  llvm::json::Array paramBytes;
  uint64_t offset = 0;
  for (size_t i = 0; i < packed->size(); ++i) {
    const llmrt::Model::PackedParam &p = (*packed)[i];
    if (uint64_t gap = (64 - offset % 64) % 64) {
      tensors.push_back({"__padding." + std::to_string(i),
                         llmrt::DType::U8,
                         {static_cast<int64_t>(gap)},
                         llmrt::ByteSpan(zeros.data(), gap)});
      offset += gap;
    }
    tensors.push_back({llmrt::packedParamName(i, manifest->params[i].name),
                       llmrt::DType::U8,
                       {static_cast<int64_t>(p.size)},
                       llmrt::ByteSpan(p.data, p.size)});
    offset += p.size;
    paramBytes.push_back(static_cast<int64_t>(p.size));
  }
  llmrt::Status written = llmrt::writeSafeTensors(
      inDir("params.safetensors"), tensors, {{"format", "llmc-packed"}}, 64);
  if (!written.isOk())
    return fail(written.message());
  packed->clear();

  // A CUDA artifact carries its kernels' cubins, for the cache's head
  // dimension and each --cuda-archs: a device of those loads them without
  // NVRTC.
  std::optional<llvm::json::Object> device;
  if (options.target == "cuda") {
    int64_t headDim = 0;
    for (const llmrt::EntryDesc &entry : manifest->entries)
      if (entry.hasArg(llmrt::ArgKind::KVCache))
        headDim = entry.getArg(llmrt::ArgKind::KVCache).cache->headDim;
    llvm::json::Array kernels, files;
    if (headDim > 0) {
      std::vector<int> archs(cudaArchs.begin(), cudaArchs.end());
      if (archs.empty())
        archs = {80, 90};
      if (std::error_code ec = llvm::sys::fs::create_directories(inDir("cuda")))
        return fail(llvm::formatv("{0}: cannot create the folder: {1}",
                                  inDir("cuda"), ec.message()));
      if (llvm::Error err =
              writeCubins([&](const std::string &name) { return inDir(name); },
                          "cuda/", headDim, archs, kernels, files))
        return fail("--target=cuda: " + llvm::toString(std::move(err)));
    }
    device = llvm::json::Object{
        {"kind", "cuda"}, {"head_dim", headDim}, {"cubins", std::move(files)}};
    flags += " --target cuda";
  }

  progress.stage("tokenizer and manifest");
  bool tokenizer = false;
  // A model folder's tokenizer, or the one beside an ONNX file.
  llvm::SmallString<256> tokenizerDir(modelPath);
  if (onnx) {
    tokenizerDir = llvm::sys::path::parent_path(modelPath);
    if (tokenizerDir.empty())
      tokenizerDir = ".";
  }
  if (!gguf)
    for (const char *name :
         {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
          "vocab.json", "merges.txt", "vocab.txt", "tokenizer.model",
          "added_tokens.json"}) {
      llvm::SmallString<256> from(tokenizerDir);
      llvm::sys::path::append(from, name);
      if (!llvm::sys::fs::is_regular_file(from))
        continue;
      if (std::error_code ec = llvm::sys::fs::copy_file(from, inDir(name)))
        return fail(llvm::formatv("{0}: cannot copy into {1}: {2}", from, dir,
                                  ec.message()));
      tokenizer = true;
    }
  // The manifest last: a folder without it is not an artifact.
  llvm::Expected<llvm::json::Value> document = llvm::json::parse(*manifestText);
  if (!document)
    return fail("the compiled manifest: " +
                llvm::toString(document.takeError()));
  (*document->getAsObject())["artifact"] = describeArtifact(
      tokenizer, flags,
      exe ? llvm::sys::path::filename(outputPath) : llvm::StringRef("model.so"),
      std::move(paramBytes), std::move(device));
  std::string text;
  llvm::raw_string_ostream os(text);
  os << llvm::formatv("{0:2}", *document) << "\n";
  if (llvm::Error err = writeText(inDir("manifest.json"), text))
    return fail(llvm::toString(std::move(err)));
  return 0;
}
