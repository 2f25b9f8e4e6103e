#!/usr/bin/env bash
# Reproduces benchmarks/results/cpu-2core-epyc-avx2/ (models built by benchmarks/make_models.py).
# PAUSE_PID: a background job to SIGSTOP while timing (always resumed), e.g. a training run.
set -euo pipefail
cd "$(dirname "$0")/.."
M=runs/bench-models
R=benchmarks/results/cpu-2core-epyc-avx2
P=${PAUSE_PID:+--pause-pid $PAUSE_PID}
# the CPU goal: 256x256, batch 1, many interleaved iterations
python benchmarks/bench.py --model $M/gf32mc-step800.onnx --keras $M/gf32mc-step800.keras \
  --int8 $M/gf32mc-step800-int8.onnx --sizes 256 --batches 1 --iterations 40 --rounds 5 \
  --min-seconds 3 $P -o $R/goal-gf32mc
python benchmarks/bench.py --model $M/gf64.onnx --keras $M/gf64.keras --int8 $M/gf64-int8.onnx \
  --sizes 256 --batches 1 --iterations 20 --rounds 5 --min-seconds 3 $P -o $R/goal-gf64
# the matrix: 256/512/1024/384x640, batch 1/4/16 up to 1 Mpixel per call
python benchmarks/bench.py --model $M/gf32mc-step800.onnx --keras $M/gf32mc-step800.keras \
  --int8 $M/gf32mc-step800-int8.onnx --iterations 3 --min-seconds 0 --rounds 3 --warmup 1 \
  $P -o $R/matrix-gf32mc
python benchmarks/bench.py --model $M/gf64.onnx --keras $M/gf64.keras --int8 $M/gf64-int8.onnx \
  --batches 1 --iterations 3 --min-seconds 0 --rounds 3 --warmup 1 $P -o $R/matrix-gf64
