"""Keras generator -> fp32 ONNX with dynamic N/H/W: tf2onnx conversion and the export entry point.

Route (research/feasibility.md §1): tf2onnx cannot trace stock ``UpSampling2D`` with symbolic H/W,
so the model is converted with a *fixed* ``256x256`` signature and the ONNX dims are relaxed to
``N``/``H``/``W`` afterwards. That is only correct because the converted graph holds nothing
shape-specific (explicit conv pads, ``Resize`` by constant scales, no ``Shape``/``Reshape``...);
:func:`~.graph_rewrites.assert_shape_agnostic` checks exactly that on every export, so a layer
that bakes in 256 fails the export instead of silently producing a model that is wrong at other
sizes.

The exported model follows DESIGN.md: inputs ``image`` [N,3,H,W] and ``mask`` [N,1,H,W] (float32,
image in [-1, 1], mask 1 = hole), output ``prediction`` [N,3,H,W]; H and W multiples of 16.
TensorFlow/Keras/tf2onnx are imported only inside the functions that need them.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx

from ..contract.metadata import ModelMetadata
from ..errors import ExportError, InvalidInputError
from ._common import check_spatial_size, log, same_file, sha256_bytes, sha256_file, write_atomic
from .graph_rewrites import (
    canonicalize_io,
    relax_dims,
    rewrite_conv_transpose,
    rewrite_layout_reshapes,
    rewrite_pool_before_affine,
)
from .onnx_io import node_counts, write_onnx_metadata
from .parity import DEFAULT_PARITY_SIZES, DEFAULT_TOLERANCE, check_parity, keras_io

#: Spatial size of the fixed signature the model is traced with (any multiple of 16 would do).
TRACE_SIZE = 256
#: Default ONNX opset (>= 17: LayerNormalization etc.; what tf2onnx 1.17 and TensorRT 10/11 parse).
DEFAULT_OPSET = 17


@dataclasses.dataclass
class OnnxExportReport:
    """What :func:`export_onnx` did and measured."""

    path: Path
    onnx_sha256: str
    metadata: ModelMetadata
    opset: int
    node_counts: dict[str, int]
    conv_transpose_rewritten: int
    parity: dict[str, float]            # "NxHxW" -> max abs diff vs Keras
    tolerance: float
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["path"] = str(self.path)
        d["metadata"] = self.metadata.to_dict()
        return d


def _convert_with_tf2onnx(model: Any, opset: int) -> onnx.ModelProto:
    import tensorflow as tf
    import tf2onnx

    inputs, out_name = keras_io(model)
    signature = [tf.TensorSpec((None, TRACE_SIZE, TRACE_SIZE, c), tf.float32, name=n)
                 for n, c in inputs]
    names = [n for n, _ in inputs]
    try:
        proto, _ = tf2onnx.convert.from_keras(
            model, input_signature=signature, opset=opset,
            inputs_as_nchw=names, outputs_as_nchw=[out_name])
    except Exception as e:
        raise ExportError(f"tf2onnx could not convert the model: {type(e).__name__}: {e}") from e
    return proto


def _load_keras(source: Any) -> tuple[Any, ModelMetadata]:
    """(keras model, metadata) from a ``.keras`` path or a Keras model.

    The model is loaded first: :func:`~rmnet_sdk.keras_model.load_generator` refuses a missing
    file with :class:`~rmnet_sdk.errors.ModelNotFoundError` before the metadata and checksum read it."""
    if isinstance(source, (str, os.PathLike)):
        from ..keras_model import load_generator, read_keras_metadata

        keras_model = load_generator(source)
        meta = read_keras_metadata(source).replace(source_sha256=sha256_file(source))
        return keras_model, meta
    if not hasattr(source, "inputs") or not hasattr(source, "outputs"):
        raise InvalidInputError(f"expected a .keras path or a Keras model, got {type(source).__name__}")
    return source, ModelMetadata()


def keras_to_onnx(keras_model: Any, *, metadata: ModelMetadata | None = None,
                  opset: int = DEFAULT_OPSET, rewrite: bool = True) -> tuple[onnx.ModelProto, int]:
    """Convert and finalise (no parity, no file): returns the model and #ConvTranspose rewritten."""
    if opset < 17:
        raise InvalidInputError(f"opset must be >= 17, got {opset}")
    proto = _convert_with_tf2onnx(keras_model, opset)
    canonicalize_io(proto)
    rewritten = rewrite_conv_transpose(proto) if rewrite else 0
    if rewrite:
        moved = rewrite_pool_before_affine(proto)
        if moved:
            log.info("moved %d MaxPool(s) ahead of their BatchNorm affine (exact)", moved)
    rewrite_layout_reshapes(proto)
    relax_dims(proto)
    proto.producer_name = "rmnet-sdk (tf2onnx)"
    write_onnx_metadata(proto, metadata or ModelMetadata())
    return proto, rewritten


def export_onnx(model: Any, output: str | os.PathLike[str], *,
                metadata: ModelMetadata | None = None, name: str | None = None,
                version: str | None = None, resolution: int | None = None,
                opset: int = DEFAULT_OPSET, rewrite: bool = True,
                parity_sizes: Sequence[tuple[int, int, int]] = DEFAULT_PARITY_SIZES,
                tolerance: float = DEFAULT_TOLERANCE, overwrite: bool = True) -> OnnxExportReport:
    """Export a Keras generator (a ``.keras`` path or a model object) to a dynamic fp32 ONNX file.

    Steps: tf2onnx at a fixed 256 signature with NCHW IO; IO renamed to image/mask/prediction;
    stride-1 ConvTranspose -> Conv; the shape-agnostic assertion; N/H/W relaxed; shape inference
    and the full checker; metadata (from the ``.keras`` archive, with its sha256 as
    ``source_sha256``; ``metadata``/``name``/``version`` override); the parity gate vs Keras at
    ``parity_sizes`` (:class:`ParityError` above ``tolerance``). The file is written atomically and
    only after every gate passed; an input file is never overwritten.
    """
    t0 = time.perf_counter()
    output = Path(output)
    if isinstance(model, (str, os.PathLike)) and same_file(model, output):
        raise InvalidInputError(f"refusing to overwrite the input {model} with the export")
    if not overwrite and output.exists():
        raise InvalidInputError(f"{output} exists; pass overwrite=True (CLI: --force) to replace it")
    if not parity_sizes:
        raise InvalidInputError("the parity gate needs at least one size")
    for _, h, w in parity_sizes:
        check_spatial_size(h, w)
    log.info("loading the Keras model (TensorFlow import: a few seconds)")
    keras_model, meta = _load_keras(model)
    if metadata is not None:
        # explicit metadata wins; the file's checksum fills an empty source_sha256
        meta = (metadata.replace(source_sha256=meta.source_sha256)
                if meta.source_sha256 and not metadata.source_sha256 else metadata)
    if name is not None:
        meta = meta.replace(name=name)
    if version is not None:
        meta = meta.replace(version=str(version))
    if resolution is not None:
        check_spatial_size(resolution, resolution)
        meta = meta.replace(resolution=int(resolution))
    log.info("converting the Keras model to ONNX (opset %d, traced at %dx%d, NCHW)",
             opset, TRACE_SIZE, TRACE_SIZE)
    proto, rewritten = keras_to_onnx(keras_model, metadata=meta, opset=opset, rewrite=rewrite)
    if rewritten:
        log.info("rewrote %d stride-1 ConvTranspose node(s) as Conv", rewritten)
    blob = proto.SerializeToString()
    log.info("parity gate vs Keras at %s (tolerance %g)",
             ", ".join(f"{n}x{h}x{w}" for n, h, w in parity_sizes), tolerance)
    diffs = check_parity(keras_model, blob, sizes=parity_sizes, tolerance=tolerance)
    write_atomic(output, blob, overwrite=overwrite)
    report = OnnxExportReport(path=output, onnx_sha256=sha256_bytes(blob), metadata=meta,
                              opset=opset, node_counts=node_counts(proto),
                              conv_transpose_rewritten=rewritten, parity=diffs,
                              tolerance=tolerance, seconds=time.perf_counter() - t0)
    log.info("wrote %s (%.1f MB, %d nodes) in %.1f s", output, len(blob) / 1e6,
             len(proto.graph.node), report.seconds)
    return report
