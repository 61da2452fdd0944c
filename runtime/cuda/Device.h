//===- Device.h - A CUDA device through the driver API, loaded lazily -*- C++
//-*-===//
//
// Part of LLMC, under the Apache License v2.0.
//
// The CUDA driver API (libcuda.so.1, opened with dlopen: no CUDA at build
// time): a device's primary context, device memory, modules loaded from
// NVRTC's cubins, and kernel launches. Every call's failure is a Status
// naming the call and the driver's error string.
//
//===----------------------------------------------------------------------===//

#ifndef LLM_RUNTIME_CUDA_DEVICE_H
#define LLM_RUNTIME_CUDA_DEVICE_H

#include "Error.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llmrt::cuda {

struct DriverApi;

/// Device memory, freed when destroyed.
class DeviceBuffer {
public:
  DeviceBuffer() = default;
  DeviceBuffer(const DriverApi *api, uint64_t address, size_t bytes)
      : api(api), address(address), bytes(bytes) {}
  DeviceBuffer(DeviceBuffer &&other) noexcept { *this = std::move(other); }
  DeviceBuffer &operator=(DeviceBuffer &&other) noexcept;
  ~DeviceBuffer();
  uint64_t get() const { return address; }
  size_t size() const { return bytes; }

private:
  const DriverApi *api = nullptr;
  uint64_t address = 0;
  size_t bytes = 0;
};

class CudaDevice {
public:
  /// Device `ordinal` and its primary context, made current on the calling
  /// thread. Fails when there is no driver or no such device.
  static Expected<std::unique_ptr<CudaDevice>> open(int ordinal = 0);
  ~CudaDevice();

  /// The compute capability as NVRTC's -arch takes it (80 for sm_80).
  int getArch() const { return arch; }
  const std::string &getName() const { return name; }

  /// Makes the device's context current on the calling thread (a model
  /// may run on another thread than the one that opened the device).
  Status makeCurrent();

  Expected<DeviceBuffer> allocate(size_t bytes);
  Status upload(const DeviceBuffer &to, const void *from, size_t bytes);
  Status download(void *to, const DeviceBuffer &from, size_t bytes);
  /// The same on raw device addresses, and a copy within the device.
  Status uploadTo(uint64_t to, const void *from, size_t bytes);
  Status downloadFrom(void *to, uint64_t from, size_t bytes);
  Status copyWithin(uint64_t to, uint64_t from, size_t bytes);

  /// Loads `cubin` (NVRTC's, for getArch()) and keeps it until destroyed.
  Status loadModule(const std::vector<char> &cubin);
  /// Launches kernel `kernel` of the loaded module on `grid` x `block`
  /// threads with `args` (pointers to each argument) on the default stream,
  /// and waits for it unless `wait` is false (a later copy to the host
  /// waits for every launch before it, and reports a failed one).
  Status launch(const std::string &kernel, const unsigned grid[3],
                const unsigned block[3], void **args, bool wait = true);

private:
  CudaDevice() = default;
  const DriverApi *api = nullptr;
  int device = 0, arch = 0;
  void *context = nullptr, *module = nullptr;
  std::string name;
};

} // namespace llmrt::cuda

#endif // LLM_RUNTIME_CUDA_DEVICE_H
