//===- DeviceExecutor.cpp - The CUDA kernels' launches run on a GPU -------===//
//
// Part of LLMC, under the Apache License v2.0.
//
// A LaunchExecutor over a CUDA device: Kernels.cu compiled by NVRTC for
// the device's architecture and the model's head dimension (cubins cached
// on disk), each launch a cuLaunchKernel of its arguments on the default
// stream, not waited for: copies to the host (cuMemcpyDtoH, synchronous on
// the default stream) wait for the launches before them. Several streams
// and CUDA graphs (one graph per entry point and shape) are not used yet.
//
//===----------------------------------------------------------------------===//

#include "Device.h"
#include "KernelSources.h"
#include "Launchers.h"
#include "Nvrtc.h"

#include <map>

using namespace llmrt;
using namespace llmrt::cuda;

namespace {

uint64_t address(const void *p) { return reinterpret_cast<uint64_t>(p); }

class DeviceLaunchExecutor : public LaunchExecutor {
public:
  DeviceLaunchExecutor(std::unique_ptr<CudaDevice> device, std::string cacheDir,
                       int prebuiltHeadDim,
                       std::map<int, std::vector<char>> prebuilt)
      : device(std::move(device)), cacheDir(std::move(cacheDir)),
        prebuiltHeadDim(prebuiltHeadDim), prebuilt(std::move(prebuilt)) {}

  /// Loads the kernels for head dimension `d`: the prebuilt cubin for the
  /// device's architecture, else compiled by NVRTC (or read from the cubin
  /// cache).
  Status load(int d) {
    if (d == prebuiltHeadDim)
      if (auto it = prebuilt.find(device->getArch()); it != prebuilt.end()) {
        Status loaded = device->loadModule(it->second);
        if (loaded.isOk())
          headDim = d;
        return loaded;
      }
    Expected<CompiledKernel> compiled =
        compileCudaCached(getKernelSource(), device->getArch(),
                          {"-DLLMC_HEAD_DIM=" + std::to_string(d)}, cacheDir);
    if (!compiled)
      return compiled.takeStatus();
    Status loaded = device->loadModule(compiled->cubin);
    if (loaded.isOk())
      headDim = d;
    return loaded;
  }

  Status launch(const KernelLaunch &launch) override {
    if (Status current = device->makeCurrent(); !current.isOk())
      return current;
    if (launch.headDim != 0 && launch.headDim != headDim) {
      Status loaded = load(launch.headDim);
      if (!loaded.isOk())
        return loaded;
    }
    // cuLaunchKernel reads each parameter through a pointer to its value:
    // the union holds it at its start, at the parameter's size.
    std::vector<LaunchArg> values = launch.args;
    std::vector<void *> pointers;
    for (LaunchArg &value : values)
      pointers.push_back(&value.ptr);
    // In stream order, without waiting: the next copy to the host (the
    // call's results, a launcher's error flag) waits for the launches
    // before it and reports a kernel that failed.
    return device->launch(launch.kernel, launch.grid, launch.block,
                          pointers.data(), /*wait=*/false);
  }
  Status copy(void *to, const void *from, size_t bytes) override {
    if (Status current = device->makeCurrent(); !current.isOk())
      return current;
    return device->copyWithin(address(to), address(from), bytes);
  }
  Status upload(void *to, const void *from, size_t bytes) override {
    if (Status current = device->makeCurrent(); !current.isOk())
      return current;
    return device->uploadTo(address(to), from, bytes);
  }
  Status download(void *to, const void *from, size_t bytes) override {
    if (Status current = device->makeCurrent(); !current.isOk())
      return current;
    return device->downloadFrom(to, address(from), bytes);
  }
  Expected<void *> scratch(int slot, size_t bytes) override {
    if (slot < 0)
      return Status::error(ErrorCode::Internal, "negative scratch slot");
    if (static_cast<size_t>(slot) >= buffers.size())
      buffers.resize(slot + 1);
    DeviceBuffer &buffer = buffers[slot];
    if (buffer.size() < bytes) {
      if (Status current = device->makeCurrent(); !current.isOk())
        return current;
      Expected<DeviceBuffer> grown = device->allocate(bytes);
      if (!grown)
        return grown.takeStatus();
      buffer = std::move(*grown);
    }
    return reinterpret_cast<void *>(buffer.get());
  }
  Expected<void *> allocate(size_t bytes) override {
    if (Status current = device->makeCurrent(); !current.isOk())
      return current;
    Expected<DeviceBuffer> buffer = device->allocate(bytes);
    if (!buffer)
      return buffer.takeStatus();
    void *memory = reinterpret_cast<void *>(buffer->get());
    held.emplace(memory, std::move(*buffer));
    return memory;
  }
  void release(void *memory) override { held.erase(memory); }

private:
  std::unique_ptr<CudaDevice> device;
  std::string cacheDir;
  int prebuiltHeadDim;
  std::map<int, std::vector<char>> prebuilt;
  int headDim = 0;
  std::vector<DeviceBuffer> buffers;
  std::map<void *, DeviceBuffer> held;
};

} // namespace

Expected<std::unique_ptr<LaunchExecutor>>
llmrt::cuda::createDeviceLaunchExecutor(
    int ordinal, int headDim, const std::string &cacheDir,
    std::map<int, std::vector<char>> prebuilt) {
  Expected<std::unique_ptr<CudaDevice>> device = CudaDevice::open(ordinal);
  if (!device)
    return device.takeStatus();
  auto executor = std::make_unique<DeviceLaunchExecutor>(
      std::move(*device), cacheDir, headDim, std::move(prebuilt));
  Status loaded = executor->load(headDim);
  if (!loaded.isOk())
    return loaded;
  return std::unique_ptr<LaunchExecutor>(std::move(executor));
}
