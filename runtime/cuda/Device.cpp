//===- Device.cpp - A CUDA device through the driver API, loaded lazily ---===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Device.h"

#include <dlfcn.h>
#include <mutex>

namespace llmrt::cuda {

/// The driver entry points LLMC calls (their _v2 names where the driver
/// versions them), declared here: no CUDA header at build time.
struct DriverApi {
  using Result = int;
  Result (*init)(unsigned);
  Result (*deviceGet)(int *, int);
  Result (*deviceGetAttribute)(int *, int, int);
  Result (*deviceGetName)(char *, int, int);
  Result (*primaryCtxRetain)(void **, int);
  Result (*primaryCtxRelease)(int);
  Result (*ctxSetCurrent)(void *);
  Result (*memAlloc)(uint64_t *, size_t);
  Result (*memFree)(uint64_t);
  Result (*memcpyHtoD)(uint64_t, const void *, size_t);
  Result (*memcpyDtoH)(void *, uint64_t, size_t);
  Result (*memcpyDtoD)(uint64_t, uint64_t, size_t);
  Result (*moduleLoadData)(void **, const void *);
  Result (*moduleUnload)(void *);
  Result (*moduleGetFunction)(void **, void *, const char *);
  Result (*launchKernel)(void *, unsigned, unsigned, unsigned, unsigned,
                         unsigned, unsigned, unsigned, void *, void **,
                         void **);
  Result (*ctxSynchronize)();
  Result (*getErrorString)(Result, const char **);
};

namespace {

Expected<const DriverApi *> loadDriver() {
  static std::once_flag once;
  static DriverApi api;
  static std::string failure;
  std::call_once(once, [] {
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      failure = "no CUDA driver (libcuda.so.1 not found): no CUDA device on "
                "this machine";
      return;
    }
    auto get = [&](auto &fn, const char *symbol) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(h, symbol));
      if (!fn && failure.empty())
        failure = std::string("the CUDA driver has no ") + symbol;
    };
    get(api.init, "cuInit");
    get(api.deviceGet, "cuDeviceGet");
    get(api.deviceGetAttribute, "cuDeviceGetAttribute");
    get(api.deviceGetName, "cuDeviceGetName");
    get(api.primaryCtxRetain, "cuDevicePrimaryCtxRetain");
    get(api.primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    get(api.ctxSetCurrent, "cuCtxSetCurrent");
    get(api.memAlloc, "cuMemAlloc_v2");
    get(api.memFree, "cuMemFree_v2");
    get(api.memcpyHtoD, "cuMemcpyHtoD_v2");
    get(api.memcpyDtoH, "cuMemcpyDtoH_v2");
    get(api.memcpyDtoD, "cuMemcpyDtoD_v2");
    get(api.moduleLoadData, "cuModuleLoadData");
    get(api.moduleUnload, "cuModuleUnload");
    get(api.moduleGetFunction, "cuModuleGetFunction");
    get(api.launchKernel, "cuLaunchKernel");
    get(api.ctxSynchronize, "cuCtxSynchronize");
    get(api.getErrorString, "cuGetErrorString");
  });
  if (!failure.empty())
    return Status::error(ErrorCode::Unsupported, failure);
  return &api;
}

Status check(const DriverApi *api, DriverApi::Result rc, const char *call) {
  if (rc == 0)
    return Status::ok();
  const char *text = nullptr;
  api->getErrorString(rc, &text);
  return Status::error(ErrorCode::Internal,
                       std::string(call) + " failed: " +
                           (text ? text : "CUDA error " + std::to_string(rc)));
}

} // namespace

DeviceBuffer &DeviceBuffer::operator=(DeviceBuffer &&other) noexcept {
  if (this != &other) {
    if (api && address)
      api->memFree(address);
    api = other.api;
    address = other.address;
    bytes = other.bytes;
    other.address = 0;
  }
  return *this;
}

DeviceBuffer::~DeviceBuffer() {
  if (api && address)
    api->memFree(address);
}

Expected<std::unique_ptr<CudaDevice>> CudaDevice::open(int ordinal) {
  Expected<const DriverApi *> api = loadDriver();
  if (!api)
    return api.takeStatus();
  std::unique_ptr<CudaDevice> device(new CudaDevice());
  device->api = *api;
  if (int rc = (*api)->init(0))
    return Status::error(ErrorCode::Unsupported,
                         "no CUDA device (cuInit failed with CUDA error " +
                             std::to_string(rc) + ")");
  Status status =
      check(*api, (*api)->deviceGet(&device->device, ordinal), "cuDeviceGet");
  if (!status.isOk())
    return status;
  int major = 0, minor = 0;
  // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR / _MINOR.
  (*api)->deviceGetAttribute(&major, 75, device->device);
  (*api)->deviceGetAttribute(&minor, 76, device->device);
  device->arch = major * 10 + minor;
  char name[256] = {0};
  (*api)->deviceGetName(name, sizeof(name) - 1, device->device);
  device->name = name;
  status =
      check(*api, (*api)->primaryCtxRetain(&device->context, device->device),
            "cuDevicePrimaryCtxRetain");
  if (!status.isOk())
    return status;
  status =
      check(*api, (*api)->ctxSetCurrent(device->context), "cuCtxSetCurrent");
  if (!status.isOk())
    return status;
  return device;
}

CudaDevice::~CudaDevice() {
  if (!api)
    return;
  if (module)
    api->moduleUnload(module);
  if (context)
    api->primaryCtxRelease(device);
}

Status CudaDevice::makeCurrent() {
  return check(api, api->ctxSetCurrent(context), "cuCtxSetCurrent");
}

Expected<DeviceBuffer> CudaDevice::allocate(size_t bytes) {
  uint64_t address = 0;
  Status status =
      check(api, api->memAlloc(&address, bytes ? bytes : 1), "cuMemAlloc");
  if (!status.isOk())
    return status;
  return DeviceBuffer(api, address, bytes);
}

Status CudaDevice::upload(const DeviceBuffer &to, const void *from,
                          size_t bytes) {
  return check(api, api->memcpyHtoD(to.get(), from, bytes), "cuMemcpyHtoD");
}

Status CudaDevice::download(void *to, const DeviceBuffer &from, size_t bytes) {
  return check(api, api->memcpyDtoH(to, from.get(), bytes), "cuMemcpyDtoH");
}

Status CudaDevice::uploadTo(uint64_t to, const void *from, size_t bytes) {
  return check(api, api->memcpyHtoD(to, from, bytes), "cuMemcpyHtoD");
}

Status CudaDevice::downloadFrom(void *to, uint64_t from, size_t bytes) {
  return check(api, api->memcpyDtoH(to, from, bytes), "cuMemcpyDtoH");
}

Status CudaDevice::copyWithin(uint64_t to, uint64_t from, size_t bytes) {
  return check(api, api->memcpyDtoD(to, from, bytes), "cuMemcpyDtoD");
}

Status CudaDevice::loadModule(const std::vector<char> &cubin) {
  if (module) {
    api->moduleUnload(module);
    module = nullptr;
  }
  return check(api, api->moduleLoadData(&module, cubin.data()),
               "cuModuleLoadData");
}

Status CudaDevice::launch(const std::string &kernel, const unsigned grid[3],
                          const unsigned block[3], void **args, bool wait) {
  void *function = nullptr;
  Status status =
      check(api, api->moduleGetFunction(&function, module, kernel.c_str()),
            "cuModuleGetFunction");
  if (!status.isOk())
    return status;
  status =
      check(api,
            api->launchKernel(function, grid[0], grid[1], grid[2], block[0],
                              block[1], block[2], 0, nullptr, args, nullptr),
            "cuLaunchKernel");
  if (!status.isOk() || !wait)
    return status;
  return check(api, api->ctxSynchronize(), "cuCtxSynchronize");
}

} // namespace llmrt::cuda
