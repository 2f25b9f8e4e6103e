"""What decides an engine's bytes: the build request and the engine cache key.

A TensorRT engine is a function of the ONNX it was parsed from, the TensorRT product and version,
the GPU(s) it was built for, and the builder's settings. :class:`EngineRequest` holds the
settings a user chooses; :func:`cache_key_parts` adds what the machine decides; the key is the
sha256 of their canonical JSON. The engine cache files engines under this key, and every sidecar
records it, so an engine is never reused for a request it was not built for.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Sequence
from typing import Any

from .._fileio import sha256_bytes
from ..errors import InvalidInputError
from .precision import DEFAULT_ENGINE_PRECISION, ENGINE_PRECISIONS
from .profiles import DEFAULT_PROFILE, Profile

#: TensorRT products that build engines: full TensorRT (on the GPU it builds for) and
#: TensorRT-RTX (ahead of time, also without a GPU).
FLAVOURS = ("tensorrt", "tensorrt-rtx")
#: TensorRT's hardware-compatibility levels, lower case.
HW_COMPAT_LEVELS = ("none", "ampere_plus", "same_compute_capability")


def normalize_target(target: str) -> str:
    """``"sm86"``, ``"sm_86"``, ``"86"``, ``"8.6"`` -> ``"sm86"``."""
    t = str(target).strip().lower().replace("_", "")
    t = t[2:] if t.startswith("sm") else t
    if re.fullmatch(r"\d+\.\d", t):
        t = t.replace(".", "")
    if not re.fullmatch(r"\d{2,3}", t):
        raise InvalidInputError(f"a compute capability target looks like sm86 or 8.6; got {target!r}")
    return f"sm{t}"


def target_to_cc(target: str) -> str:
    """``"sm86"`` -> ``"8.6"``, ``"sm120"`` -> ``"12.0"``."""
    digits = normalize_target(target)[2:]
    return f"{digits[:-1]}.{digits[-1]}"


@dataclasses.dataclass(frozen=True)
class EngineRequest:
    """What engine to build. Every field is part of the cache key.

    ``targets`` are compute capabilities for TensorRT-RTX ahead-of-time builds (``()`` = the GPU
    of this machine); full TensorRT always builds for the local GPU. ``optimization_level`` is the
    builder optimisation level 0-5 (TensorRT's default 3; lower builds faster). ``workspace_mib``
    caps the builder workspace (None = TensorRT's default: the device memory). Profiles may be
    given as text (``"1x256x256:1x256x256:4x1024x1024"``) and must keep H and W on the model's
    size multiple.
    """

    profiles: tuple[Profile, ...] = (DEFAULT_PROFILE,)
    precision: str = DEFAULT_ENGINE_PRECISION
    targets: tuple[str, ...] = ()
    flavour: str = "auto"
    optimization_level: int = 3
    workspace_mib: int | None = None
    hardware_compatibility: str = "none"

    def __post_init__(self) -> None:
        profiles = tuple(Profile.parse(p) if isinstance(p, str) else p.check_model_sizes()
                         for p in self.profiles)
        if not profiles:
            raise InvalidInputError("an engine needs at least one optimisation profile")
        object.__setattr__(self, "profiles", profiles)
        targets = tuple(dict.fromkeys(normalize_target(t) for t in self.targets))
        object.__setattr__(self, "targets", targets)
        if self.precision not in ENGINE_PRECISIONS:
            raise InvalidInputError(f"precision must be one of {ENGINE_PRECISIONS}, "
                                    f"got {self.precision!r}")
        if self.flavour not in ("auto", *FLAVOURS):
            raise InvalidInputError(f"flavour must be auto or one of {FLAVOURS}, got {self.flavour!r}")
        if not 0 <= int(self.optimization_level) <= 5:
            raise InvalidInputError(f"optimization_level is 0..5, got {self.optimization_level}")
        if self.workspace_mib is not None and int(self.workspace_mib) < 1:
            raise InvalidInputError(f"workspace_mib must be >= 1, got {self.workspace_mib}")
        hw = str(self.hardware_compatibility).lower()
        if hw not in HW_COMPAT_LEVELS:
            raise InvalidInputError(f"hardware_compatibility must be one of {HW_COMPAT_LEVELS}")
        object.__setattr__(self, "hardware_compatibility", hw)

    def to_dict(self) -> dict[str, Any]:
        return {"profiles": [p.to_dict() for p in self.profiles], "precision": self.precision,
                "targets": list(self.targets), "flavour": self.flavour,
                "optimization_level": int(self.optimization_level),
                "workspace_mib": self.workspace_mib,
                "hardware_compatibility": self.hardware_compatibility}


def cache_key_parts(onnx_sha256: str, request: EngineRequest, *, flavour: str, trt_version: str,
                    targets: Sequence[str], gpu_name: str | None) -> dict[str, Any]:
    """Everything that decides an engine's bytes (the key is the sha256 of this).

    ``flavour``/``trt_version`` are the builder's; ``targets`` the ``smXY`` it builds for (as
    resolved on this machine); ``gpu_name`` the local GPU when the build is for it (timing
    depends on the exact GPU model), else None.
    """
    return {
        "onnx_sha256": onnx_sha256,
        "flavour": flavour,
        "trt_version": trt_version,
        "compute_capability": [target_to_cc(t) for t in targets],
        "gpu_name": gpu_name,
        "precision": request.precision,
        "profiles": [p.to_dict() for p in request.profiles],
        "builder_optimization_level": int(request.optimization_level),
        "hardware_compatibility_level": request.hardware_compatibility,
        "workspace_mib": request.workspace_mib,
    }


def cache_key_from_parts(parts: dict[str, Any]) -> str:
    """sha256 of the parts' canonical JSON (sorted keys)."""
    return sha256_bytes(json.dumps(parts, sort_keys=True).encode())


def expected_sidecar_fields(parts: dict[str, Any]) -> dict[str, Any]:
    """The sidecar fields an engine built from these key parts must have (what the engine cache
    compares before it serves an engine)."""
    ccs = parts["compute_capability"]
    return {"cache_key": cache_key_from_parts(parts), "onnx_sha256": parts["onnx_sha256"],
            "flavour": parts["flavour"], "trt_version": parts["trt_version"],
            "compute_capability": ccs[0] if len(ccs) == 1 else ccs,
            "precision": parts["precision"], "profiles": parts["profiles"],
            "builder_optimization_level": parts["builder_optimization_level"],
            "hardware_compatibility_level": parts["hardware_compatibility_level"]}
