"""Precision names: of the bundled ONNX files, of TensorRT engines, and their spellings.

One vocabulary for every layer. A bundled model ships in three files (fp32, fp16 and the CPU's
INT8); a TensorRT engine is built from the fp32 or fp16 ONNX (TensorRT INT8 would need its own
calibration, which this project does not ship). Sidecars written by other tools spell precisions
in several ways; :func:`canonical_precision` maps them onto these names, as
``cpp/src/sidecar.cpp::precisionName`` does.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInputError

#: Precisions a bundled ONNX model ships in.
ONNX_PRECISIONS = ("fp32", "fp16", "int8")
#: Precisions a TensorRT engine is built in.
ENGINE_PRECISIONS = ("fp16", "fp32")
#: The engine precision when none is asked for: TensorRT is the GPU path, and fp16 is its point.
DEFAULT_ENGINE_PRECISION = "fp16"
#: Alternative spellings found in sidecars -> the canonical name.
ALIASES = {"fp16": "fp16", "float16": "fp16", "half": "fp16",
           "fp32": "fp32", "float32": "fp32", "float": "fp32",
           "int8": "int8"}


def canonical_precision(name: str) -> str:
    """``"float16"``/``"half"`` -> ``"fp16"`` and so on; unknown names come back lower-cased."""
    low = str(name).lower()
    return ALIASES.get(low, low)


def check_precision(name: str, allowed: tuple[str, ...], what: str = "precision") -> str:
    """``name`` if it is one of ``allowed``; :class:`InvalidInputError` naming them otherwise."""
    if name not in allowed:
        raise InvalidInputError(f"{what} must be one of {', '.join(allowed)}, got {name!r}")
    return name


#: (op, input index) pairs whose float tensors are parameters, not data (always fp32 by the spec).
PARAMETER_INPUTS = frozenset({("Resize", 1), ("Resize", 2), ("Upsample", 1)})


def parameter_tensors(model: Any) -> set[str]:
    """Initializers of an ``onnx.ModelProto`` used only as shape parameters (Resize roi/scales)."""
    uses: dict[str, set[bool]] = {}
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            uses.setdefault(name, set()).add((node.op_type, i) in PARAMETER_INPUTS)
    return {name for name, kinds in uses.items() if kinds == {True}}


def onnx_precision(model: Any) -> str:
    """``"fp16"`` when an ``onnx.ModelProto``'s float weights are half precision, ``"fp32"`` (or
    ``"mixed"``) otherwise. Resize's ``scales`` are fp32 by the ONNX spec and are not counted.
    A strongly typed TensorRT engine takes its precision from exactly this."""
    from onnx import TensorProto

    params = parameter_tensors(model)
    kinds = {t.data_type for t in model.graph.initializer if t.name not in params
             and t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16)}
    if kinds == {TensorProto.FLOAT16}:
        return "fp16"
    if TensorProto.FLOAT16 in kinds:
        return "mixed"
    return "fp32"


def onnx_io_dtype(model: Any) -> str:
    """``"float16"`` when an ``onnx.ModelProto``'s graph inputs are half precision, else
    ``"float32"``: what callers must feed, independent of the weights (a fp16 model keeps fp32 IO
    by default, with casts inside)."""
    from onnx import TensorProto

    types = {vi.type.tensor_type.elem_type for vi in model.graph.input}
    return "float16" if TensorProto.FLOAT16 in types else "float32"
