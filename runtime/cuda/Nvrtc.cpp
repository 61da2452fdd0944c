//===- Nvrtc.cpp - CUDA C++ compiled at run time, CUDA loaded lazily ------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Nvrtc.h"

#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <regex>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace llmrt::cuda {
namespace {

// NVRTC's C API, declared here: LLMC needs no CUDA header to build.
using NvrtcProgram = void *;
using NvrtcResult = int;
struct NvrtcApi {
  NvrtcResult (*version)(int *, int *);
  NvrtcResult (*createProgram)(NvrtcProgram *, const char *, const char *, int,
                               const char *const *, const char *const *);
  NvrtcResult (*compileProgram)(NvrtcProgram, int, const char *const *);
  NvrtcResult (*getProgramLogSize)(NvrtcProgram, size_t *);
  NvrtcResult (*getProgramLog)(NvrtcProgram, char *);
  NvrtcResult (*getCUBINSize)(NvrtcProgram, size_t *);
  NvrtcResult (*getCUBIN)(NvrtcProgram, char *);
  NvrtcResult (*destroyProgram)(NvrtcProgram *);
  const char *(*getErrorString)(NvrtcResult);
};

/// Opens the first of `names` that loads ($`env` first when set); the
/// error lists what was tried.
void *openLibrary(const char *env, std::vector<std::string> names,
                  std::string &error) {
  if (const char *chosen = std::getenv(env); chosen && *chosen)
    names.insert(names.begin(), chosen);
  for (const std::string &name : names)
    if (void *handle = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL))
      return handle;
  error = "tried";
  for (const std::string &name : names)
    error += " " + name;
  return nullptr;
}

Expected<const NvrtcApi *> loadNvrtc() {
  static std::once_flag once;
  static NvrtcApi api;
  static std::string failure;
  std::call_once(once, [] {
    std::string tried;
    void *h = openLibrary("LLMC_NVRTC",
                          {"libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so",
                           "/usr/local/cuda/lib64/libnvrtc.so"},
                          tried);
    if (!h) {
      failure = "NVRTC not found (" + tried + "; set LLMC_NVRTC)";
      return;
    }
    auto get = [&](const char *symbol) {
      void *f = dlsym(h, symbol);
      if (!f && failure.empty())
        failure = std::string("NVRTC has no ") + symbol;
      return f;
    };
    api.version = reinterpret_cast<decltype(api.version)>(get("nvrtcVersion"));
    api.createProgram = reinterpret_cast<decltype(api.createProgram)>(
        get("nvrtcCreateProgram"));
    api.compileProgram = reinterpret_cast<decltype(api.compileProgram)>(
        get("nvrtcCompileProgram"));
    api.getProgramLogSize = reinterpret_cast<decltype(api.getProgramLogSize)>(
        get("nvrtcGetProgramLogSize"));
    api.getProgramLog = reinterpret_cast<decltype(api.getProgramLog)>(
        get("nvrtcGetProgramLog"));
    api.getCUBINSize =
        reinterpret_cast<decltype(api.getCUBINSize)>(get("nvrtcGetCUBINSize"));
    api.getCUBIN =
        reinterpret_cast<decltype(api.getCUBIN)>(get("nvrtcGetCUBIN"));
    api.destroyProgram = reinterpret_cast<decltype(api.destroyProgram)>(
        get("nvrtcDestroyProgram"));
    api.getErrorString = reinterpret_cast<decltype(api.getErrorString)>(
        get("nvrtcGetErrorString"));
  });
  if (!failure.empty())
    return Status::error(ErrorCode::Unsupported, failure);
  return &api;
}

} // namespace

Expected<std::pair<int, int>> getNvrtcVersion() {
  Expected<const NvrtcApi *> api = loadNvrtc();
  if (!api)
    return api.takeStatus();
  int major = 0, minor = 0;
  (*api)->version(&major, &minor);
  return std::make_pair(major, minor);
}

Expected<CompiledKernel> compileCuda(const CudaSource &source, int arch,
                                     const std::vector<std::string> &options) {
  Expected<const NvrtcApi *> loaded = loadNvrtc();
  if (!loaded)
    return loaded.takeStatus();
  const NvrtcApi &api = **loaded;
  std::vector<const char *> headers, includes;
  for (const auto &[name, text] : source.headers) {
    includes.push_back(name.c_str());
    headers.push_back(text.c_str());
  }
  NvrtcProgram program = nullptr;
  NvrtcResult rc = api.createProgram(
      &program, source.text.c_str(), source.name.c_str(),
      static_cast<int>(headers.size()), headers.data(), includes.data());
  if (rc != 0)
    return Status::error(ErrorCode::Internal,
                         source.name +
                             ": nvrtcCreateProgram: " + api.getErrorString(rc));
  std::vector<std::string> all = {"-arch=sm_" + std::to_string(arch),
                                  "-std=c++17", "--ptxas-options=-v"};
  all.insert(all.end(), options.begin(), options.end());
  std::vector<const char *> argv;
  for (const std::string &option : all)
    argv.push_back(option.c_str());
  rc = api.compileProgram(program, static_cast<int>(argv.size()), argv.data());
  CompiledKernel compiled;
  size_t logSize = 0;
  api.getProgramLogSize(program, &logSize);
  compiled.log.resize(logSize);
  if (logSize)
    api.getProgramLog(program, compiled.log.data());
  while (!compiled.log.empty() && compiled.log.back() == '\0')
    compiled.log.pop_back();
  if (rc != 0) {
    api.destroyProgram(&program);
    return Status::error(ErrorCode::Internal,
                         source.name + ": NVRTC failed for sm_" +
                             std::to_string(arch) + " (" +
                             api.getErrorString(rc) + "):\n" + compiled.log);
  }
  size_t cubinSize = 0;
  api.getCUBINSize(program, &cubinSize);
  compiled.cubin.resize(cubinSize);
  if (cubinSize)
    api.getCUBIN(program, compiled.cubin.data());
  api.destroyProgram(&program);
  return compiled;
}

namespace {

uint64_t fnv1a(const std::string &text,
               uint64_t hash = 1469598103934665603ull) {
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

} // namespace

Expected<CompiledKernel>
compileCudaCached(const CudaSource &source, int arch,
                  const std::vector<std::string> &options,
                  const std::string &cacheDir, bool *fromCache) {
  if (fromCache)
    *fromCache = false;
  if (cacheDir.empty())
    return compileCuda(source, arch, options);
  Expected<std::pair<int, int>> version = getNvrtcVersion();
  if (!version)
    return version.takeStatus();
  // The key: everything the cubin depends on, in one text.
  std::string key = "llmc cubin 1\nnvrtc " + std::to_string(version->first) +
                    "." + std::to_string(version->second) + "\narch " +
                    std::to_string(arch) + "\n";
  for (const std::string &option : options)
    key += "option " + option + "\n";
  key += "source " + source.name + "\n" + source.text + "\n";
  for (const auto &[name, text] : source.headers)
    key += "header " + name + "\n" + text + "\n";
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx",
                static_cast<unsigned long long>(fnv1a(key)));
  const std::string path =
      cacheDir + "/" + hex + ".sm_" + std::to_string(arch) + ".cubin";
  // An entry: the key's length and text, the cubin's length and bytes.
  if (FILE *in = std::fopen(path.c_str(), "rb")) {
    uint64_t keySize = 0, cubinSize = 0;
    std::string storedKey;
    CompiledKernel cached;
    bool ok = std::fread(&keySize, 8, 1, in) == 1 && keySize == key.size();
    if (ok) {
      storedKey.resize(keySize);
      ok = std::fread(storedKey.data(), 1, keySize, in) == keySize &&
           storedKey == key && std::fread(&cubinSize, 8, 1, in) == 1 &&
           cubinSize > 0 && cubinSize < (uint64_t(1) << 32);
    }
    if (ok) {
      cached.cubin.resize(cubinSize);
      ok = std::fread(cached.cubin.data(), 1, cubinSize, in) == cubinSize &&
           std::fgetc(in) == EOF;
    }
    std::fclose(in);
    if (ok) {
      if (fromCache)
        *fromCache = true;
      return cached;
    }
  }
  Expected<CompiledKernel> compiled = compileCuda(source, arch, options);
  if (!compiled)
    return compiled;
  // Written to a temporary and renamed: a reader never sees half an entry.
  std::string mkdir = cacheDir;
  for (size_t at = 1; at <= mkdir.size(); ++at)
    if (at == mkdir.size() || mkdir[at] == '/')
      ::mkdir(mkdir.substr(0, at).c_str(), 0755);
  const std::string temp = path + ".tmp" + std::to_string(::getpid());
  if (FILE *out = std::fopen(temp.c_str(), "wb")) {
    uint64_t keySize = key.size(), cubinSize = compiled->cubin.size();
    bool ok =
        std::fwrite(&keySize, 8, 1, out) == 1 &&
        std::fwrite(key.data(), 1, keySize, out) == keySize &&
        std::fwrite(&cubinSize, 8, 1, out) == 1 &&
        std::fwrite(compiled->cubin.data(), 1, cubinSize, out) == cubinSize;
    ok = std::fclose(out) == 0 && ok;
    if (!ok || std::rename(temp.c_str(), path.c_str()) != 0)
      std::remove(temp.c_str());
  }
  return compiled;
}

std::vector<KernelResources> parsePtxasResources(const std::string &log) {
  std::vector<KernelResources> kernels;
  static const std::regex entry("Compiling entry function '([^']+)'");
  static const std::regex frame(
      "([0-9]+) bytes stack frame, ([0-9]+) bytes spill stores, ([0-9]+) "
      "bytes spill loads");
  static const std::regex used("Used ([0-9]+) registers");
  static const std::regex smem("([0-9]+) bytes smem");
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, entry)) {
      kernels.push_back({m[1].str()});
      continue;
    }
    if (kernels.empty())
      continue;
    KernelResources &k = kernels.back();
    if (std::regex_search(line, m, frame)) {
      k.stackBytes = std::stoi(m[1].str());
      k.spillStores = std::stoi(m[2].str());
      k.spillLoads = std::stoi(m[3].str());
    }
    if (std::regex_search(line, m, used))
      k.registers = std::stoi(m[1].str());
    if (std::regex_search(line, m, smem))
      k.sharedBytes = std::stoi(m[1].str());
  }
  return kernels;
}

Expected<int> countCudaDevices() {
  std::string tried;
  void *h =
      openLibrary("LLMC_CUDA_DRIVER", {"libcuda.so.1", "libcuda.so"}, tried);
  if (!h)
    return Status::error(ErrorCode::Unsupported,
                         "no CUDA driver (" + tried +
                             "): no CUDA device on this machine");
  using InitFn = int (*)(unsigned);
  using CountFn = int (*)(int *);
  auto init = reinterpret_cast<InitFn>(dlsym(h, "cuInit"));
  auto count = reinterpret_cast<CountFn>(dlsym(h, "cuDeviceGetCount"));
  if (!init || !count)
    return Status::error(ErrorCode::Unsupported,
                         "the CUDA driver has no cuInit or cuDeviceGetCount");
  if (int rc = init(0))
    return Status::error(ErrorCode::Unsupported,
                         "no CUDA device (cuInit failed with CUDA error " +
                             std::to_string(rc) + ")");
  int devices = 0;
  if (int rc = count(&devices))
    return Status::error(ErrorCode::Unsupported,
                         "cuDeviceGetCount failed with CUDA error " +
                             std::to_string(rc));
  if (devices == 0)
    return Status::error(ErrorCode::Unsupported,
                         "no CUDA device (the driver reports none)");
  return devices;
}

} // namespace llmrt::cuda
