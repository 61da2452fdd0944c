//===- CompiledModel.cpp - A model JIT-compiled for the CPU ---------------===//
//
// Part of LLMC, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "llm/JIT/CompiledModel.h"
#include "llm/Support/RuntimeError.h"

#include "Kernels.h"
#include "SafeTensors.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/TargetSelect.h"

#include <cstring>

using namespace mlir;
using namespace mlir::llm;
using llmrt::DType;
using llmrt::TensorInfo;

CompiledModel::~CompiledModel() = default;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, d] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(d);
  return text + "]";
}

/// The symbols of every function that generated code calls (Kernels.def),
/// for the JIT's linker.
static llvm::orc::SymbolMap kernelSymbols(llvm::orc::MangleAndInterner mangle) {
  llvm::orc::SymbolMap map;
  auto add = [&](llvm::StringRef name, auto *fn) {
    map[mangle(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                         llvm::JITSymbolFlags::Exported};
  };
#define LLMK_PTR(type, name)
#define LLMK_I32(name)
#define LLMK_I64(name)
#define LLMK_U64(name)
#define LLMK_F32(name)
#define LLMK_F64(name)
#define LLMK_KERNEL(name, args) add(#name, &name);
#include "Kernels.def"
#undef LLMK_KERNEL
#undef LLMK_PTR
#undef LLMK_I32
#undef LLMK_I64
#undef LLMK_U64
#undef LLMK_F32
#undef LLMK_F64
  return map;
}

/// Bytes per element of a parameter element type the kernels read.
static std::optional<DType> getKernelDType(Type type) {
  if (type.isF32())
    return DType::F32;
  if (type.isF16())
    return DType::F16;
  if (type.isBF16())
    return DType::BF16;
  return std::nullopt;
}

namespace {
/// A tensor's bytes while it is being packed: either a view of the archive or
/// an owned buffer.
struct Buffer {
  const uint8_t *data = nullptr;
  std::unique_ptr<uint8_t[]> owned;
  size_t elementSize = 0;
  llvm::SmallVector<int64_t> shape;

  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  void own(std::unique_ptr<uint8_t[]> bytes) {
    owned = std::move(bytes);
    data = owned.get();
  }
};
} // namespace

/// Loads archive tensor `name` as `elementType` ([...] in its stored shape).
static llvm::Expected<Buffer> loadTensor(const SafeTensorsArchive &archive,
                                         llvm::StringRef name, Type elementType,
                                         llvm::StringRef paramName) {
  const TensorInfo *info = archive.lookup(name);
  if (!info)
    return makeError(llvm::formatv("{0}: missing tensor '{1}' (needed for "
                                   "parameter '{2}')",
                                   archive.directory(), name, paramName));
  std::optional<DType> want = getKernelDType(elementType);
  if (!want)
    return makeError(llvm::formatv("parameter '{0}': unsupported element "
                                   "type for the CPU kernels",
                                   paramName));
  Buffer buffer;
  buffer.shape.assign(info->shape.begin(), info->shape.end());
  buffer.elementSize = getDTypeSize(*want);
  if (info->dtype == *want) {
    buffer.data = info->data;
    return std::move(buffer);
  }
  if (*want != DType::F32)
    return makeError(llvm::formatv(
        "{0}: tensor '{1}': dtype {2} cannot be used as {3}; expected {3}",
        info->file, name, getDTypeName(info->dtype), getDTypeName(*want)));
  auto bytes = std::make_unique<uint8_t[]>(info->getNumElements() * 4);
  if (llvm::Error err = toLLVMError(
          llmrt::copyAsF32(*info, reinterpret_cast<float *>(bytes.get()))))
    return std::move(err);
  buffer.own(std::move(bytes));
  return std::move(buffer);
}

/// Packs one `llm.params` entry into the layout the kernels read.
static llvm::Expected<Buffer> packParam(const SafeTensorsArchive &archive,
                                        DictionaryAttr param) {
  auto name = param.getAs<StringAttr>("name").getValue();
  auto type = cast<RankedTensorType>(param.getAs<TypeAttr>("type").getValue());
  Type element = type.getElementType();
  auto mismatch = [&](llvm::StringRef what, llvm::ArrayRef<int64_t> found) {
    return makeError(llvm::formatv(
        "{0}: tensor '{1}': shape {2}{3}, expected {4}", archive.directory(),
        name, formatShape(found), what, formatShape(type.getShape())));
  };

  if (auto stacked = param.getAs<ArrayAttr>("stacked")) {
    Buffer result;
    result.shape.assign(type.getShape().begin(), type.getShape().end());
    result.elementSize = getDTypeSize(*getKernelDType(element));
    int64_t partBytes = type.getNumElements() / type.getDimSize(0) *
                        static_cast<int64_t>(result.elementSize);
    auto bytes = std::make_unique<uint8_t[]>(partBytes * stacked.size());
    for (auto [i, partName] :
         llvm::enumerate(stacked.getAsValueRange<StringAttr>())) {
      llvm::Expected<Buffer> part =
          loadTensor(archive, partName, element, name);
      if (!part)
        return part.takeError();
      if (llvm::ArrayRef<int64_t>(part->shape) != type.getShape().drop_front())
        return makeError(llvm::formatv(
            "{0}: tensor '{1}': shape {2}, expected {3} (one part of '{4}')",
            archive.directory(), partName, formatShape(part->shape),
            formatShape(type.getShape().drop_front()), name));
      std::memcpy(bytes.get() + i * partBytes, part->data, partBytes);
    }
    result.own(std::move(bytes));
    return std::move(result);
  }

  llvm::Expected<Buffer> loaded = loadTensor(archive, name, element, name);
  if (!loaded)
    return loaded.takeError();
  Buffer buffer = std::move(*loaded);
  size_t es = buffer.elementSize;

  if (param.get("transpose")) {
    if (buffer.shape.size() != 2)
      return mismatch(" (expected rank 2 to transpose)", buffer.shape);
    int64_t rows = buffer.shape[0], cols = buffer.shape[1];
    auto bytes = std::make_unique<uint8_t[]>(rows * cols * es);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        std::memcpy(bytes.get() + (c * rows + r) * es,
                    buffer.data + (r * cols + c) * es, es);
    buffer.own(std::move(bytes));
    buffer.shape = {cols, rows};
  }

  if (auto blocks = param.getAs<DenseI64ArrayAttr>("row_blocks")) {
    llvm::ArrayRef<int64_t> b = blocks.asArrayRef();
    int64_t start = b[0], size = b[1], stride = b[2], count = b[3];
    int64_t rows = buffer.shape.empty() ? 1 : buffer.shape[0];
    int64_t lastRow = start + (count - 1) * stride + size;
    if (lastRow > rows)
      return makeError(llvm::formatv(
          "{0}: tensor '{1}': row_blocks [{2}, {3}, {4}, {5}] read up to row "
          "{6}, but the tensor has {7} rows",
          archive.directory(), name, start, size, stride, count, lastRow,
          rows));
    int64_t rowBytes = buffer.numElements() / rows * es;
    auto bytes = std::make_unique<uint8_t[]>(size * count * rowBytes);
    for (int64_t i = 0; i < count; ++i)
      std::memcpy(bytes.get() + i * size * rowBytes,
                  buffer.data + (start + i * stride) * rowBytes,
                  size * rowBytes);
    buffer.own(std::move(bytes));
    buffer.shape[0] = size * count;
  }

  if (llvm::ArrayRef<int64_t>(buffer.shape) != type.getShape())
    return mismatch(param.get("transpose") || param.get("row_blocks")
                        ? " after transpose/row_blocks"
                        : "",
                    buffer.shape);
  return std::move(buffer);
}

llvm::Error CompiledModel::bindParams(ArrayAttr params,
                                      const SafeTensorsArchive &archive) {
  for (Attribute attr : params) {
    llvm::Expected<Buffer> buffer =
        packParam(archive, cast<DictionaryAttr>(attr));
    if (!buffer)
      return buffer.takeError();
    uint64_t bytes = buffer->numElements() * buffer->elementSize;
    if (buffer->owned) {
      packedBytes += bytes;
      packed.push_back(std::move(buffer->owned));
    } else {
      mappedBytes += bytes;
    }
    paramPointers.push_back(const_cast<uint8_t *>(buffer->data));
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<CompiledModel>>
CompiledModel::create(ModuleOp lowered, const SafeTensorsArchive &archive,
                      unsigned optLevel) {
  std::unique_ptr<CompiledModel> model(new CompiledModel());
  auto params = lowered->getAttrOfType<ArrayAttr>("llm.params");
  if (!params)
    return makeError("expected a module lowered by --llm-lower-to-cpu (no "
                     "'llm.params' attribute)");
  if (llvm::Error err = model->bindParams(params, archive))
    return std::move(err);

  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  MLIRContext *context = lowered.getContext();
  registerBuiltinDialectTranslation(*context);
  registerLLVMDialectTranslation(*context);

  ExecutionEngineOptions options;
  std::function<llvm::Error(llvm::Module *)> transformer =
      makeOptimizingTransformer(optLevel, 0, nullptr);
  options.transformer = transformer;
  options.jitCodeGenOptLevel =
      static_cast<llvm::CodeGenOptLevel>(std::min(optLevel, 3u));
  auto engine = ExecutionEngine::create(lowered, options);
  if (!engine)
    return engine.takeError();
  model->engine = std::move(*engine);
  model->engine->registerSymbols(kernelSymbols);

  int64_t arenaBytes = 0;
  for (auto func : lowered.getOps<LLVM::LLVMFuncOp>()) {
    auto arena = func->getAttrOfType<IntegerAttr>("llm.arena_bytes");
    if (!arena)
      continue;
    EntryPoint entry;
    entry.name = func.getSymName().str();
    entry.arenaBytes = arena.getInt();
    for (Attribute t : func->getAttrOfType<ArrayAttr>("llm.arg_types"))
      entry.argTypes.push_back(cast<TypeAttr>(t).getValue());
    for (Attribute t : func->getAttrOfType<ArrayAttr>("llm.result_types"))
      entry.resultTypes.push_back(
          cast<RankedTensorType>(cast<TypeAttr>(t).getValue()));
    llvm::Expected<void *> fn = model->engine->lookup(entry.name);
    if (!fn)
      return fn.takeError();
    entry.fn = reinterpret_cast<decltype(entry.fn)>(*fn);
    arenaBytes = std::max(arenaBytes, entry.arenaBytes);
    model->entries.push_back(std::move(entry));
  }
  // One arena serves every entry point: they never run concurrently.
  model->arenaStorage = std::make_unique<uint8_t[]>(arenaBytes + 64);
  model->arena = reinterpret_cast<void *>(llvm::alignTo(
      reinterpret_cast<uintptr_t>(model->arenaStorage.get()), 64));
  return std::move(model);
}

llvm::Expected<const EntryPoint *>
CompiledModel::lookup(llvm::StringRef name) const {
  std::string names;
  for (const EntryPoint &entry : entries) {
    if (entry.name == name)
      return &entry;
    names += (names.empty() ? "" : ", ") + entry.name;
  }
  return makeError(llvm::formatv(
      "no entry point '{0}' in the compiled model; it has: {1}", name, names));
}

void CompiledModel::run(const EntryPoint &entry, llvm::ArrayRef<void *> args,
                        llvm::ArrayRef<void *> results) {
  entry.fn(paramPointers.data(), arena, const_cast<void **>(args.data()),
           const_cast<void **>(results.data()));
}
