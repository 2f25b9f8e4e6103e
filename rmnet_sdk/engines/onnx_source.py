"""An ONNX model read once for an engine build, hashed with its external data."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from .._fileio import sha256_bytes
from ..errors import ModelError, ModelNotFoundError


@dataclasses.dataclass(frozen=True)
class OnnxSource:
    """An ONNX model read once for a build: the bytes TensorRT parses and the digest they are cached
    under, so a file replaced between hashing and parsing cannot be cached under the old key.

    ``sha256`` is the file's sha256 when the model keeps its weights inside; with external data
    (``m.onnx.data``) it is the sha256 of ``{"onnx": <file sha256>, "external_data": [[location,
    sha256], ...]}``, so a weights change is a new key.
    """

    path: Path
    data: bytes
    external: tuple[tuple[str, str], ...]
    sha256: str

    def external_changed(self) -> list[str]:
        """Locations whose file no longer has the hash it had when read."""
        return [loc for loc, sha in self.external
                if not (self.path.parent / loc).is_file()
                or sha256_bytes((self.path.parent / loc).read_bytes()) != sha]


def _tensors(graph: Any) -> Any:
    """Every TensorProto of ``graph``: initializers, Constant/attribute tensors, subgraphs."""
    yield from graph.initializer
    for node in graph.node:
        for attr in node.attribute:
            if attr.HasField("t"):
                yield attr.t
            yield from attr.tensors
            if attr.HasField("g"):
                yield from _tensors(attr.g)
            for g in attr.graphs:
                yield from _tensors(g)


def read_onnx_source(onnx_path: str | os.PathLike[str]) -> OnnxSource:
    """Read ``onnx_path`` and hash it with every external data file it names (see OnnxSource)."""
    import onnx

    path = Path(onnx_path)
    if not path.is_file():
        raise ModelNotFoundError(f"ONNX model not found: {path}")
    data = path.read_bytes()
    try:
        model = onnx.load_from_string(data)  # external tensors stay references
    except Exception as e:
        raise ModelError(f"{path} is not a valid ONNX model: {e}") from e
    locations = sorted({entry.value for t in _tensors(model.graph)
                        if t.data_location == onnx.TensorProto.EXTERNAL
                        for entry in t.external_data if entry.key == "location"})
    external = []
    for loc in locations:
        f = path.parent / loc
        if not f.is_file():
            raise ModelNotFoundError(f"{path} keeps weights in {loc}, which is missing next to it")
        external.append((loc, sha256_bytes(f.read_bytes())))
    digest = sha256_bytes(data)
    if external:
        digest = sha256_bytes(json.dumps({"onnx": digest, "external_data": external}).encode())
    return OnnxSource(path, data, tuple(external), digest)
