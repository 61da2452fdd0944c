//===- Model.cpp - A compiled model: native code, weights, manifest -------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "Model.h"
#include "Common.h"
#include "GGMLBlocks.h"
#include "Kernels.h"
#include "Layout.h"
#include "Memory.h"
#include "Quant.h"
#include "SafeTensors.h"
#include "cuda/Launchers.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

using namespace llmrt;

CodeProvider::~CodeProvider() = default;

/// Bytes of a tensor of the manifest (i1 as one byte).
static uint64_t getTensorBytes(const TensorDesc &tensor) {
  return static_cast<uint64_t>(tensor.getNumElements()) *
         static_cast<uint64_t>(getElementBytes(tensor.dtype));
}

Model::~Model() {
  if (!launchExecutor)
    return;
  for (void *memory : executorMemory)
    launchExecutor->release(memory);
}

Status
Model::useLaunchExecutor(std::shared_ptr<cuda::LaunchExecutor> executor) {
  if (launchExecutor || !executor)
    return Status::error(ErrorCode::Internal,
                         "internal error: a model takes one launch executor");
  launchExecutor = std::move(executor);
  auto allocate = [&](uint64_t bytes, const std::string &what,
                      void **memory) -> Status {
    Expected<void *> got = launchExecutor->allocate(bytes);
    if (!got) {
      Status failed = got.takeStatus();
      return Status::error(failed.code(), what + ": " + failed.message());
    }
    executorMemory.push_back(*got);
    *memory = *got;
    return Status::ok();
  };
  // The weights, copied into the executor's memory; the host's copies of
  // repacked ones are freed (mapped ones are the checkpoint's pages).
  for (size_t i = 0; i < paramPointers.size(); ++i) {
    void *memory = nullptr;
    Status status = allocate(
        paramBytes[i], "parameter '" + manifest.params[i].name + "'", &memory);
    if (!status.isOk())
      return status;
    status = launchExecutor->upload(memory, paramPointers[i], paramBytes[i]);
    if (!status.isOk())
      return status;
    paramPointers[i] = memory;
  }
  packed.clear();
  int64_t arenaBytes = 0;
  for (const EntryDesc &desc : manifest.entries)
    arenaBytes = std::max(arenaBytes, desc.arenaBytes);
  Status status =
      allocate(uint64_t(arenaBytes), "the activations arena", &arena);
  if (!status.isOk())
    return status;
  arenaStorage = HeapArray<uint8_t>();
  // Each entry point's arguments and results are staged through buffers of
  // the executor's (a cache argument is a host descriptor of executor
  // memory, passed as it is).
  for (const Entry &entry : entries) {
    Staging staging;
    for (const ArgDesc &arg : entry.desc->args) {
      void *memory = nullptr;
      if (!arg.cache) {
        status =
            allocate(getTensorBytes(arg.tensor), "an argument buffer", &memory);
        if (!status.isOk())
          return status;
      }
      staging.args.push_back(memory);
    }
    for (const TensorDesc &result : entry.desc->results) {
      void *memory = nullptr;
      status = allocate(getTensorBytes(result), "a result buffer", &memory);
      if (!status.isOk())
        return status;
      staging.results.push_back(memory);
    }
    staged[entry.desc] = std::move(staging);
  }
  return Status::ok();
}

namespace {

std::string formatShape(const std::vector<int64_t> &shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? ", " : "") + std::to_string(shape[i]);
  return text + "]";
}

/// The safetensors dtype the kernels read a parameter of `type` as.
std::optional<DType> getKernelDType(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return DType::F32;
  case ElementType::F16:
    return DType::F16;
  case ElementType::BF16:
    return DType::BF16;
  default:
    return std::nullopt;
  }
}

/// Bytes that cannot be allocated are an error, not an abort.
Expected<HeapArray<uint8_t>> allocate(uint64_t bytes, const std::string &what) {
  return allocateArray<uint8_t>(bytes, what);
}

/// Asks the kernel to drop the pages of a range of the archive's read-only
/// mapping whose contents were copied elsewhere (a weight repacked at load),
/// so that resident memory does not count the weight twice. MADV_PAGEOUT
/// only reclaims: the contents stay readable (re-read from the file), so
/// this is safe even if something else reads the same range later.
void releaseMappedPages(const void *data, uint64_t bytes) {
#ifdef MADV_PAGEOUT
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  uintptr_t begin =
      (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  if (end > begin)
    ::madvise(reinterpret_cast<void *>(begin), end - begin, MADV_PAGEOUT);
#else
  (void)data;
  (void)bytes;
#endif
}

/// A tensor's bytes while it is being packed: either a view of the archive
/// or an owned buffer.
struct Buffer {
  const uint8_t *data = nullptr;
  HeapArray<uint8_t> owned;
  size_t elementSize = 0;
  std::vector<int64_t> shape;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  void own(HeapArray<uint8_t> bytes) {
    owned = std::move(bytes);
    data = owned.get();
  }
};

/// Loads archive tensor `name` as `want` (in its stored shape), for
/// parameter `paramName`.
Expected<Buffer> loadTensor(const SafeTensorsArchive &archive,
                            const std::string &name, DType want,
                            const std::string &paramName) {
  const TensorInfo *info = archive.lookup(name);
  if (!info)
    return Status::error(ErrorCode::Format,
                         archive.directory() + ": missing tensor '" + name +
                             "' (needed for parameter '" + paramName + "')");
  Buffer buffer;
  buffer.shape = info->shape;
  buffer.elementSize = getDTypeSize(want);
  if (info->dtype == want) {
    buffer.data = info->data;
    return buffer;
  }
  if (want != DType::F32) {
    std::string from(getDTypeName(info->dtype)), to(getDTypeName(want));
    return Status::error(ErrorCode::Format,
                         info->file + ": tensor '" + name + "': dtype " + from +
                             " cannot be used as " + to + "; expected " + to);
  }
  Expected<HeapArray<uint8_t>> bytes = allocateArray<uint8_t>(
      uint64_t(info->getNumElements()) * 4, "tensor '" + name + "'");
  if (!bytes)
    return bytes.takeStatus();
  Status status = copyAsF32(*info, reinterpret_cast<float *>(bytes->get()));
  if (!status.isOk())
    return status;
  buffer.own(std::move(*bytes));
  return buffer;
}

/// One parameter in its shape (`param.shape`: stacked, transposed, rows
/// gathered) as `param.dtype`, before the kernels' layout (panels,
/// quantization).
Expected<Buffer> loadParam(const SafeTensorsArchive &archive,
                           const ParamDesc &param) {
  std::optional<DType> want = getKernelDType(param.dtype);
  if (!want)
    return Status::error(ErrorCode::Unsupported,
                         "parameter '" + param.name +
                             "': unsupported element type for the CPU "
                             "kernels");
  auto mismatch = [&](const std::string &what,
                      const std::vector<int64_t> &found) {
    return Status::error(ErrorCode::Format,
                         archive.directory() + ": tensor '" + param.name +
                             "': shape " + formatShape(found) + what +
                             ", expected " + formatShape(param.shape));
  };

  if (!param.stacked.empty()) {
    if (param.shape.empty() ||
        param.shape[0] != static_cast<int64_t>(param.stacked.size()))
      return mismatch(" (stacked from " + std::to_string(param.stacked.size()) +
                          " tensors)",
                      param.shape);
    std::vector<int64_t> partShape(param.shape.begin() + 1, param.shape.end());
    Buffer result;
    result.shape = param.shape;
    result.elementSize = getDTypeSize(*want);
    int64_t partBytes = result.numElements() / param.shape[0] *
                        static_cast<int64_t>(result.elementSize);
    Expected<HeapArray<uint8_t>> bytes =
        allocateArray<uint8_t>(uint64_t(partBytes) * param.stacked.size(),
                               "parameter '" + param.name + "'");
    if (!bytes)
      return bytes.takeStatus();
    for (size_t i = 0; i < param.stacked.size(); ++i) {
      Expected<Buffer> part =
          loadTensor(archive, param.stacked[i], *want, param.name);
      if (!part)
        return part.takeStatus();
      if (part->shape != partShape)
        return Status::error(
            ErrorCode::Format,
            archive.directory() + ": tensor '" + param.stacked[i] +
                "': shape " + formatShape(part->shape) + ", expected " +
                formatShape(partShape) + " (one part of '" + param.name + "')");
      std::memcpy(bytes->get() + i * partBytes, part->data, partBytes);
    }
    result.own(std::move(*bytes));
    return result;
  }

  Expected<Buffer> loaded = loadTensor(archive, param.name, *want, param.name);
  if (!loaded)
    return loaded.takeStatus();
  Buffer buffer = std::move(*loaded);
  size_t es = buffer.elementSize;

  if (param.transpose) {
    if (buffer.shape.size() != 2)
      return mismatch(" (expected rank 2 to transpose)", buffer.shape);
    int64_t rows = buffer.shape[0], cols = buffer.shape[1];
    Expected<HeapArray<uint8_t>> bytes = allocateArray<uint8_t>(
        uint64_t(rows) * cols * es, "parameter '" + param.name + "'");
    if (!bytes)
      return bytes.takeStatus();
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        std::memcpy(bytes->get() + (c * rows + r) * es,
                    buffer.data + (r * cols + c) * es, es);
    buffer.own(std::move(*bytes));
    buffer.shape = {cols, rows};
  }

  if (param.rowBlocks) {
    auto [start, size, stride, count] = *param.rowBlocks;
    int64_t rows = buffer.shape.empty() ? 1 : buffer.shape[0];
    int64_t lastRow = start + (count - 1) * stride + size;
    if (count <= 0 || size <= 0 || lastRow > rows)
      return Status::error(
          ErrorCode::Format,
          archive.directory() + ": tensor '" + param.name + "': row_blocks [" +
              std::to_string(start) + ", " + std::to_string(size) + ", " +
              std::to_string(stride) + ", " + std::to_string(count) +
              "] read up to row " + std::to_string(lastRow) +
              ", but the tensor has " + std::to_string(rows) + " rows");
    int64_t rowBytes = buffer.numElements() / rows * es;
    Expected<HeapArray<uint8_t>> bytes = allocate(
        uint64_t(size) * count * rowBytes, "parameter '" + param.name + "'");
    if (!bytes)
      return bytes.takeStatus();
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(bytes->get() + i * size * rowBytes,
                  buffer.data + (start + i * stride) * rowBytes,
                  size * rowBytes);
    buffer.own(std::move(*bytes));
    buffer.shape[0] = size * count;
  }

  if (buffer.shape != param.shape)
    return mismatch(
        param.transpose || param.rowBlocks ? " after transpose/row_blocks" : "",
        buffer.shape);
  return buffer;
}

/// Quantized parameter `param` packed from chosen codes ([n, k]) and grids
/// ([n, groups]) into llmk_linear_q's layout, with `perm` (k features, for
/// an act-order weight: LLMK_QUANT_PERMUTED) after it when given.
Expected<Buffer> packChosen(const ParamDesc &param, const int8_t *codes,
                            const llmk::QuantGrid *grids,
                            const int32_t *perm = nullptr) {
  const ParamDesc::Quantization &q = *param.quant;
  const int64_t n = param.shape[0], k = param.shape[1];
  const int64_t weightBytes =
      llmk::quantPackedBytes(n, k, q.bits, q.group, q.int8Activations);
  const int64_t permOffset =
      llmk::quantPermOffset(n, k, q.bits, q.group, q.int8Activations);
  const int64_t bytes = perm ? permOffset + k * 4 : weightBytes;
  Expected<HeapArray<uint8_t>> packed = allocateAlignedArray<uint8_t>(
      uint64_t(bytes), "parameter '" + param.name + "' (quantized)");
  if (!packed)
    return packed.takeStatus();
  llmk::packQuantized(codes, grids, n, k, q.bits, q.group, packed->get(),
                      q.int8Activations);
  if (perm) {
    std::memset(packed->get() + weightBytes, 0, permOffset - weightBytes);
    std::memcpy(packed->get() + permOffset, perm, k * 4);
  }
  Buffer buffer;
  buffer.own(std::move(*packed));
  buffer.shape = {bytes};
  buffer.elementSize = 1;
  return buffer;
}

/// `value`'s codes packed for quantized parameter `param`.
Expected<Buffer> packCodes(const ParamDesc &param, const ParamValue &value) {
  const ParamDesc::Quantization &q = *param.quant;
  int64_t n = param.shape[0], k = param.shape[1];
  int64_t groups = llmk::quantGroups(k, q.group);
  if (static_cast<int64_t>(value.codes.size()) != n * k ||
      static_cast<int64_t>(value.scales.size()) != n * groups ||
      value.offsets.size() != value.scales.size())
    return Status::error(
        ErrorCode::Internal,
        "internal error: parameter '" + param.name + "': calibrated values " +
            "of " + std::to_string(value.codes.size()) + " codes and " +
            std::to_string(value.scales.size()) + " scales, expected " +
            std::to_string(n * k) + " and " + std::to_string(n * groups));
  std::vector<llmk::QuantGrid> grids(value.scales.size());
  for (size_t i = 0; i < grids.size(); ++i) {
    grids[i].scale = value.scales[i];
    grids[i].offset = value.offsets[i];
  }
  return packChosen(param, value.codes.data(), grids.data());
}

/// A tensor of a pre-quantized projection, checked: `dtype` (any float
/// dtype for `floats`) and `shape`.
Expected<const TensorInfo *>
checkpointTensor(const SafeTensorsArchive &archive, const std::string &name,
                 const std::string &format, bool floats,
                 const std::vector<int64_t> &shape) {
  const TensorInfo *info = archive.lookup(name);
  if (!info)
    return Status::error(ErrorCode::Format,
                         archive.directory() + ": missing tensor '" + name +
                             "' (a " + format + " projection, expected shape " +
                             formatShape(shape) + ")");
  bool dtypeOk = floats
                     ? (info->dtype == DType::F16 ||
                        info->dtype == DType::BF16 || info->dtype == DType::F32)
                     : info->dtype == DType::I32;
  if (!dtypeOk)
    return Status::error(ErrorCode::Format,
                         info->file + ": tensor '" + name + "': dtype " +
                             std::string(getDTypeName(info->dtype)) +
                             ", expected " +
                             (floats ? "F16, BF16 or F32" : "I32") + " (" +
                             format + " packing)");
  if (info->shape != shape)
    return Status::error(ErrorCode::Format,
                         info->file + ": tensor '" + name + "': shape " +
                             formatShape(info->shape) + ", expected " +
                             formatShape(shape) + " (" + format + " packing)");
  return info;
}

/// The weight `param` that a GGUF file holds in ggml's Q8_0, Q4_0 or Q4_1
/// (blocks of 32: an f16 scale d, for Q4_1 an f16 minimum m, then the
/// values), repacked for the kernels: Q8_0's value is d * q (the 8-bit grid
/// with offset 0), Q4_0's d * (q - 8) (offset -8 d) and Q4_1's d * q + m,
/// all exact; Q4_0 and Q4_1 store value i of a block in the low nibble of
/// byte i and value i + 16 in its high nibble, as the kernels do.
Expected<Buffer> unpackGGML(const SafeTensorsArchive &archive,
                            const ParamDesc &param) {
  const ParamDesc::Quantization &q = *param.quant;
  const int64_t n = param.shape[0], k = param.shape[1];
  const llmk::GGMLKernelFormat *format =
      llmk::findGGMLKernelFormat(q.checkpoint.c_str());
  const int64_t blocks = format ? k / format->blockElements : 0;
  const int64_t bytes = format ? n * blocks * format->blockBytes : 0;
  const TensorInfo *info = archive.lookup(param.name);
  if (!format || !info || info->numBytes != static_cast<uint64_t>(bytes) ||
      q.group != format->group ||
      (q.bits != format->bits && (q.bits != 8 || format->bits == 4)) ||
      k % format->blockElements != 0)
    return Status::error(ErrorCode::Format,
                         archive.directory() + ": tensor '" + param.name +
                             "': expected " + std::to_string(bytes) +
                             " bytes of " + q.checkpoint.substr(5) +
                             " blocks for a [" + std::to_string(n) + ", " +
                             std::to_string(k) + "] projection, found " +
                             (info ? std::to_string(info->numBytes) + " bytes"
                                   : std::string("no such tensor")));
  std::vector<int8_t> codes(n * k);
  std::vector<float> scales(n * k / format->group),
      offsets(n * k / format->group);
  llmk::decodeGGMLCodes(static_cast<uint32_t>(format->type), info->data,
                        n * blocks, codes.data(), scales.data(),
                        offsets.data());
  std::vector<llmk::QuantGrid> grids(n * k / format->group);
  for (size_t g = 0; g < grids.size(); ++g) {
    grids[g].scale = scales[g];
    grids[g].offset = offsets[g];
  }
  return packChosen(param, codes.data(), grids.data());
}

/// The weight `param` that the checkpoint holds quantized by GPTQ or AWQ,
/// repacked for the kernels: its integers and scales as they are, the zero
/// points as offsets (-scale * zero, stored as f16 like every offset).
Expected<Buffer> unpackCheckpoint(const SafeTensorsArchive &archive,
                                  const ParamDesc &param) {
  const ParamDesc::Quantization &q = *param.quant;
  const std::string &format = q.checkpoint;
  const bool awq = format == "awq";
  const int64_t n = param.shape[0], k = param.shape[1];
  const int64_t size = q.group == 0 ? k : q.group, groups = k / size;
  const int64_t pack = 32 / q.bits;
  const uint32_t mask = (1u << q.bits) - 1;
  if (n % pack != 0 || k % pack != 0)
    return Status::error(ErrorCode::Format,
                         "parameter '" + param.name + "': " + format +
                             " packs " + std::to_string(pack) +
                             " values per int32: expected dimensions that " +
                             "it divides, found [" + std::to_string(n) + ", " +
                             std::to_string(k) + "]");
  auto tensor = [&](const char *suffix, bool floats,
                    std::vector<int64_t> shape) {
    return checkpointTensor(archive, param.name + suffix, format, floats,
                            shape);
  };
  Expected<const TensorInfo *> qweight =
      awq ? tensor(".qweight", false, {k, n / pack})
          : tensor(".qweight", false, {k / pack, n});
  if (!qweight)
    return qweight.takeStatus();
  Expected<const TensorInfo *> qzeros =
      tensor(".qzeros", false, {groups, n / pack});
  if (!qzeros)
    return qzeros.takeStatus();
  Expected<const TensorInfo *> scalesInfo =
      tensor(".scales", true, {groups, n});
  if (!scalesInfo)
    return scalesInfo.takeStatus();
  std::vector<float> scales(groups * n);
  if (Status status = copyAsF32(**scalesInfo, scales.data()); !status.isOk())
    return status;
  auto word = [](const TensorInfo *t, int64_t index) {
    uint32_t value;
    std::memcpy(&value, t->data + index * 4, 4);
    return value;
  };
  // The input features in the order they are stored: grouped by g_idx
  // (act-order), or as they are.
  std::vector<int32_t> perm(k);
  for (int64_t i = 0; i < k; ++i)
    perm[i] = static_cast<int32_t>(i);
  if (!awq && archive.lookup(param.name + ".g_idx")) {
    Expected<const TensorInfo *> gIdx = tensor(".g_idx", false, {k});
    if (!gIdx)
      return gIdx.takeStatus();
    std::vector<int64_t> groupOf(k), count(groups, 0);
    for (int64_t i = 0; i < k; ++i) {
      groupOf[i] = static_cast<int32_t>(word(*gIdx, i));
      bool inRange = groupOf[i] >= 0 && groupOf[i] < groups;
      if (!inRange || (!q.actOrder && groupOf[i] != i / size) ||
          ++count[groupOf[i]] > size)
        return Status::error(
            ErrorCode::Format,
            (*gIdx)->file + ": tensor '" + param.name + ".g_idx': element " +
                std::to_string(i) + " is " + std::to_string(groupOf[i]) +
                ", expected " +
                (q.actOrder
                     ? "a group in [0, " + std::to_string(groups) +
                           ") that holds " + std::to_string(size) + " features"
                     : std::to_string(i / size) +
                           " (feature / group_size), as the compiled "
                           "model expects (the checkpoint changed "
                           "since it was imported?)"));
    }
    std::sort(perm.begin(), perm.end(), [&](int32_t a, int32_t b) {
      return groupOf[a] != groupOf[b] ? groupOf[a] < groupOf[b] : a < b;
    });
  }
  // AWQ's GEMM packing interleaves the 8 columns of a word: column c is in
  // nibble kAwqNibble[c].
  static constexpr int kAwqNibble[8] = {0, 4, 1, 5, 2, 6, 3, 7};
  auto zeroAt = [&](int64_t g, int64_t j) {
    uint32_t w = word(*qzeros, g * (n / pack) + j / pack);
    int shift = (awq ? kAwqNibble[j % pack] : j % pack) * q.bits;
    uint32_t z = (w >> shift) & mask;
    // GPTQ's original format stores each zero point minus one.
    return format == "gptq" ? (z + 1) & mask : z;
  };
  std::vector<int8_t> codes(n * k);
  std::vector<llmk::QuantGrid> grids(n * groups);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t g = 0; g < groups; ++g) {
      float scale = scales[g * n + j];
      float zero = static_cast<float>(zeroAt(g, j));
      llmk::QuantGrid &grid = grids[j * groups + g];
      grid.scale = scale;
      // 8-bit codes are stored signed (value - 128).
      grid.offset = q.bits == 8 ? scale * (128.0f - zero) : -scale * zero;
    }
  for (int64_t t = 0; t < k; ++t)
    for (int64_t j = 0; j < n; ++j) {
      const int64_t i = perm[t];
      uint32_t v;
      if (awq)
        v = (word(*qweight, i * (n / pack) + j / pack) >>
             (kAwqNibble[j % pack] * q.bits)) &
            mask;
      else
        v = (word(*qweight, (i / pack) * n + j) >> ((i % pack) * q.bits)) &
            mask;
      codes[j * k + t] = static_cast<int8_t>(
          q.bits == 8 ? static_cast<int>(v) - 128 : static_cast<int>(v));
    }
  return packChosen(param, codes.data(), grids.data(),
                    q.actOrder ? perm.data() : nullptr);
}

/// Packs one parameter into the layout the kernels read: from the
/// checkpoint, or from `value` when the compiler computed it.
Expected<Buffer> packParam(const SafeTensorsArchive &archive,
                           const ParamDesc &param, const ParamValue *value) {
  if (param.quant && param.quant->method != "rtn" &&
      (!value || (value->codes.empty() && value->values.empty())))
    return Status::error(
        ErrorCode::Unsupported,
        "parameter '" + param.name + "' is quantized with " +
            param.quant->method +
            ", whose values come from calibration data: the compiler must "
            "supply them (llm-run --calib FILE or --calib-ids FILE)");
  if (param.quant && param.quant->checkpoint.rfind("ggml_", 0) == 0)
    return unpackGGML(archive, param);
  if (param.quant && !param.quant->checkpoint.empty())
    return unpackCheckpoint(archive, param);
  if (value && !value->codes.empty()) {
    if (!param.quant)
      return Status::error(ErrorCode::Internal,
                           "internal error: quantized values for parameter '" +
                               param.name + "', which is not quantized");
    return packCodes(param, *value);
  }
  Buffer buffer;
  if (value && !value->values.empty()) {
    int64_t elements = 1;
    for (int64_t d : param.shape)
      elements *= d;
    if (param.dtype != ElementType::F32 || !param.stacked.empty() ||
        static_cast<int64_t>(value->values.size()) != elements)
      return Status::error(
          ErrorCode::Internal,
          "internal error: parameter '" + param.name +
              "': " + std::to_string(value->values.size()) +
              " computed f32 values for a parameter of " +
              std::to_string(elements) + " elements (" +
              (param.dtype == ElementType::F32 ? "f32" : "not f32") + ")");
    Expected<HeapArray<uint8_t>> bytes = allocateAlignedArray<uint8_t>(
        uint64_t(elements) * 4, "parameter '" + param.name + "'");
    if (!bytes)
      return bytes.takeStatus();
    std::memcpy(bytes->get(), value->values.data(), elements * 4);
    buffer.own(std::move(*bytes));
    buffer.shape = param.shape;
    buffer.elementSize = 4;
  } else {
    Expected<Buffer> loaded = loadParam(archive, param);
    if (!loaded)
      return loaded.takeStatus();
    buffer = std::move(*loaded);
  }
  size_t es = buffer.elementSize;

  if (param.quant) {
    // Quantized to nearest into llmk_linear_q's layout (Quant.h), from the
    // weight as f32.
    // Stacked experts ([experts, n, k]): each expert's matrix packed as one
    // weight, every llmk::quantExpertBytes.
    const ParamDesc::Quantization &q = *param.quant;
    const size_t rank = buffer.shape.size();
    const int64_t experts = rank == 3 ? buffer.shape[0] : 1;
    const int64_t n = buffer.shape[rank - 2], k = buffer.shape[rank - 1];
    const int64_t stride = llmk::quantExpertBytes(n, k, q.bits, q.group);
    int64_t bytes = rank == 3 ? experts * stride
                              : llmk::quantPackedBytes(n, k, q.bits, q.group,
                                                       q.int8Activations);
    Expected<HeapArray<uint8_t>> packed = allocateAlignedArray<uint8_t>(
        uint64_t(bytes), "parameter '" + param.name + "' (quantized)");
    if (!packed)
      return packed.takeStatus();
    if (rank == 3)
      for (int64_t e = 0; e < experts; ++e)
        llmk::quantizeWeight(
            reinterpret_cast<const float *>(buffer.data) + e * n * k, n, k,
            q.bits, q.group, q.symmetric, packed->get() + e * stride);
    else
      llmk::quantizeWeight(reinterpret_cast<const float *>(buffer.data), n, k,
                           q.bits, q.group, q.symmetric, packed->get(),
                           q.int8Activations);
    if (!buffer.owned)
      releaseMappedPages(buffer.data, uint64_t(experts * n) * k * es);
    buffer.own(std::move(*packed));
    buffer.shape = {bytes};
    buffer.elementSize = 1;
    return buffer;
  }

  if (param.panels && buffer.shape.size() == 3) {
    // Stacked experts: each [n, k] matrix in panels, one after another.
    int64_t experts = buffer.shape[0], n = buffer.shape[1], k = buffer.shape[2];
    int64_t each = llmk::panelElements(n, k);
    Expected<HeapArray<uint8_t>> bytes = allocateAlignedArray<uint8_t>(
        uint64_t(experts * each) * es,
        "parameter '" + param.name + "' (packed in panels)");
    if (!bytes)
      return bytes.takeStatus();
    for (int64_t e = 0; e < experts; ++e)
      llmk::packPanels(
          static_cast<const uint8_t *>(buffer.data) + e * n * k * es,
          static_cast<int64_t>(es), n, k, bytes->get() + e * each * es);
    if (!buffer.owned)
      releaseMappedPages(buffer.data, uint64_t(experts * n) * k * es);
    buffer.own(std::move(*bytes));
    buffer.shape = {experts, k > 0 ? each / k : n, k};
  } else if (param.panels) {
    // LLMK_LAYOUT_PANELS: [ceil(n / 48) * 48, k], padded with zero rows.
    int64_t n = buffer.shape[0], k = buffer.shape[1];
    int64_t elements = llmk::panelElements(n, k);
    // Cache-line aligned: every vector load of a panel is then one line.
    Expected<HeapArray<uint8_t>> bytes = allocateAlignedArray<uint8_t>(
        uint64_t(elements) * es,
        "parameter '" + param.name + "' (packed in panels)");
    if (!bytes)
      return bytes.takeStatus();
    llmk::packPanels(buffer.data, static_cast<int64_t>(es), n, k, bytes->get());
    if (!buffer.owned)
      releaseMappedPages(buffer.data, uint64_t(n) * k * es);
    buffer.own(std::move(*bytes));
    buffer.shape = {k > 0 ? elements / k : n, k};
  }
  return buffer;
}

} // namespace

Expected<std::vector<float>>
Model::loadParamF32(const SafeTensorsArchive &weights, const ParamDesc &param) {
  ParamDesc plain = param;
  plain.dtype = ElementType::F32;
  plain.panels = 0;
  plain.quant.reset();
  Expected<Buffer> buffer = loadParam(weights, plain);
  if (!buffer)
    return buffer.takeStatus();
  const auto *data = reinterpret_cast<const float *>(buffer->data);
  return std::vector<float>(data, data + buffer->numElements());
}

Status Model::bindParams(const ParamValues *values,
                         const std::vector<uint64_t> *prepackedBytes) {
  if (prepackedBytes && prepackedBytes->size() != manifest.params.size())
    return Status::error(ErrorCode::Format,
                         weights->directory() +
                             ": expected the packed size of "
                             "each of the " +
                             std::to_string(manifest.params.size()) +
                             " parameters, found " +
                             std::to_string(prepackedBytes->size()));
  for (size_t i = 0; i < manifest.params.size(); ++i) {
    const ParamDesc &param = manifest.params[i];
    if (prepackedBytes) {
      // An artifact's parameter, packed when it was compiled: mapped in
      // place.
      const std::string name = packedParamName(i, param.name);
      const TensorInfo *t = weights->lookup(name);
      const uint64_t want = (*prepackedBytes)[i];
      if (!t || t->dtype != DType::U8 || t->numBytes != want)
        return Status::error(
            ErrorCode::Format,
            weights->directory() + ": params.safetensors: tensor '" + name +
                "': expected the packed parameter (U8, " +
                std::to_string(want) + " bytes), found " +
                (t ? std::string(getDTypeName(t->dtype)) + ", " +
                         std::to_string(t->numBytes) + " bytes"
                   : std::string("nothing")));
      if (reinterpret_cast<uintptr_t>(t->data) % 64 != 0)
        return Status::error(ErrorCode::Format,
                             weights->directory() +
                                 ": params.safetensors: tensor '" + name +
                                 "': expected 64-byte aligned data");
      mappedBytes += want;
      paramPointers.push_back(const_cast<uint8_t *>(t->data));
      paramBytes.push_back(want);
      continue;
    }
    const ParamValue *value = nullptr;
    if (values)
      if (auto it = values->find(i); it != values->end())
        value = &it->second;
    Expected<Buffer> buffer = packParam(*weights, param, value);
    if (!buffer)
      return buffer.takeStatus();
    uint64_t bytes = buffer->numElements() * buffer->elementSize;
    if (buffer->owned) {
      packedBytes += bytes;
      packed.push_back(std::move(buffer->owned));
    } else {
      mappedBytes += bytes;
    }
    paramPointers.push_back(const_cast<uint8_t *>(buffer->data));
    paramBytes.push_back(bytes);
  }
  return Status::ok();
}

Expected<std::unique_ptr<Model>> Model::create(
    Manifest manifest, std::shared_ptr<const SafeTensorsArchive> weights,
    const CodeFactory &makeCode, bool checkMemory, const ParamValues *values,
    const std::vector<uint64_t> *prepackedBytes) {
  if (!makeCode || (!weights && !manifest.params.empty()))
    return Status::invalid("a model needs its native code and, when it has "
                           "parameters, their weights");
  if (checkMemory) {
    // The weights read in place must stay resident too, or every token
    // reads them from disk again.
    uint64_t mapped = 0;
    uint64_t allocated = 0;
    if (prepackedBytes) {
      for (uint64_t bytes : *prepackedBytes)
        mapped += bytes;
      for (const EntryDesc &entry : manifest.entries)
        allocated = std::max<uint64_t>(allocated, entry.arenaBytes);
    } else {
      allocated = estimateBytes(manifest, weights.get(), &mapped);
    }
    Status enough = llmrt::checkMemory(
        allocated + mapped, "the model's weights (" + formatBytes(mapped) +
                                " read in place from the checkpoint) and "
                                "repacked weights and activations arena (" +
                                formatBytes(allocated) + ")");
    if (!enough.isOk())
      return enough;
  }
  std::unique_ptr<Model> model(new Model());
  model->manifest = std::move(manifest);
  model->weights = std::move(weights);
  Status status = model->bindParams(values, prepackedBytes);
  if (!status.isOk())
    return status;
  Expected<std::unique_ptr<CodeProvider>> code = makeCode();
  if (!code)
    return code.takeStatus();
  if (!*code)
    return Status::error(ErrorCode::Internal,
                         "internal error: no native code for the model");
  model->code = std::move(*code);
  int64_t arenaBytes = 0;
  for (const EntryDesc &desc : model->manifest.entries) {
    void *address = model->code->lookup(desc.name);
    if (!address)
      return Status::error(ErrorCode::Format,
                           "the native code has no entry point '" + desc.name +
                               "', which the manifest lists");
    model->entries.push_back({&desc, reinterpret_cast<EntryFunction>(address)});
    arenaBytes = std::max(arenaBytes, desc.arenaBytes);
  }
  // One arena serves every entry point: they never run concurrently.
  Expected<HeapArray<uint8_t>> arena = allocateArray<uint8_t>(
      uint64_t(arenaBytes) + 64, "the activations arena");
  if (!arena)
    return arena.takeStatus();
  model->arenaStorage = std::move(*arena);
  auto address = reinterpret_cast<uintptr_t>(model->arenaStorage.get());
  model->arena = reinterpret_cast<void *>((address + 63) & ~uintptr_t(63));
  // Fault the arena in now, at load: otherwise the first call (the prompt's
  // prefill, which users time) pays a page fault per 4 KB of activations.
  std::memset(model->arenaStorage.get(), 0, uint64_t(arenaBytes) + 64);
  return model;
}

std::string llmrt::packedParamName(size_t index, const std::string &name) {
  return std::to_string(index) + "/" + name;
}

Expected<std::vector<Model::PackedParam>>
Model::packParams(const Manifest &manifest, const SafeTensorsArchive &weights) {
  std::vector<PackedParam> packedParams;
  for (const ParamDesc &param : manifest.params) {
    Expected<Buffer> buffer = packParam(weights, param, nullptr);
    if (!buffer)
      return buffer.takeStatus();
    PackedParam p;
    p.data = buffer->data;
    p.size = static_cast<uint64_t>(buffer->numElements()) * buffer->elementSize;
    p.storage = std::move(buffer->owned);
    packedParams.push_back(std::move(p));
  }
  return packedParams;
}

std::string Model::describeNonFiniteWeights() const {
  if (!weights)
    return "";
  std::string first;
  int64_t others = 0;
  auto check = [&](const std::string &name) {
    const TensorInfo *tensor = weights->lookup(name);
    if (!tensor)
      return;
    int64_t at = findNonFinite(*tensor);
    if (at < 0)
      return;
    if (!first.empty()) {
      ++others;
      return;
    }
    float value = 0;
    TensorInfo element = *tensor;
    size_t size = getDTypeSize(tensor->dtype);
    element.shape = {1};
    element.data = tensor->data + at * size;
    element.numBytes = size;
    bool nan = copyAsF32(element, &value).isOk() && std::isnan(value);
    first = "tensor '" + name + "' in '" + tensor->file + "' holds " +
            (nan ? "NaN" : "infinity") + " at element " + std::to_string(at);
  };
  for (const ParamDesc &param : manifest.params) {
    if (param.stacked.empty())
      check(param.name);
    for (const std::string &name : param.stacked)
      check(name);
  }
  if (others)
    first += " (and " + std::to_string(others) + " more tensor" +
             (others > 1 ? "s hold" : " holds") + " non-finite values)";
  return first;
}

uint64_t Model::estimateBytes(const Manifest &manifest,
                              const SafeTensorsArchive *weights,
                              uint64_t *mapped) {
  uint64_t bytes = 0;
  if (mapped)
    *mapped = 0;
  for (const ParamDesc &param : manifest.params) {
    uint64_t elements = 1;
    for (int64_t d : param.shape)
      elements *= static_cast<uint64_t>(d);
    if (param.panels && param.shape.size() == 2)
      elements = static_cast<uint64_t>(
          llmk::panelElements(param.shape[0], param.shape[1]));
    if (param.panels && param.shape.size() == 3)
      elements = static_cast<uint64_t>(
          param.shape[0] * llmk::panelElements(param.shape[1], param.shape[2]));
    if (param.quant) {
      // The quantized copy (the f32 one it is made from is freed once
      // quantized).
      const size_t rank = param.shape.size();
      const int64_t experts = rank == 3 ? param.shape[0] : 1;
      bytes += static_cast<uint64_t>(
          rank == 3
              ? experts * llmk::quantExpertBytes(param.shape[1], param.shape[2],
                                                 param.quant->bits,
                                                 param.quant->group)
              : llmk::quantPackedBytes(param.shape[0], param.shape[1],
                                       param.quant->bits, param.quant->group,
                                       param.quant->int8Activations));
      if (param.quant->actOrder)
        bytes += static_cast<uint64_t>(param.shape[1]) * 4 + 64;
      continue;
    }
    std::optional<DType> want = getKernelDType(param.dtype);
    const TensorInfo *stored = weights && param.stacked.empty()
                                   ? weights->lookup(param.name)
                                   : nullptr;
    // Repacked weights are allocated; the pages of their source are
    // released once copied.
    bool inPlace = want && stored && stored->dtype == *want &&
                   !param.transpose && !param.rowBlocks && !param.panels;
    if (!inPlace)
      bytes += elements * getElementBytes(param.dtype);
    else if (mapped)
      *mapped += stored->numBytes;
  }
  int64_t arena = 0;
  for (const EntryDesc &entry : manifest.entries)
    arena = std::max(arena, entry.arenaBytes);
  return bytes + static_cast<uint64_t>(arena);
}

Expected<const ModelInfo *> Model::getInfo() const {
  if (!manifest.model)
    return Status::error(ErrorCode::Unsupported,
                         "the manifest describes no model (no importer made "
                         "this module): it cannot generate");
  return &*manifest.model;
}

const Entry *Model::find(std::string_view name) const {
  for (const Entry &entry : entries)
    if (entry.desc->name == name)
      return &entry;
  return nullptr;
}

Status Model::run(const Entry &entry, void *const *args, void *const *results) {
  std::lock_guard<std::mutex> lock(runMutex);
  if (launchExecutor) {
    // Inputs into the executor's memory, the call, the results back.
    const Staging &staging = staged.at(entry.desc);
    std::vector<void *> stagedArgs(staging.args.size());
    for (size_t i = 0; i < stagedArgs.size(); ++i) {
      const ArgDesc &arg = entry.desc->args[i];
      stagedArgs[i] = arg.cache ? args[i] : staging.args[i];
      if (arg.cache)
        continue;
      Status copied = launchExecutor->upload(staging.args[i], args[i],
                                             getTensorBytes(arg.tensor));
      if (!copied.isOk())
        return copied;
    }
    cuda::setLaunchExecutor(launchExecutor.get());
    entry.function(paramPointers.data(), arena, stagedArgs.data(),
                   const_cast<void **>(staging.results.data()));
    // The launches' error flags are read while the executor is current.
    std::string error = cuda::takeLaunchError();
    cuda::setLaunchExecutor(nullptr);
    if (!error.empty())
      return Status::error(ErrorCode::Kernel, "CUDA launch error: " + error);
    for (size_t i = 0; i < staging.results.size(); ++i) {
      Status copied =
          launchExecutor->download(results[i], staging.results[i],
                                   getTensorBytes(entry.desc->results[i]));
      if (!copied.isOk())
        return copied;
    }
  } else {
    entry.function(paramPointers.data(), arena, const_cast<void **>(args),
                   const_cast<void **>(results));
  }
  if (const char *error = llmk_take_error())
    return Status::error(ErrorCode::Kernel,
                         std::string("kernel error: ") + error);
  return Status::ok();
}

Status Model::run(const Entry &entry, const EntryArgs &args,
                  void *const *results) {
  std::vector<void *> pointers;
  for (const ArgDesc &arg : entry.desc->args) {
    const void *pointer = nullptr;
    switch (arg.kind) {
    case ArgKind::Input:
      break;
    case ArgKind::Tokens:
      pointer = args.tokens;
      break;
    case ArgKind::Positions:
      pointer = args.positions;
      break;
    case ArgKind::TokenTypes:
      pointer = args.tokenTypes;
      break;
    case ArgKind::EncoderTokens:
      pointer = args.encoderTokens;
      break;
    case ArgKind::KVCache:
      pointer = args.cache;
      break;
    case ArgKind::Slots:
      pointer = args.slots;
      break;
    case ArgKind::BlockTables:
      pointer = args.blockTables;
      break;
    case ArgKind::ContextLens:
      pointer = args.contextLens;
      break;
    case ArgKind::CrossCache:
      pointer = args.crossCache;
      break;
    case ArgKind::CrossSlots:
      pointer = args.crossSlots;
      break;
    case ArgKind::CrossBlockTables:
      pointer = args.crossBlockTables;
      break;
    case ArgKind::CrossContextLens:
      pointer = args.crossContextLens;
      break;
    }
    if (!pointer)
      return Status::error(ErrorCode::Unsupported,
                           "entry point '" + entry.desc->name +
                               "' takes an argument of kind '" +
                               std::string(getArgKindName(arg.kind)) +
                               "', which this call does not provide");
    pointers.push_back(const_cast<void *>(pointer));
  }
  return run(entry, pointers.data(), results);
}

void llmrt::setNumThreads(int32_t threads) { llmk_set_num_threads(threads); }

int32_t llmrt::getNumThreads() { return llmk_get_num_threads(); }
