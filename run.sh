#!/usr/bin/env bash
# The main job: inpaint the sample image with the bundled default model.
# On a fresh machine it first installs the runtime into .venv (CPU, ONNX Runtime).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/rmnet ]; then
  python3 -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q "scikit-build-core>=0.10" "pybind11>=2.12" "cmake>=3.25"
  .venv/bin/python -m pip install -q --no-build-isolation -e .
fi
mkdir -p out
.venv/bin/rmnet inpaint examples/sample.jpg examples/sample_mask.png -o out/sample_filled.png \
  --compare out/before_after.png --overwrite
