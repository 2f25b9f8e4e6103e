"""The TF-Keras reference rows of ``rmnet bench``: the paper's framework timing the same network.

TensorFlow and the training package are imported inside the functions that build the
reference, so importing this module costs nothing: a bench without the TF rows never loads them
and runs on an edge install, and :func:`tensorflow_missing` says why the rows are absent.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import numpy as np

from ..backends.base import Backend


def tf_call(fn: Callable[[Any, Any], Any], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """One model-only TF call on NHWC tensors, with the result brought back to the host (the
    ONNX rows' ``infer`` returns numpy too, so both time the same work)."""
    return fn(x, m).numpy()


def keras_reference(onnx_path: str | os.PathLike[str]) -> tuple[Any, Any]:
    """The Keras generator that an exported R-MNet ONNX file came from, and its metadata.

    Built from the file's metadata (width, mask channel, prefill, upsampling) and filled by the
    fine-tuning importer (:func:`rmnet_sdk.training.warmstart.load_initial_weights`), whose own
    parity check against ONNX Runtime must pass: the TF reference rows then time the same
    network as the ONNX rows. Needs TensorFlow; raises ModelError for a file it cannot map.
    """
    from ..errors import ModelError
    from ..metadata import read_onnx_file_metadata
    from ..training.model import build_generator
    from ..training.warmstart import load_initial_weights

    meta = read_onnx_file_metadata(onnx_path)
    if meta.gf <= 0:
        raise ModelError(f"{onnx_path} does not record its generator width (gf): pass --keras")
    model = build_generator(meta.gf, mask_channel=meta.mask_channel, prefill=meta.prefill,
                            upsampling=meta.upsampling)
    load_initial_weights(model, onnx_path)
    return model, meta


def tensorflow_missing() -> str | None:
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
        from ..backends.keras import infer_nchw

        return infer_nchw(self.fn, image, mask)
