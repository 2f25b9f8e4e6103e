"""The backend contract: NCHW float tensors in, NCHW float prediction out.

Everything image-level (validation, resizing, compositing, strategies) lives in
:mod:`rmnet_sdk.inpainter`; a backend only runs the network, so every backend sees exactly the
same tensors and the pre/post-processing is written once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from ..metadata import ModelMetadata


class Backend(ABC):
    """One loaded model on one device. Create once, call :meth:`infer` many times."""

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
