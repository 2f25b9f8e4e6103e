"""Mask sampler speed: milliseconds per training mask (the data pipeline draws one per sample).

    python benchmarks/mask_sampler.py [--size 256] [--count 200]

The pipeline needs a 256x256 mask well under the few ms a training step spends per sample on
the CPU; a regression to a pathological drawing loop shows here as a jump in ms/mask.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from rmnet_sdk.mask_generators import MaskSampler


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--count", type=int, default=200)
    args = p.parse_args()
    sampler = MaskSampler()
    rng = np.random.default_rng(11)
    times = []
    for _ in range(args.count):
        start = time.perf_counter()
        sampler.sample((args.size, args.size), rng)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    print(f"{args.count} masks of {args.size}x{args.size}: median {statistics.median(times):.2f} ms, "
          f"p95 {times[int(0.95 * (len(times) - 1))]:.2f} ms")


if __name__ == "__main__":
    main()
