"""Running ``rmnet bench``: warm-up, interleaved timed rounds, and the report dictionary.

Cases are timed in rounds (round 1 of every case, then round 2, ...) so that machine noise hits
all of them alike; each case gets at least ``iterations`` calls and ``min_seconds`` of timed time.
The report records the machine it ran on beside the numbers.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..machine import cpu_details, gpu_details, machine_info
from .cases import BenchConfig, Case, build_cases
from .report import SCHEMA_VERSION
from .stats import PAPER_SECONDS, same_run_ratios, stage_times


def environment(threads: int | None = None, *, with_tf: bool = False) -> dict[str, Any]:
    """Machine, libraries and thread settings (the facts ``rmnet info`` prints, and more)."""
    env: dict[str, Any] = {"machine": machine_info(), "cpu": cpu_details(), "gpus": gpu_details()}
    env["threads"] = {
        "onnxruntime_intra_op": threads or "default (one per physical core)",
        **{k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                                           "TF_NUM_INTEROP_THREADS", "OPENCV_NUM_THREADS")},
    }
    import cv2

    env["threads"]["opencv"] = cv2.getNumThreads()
    if with_tf:
        import keras
        import tensorflow as tf

        env["tensorflow"] = tf.__version__
        env["keras"] = keras.__version__
        env["threads"]["tf_intra_op"] = tf.config.threading.get_intra_op_parallelism_threads()
        env["threads"]["tf_inter_op"] = tf.config.threading.get_inter_op_parallelism_threads()
    return env


def _timed_call(case: Case) -> None:
    if case.timer is not None:
        case.timer.reset()
    t0 = time.perf_counter()
    case.fn()
    t1 = time.perf_counter()
    case.samples.append(t1 - t0)
    if case.timer is not None:
        case.stages.append(stage_times(t0, t1, case.timer.calls))


def run_cases(cases: Sequence[Case], cfg: BenchConfig, log: Callable[[str], None] = print) -> None:
    """Warm up every case, then time them in ``cfg.rounds`` interleaved rounds."""
    for c in cases:
        try:
            for _ in range(cfg.warmup):
                c.fn()
        except Exception as e:  # out of memory, unsupported shape: record and skip
            c.error = f"{type(e).__name__}: {e}"
            log(f"{c.key}: {c.error}")
    live = [c for c in cases if c.error is None]
    per_round_iters = max(1, math.ceil(cfg.iterations / cfg.rounds))
    per_round_s = cfg.min_seconds / cfg.rounds
    for r in range(cfg.rounds):
        t_round = time.perf_counter()
        for c in live:
            t_case = time.perf_counter()
            done = 0
            while done < per_round_iters or time.perf_counter() - t_case < per_round_s:
                _timed_call(c)
                done += 1
        log(f"round {r + 1}/{cfg.rounds}: {time.perf_counter() - t_round:.1f} s")


def run_benchmark(cfg: BenchConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Build, warm up and time every case; returns the report dictionary (see :func:`write_report`)."""
    t0 = time.perf_counter()
    cases, loaded = build_cases(cfg, log)
    log(f"{len(cases)} cases; warming up")
    run_cases(cases, cfg, log)
    rows = [c.row() for c in cases]
    with_tf = any(r["name"] == "tf-keras" for r in rows)
    return {
        "schema": SCHEMA_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "config": cfg.to_dict(),
        "models": loaded["models"],
        "environment": environment(cfg.threads, with_tf=with_tf),
        "paper_seconds": PAPER_SECONDS,
        "rows": rows,
        "ratios": {mode: same_run_ratios(rows, mode=mode) for mode in ("model", "e2e")},
        "wall_seconds": time.perf_counter() - t0,
    }


class PausedProcess:
    """``with PausedProcess(pid):`` SIGSTOPs ``pid`` for the block and always SIGCONTs it after
    (for benchmarking on a machine that also trains). ``pid=None`` does nothing."""

    def __init__(self, pid: int | None) -> None:
        self.pid = pid

    def __enter__(self) -> PausedProcess:
        if self.pid:
            import signal

            os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pid:
            import signal

            os.kill(self.pid, signal.SIGCONT)
