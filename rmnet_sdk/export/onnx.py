"""Keras generator -> fp32 ONNX: the export's ONNX API in one import.

The work is done in modules of one job each: :mod:`.onnx_io` (files, metadata, graph facts),
:mod:`.graph_rewrites` (exact rewrites and the shape-agnostic check), :mod:`.keras_to_onnx`
(tf2onnx conversion, :func:`export_onnx`) and :mod:`.parity` (the Keras vs ONNX Runtime gate).
This module re-exports their names, and the read-only ONNX checks of :mod:`rmnet_sdk.contract`
(IO, precision, metadata) under the export's names, so ``from rmnet_sdk.export.onnx import ...``
is the stable spelling for callers. Importing it needs no TensorFlow.
"""

from __future__ import annotations

from ..contract.io import INPUT_CHANNELS as INPUTS
from ..contract.io import OUTPUT
from ..contract.io import check_onnx_io as check_io_contract
from ..contract.metadata import read_onnx_metadata
from ..contract.precision import onnx_precision, parameter_tensors
from .graph_rewrites import (
    SHAPE_SPECIFIC_OPS,
    assert_shape_agnostic,
    canonicalize_io,
    relax_dims,
    rewrite_conv_transpose,
    rewrite_layout_reshapes,
    rewrite_pool_before_affine,
    shape_specific_problems,
)
from .keras_to_onnx import (
    DEFAULT_OPSET,
    TRACE_SIZE,
    OnnxExportReport,
    export_onnx,
    keras_to_onnx,
)
from .onnx_io import constant_tensors, load_onnx, node_counts, write_onnx_metadata
from .parity import (
    DEFAULT_PARITY_SIZES,
    DEFAULT_TOLERANCE,
    check_parity,
    keras_io,
    parity_inputs,
)

__all__ = [
    "INPUTS", "OUTPUT",
    "SHAPE_SPECIFIC_OPS", "assert_shape_agnostic", "canonicalize_io", "relax_dims",
    "rewrite_conv_transpose", "rewrite_layout_reshapes", "rewrite_pool_before_affine",
    "shape_specific_problems",
    "DEFAULT_OPSET", "TRACE_SIZE", "OnnxExportReport", "export_onnx", "keras_to_onnx",
    "check_io_contract", "constant_tensors", "load_onnx", "node_counts", "onnx_precision",
    "parameter_tensors", "read_onnx_metadata", "write_onnx_metadata",
    "DEFAULT_PARITY_SIZES", "DEFAULT_TOLERANCE", "check_parity", "keras_io", "parity_inputs",
]
