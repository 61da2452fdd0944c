# lit configuration of the LLMC test suite.
import os
import sys

import lit.formats
from lit.llvm import llvm_config

config.name = "LLMC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.llmc_obj_root, "test")
# Inputs of tests, not tests; unit/ is its own suite (GoogleTest).
# fuzz/corpus and fuzz/regressions hold the fuzzers' inputs, not tests.
config.excludes = ["Inputs", "unit", "corpus", "regressions", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%llmc_src_root", config.llmc_src_root))
config.substitutions.append(("%llmc_obj_root", config.llmc_obj_root))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
# llm-run's compile cache stays in the build tree (its keys include the
# compiler's libraries, so a rebuild never reuses stale code).
config.environment["LLMC_CACHE_DIR"] = os.path.join(config.llmc_obj_root, "test", "compile-cache")
# A CUDA device (the driver loads, cuInit succeeds, a device is counted):
# the device parity tests (e2e/cuda-device.test) need one, and are
# UNSUPPORTED without it, which the summary shows.
def _has_cuda_device():
    import ctypes
    try:
        driver = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        return driver.cuInit(0) == 0 and driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0
    except OSError:
        return False
if _has_cuda_device():
    config.available_features.add("cuda-device")
# NVRTC (CUDA's run-time compiler, which LLMC loads with dlopen): the CUDA
# tests that compile kernels need it, and are UNSUPPORTED without it.
import ctypes
for name in ("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so", "/usr/local/cuda/lib64/libnvrtc.so"):
    try:
        ctypes.CDLL(name)
        config.available_features.add("nvrtc")
        break
    except OSError:
        pass
llvm_config.use_default_substitutions()

tool_dirs = [config.llmc_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    ["llm-opt", "llm-run", "llm-compile", "llm-tokenize", "llmc-generate", "llmc-embed", "llmc-embed-jit", "config-replay", "pipeline-replay", "safetensors-replay", "gguf-replay", "onnx-replay"],
    tool_dirs,
)
# The external shell of the e2e suite needs these as paths too.
llvm_config.add_tool_substitutions(
    ["not", "FileCheck", "llvm-nm", "llvm-readobj"], [config.llvm_tools_dir])
# The end-to-end fixtures (tiny Hugging Face models), for suites outside e2e/.
config.substitutions.append(("%fixtures", os.path.join(config.llmc_src_root, "test", "e2e")))
# The tokenizer parity fixtures (tokenizer files, corpus, references).
config.substitutions.append(("%tokfixtures", os.path.join(config.llmc_src_root, "test", "tokenizer")))
# Test inputs too big to commit, installed by scripts/fetch_test_inputs.sh.
config.substitutions.append(("%minilm", os.path.join(config.llmc_src_root, "test-inputs", "all-MiniLM-L6-v2")))
# The interpreter running lit; scripts/setup.sh installs numpy for it.
config.substitutions.append(("%python", sys.executable))
if config.llmc_have_nvrtc:
    config.available_features.add("nvrtc")
