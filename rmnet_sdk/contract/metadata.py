"""Model metadata: one schema for the .keras archive, ONNX ``metadata_props`` and engine sidecars.

Every field has a documented default, so a model exported elsewhere (without our metadata) is
still accepted: it is assumed to follow DESIGN.md's conventions.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from typing import Any

from ..errors import ModelError, ModelNotFoundError

#: Prefix of our keys inside ONNX ``metadata_props`` (other tools may add their own keys).
ONNX_KEY_PREFIX = "rmnet."
#: Name of the JSON member we add to a ``.keras`` zip archive.
KERAS_MEMBER = "rmnet_metadata.json"


@dataclass(frozen=True)
class ModelMetadata:
    """What a runtime must know about a model to feed it correctly."""

    name: str = "rmnet"
    version: str = "0"
    resolution: int = 256                 # training/native resolution (square)
    normalization: str = "x/127.5-1"      # image tensor range [-1, 1]
    mask_polarity: str = "1=hole"         # mask tensor: 1 = hole, 0 = known
    layout: str = "NCHW"                  # ONNX/TensorRT layout (Keras is NHWC)
    gf: int = 0                           # generator width (0 = unknown)
    mask_channel: bool = False            # whether the net sees the mask as a 4th channel
    prefill: bool = False                 # pyramid prefill + residual output inside the graph
    config_hash: str = ""                 # training recipe hash (TrainConfig.recipe_hash)
    source_sha256: str = ""               # sha256 of the source checkpoint / .keras file
    training_steps: int = 0
    upsampling: str = "bilinear"          # decoder x2: "bilinear" (half-pixel) | "asymmetric" (TF 1)
    # weights made outside rmnet-train (rmnet-import-reference): what they are, and which file
    origin: str = ""                      # e.g. "reference R-MNet (Jam et al.), ..."; "" = trained here
    origin_file: str = ""                 # that file's name (no directory)
    origin_sha256: str = ""               # that file's sha256 (source_sha256 is the .keras one)

    def to_strings(self) -> dict[str, str]:
        """Flat ``str -> str`` form for ONNX ``metadata_props``."""
        return {ONNX_KEY_PREFIX + k: json.dumps(v) if not isinstance(v, str) else v
                for k, v in dataclasses.asdict(self).items()}

    @classmethod
    def from_strings(cls, props: dict[str, str]) -> ModelMetadata:
        """Parse ``metadata_props``; missing keys take the defaults, unknown keys are ignored."""
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            key = ONNX_KEY_PREFIX + f.name
            if key not in props:
                continue
            raw = props[key]
            try:
                values[f.name] = raw if f.type in ("str", str) else json.loads(raw)
            except json.JSONDecodeError as e:
                raise ModelError(f"model metadata {key}={raw!r} is not valid: {e}") from e
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelMetadata:
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def replace(self, **changes: Any) -> ModelMetadata:
        return dataclasses.replace(self, **changes)


def read_onnx_file_metadata(path: str | os.PathLike[str]) -> ModelMetadata:
    """Our :class:`ModelMetadata` from an ``.onnx`` file's ``metadata_props``.

    The runtime's reader (the native backend needs the metadata before C++ loads the file): it
    parses the protobuf without the export toolchain and without the graph checks. A model
    without our keys takes every documented default.
    """
    import onnx

    if not os.path.isfile(path):
        raise ModelNotFoundError(f"ONNX model not found: {path}")
    try:
        model = onnx.load(os.fspath(path), load_external_data=False)
    except Exception as e:  # protobuf DecodeError, OSError
        raise ModelError(f"{path} is not a valid ONNX model: {e}") from e
    return ModelMetadata.from_strings({p.key: p.value for p in model.metadata_props})


def read_onnx_metadata(model: Any) -> ModelMetadata:
    """Our :class:`ModelMetadata` from an ``onnx.ModelProto``, serialized bytes, or a path.

    A model without our keys (exported elsewhere) is accepted: every field takes its documented
    default (DESIGN.md conventions: 256, ``x/127.5-1``, ``1=hole``, NCHW).
    """
    if isinstance(model, (str, os.PathLike)):
        return read_onnx_file_metadata(model)
    if isinstance(model, bytes):
        import onnx

        try:
            model = onnx.load_from_string(model)
        except Exception as e:  # protobuf DecodeError
            raise ModelError(f"bytes are not a valid ONNX model: {e}") from e
    return ModelMetadata.from_strings({p.key: p.value for p in model.metadata_props})
