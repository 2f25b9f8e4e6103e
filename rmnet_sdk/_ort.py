"""ONNX Runtime session creation: one place for session options, providers and load errors.

The backend, the export's parity and fp16 gates, the FID feature extractor and the benchmarks all
open sessions; they differ only in providers, threads, optimisation and profiling, so those are
the parameters here and the rest (quiet logs, a typed error for a file ORT refuses) is shared.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .errors import ModelError

CPU_PROVIDERS: tuple[str, ...] = ("CPUExecutionProvider",)


def create_session(model: bytes | str | os.PathLike[str], *,
                   providers: Sequence[Any] = CPU_PROVIDERS, threads: int | None = None,
                   optimize: bool = True, profile_prefix: str | None = None,
                   what: str | None = None) -> Any:  # onnxruntime.InferenceSession
    """An ``onnxruntime.InferenceSession`` for an ONNX file path or serialized bytes.

    Args:
        providers: execution providers in priority order (ORT's own form: names or
            ``(name, options)`` pairs); CPU by default.
        threads: intra-op threads (``None``: ORT's default, one per physical core).
        optimize: all graph optimisations, or none (a reference run that must not fuse ops).
        profile_prefix: write an ORT per-op profile with this file prefix.
        what: how the model is named in the error (default: the path, or "the model").

    Raises:
        ModelError: ORT refuses the graph (corrupt file, unsupported op, bad protobuf); ORT
            raises its own exception types for these, so they are caught broadly here.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = (ort.GraphOptimizationLevel.ORT_ENABLE_ALL if optimize
                                     else ort.GraphOptimizationLevel.ORT_DISABLE_ALL)
    if threads:
        opts.intra_op_num_threads = threads
    if profile_prefix:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    opts.log_severity_level = 3  # errors only: ORT's warnings about unused initializers are noise
    source = model if isinstance(model, bytes) else os.fspath(model)
    try:
        return ort.InferenceSession(source, sess_options=opts, providers=list(providers))
    except Exception as e:
        name = what or (source if isinstance(source, str) else "the model")
        raise ModelError(f"ONNX Runtime cannot load {name}: {e}") from e
