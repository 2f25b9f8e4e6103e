"""Benchmark harness: latency, throughput and per-stage time of every backend, with references.

::

    from rmnet_sdk.bench import BenchConfig, run_benchmark, write_report
    result = run_benchmark(BenchConfig(model="model.onnx", keras_model="model.keras"))
    write_report(result, "benchmarks/results/my-machine")   # bench.json, bench.md, bench.png

    rmnet bench --model model.onnx --keras model.keras -o benchmarks/results/my-machine

Vocabulary follows trtexec: throughput in images per second, latency min / mean / median / p90 /
p95 / p99 and the coefficient of variation, and a per-stage table (preprocess, host->device,
inference, device->host, composite). Two kinds of row:

- ``model``: ``backend.infer`` on ready NCHW tensors (TF: the ``tf.function`` of the Keras model
  on NHWC tensors) -- the network alone.
- ``e2e``: :meth:`Inpainter.run` on a uint8 image and a hole mask. Stages are measured by a
  :class:`TimingBackend` that wraps the Inpainter's backend, so nothing of the Inpainter is
  re-implemented here: preprocess = run start -> first ``infer``; inference = time inside
  ``infer``; composite = the rest. CPU backends have no host<->device copies (reported as absent);
  GPU backends include them in inference unless the backend reports them itself.

Every case is run in interleaved rounds (round 1 of all cases, then round 2, ...) so machine
noise hits all alike; statistics are over all timed iterations. References measured in the same
run: the TF-Keras model, OpenCV Telea and Navier-Stokes; the paper's 0.193 s is a constant.
Without ``--keras``, the TF-Keras reference is the benchmarked ONNX model itself mapped back to
Keras by the fine-tuning importer (:func:`keras_reference`), when TensorFlow is installed, so the
headline same-run ratio is one command.

TensorFlow is imported only when a Keras reference is requested.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from .._argtypes import positive_int
from ..backends.base import Backend
from ..machine import CPU_FEATURES, cpu_details, cpu_features, gpu_details, machine_info

#: R-MNet paper, per-image inference time (s) on their GPU setup, shown as a constant line.
PAPER_SECONDS = 0.193
STAGES: tuple[str, ...] = ("preprocess", "h2d", "inference", "d2h", "composite")
SCHEMA_VERSION = 1
_logger = logging.getLogger("rmnet_sdk")


# -- statistics -----------------------------------------------------------------------------------

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


# -- stage timing ---------------------------------------------------------------------------------

class TimingBackend(Backend):
    """Wraps a backend and records when each :meth:`infer` call starts and ends.

    ``Inpainter.backend = TimingBackend(Inpainter.backend)`` leaves the Inpainter's own code path
    untouched; :func:`stage_times` turns one ``run`` into a per-stage breakdown.
    """

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner.metadata)
        self.inner = inner
        self.name = inner.name
        self.max_batch = inner.max_batch
        self.calls: list[tuple[float, float]] = []

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        out = self.inner.infer(image, mask)
        self.calls.append((t0, time.perf_counter()))
        return out

    def reset(self) -> None:
        self.calls.clear()

    def describe(self) -> dict[str, object]:
        return self.inner.describe()

    def close(self) -> None:
        self.inner.close()


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


# -- configuration and cases ----------------------------------------------------------------------

@dataclass
class BenchConfig:
    """What to measure. Sizes are ``(H, W)``; cases with ``N*H*W > max_pixels`` are skipped."""

    model: str | None = None                 # .onnx (default: the bundled model)
    keras_model: str | None = None           # .keras for the TF reference rows (optional)
    extra_models: dict[str, str] = field(default_factory=dict)  # precision label -> .onnx
    backends: Sequence[str] | None = None    # default: every available one that runs .onnx
    sizes: Sequence[tuple[int, int]] = ((256, 256), (512, 512), (1024, 1024), (384, 640))
    batches: Sequence[int] = (1, 4, 16)
    max_pixels: int = 1024 * 1024            # N*H*W per call; CPU default keeps runs short
    modes: Sequence[str] = ("model", "e2e")
    strategy: str = "original"               # e2e: network at the image's size
    references: Sequence[str] = ("tf", "telea", "ns")
    warmup: int = 2
    iterations: int = 10                     # at least this many timed calls per case ...
    min_seconds: float = 2.0                 # ... and at least this much timed time
    rounds: int = 3                          # interleaved rounds
    threads: int | None = None
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["sizes"] = [list(s) for s in self.sizes]
        return d


@dataclass
class Case:
    """One row: a runnable ``fn()`` that does one timed call of ``batch`` images."""

    name: str          # backend / reference name
    precision: str
    mode: str          # "model" | "e2e"
    size: tuple[int, int]
    batch: int
    fn: Callable[[], Any]
    timer: TimingBackend | None = None
    reference: bool = False
    samples: list[float] = field(default_factory=list)
    stages: list[dict[str, float | None]] = field(default_factory=list)
    error: str | None = None

    @property
    def key(self) -> str:
        h, w = self.size
        return f"{self.name}/{self.precision}/{self.mode}/{h}x{w}/b{self.batch}"

    def row(self) -> dict[str, Any]:
        r: dict[str, Any] = {"key": self.key, "name": self.name, "precision": self.precision,
                             "mode": self.mode, "height": self.size[0], "width": self.size[1],
                             "batch": self.batch, "reference": self.reference}
        if self.error:
            r["error"] = self.error
            return r
        r.update(summarize(self.samples, self.batch))
        if self.stages:
            r["stages"] = summarize_stages(self.stages)
        return r


def plan_cases(sizes: Sequence[tuple[int, int]], batches: Sequence[int],
               max_pixels: int) -> list[tuple[tuple[int, int], int]]:
    """(size, batch) pairs that fit ``max_pixels``; batch 1 of every size is always kept."""
    out = []
    for h, w in sizes:
        for n in batches:
            if n == 1 or n * h * w <= max_pixels:
                out.append(((int(h), int(w)), int(n)))
    return out


def make_inputs(size: tuple[int, int], batch: int, seed: int) -> dict[str, np.ndarray]:
    """uint8 photos-like images + hole masks (mixed strokes/boxes), and the NCHW model tensors."""
    from ..imaging import to_model_inputs
    from ..masks import make_mask

    h, w = size
    rng = np.random.default_rng(seed)
    # smooth random field + noise: realistic for interpolating baselines (not pure noise)
    small = rng.integers(0, 256, (batch, max(2, h // 32), max(2, w // 32), 3), dtype=np.uint8)
    import cv2

    images = np.stack([cv2.resize(s, (w, h), interpolation=cv2.INTER_CUBIC) for s in small])
    images = np.clip(images.astype(np.int16) + rng.integers(-8, 9, images.shape), 0, 255).astype(np.uint8)
    holes = np.stack([make_mask("mixed", (h, w), seed + i) for i in range(batch)]).astype(bool)
    tensors = [to_model_inputs(im, hole) for im, hole in zip(images, holes, strict=True)]
    x = np.stack([t[0] for t in tensors])
    m = np.stack([t[1] for t in tensors])
    return {"images": images, "holes": holes, "x": x, "m": m}


# -- environment ----------------------------------------------------------------------------------

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


# -- building cases -------------------------------------------------------------------------------

def _onnx_backends(requested: Sequence[str] | None) -> list[str]:
    from ..backends import available_backends

    avail = [n for n, why in available_backends().items() if why is None and n != "keras"]
    if requested is None:
        return avail
    return [b for b in requested if b in avail]


def _tf_call(fn: Callable[[Any, Any], Any], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    return fn(x, m).numpy()


def keras_reference(onnx_path: str | os.PathLike[str]) -> tuple[Any, Any]:
    """The Keras generator that an exported R-MNet ONNX file came from, and its metadata.

    Built from the file's metadata (width, mask channel, prefill, upsampling) and filled by the
    fine-tuning importer (:func:`rmnet_sdk.training.warmstart.load_initial_weights`), whose own
    parity check against ONNX Runtime must pass: the TF reference rows then time the same
    network as the ONNX rows. Needs TensorFlow; raises ModelError for a file it cannot map.
    """
    from ..errors import ModelError
    from ..export.onnx import read_onnx_metadata
    from ..training.model import build_generator
    from ..training.warmstart import load_initial_weights

    meta = read_onnx_metadata(onnx_path)
    if meta.gf <= 0:
        raise ModelError(f"{onnx_path} does not record its generator width (gf): pass --keras")
    model = build_generator(meta.gf, mask_channel=meta.mask_channel, prefill=meta.prefill,
                            upsampling=meta.upsampling)
    load_initial_weights(model, onnx_path)
    return model, meta


def _tensorflow_missing() -> str | None:
    """Why no TF-Keras reference can be built here, or None."""
    import importlib.util

    for module, extra in (("tensorflow", "train"), ("keras", "train")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (pip install 'rmnet-sdk[{extra}]')"
    return None


class TFFunctionBackend(Backend):
    """The Keras model behind ``tf.function`` (the paper's framework, compiled graph): the TF
    reference for end-to-end rows, NCHW in/out like every backend."""

    name = "tf-keras"

    def __init__(self, model: Any, metadata: Any) -> None:
        super().__init__(metadata)
        from ..backends.keras import compile_inference

        self.fn = compile_inference(model)

    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = self.fn(np.ascontiguousarray(image.transpose(0, 2, 3, 1)),
                      np.ascontiguousarray(mask.transpose(0, 2, 3, 1)))
        return np.ascontiguousarray(out.numpy().transpose(0, 3, 1, 2))


def _inpainter_case(inp: Any, name: str, precision: str, size: tuple[int, int], batch: int,
                    data: dict[str, np.ndarray], reference: bool = False) -> Case:
    timer = inp.backend if isinstance(inp.backend, TimingBackend) else TimingBackend(inp.backend)
    inp.backend = timer
    images, holes = data["images"], data["holes"]
    arg_img, arg_mask = (images[0], holes[0]) if batch == 1 else (images, holes)
    return Case(name, precision, "e2e", size, batch, lambda: inp.run(arg_img, arg_mask),
                timer=timer, reference=reference)


def _report_path(path: str) -> str:
    """A model path as reports show it: no machine-specific prefix (the bundled files as
    ``rmnet_sdk/models/NAME``, others relative to the working directory when inside it)."""
    from ..models import MODELS_DIR

    p = Path(path).resolve()
    for base, prefix in ((MODELS_DIR, Path("rmnet_sdk/models")), (Path.cwd(), Path("."))):
        if p.is_relative_to(base):
            return (prefix / p.relative_to(base)).as_posix()
    return path


def build_cases(cfg: BenchConfig, log: Callable[[str], None] = print) -> tuple[list[Case], dict]:
    """Instantiate every backend once and one :class:`Case` per row."""
    from ..inpainter import Inpainter
    from ..models import DEFAULT_INT8, MODELS_DIR, resolve_model

    model = resolve_model(cfg.model)
    models = {"fp32": str(model)}
    if cfg.model is None and (MODELS_DIR / DEFAULT_INT8).is_file():
        models["int8"] = str(MODELS_DIR / DEFAULT_INT8)  # the bundled CPU default
    models.update(cfg.extra_models)
    plan = plan_cases(cfg.sizes, cfg.batches, cfg.max_pixels)
    inputs = {(s, n): make_inputs(s, n, cfg.seed) for s, n in plan}
    cases: list[Case] = []
    loaded: dict[str, Any] = {"models": {k: _report_path(v) for k, v in models.items()}}
    for backend in _onnx_backends(cfg.backends):
        for precision, path in models.items():
            try:
                inp = Inpainter(path, backend=backend, strategy=cfg.strategy, threads=cfg.threads)
            except Exception as e:  # a backend that cannot load this precision: say so, go on
                log(f"skip {backend}/{precision}: {e}")
                continue
            inner = inp.backend
            for (s, n) in plan:
                d = inputs[(s, n)]
                if "model" in cfg.modes:
                    cases.append(Case(backend, precision, "model", s, n,
                                      partial(inner.infer, d["x"], d["m"])))
                if "e2e" in cfg.modes:
                    cases.append(_inpainter_case(inp, backend, precision, s, n, d))
    tf_inpainter = None
    if "tf" in cfg.references and cfg.keras_model:
        inp = Inpainter(cfg.keras_model, backend="keras", strategy=cfg.strategy)
        inp.backend = TFFunctionBackend(inp.backend.model, inp.backend.metadata)
        tf_inpainter = inp
        loaded["models"]["tf-keras"] = _report_path(cfg.keras_model)
    elif "tf" in cfg.references:
        why = _tensorflow_missing()
        if why is None:
            try:
                keras_model, meta = keras_reference(model)
                inp = Inpainter(model, backend="onnxruntime", strategy=cfg.strategy)
                inp.backend = TFFunctionBackend(keras_model, meta)
                tf_inpainter = inp
                loaded["models"]["tf-keras"] = (f"{_report_path(str(model))} imported into Keras "
                                                "(parity-checked)")
            except Exception as e:  # an ONNX file the importer cannot map: say so, go on
                why = f"cannot map {model.name} back to Keras ({e}); pass --keras"
        if why is not None:
            log(f"no TF-Keras reference rows: {why}")
    if tf_inpainter is not None:
        inp = tf_inpainter
        fn = inp.backend.fn
        for (s, n) in plan:
            d = inputs[(s, n)]
            xh = np.ascontiguousarray(d["x"].transpose(0, 2, 3, 1))
            mh = np.ascontiguousarray(d["m"].transpose(0, 2, 3, 1))
            if "model" in cfg.modes:
                cases.append(Case("tf-keras", "fp32", "model", s, n,
                                  partial(_tf_call, fn, xh, mh), reference=True))
            if "e2e" in cfg.modes:
                cases.append(_inpainter_case(inp, "tf-keras", "fp32", s, n, d, reference=True))
    from ..evaluation import opencv_method

    for ref in ("telea", "ns"):
        if ref not in cfg.references:
            continue
        method = opencv_method(ref)
        for (s, n) in plan:
            if n != 1:
                continue  # a loop over images: batch adds nothing
            d = inputs[(s, n)]
            cases.append(Case(f"opencv-{ref}", "uint8", "e2e", s, 1,
                              partial(method, d["images"][0], d["holes"][0]),
                              reference=True))
    return cases, loaded


# -- running --------------------------------------------------------------------------------------

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


# -- reporting ------------------------------------------------------------------------------------

REQUIRED_ROW_KEYS = ("key", "name", "precision", "mode", "height", "width", "batch", "iterations",
                     "min_ms", "mean_ms", "median_ms", "p90_ms", "p95_ms", "p99_ms", "cv",
                     "throughput_ips")


def validate_report(report: dict[str, Any]) -> None:
    """Raise ``ValueError`` when ``report`` does not follow the schema (used by the tests)."""
    for k in ("schema", "config", "environment", "rows", "ratios", "paper_seconds"):
        if k not in report:
            raise ValueError(f"report has no {k!r}")
    for r in report["rows"]:
        if "error" in r:
            continue
        missing = [k for k in REQUIRED_ROW_KEYS if k not in r]
        if missing:
            raise ValueError(f"row {r.get('key')} misses {missing}")
        if not r["min_ms"] <= r["median_ms"] <= r["p90_ms"] <= r["p95_ms"] <= r["p99_ms"]:
            raise ValueError(f"row {r['key']}: percentiles out of order")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    cpu = env.get("cpu", {})
    m = env.get("machine", {})
    lines = [f"# rmnet bench ({report['created']})", "",
             "## Environment", "",
             f"- CPU: {cpu.get('model')} — {cpu.get('usable_cores')} usable of "
             f"{cpu.get('logical_cores')} logical cores; ISA: {', '.join(cpu.get('isa', []))}",
             "- CPU features: " + (", ".join(f"{k} {'yes' if v else 'no'}"
                                            for k, v in cpu["features"].items())
                                  if cpu.get("features") else "unknown (no /proc/cpuinfo)"),
             f"- GPU: {', '.join(g['name'] + ' (driver ' + g['driver'] + ')' for g in env.get('gpus', [])) or 'none'}",
             f"- Python {m.get('python')}, {m.get('platform')}",
             "- libraries: " + ", ".join(f"{k} {m.get(k)}" for k in
                                         ("rmnet_sdk", "numpy", "cv2", "onnxruntime", "onnx",
                                          "tensorrt") if m.get(k))
             + (f", tensorflow {env['tensorflow']}, keras {env['keras']}" if "tensorflow" in env else ""),
             f"- threads: {json.dumps(env.get('threads', {}))}",
             f"- models: {json.dumps(report.get('models', {}))}",
             ""]
    cfg = report["config"]
    lines += ["## Method", "",
              f"Warm-up {cfg['warmup']} calls per case, then {cfg['rounds']} interleaved rounds "
              f"(every case once per round), at least {cfg['iterations']} calls and "
              f"{cfg['min_seconds']} s per case in total. Latency per call (a call = one batch); "
              "throughput = images/s. `model` = backend inference on ready NCHW tensors; `e2e` = "
              f"`Inpainter.run` on uint8 image + mask (strategy `{cfg['strategy']}`). "
              f"Paper reference: {report['paper_seconds']} s per image (a GPU number).", ""]
    rows = [r for r in report["rows"] if "error" not in r]
    lines += ["## Latency", "",
              "| backend | precision | mode | HxW | N | median ms | mean | min | p90 | p95 | p99 | CV | img/s | vs paper |",
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in sorted(rows, key=lambda r: (r["mode"], r["height"] * r["width"], r["width"], r["batch"],
                                         r["median_ms"])):
        speed = report["paper_seconds"] * 1e3 * r["batch"] / r["median_ms"]
        lines.append(f"| {r['name']} | {r['precision']} | {r['mode']} | {r['height']}x{r['width']} | "
                     f"{r['batch']} | **{_fmt(r['median_ms'])}** | {_fmt(r['mean_ms'])} | "
                     f"{_fmt(r['min_ms'])} | {_fmt(r['p90_ms'])} | {_fmt(r['p95_ms'])} | "
                     f"{_fmt(r['p99_ms'])} | {r['cv']:.2f} | {_fmt(r['throughput_ips'])} | {speed:.2f}x |")
    staged = [r for r in rows if r.get("stages")]
    if staged:
        lines += ["", "## Stages (e2e, median ms per call; `-` = no such stage on this backend)", "",
                  "| backend | precision | HxW | N | preprocess | H2D | inference | D2H | composite | total (median) |",
                  "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in staged:
            s = r["stages"]
            lines.append(f"| {r['name']} | {r['precision']} | {r['height']}x{r['width']} | {r['batch']} | "
                         + " | ".join(_fmt(s[f'{k}_ms']) for k in STAGES) + f" | {_fmt(r['median_ms'])} |")
    for mode, ratios in report.get("ratios", {}).items():
        if not ratios:
            continue
        lines += ["", f"## Same-run ratio to TF-Keras ({mode}; < 1 = faster than TF)", "",
                  "| row | median / TF median | speed-up vs paper 0.193 s/img |", "| --- | ---: | ---: |"]
        for q in ratios:
            lines.append(f"| {q['key']} | {q['ratio_vs_tf-keras']:.2f} | {q['speedup_vs_paper']:.2f}x |")
    errors = [r for r in report["rows"] if "error" in r]
    if errors:
        lines += ["", "## Failed cases", ""] + [f"- {r['key']}: {' '.join(r['error'].split())}"
                                                for r in errors]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: str | os.PathLike[str]) -> Path | None:
    """Latency vs resolution (batch 1) per backend/precision, and speed-up vs the paper."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _logger.warning("bench.png not written: matplotlib is not installed "
                     "(pip install 'rmnet-sdk[plot]')")
        return None
    rows = [r for r in report["rows"] if "error" not in r and r["batch"] == 1]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    series: dict[str, list[tuple[int, float, str]]] = {}
    for r in rows:
        label = f"{r['name']} {r['precision']} {r['mode']}"
        series.setdefault(label, []).append((r["height"] * r["width"], r["median_ms"],
                                             f"{r['height']}x{r['width']}"))
    for label, pts in sorted(series.items()):
        pts.sort()
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        style = "--" if label.startswith(("tf-", "opencv")) else "-"
        axes[0].plot(xs, ys, style, marker="o", label=label)
        axes[1].plot(xs, [report["paper_seconds"] * 1e3 / y for y in ys], style, marker="o", label=label)
    ticks = sorted({(r["height"] * r["width"], f"{r['height']}x{r['width']}") for r in rows})
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks([t[0] for t in ticks], [t[1] for t in ticks], rotation=30)
        ax.minorticks_off()
        ax.set_xlabel("resolution (H x W), batch 1")
        ax.grid(True, alpha=0.3)
    axes[0].axhline(report["paper_seconds"] * 1e3, color="k", linestyle=":", label="paper 0.193 s")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("median latency (ms)")
    axes[1].axhline(1.0, color="k", linestyle=":", label="paper 0.193 s")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("speed-up vs 0.193 s per image")
    axes[0].legend(fontsize=7)
    cpu = report["environment"].get("cpu", {}).get("model", "")
    fig.suptitle(f"rmnet bench — {cpu}")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """``bench.json``, ``bench.md`` and ``bench.png`` (when matplotlib is installed)."""
    from .._fileio import atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    validate_report(report)
    paths = {"json": out / "bench.json", "md": out / "bench.md"}
    atomic_write_text(paths["json"], json.dumps(report, indent=2, default=str) + "\n")
    atomic_write_text(paths["md"], markdown(report))
    png = plot(report, out / "bench.png")  # None (and a warning) without matplotlib
    if png:
        paths["png"] = png
    return paths


# -- pausing a background job while timing -------------------------------------------------------

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


# -- command line ---------------------------------------------------------------------------------

def _parse_sizes(text: str) -> list[tuple[int, int]]:
    sizes = []
    for part in text.split(","):
        h, _, w = part.strip().lower().partition("x")
        sizes.append((int(h), int(w or h)))
    return sizes


def add_arguments(p: Any) -> None:
    """Options of ``rmnet bench`` (also used by ``benchmarks/bench.py``)."""
    p.add_argument("--model", help=".onnx model (default: the bundled model)")
    p.add_argument("--keras", help=".keras model for the TF-Keras reference rows")
    p.add_argument("--int8", help="an INT8 .onnx to benchmark beside fp32 (rmnet_sdk.export.quantize)")
    p.add_argument("--extra", action="append", default=[], metavar="LABEL=PATH",
                   help="more .onnx files to benchmark, e.g. fp16=model_fp16.onnx (repeatable)")
    p.add_argument("--backends", help="comma-separated (default: every available one)")
    p.add_argument("--sizes", default="256,512,1024,384x640", help="HxW list, e.g. 256,512,384x640")
    p.add_argument("--batches", default="1,4,16")
    p.add_argument("--max-pixels", type=int, default=1024 * 1024,
                   help="skip cases with N*H*W above this (batch 1 is always run)")
    p.add_argument("--modes", default="model,e2e")
    p.add_argument("--references", default="tf,telea,ns", help="tf, telea, ns (or 'none')")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--iterations", type=int, default=10, help="at least this many calls per case")
    p.add_argument("--min-seconds", type=float, default=2.0, help="and at least this long per case")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="ONNX Runtime intra-op threads (default: one per physical core)")
    p.add_argument("--pause-pid", type=int, default=None,
                   help="SIGSTOP this process while timing (always SIGCONT afterwards)")
    p.add_argument("-o", "--output", default="rmnet-bench",
                   help="folder for bench.json, bench.md, bench.png")


def config_from_args(args: Any) -> BenchConfig:
    extra = dict(e.split("=", 1) for e in args.extra)
    if args.int8:
        extra["int8"] = args.int8
    refs = [] if args.references == "none" else args.references.split(",")
    return BenchConfig(model=args.model, keras_model=args.keras, extra_models=extra,
                       backends=args.backends.split(",") if args.backends else None,
                       sizes=_parse_sizes(args.sizes),
                       batches=[int(b) for b in args.batches.split(",")],
                       max_pixels=args.max_pixels, modes=args.modes.split(","),
                       references=refs, warmup=args.warmup, iterations=args.iterations,
                       min_seconds=args.min_seconds, rounds=args.rounds, threads=args.threads)


def main(args: Any) -> int:
    """``rmnet bench``: run, write the report, print the Markdown."""
    cfg = config_from_args(args)
    with PausedProcess(args.pause_pid):
        report = run_benchmark(cfg, log=lambda s: print(s, flush=True))
    paths = write_report(report, args.output)
    print(markdown(report))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


__all__ = ["BenchConfig", "CPU_FEATURES", "cpu_features", "add_arguments", "config_from_args", "main", "Case", "PAPER_SECONDS", "PausedProcess", "STAGES", "TimingBackend",
           "build_cases", "environment", "markdown", "percentile", "plan_cases", "plot",
           "run_benchmark", "run_cases", "same_run_ratios", "stage_times", "summarize",
           "summarize_stages", "validate_report", "write_report"]
