//===- Artifact.cpp - Compiled models on disk (llm-compile) ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Artifact.h"
#include "Json.h"
#include "MappedFile.h"
#include "SafeTensors.h"
#include "SharedLibrary.h"
#include "cuda/Launchers.h"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace llmrt {
namespace {

std::string join(const std::string &dir, const char *name) {
  return dir + "/" + name;
}

bool isFile(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status fieldError(const std::string &file, const std::string &field,
                  const std::string &expected, const std::string &found) {
  return Status::error(ErrorCode::Format, file + ": field '" + field +
                                              "': expected " + expected +
                                              ", found " + found);
}

} // namespace

bool isArtifact(const std::string &path) {
  // A model folder never holds manifest.json; an artifact missing its other
  // files is still one, and loading it says which file is missing.
  return isFile(join(path, "manifest.json"));
}

const std::vector<std::string> &getCheckableCPUFeatures() {
  static const std::vector<std::string> names = {
      "sse4.2",   "avx",      "avx2",       "fma",
      "f16c",     "bmi2",     "avx512f",    "avx512bw",
      "avx512dq", "avx512vl", "avx512vnni", "avx512bf16"};
  return names;
}

bool hostHasCPUFeature(const std::string &name) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
#define LLMRT_FEATURE(text)                                                    \
  if (name == text)                                                            \
    return __builtin_cpu_supports(text) != 0;
  LLMRT_FEATURE("sse4.2")
  LLMRT_FEATURE("avx")
  LLMRT_FEATURE("avx2")
  LLMRT_FEATURE("fma")
  LLMRT_FEATURE("f16c")
  LLMRT_FEATURE("bmi2")
  LLMRT_FEATURE("avx512f")
  LLMRT_FEATURE("avx512bw")
  LLMRT_FEATURE("avx512dq")
  LLMRT_FEATURE("avx512vl")
  LLMRT_FEATURE("avx512vnni")
  LLMRT_FEATURE("avx512bf16")
#undef LLMRT_FEATURE
#endif
  return false;
}

Expected<ArtifactManifest> readArtifactManifest(const std::string &dir) {
  const std::string path = join(dir, "manifest.json");
  if (!isFile(path))
    return Status::error(ErrorCode::Io,
                         dir + ": expected an LLMC artifact folder "
                               "(manifest.json, model.so, params.safetensors), "
                               "found no manifest.json");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof())
    return Status::error(ErrorCode::Io, path + ": cannot read");
  Expected<json::Value> document = json::parse(text.str());
  if (!document)
    return Status::error(ErrorCode::Format,
                         path + ": not valid JSON: " + document.error());
  const json::Object *root = document->getAsObject();
  const json::Value *artifact = root ? root->get("artifact") : nullptr;
  if (!artifact || !artifact->getAsObject())
    return fieldError(path, "artifact",
                      "the artifact's description (an llm-compile output)",
                      "nothing");
  const json::Object &a = *artifact->getAsObject();
  auto string = [&](const char *key) -> std::string {
    const json::Value *v = a.get(key);
    std::optional<std::string_view> s = v ? v->getAsString() : std::nullopt;
    return s ? std::string(*s) : std::string();
  };
  if (string("format") != "llmc-artifact")
    return fieldError(path, "artifact.format", "\"llmc-artifact\"",
                      "\"" + string("format") + "\"");
  const json::Value *version = a.get("version");
  std::optional<int64_t> v = version ? version->getAsInt64() : std::nullopt;
  if (!v || *v != kArtifactVersion)
    return Status::error(
        ErrorCode::Unsupported,
        path + ": field 'artifact.version': expected " +
            std::to_string(kArtifactVersion) + " (this runtime's), found " +
            (v ? std::to_string(*v) : std::string("none")) +
            "; compile the model again with this release's llm-compile");
  ArtifactInfo info;
  info.version = *v;
  info.compiler = string("compiler");
  info.options = string("options");
  if (const json::Value *t = a.get("tokenizer"))
    info.hasTokenizer = t->getAsBoolean().value_or(false);
  const json::Value *target = a.get("target");
  if (!target || !target->getAsObject())
    return fieldError(path, "artifact.target",
                      "an object {\"triple\", \"cpu\", \"features\"}",
                      "nothing");
  const json::Object &t = *target->getAsObject();
  auto targetString = [&](const char *key) -> std::string {
    const json::Value *value = t.get(key);
    std::optional<std::string_view> s =
        value ? value->getAsString() : std::nullopt;
    return s ? std::string(*s) : std::string();
  };
  if (const json::Value *layout = a.get("params_layout")) {
    std::optional<std::string_view> name = layout->getAsString();
    if (!name || *name != "packed")
      return fieldError(path, "artifact.params_layout", "\"packed\"",
                        "another value");
    const json::Value *sizes = a.get("param_bytes");
    if (!sizes || !sizes->getAsArray())
      return fieldError(path, "artifact.param_bytes",
                        "the packed size of each parameter", "nothing");
    for (const json::Value &size : *sizes->getAsArray()) {
      std::optional<int64_t> bytes = size.getAsInt64();
      if (!bytes || *bytes < 0)
        return fieldError(path, "artifact.param_bytes", "non-negative integers",
                          "another value");
      info.paramBytes.push_back(static_cast<uint64_t>(*bytes));
    }
  }
  info.triple = targetString("triple");
  info.cpu = targetString("cpu");
  const json::Value *features = t.get("features");
  if (!features || !features->getAsArray())
    return fieldError(path, "artifact.target.features",
                      "an array of CPU feature names", "nothing");
  std::string missing;
  for (const json::Value &f : *features->getAsArray()) {
    std::optional<std::string_view> name = f.getAsString();
    if (!name)
      return fieldError(path, "artifact.target.features",
                        "an array of CPU feature names", "a non-string");
    info.features.emplace_back(*name);
    if (!hostHasCPUFeature(info.features.back()))
      missing += (missing.empty() ? "" : ", ") + info.features.back();
  }
  if (!missing.empty())
    return Status::error(ErrorCode::Unsupported,
                         dir + ": compiled for a " + info.cpu +
                             " CPU; this CPU lacks " + missing +
                             ": compile the model again on this machine");
  if (const json::Value *device = a.get("device")) {
    // {"kind": "cuda", "head_dim": D, "cubins": [{"arch": 80, "file":
    // "cuda/kernels.sm_80.cubin"}, ...]}
    const json::Object *d = device->getAsObject();
    const json::Value *kind = d ? d->get("kind") : nullptr;
    std::optional<std::string_view> name =
        kind ? kind->getAsString() : std::nullopt;
    if (!name || *name != "cuda")
      return fieldError(path, "artifact.device.kind", "\"cuda\"",
                        "another value");
    info.device = "cuda";
    const json::Value *headDim = d->get("head_dim");
    std::optional<int64_t> dim = headDim ? headDim->getAsInt64() : std::nullopt;
    if (!dim || *dim < 0 || *dim > 256)
      return fieldError(path, "artifact.device.head_dim",
                        "an integer in [0, 256]", "another value");
    info.cudaHeadDim = *dim;
    const json::Value *cubins = d->get("cubins");
    if (!cubins || !cubins->getAsArray())
      return fieldError(path, "artifact.device.cubins",
                        "an array of {\"arch\", \"file\"}", "nothing");
    for (const json::Value &entry : *cubins->getAsArray()) {
      const json::Object *c = entry.getAsObject();
      const json::Value *arch = c ? c->get("arch") : nullptr;
      const json::Value *file = c ? c->get("file") : nullptr;
      std::optional<int64_t> number = arch ? arch->getAsInt64() : std::nullopt;
      std::optional<std::string_view> where =
          file ? file->getAsString() : std::nullopt;
      if (!number || !where || where->empty() ||
          where->find("..") != std::string_view::npos || (*where)[0] == '/')
        return fieldError(path, "artifact.device.cubins",
                          "{\"arch\": N, \"file\": a path in the artifact}",
                          "another value");
      info.cubins.emplace_back(static_cast<int>(*number), std::string(*where));
      if (!isFile(join(dir, info.cubins.back().second.c_str())))
        return Status::error(ErrorCode::Io,
                             dir + ": the artifact has no " +
                                 info.cubins.back().second +
                                 ", which artifact.device.cubins lists");
    }
  }
  Expected<Manifest> manifest = Manifest::parse(text.str(), path);
  if (!manifest)
    return manifest.takeStatus();
  return ArtifactManifest{std::move(*manifest), std::move(info)};
}

Expected<std::unique_ptr<Model>>
loadArtifact(const std::string &dir, bool checkMemory, ArtifactDevice device) {
  Expected<ArtifactManifest> read = readArtifactManifest(dir);
  if (!read)
    return read.takeStatus();
  for (const char *name : {"model.so", "params.safetensors"})
    if (!isFile(join(dir, name)))
      return Status::error(ErrorCode::Io,
                           dir + ": the artifact has no " + name +
                               " (expected manifest.json, model.so and "
                               "params.safetensors)");
  Expected<std::unique_ptr<SafeTensorsArchive>> params =
      SafeTensorsArchive::openFile(join(dir, "params.safetensors"), dir);
  if (!params)
    return params.takeStatus();
  const std::string library = join(dir, "model.so");
  const std::vector<uint64_t> bytes = read->info.paramBytes;
  const ArtifactInfo info = read->info;
  Expected<std::unique_ptr<Model>> model = Model::create(
      std::move(read->manifest),
      std::shared_ptr<const SafeTensorsArchive>(std::move(*params)),
      [&] { return openSharedLibrary(library); }, checkMemory, nullptr,
      bytes.empty() ? nullptr : &bytes);
  if (!model || info.device != "cuda")
    return model;
  // The CUDA backend's code: its launches on a device (with the artifact's
  // cubins) or on the host's executor.
  std::shared_ptr<cuda::LaunchExecutor> executor;
  if (device == ArtifactDevice::CudaHost) {
    executor = cuda::createHostLaunchExecutor();
  } else {
    std::map<int, std::vector<char>> cubins;
    for (const auto &[arch, file] : info.cubins) {
      Expected<std::unique_ptr<MappedFile>> mapped =
          MappedFile::map(join(dir, file.c_str()), join(dir, file.c_str()));
      if (!mapped)
        return mapped.takeStatus();
      std::string_view bytes = (*mapped)->view();
      cubins[arch].assign(bytes.begin(), bytes.end());
    }
    Expected<std::unique_ptr<cuda::LaunchExecutor>> opened =
        cuda::createDeviceLaunchExecutor(
            0, static_cast<int>(info.cudaHeadDim > 0 ? info.cudaHeadDim : 64),
            "", std::move(cubins));
    if (!opened) {
      Status failed = opened.takeStatus();
      return Status::error(failed.code(),
                           dir + ": compiled for CUDA: " + failed.message());
    }
    executor = std::move(*opened);
  }
  Status placed = (*model)->useLaunchExecutor(std::move(executor));
  if (!placed.isOk())
    return placed;
  return model;
}

} // namespace llmrt
