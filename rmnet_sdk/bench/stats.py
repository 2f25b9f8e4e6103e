"""Timing statistics of ``rmnet bench``: trtexec's vocabulary over per-call samples.

Pure functions of numbers (no backend, no clock), so the report's figures are checked against
numpy in the tests: latency percentiles and CV, throughput in images/s, the per-stage split of
an end-to-end call, and the same-run ratios to the TF-Keras reference and to the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: R-MNet paper, per-image inference time (s) on their GPU setup, shown as a constant line.
PAPER_SECONDS = 0.193

STAGES: tuple[str, ...] = ("preprocess", "h2d", "inference", "d2h", "composite")


def percentile(samples: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), ``q`` in [0, 100]."""
    if not len(samples):
        return float("nan")
    return float(np.percentile(np.asarray(samples, dtype=np.float64), q))


def summarize(samples_s: Sequence[float], batch: int = 1) -> dict[str, float]:
    """Latency statistics in milliseconds and throughput in images/s for per-call ``samples_s``."""
    x = np.asarray(samples_s, dtype=np.float64)
    if x.size == 0:
        raise ValueError("no samples to summarize")
    mean = float(x.mean())
    return {
        "iterations": int(x.size),
        "total_s": float(x.sum()),
        "min_ms": float(x.min() * 1e3),
        "mean_ms": mean * 1e3,
        "median_ms": percentile(x, 50) * 1e3,
        "p90_ms": percentile(x, 90) * 1e3,
        "p95_ms": percentile(x, 95) * 1e3,
        "p99_ms": percentile(x, 99) * 1e3,
        "max_ms": float(x.max() * 1e3),
        "cv": float(x.std() / mean) if mean > 0 else float("nan"),
        # images per second over the timed calls (trtexec's "throughput", here per image)
        "throughput_ips": float(batch * x.size / x.sum()) if x.sum() > 0 else float("nan"),
    }


def stage_times(start: float, end: float, calls: Sequence[tuple[float, float]],
                copies: dict[str, float] | None = None) -> dict[str, float | None]:
    """Split one end-to-end call ``[start, end]`` into stages (seconds); they sum to the total.

    ``calls``: (start, end) of every ``infer`` inside it. ``copies``: host->device and
    device->host seconds when the backend measured them (they are then taken out of inference);
    ``None`` marks a stage that does not exist on this backend (CPU: no copies).
    """
    total = end - start
    if not calls:
        return {"preprocess": total, "h2d": None, "inference": 0.0, "d2h": None, "composite": 0.0}
    infer = sum(b - a for a, b in calls)
    pre = calls[0][0] - start
    h2d = d2h = None
    if copies:
        h2d, d2h = copies.get("h2d", 0.0), copies.get("d2h", 0.0)
        infer -= h2d + d2h
    composite = total - pre - infer - (h2d or 0.0) - (d2h or 0.0)
    return {"preprocess": pre, "h2d": h2d, "inference": infer, "d2h": d2h, "composite": composite}


def summarize_stages(per_iter: Sequence[dict[str, float | None]]) -> dict[str, float | None]:
    """Median milliseconds per stage (``None`` for absent stages) and their share of the total."""
    out: dict[str, float | None] = {}
    for s in STAGES:
        vals = [d[s] for d in per_iter if d.get(s) is not None]
        out[f"{s}_ms"] = float(np.median(vals) * 1e3) if vals else None
    return out


def same_run_ratios(rows: Sequence[dict[str, Any]], *, reference: str = "tf-keras",
                    mode: str = "model") -> list[dict[str, Any]]:
    """Median latency of every row divided by the reference's median at the same shape/mode."""
    ref = {(r["height"], r["width"], r["batch"]): r["median_ms"] for r in rows
           if r["name"] == reference and r["mode"] == mode and "median_ms" in r}
    out = []
    for r in rows:
        k = (r["height"], r["width"], r["batch"])
        if r["mode"] != mode or "median_ms" not in r or k not in ref:
            continue
        out.append({"key": r["key"], "ratio_vs_" + reference: r["median_ms"] / ref[k],
                    "speedup_vs_paper": PAPER_SECONDS * 1e3 * r["batch"] / r["median_ms"]})
    return out
