//===- Artifact.h - Compiled models on disk (llm-compile) -------*- C++ -*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// An artifact is the folder `llm-compile MODEL -o NAME.llmc` writes:
//   manifest.json       the entry points' manifest (Manifest.h) plus an
//                       "artifact" object: {"format": "llmc-artifact",
//                       "version": 1, "compiler", "target": {"triple",
//                       "cpu", "features"}, "options", "code",
//                       "params", "tokenizer"}
//   model.so            the entry points' native code (the kernels they
//                       call are libllmrt's)
//   params.safetensors  the parameters as the kernels read them (packed in
//                       panels, quantized, gathered), 64-byte aligned:
//                       loading maps them in place
//   tokenizer.json ...  the model folder's tokenizer files, when it had any
// Loading checks the format version and that this CPU has every feature
// the code was compiled for, then binds the weights and opens the code:
// each failure is an error naming the file and what was expected.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_ARTIFACT_H
#define LLM_RUNTIME_ARTIFACT_H

#include "Error.h"
#include "Manifest.h"
#include "Model.h"

#include <memory>
#include <string>
#include <vector>

namespace llmrt {

/// The artifact format this runtime reads.
inline constexpr int64_t kArtifactVersion = 1;

/// The "artifact" object of an artifact's manifest.
struct ArtifactInfo {
  int64_t version = kArtifactVersion;
  std::string compiler;
  std::string triple;
  std::string cpu;
  /// The CPU features the code needs (those isHostFeatureKnown knows).
  std::vector<std::string> features;
  /// The compile options, as llm-compile's flags.
  std::string options;
  bool hasTokenizer = false;
  /// "params_layout": "packed": each parameter stored as the kernels read
  /// it (Model::packParams), of these sizes, mapped in place at load.
  /// Empty: the checkpoint's tensors, packed at load.
  std::vector<uint64_t> paramBytes;
  /// "device": "" for CPU code; "cuda" for code lowered by llm-lower-to-cuda,
  /// which runs on a launch executor. Its kernels' cubins, compiled for
  /// `cudaHeadDim` (0: none), by architecture (80 for sm_80): paths in the
  /// artifact folder.
  std::string device;
  int64_t cudaHeadDim = 0;
  std::vector<std::pair<int, std::string>> cubins;
};

/// Whether `path` is a folder holding an artifact's manifest.json.
bool isArtifact(const std::string &path);

/// The CPU features an artifact can require, by LLVM's names (sse4.2, avx,
/// avx2, fma, f16c, bmi2, avx512f, avx512bw, avx512dq, avx512vl,
/// avx512vnni, avx512bf16), and whether this CPU has one of them.
const std::vector<std::string> &getCheckableCPUFeatures();
bool hostHasCPUFeature(const std::string &name);

/// An artifact's manifest and description, read from `dir` and checked
/// (format, version, this CPU's features).
struct ArtifactManifest {
  Manifest manifest;
  ArtifactInfo info;
};
Expected<ArtifactManifest> readArtifactManifest(const std::string &dir);

/// Where a CUDA artifact's launches run: on the first CUDA device (its
/// cubin for the device's architecture loaded as it is, NVRTC otherwise),
/// or on the host's executor (a check of the program without a GPU).
enum class ArtifactDevice { Cuda, CudaHost };

/// The model of the artifact in `dir`: its manifest, its weights (mapped)
/// and its code (dlopen). A CUDA artifact (llm-compile --target=cuda) is
/// placed on a launch executor as `device` says; without a device that is
/// an error naming the artifact.
Expected<std::unique_ptr<Model>>
loadArtifact(const std::string &dir, bool checkMemory = true,
             ArtifactDevice device = ArtifactDevice::Cuda);

} // namespace llmrt

#endif // LLM_RUNTIME_ARTIFACT_H
