"""The backend contract: NCHW float tensors in, NCHW float prediction out.

Everything image-level (validation, resizing, compositing, strategies) lives in
:mod:`rmnet_sdk.inpainter`; a backend only runs the network, so every backend sees exactly the
same tensors and the pre/post-processing is written once.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from ..errors import ModelError
from ..metadata import ModelMetadata


def check_prediction(pred: object, image: np.ndarray, backend: str) -> np.ndarray:
    """``pred`` if it is a finite float ``[N,3,H,W]`` array matching ``image``, else
    :class:`ModelError`.

    A wrong model (one output channel, a half-size output) or a numerically broken one (NaN
    from an fp16 overflow) would otherwise come out as plausible-looking pixels: NaN casts to 0
    and a 1-channel prediction broadcasts to grey, so the output must be checked, not trusted.
    """
    expected = (image.shape[0], 3, *image.shape[2:])
    shape = getattr(pred, "shape", None)
    if not isinstance(pred, np.ndarray) or pred.shape != expected:
        raise ModelError(f"backend {backend!r} returned a prediction of shape {shape} for input "
                         f"{tuple(image.shape)} (NCHW); an R-MNet model returns {expected}: is "
                         "this an R-MNet generator?")
    if not np.issubdtype(pred.dtype, np.floating):
        raise ModelError(f"backend {backend!r} returned a {pred.dtype} prediction, not float")
    finite = np.isfinite(pred)  # ~1 ns per value: measured faster than a summing shortcut
    if not finite.all():
        bad = int(pred.size - np.count_nonzero(finite))
        raise ModelError(f"backend {backend!r} returned {bad} non-finite value(s) (NaN/inf) in "
                         f"a prediction of shape {expected}: the model or its precision is "
                         "broken for this input (an fp16 overflow?)")
    return pred


def _checked(infer: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    @functools.wraps(infer)
    def wrapper(self: Backend, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return check_prediction(infer(self, image, mask), image, self.name)

    wrapper.__rmnet_checked__ = True  # type: ignore[attr-defined]
    return wrapper


class Backend(ABC):
    """One loaded model on one device. Create once, call :meth:`infer` many times.

    Every subclass's :meth:`infer` is wrapped (``__init_subclass__``) so that its result goes
    through :func:`check_prediction`: each backend, and each caller of ``infer`` (Inpainter,
    benchmarks), gets the same typed error for a wrong-shaped or non-finite prediction without
    any backend having to remember the check.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        infer = cls.__dict__.get("infer")
        if infer is not None and not getattr(infer, "__rmnet_checked__", False):
            cls.infer = _checked(infer)  # type: ignore[method-assign]

    #: registry name, e.g. "onnxruntime"
    name: str = ""

    def __init__(self, metadata: ModelMetadata) -> None:
        self.metadata = metadata

    @property
    def resolution(self) -> int:
        return self.metadata.resolution

    #: largest batch one call accepts (``None`` = unlimited); larger batches are split by the caller
    max_batch: int | None = None

    def accepts_size(self, height: int, width: int) -> bool:
        """Whether one image of this (padded) size can run; engines with fixed optimisation
        profiles say no outside them, graph runtimes take any multiple of 16."""
        return True

    @abstractmethod
    def infer(self, image: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``image`` [N,3,H,W] float32 in [-1,1], ``mask`` [N,1,H,W] float32 {0,1} (1 = hole)
        -> ``prediction`` [N,3,H,W] float32 (raw tanh output)."""

    def describe(self) -> dict[str, object]:
        """What ``rmnet info`` prints about this backend."""
        return {"backend": self.name, "metadata": self.metadata.to_dict()}

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release device resources (optional)."""
