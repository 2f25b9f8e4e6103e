"""ONNX files of the export: loading with the checker, writing our metadata into
``metadata_props``, and facts about a graph (its constants, op counts).

The read-only checks that the runtime shares (IO contract, precision, metadata reading) live in
:mod:`rmnet_sdk.contract` (:mod:`.onnx` re-exports them under the export's names). Only ``onnx``
is needed (no TensorFlow, no ONNX Runtime).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from ..contract.metadata import ONNX_KEY_PREFIX, ModelMetadata
from ..errors import ModelError, ModelNotFoundError


def load_onnx(path: str | os.PathLike[str], *, check: bool = True) -> onnx.ModelProto:
    """Load an ONNX file; a missing file raises ModelNotFoundError, a corrupt one ModelError."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"ONNX model not found: {path}")
    try:
        model = onnx.load(str(path))
        if check:
            onnx.checker.check_model(model)
    except Exception as e:  # protobuf DecodeError, onnx ValidationError, ...
        raise ModelError(f"{path} is not a valid ONNX model: {e}") from e
    if not model.graph.node:
        raise ModelError(f"{path} is not a valid ONNX model: the graph has no nodes")
    return model


def write_onnx_metadata(model: onnx.ModelProto, metadata: ModelMetadata) -> onnx.ModelProto:
    """Replace our keys in ``model.metadata_props`` (others' keys are kept); returns ``model``."""
    keep = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(ONNX_KEY_PREFIX)]
    del model.metadata_props[:]
    for k, v in [*keep, *metadata.to_strings().items()]:
        model.metadata_props.add(key=k, value=v)
    model.doc_string = (f"R-MNet inpainting generator '{metadata.name}' v{metadata.version} "
                        "(rmnet-sdk): image [N,3,H,W] in [-1,1], mask [N,1,H,W] 1=hole -> "
                        "prediction [N,3,H,W] tanh; H, W multiples of 16")
    return model


def constant_tensors(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    """Every constant of ``graph`` by tensor name: initializers and ``Constant`` node outputs."""
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            for a in node.attribute:
                if a.name == "value":
                    consts[node.output[0]] = numpy_helper.to_array(a.t)
    return consts


def node_counts(model: onnx.ModelProto) -> dict[str, int]:
    counts: dict[str, int] = {}
    for n in model.graph.node:
        counts[n.op_type] = counts.get(n.op_type, 0) + 1
    return dict(sorted(counts.items()))
