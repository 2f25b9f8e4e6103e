"""Pre/post-processing overhead of ``Inpainter.run`` over raw model inference (CPU).

    python benchmarks/overhead.py [--model model.onnx] [--size 256] [--runs 30]

Raw inference = ``backend.infer`` on ready-made NCHW tensors; end to end = ``Inpainter.run`` on
a uint8 image + mask of the same size (resize strategy, so no resampling at 256², only
validation, conversion, masking and compositing) and on a larger photo-sized image. Runs are
interleaved so machine noise hits both alike; medians are reported.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rmnet_sdk import Inpainter  # noqa: E402
from rmnet_sdk.masks import make_mask  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", help="ONNX model (default: the bundled model)")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--large", default="768x1024", help="HxW of the second, resized case")
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", type=Path, help="write the numbers here")
    args = p.parse_args()

    inp = Inpainter(args.model, backend="onnxruntime", threads=args.threads, resolution=args.size)
    rng = np.random.default_rng(0)
    s = args.size
    lh, lw = (int(v) for v in args.large.split("x"))
    cases = {
        f"{s}x{s}": (rng.integers(0, 256, (s, s, 3), dtype=np.uint8), make_mask("mixed", (s, s), 1)),
        f"{lh}x{lw}": (rng.integers(0, 256, (lh, lw, 3), dtype=np.uint8), make_mask("mixed", (lh, lw), 2)),
    }
    x = rng.uniform(-1, 1, (1, 3, s, s)).astype(np.float32)
    m = (rng.random((1, 1, s, s)) > 0.7).astype(np.float32)
    for _ in range(3):  # warm-up
        inp.backend.infer(x, m)
        for img, hole in cases.values():
            inp.run(img, hole)
    times: dict[str, list[float]] = {"raw": [], **{k: [] for k in cases}}
    for _ in range(args.runs):
        t0 = time.perf_counter()
        inp.backend.infer(x, m)
        times["raw"].append(time.perf_counter() - t0)
        for k, (img, hole) in cases.items():
            t0 = time.perf_counter()
            inp.run(img, hole)
            times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) * 1000 for k, v in times.items()}
    result = {"model": str(inp.model_path), "backend": inp.backend.name, "runs": args.runs,
              "median_ms": med,
              "overhead_pct": {k: 100 * (med[k] - med["raw"]) / med["raw"] for k in cases}}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
