"""What ``rmnet bench`` measures: the configuration, the inputs and one runnable case per row.

Every backend and precision is instantiated once; a ``model`` case calls ``backend.infer`` on
ready NCHW tensors, an ``e2e`` case calls :meth:`Inpainter.run` on uint8 images with a
:class:`TimingBackend` in place of the Inpainter's backend, so the Inpainter's own code path is
what gets timed. The references (TF-Keras, OpenCV Telea and Navier-Stokes) are cases too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.base import Backend
from . import tf_reference
from .stats import summarize, summarize_stages


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
    from ..mask_generators import make_mask

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


def _onnx_backends(requested: Sequence[str] | None) -> list[str]:
    from ..backends import available_backends

    avail = [n for n, why in available_backends().items() if why is None and n != "keras"]
    if requested is None:
        return avail
    return [b for b in requested if b in avail]


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
        inp.backend = tf_reference.TFFunctionBackend(inp.backend.model, inp.backend.metadata)
        tf_inpainter = inp
        loaded["models"]["tf-keras"] = _report_path(cfg.keras_model)
    elif "tf" in cfg.references:
        why = tf_reference.tensorflow_missing()
        if why is None:
            try:
                keras_model, meta = tf_reference.keras_reference(model)
                inp = Inpainter(model, backend="onnxruntime", strategy=cfg.strategy)
                inp.backend = tf_reference.TFFunctionBackend(keras_model, meta)
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
                                  partial(tf_reference.tf_call, fn, xh, mh), reference=True))
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
