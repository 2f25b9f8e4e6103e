"""The engine sidecar: its schema, how it is written, and the check of an engine against it.

A serialized engine only runs on the TensorRT product and version and the GPU it was built for,
and a stale or replaced engine silently serves another model. Every engine therefore has a
sidecar ``<engine>.json`` (written by ``rmnet-export``, or by ``rmnet-sidecar`` for an engine built
with ``trtexec``), described by the checked-in JSON Schema ``engine_sidecar.schema.json`` beside
this file. This module is the one Python place that writes, reads and checks sidecars; the C++
runtime's ``cpp/src/sidecar.cpp`` is the other (it embeds the same schema file at build time), and
both are held to the shared vectors in ``tests/data/sidecar_vectors/``: same accept/refuse, same
reason classes, same profile for a batch.

The check, in both languages: a sidecar that is not a JSON object or fails the schema is
``malformed`` (its engine's bytes are still checked, nothing else); otherwise every rule of
:func:`engine_problems` applies and all failures are reported together.

Runtime code: no TensorRT, CUDA or export toolchain is imported here.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from .._fileio import sha256_bytes
from ..errors import EngineMismatchError, InvalidInputError, ModelNotFoundError
from .io import TENSOR_CHANNELS
from .precision import canonical_precision
from .profiles import Profile

#: The sidecar format this runtime reads and writes (the schema's ``format``).
SIDECAR_FORMAT = 1
#: The checked-in JSON Schema of a sidecar (also embedded into the C++ runtime at build time).
SCHEMA_PATH = Path(__file__).with_name("engine_sidecar.schema.json")

#: Reason classes of a refusal, shared with the C++ check and the test vectors.
REASONS = ("malformed", "integrity", "flavour", "trt_version", "compute_capability", "precision",
           "onnx_sha256")
#: The reason class of a sidecar field that differs from what a caller expected
#: (:func:`check_engine`'s ``expected``: the engine cache asking for the engine of one request).
EXPECTED_REASON = "expected"
#: Compute capabilities of Jetson/DRIVE GPUs, where hardware-compatible engines do not run.
_JETSON = {72, 87, 101, 110}


@dataclasses.dataclass(frozen=True)
class Problem:
    """One reason to refuse an engine: a class from :data:`REASONS` (or :data:`EXPECTED_REASON`)
    and a readable line."""

    reason: str
    message: str


@dataclasses.dataclass(frozen=True)
class RuntimeExpectation:
    """What the running process has (TensorRT flavour and version, the GPU) and asks for."""

    flavour: str
    trt_version: str
    compute_capability: str  #: "8.7"
    precision: str | None = None  #: None accepts any
    onnx_sha256: str | None = None  #: None accepts any


def sidecar_path(engine_path: str | os.PathLike[str]) -> Path:
    """``<engine>.json`` (the name the C++ runtime looks for first)."""
    p = Path(engine_path)
    return p.with_name(p.name + ".json")


def read_sidecar(engine_path: str | os.PathLike[str]) -> dict[str, Any]:
    """The sidecar of ``engine_path``; :class:`EngineMismatchError` when missing or unreadable."""
    path = sidecar_path(engine_path)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise EngineMismatchError(
            f"engine {engine_path} has no sidecar {path} (write one with rmnet-export, or with "
            "rmnet-sidecar for an engine built by trtexec)") from e
    except (OSError, ValueError) as e:
        raise EngineMismatchError(f"sidecar {path} is unreadable: {e}") from e
    if not isinstance(data, dict):
        raise EngineMismatchError(f"sidecar {path} is not a JSON object")
    return data


def _version_parts(text: str) -> list[int]:
    parts = []
    for item in str(text).split("."):
        m = re.match(r"\d+", item)
        if not m or not item:
            break
        parts.append(int(m.group()))
    return parts


def _cc(value: Any) -> int:
    """``"8.7"``, ``"87"``, ``"sm_87"``, ``8.7``, ``87`` -> 87; -1 when unreadable."""
    if isinstance(value, bool):
        return -1
    if isinstance(value, (int, float)):
        return round(value * 10) if value < 20 else round(value)
    if not isinstance(value, str):
        return -1
    s = value.lower()
    s = s[3:] if s.startswith("sm_") else s
    parts = _version_parts(s)
    if len(parts) >= 2:
        return parts[0] * 10 + parts[1]
    return parts[0] if parts else -1


def compute_capabilities(value: Any) -> list[int]:
    """Every capability a sidecar's ``compute_capability`` names (``[8, 7]`` is one; a list of
    strings is a multi-target TensorRT-RTX engine); ``[]`` when unreadable."""
    if isinstance(value, list):
        if (len(value) == 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                    for v in value) and value[0] < 20 and value[1] < 10):
            return [int(value[0]) * 10 + int(value[1])]
        ccs = [_cc(v) for v in value]
        return ccs if ccs and all(c > 0 for c in ccs) else []
    cc = _cc(value)
    return [cc] if cc > 0 else []


def _cc_text(cc: int) -> str:
    return f"{cc // 10}.{cc % 10}"


def integrity_problems(sidecar: dict[str, Any], engine: bytes) -> list[Problem]:
    """The engine bytes against the sidecar's ``engine_bytes``/``engine_sha256`` (no GPU needed)."""
    size, sha = sidecar.get("engine_bytes"), sidecar.get("engine_sha256")
    if isinstance(size, float) and size.is_integer():
        size = int(size)  # JSON has one number type: 67.0 is the integer 67 (as in C++)
    if not isinstance(sha, str) or not isinstance(size, int) or isinstance(size, bool):
        return [Problem("integrity", "sidecar has no engine_sha256/engine_bytes to check the engine "
                                     "against (write them with rmnet-sidecar ENGINE --onnx MODEL.onnx)")]
    if size != len(engine):
        return [Problem("integrity", f"engine is {len(engine)} bytes, the sidecar says {size} "
                                     "(truncated or replaced file)")]
    if sha.lower() != sha256_bytes(engine):
        return [Problem("integrity", "engine sha256 differs from the sidecar's (corrupt or replaced "
                                     "file)")]
    return []


def engine_problems(sidecar: dict[str, Any] | str, engine: bytes,
                    runtime: RuntimeExpectation) -> list[Problem]:
    """Every reason this runtime must refuse ``engine`` with ``sidecar`` (``[]``: run it).

    ``sidecar`` is the parsed object or its raw text. The rule, shared with the C++ runtime:
    the required keys are present; the bytes match ``engine_bytes``/``engine_sha256``; the flavour
    (default ``tensorrt``) is the runtime's; ``trt_version`` equals the runtime's major.minor.patch
    (a build number is not compared); the GPU is one the engine was built for, or for
    ``hardware_compatibility_level`` ``ampere_plus`` any sm80+ GPU but Jetson/DRIVE; the
    requested precision and ONNX hash match when asked for.
    """
    if isinstance(sidecar, str):
        try:
            sidecar = json.loads(sidecar)
        except ValueError as e:
            return [Problem("malformed", f"sidecar is not valid JSON ({e})")]
    if not isinstance(sidecar, dict):
        return [Problem("malformed", "sidecar is not a JSON object")]
    problems = schema_problems(sidecar)
    if problems:  # the semantic rules below assume the schema's types
        return problems + integrity_problems(sidecar, engine)
    problems = integrity_problems(sidecar, engine)

    # The schema holds from here on: the required keys are there, with the types it names.
    flavour = sidecar.get("flavour", "tensorrt").lower()
    if flavour != runtime.flavour:
        problems.append(Problem("flavour", f"engine flavour {flavour}, this runtime runs "
                                           f"{runtime.flavour} engines"))
    have = sidecar["onnx_sha256"]
    if runtime.onnx_sha256 and have.lower() != runtime.onnx_sha256.lower():
        problems.append(Problem("onnx_sha256", f"onnx_sha256 {have} != expected "
                                               f"{runtime.onnx_sha256}"))
    built = sidecar["trt_version"]
    parts = _version_parts(built)[:3]  # the schema's pattern guarantees major.minor
    if parts != (_version_parts(runtime.trt_version) + [0, 0, 0])[:len(parts)]:
        problems.append(Problem(
            "trt_version", f"engine built with {flavour} {built}, this is {runtime.flavour} "
                           f"{runtime.trt_version} (engines run only on the version that built "
                           "them)"))
    level = sidecar.get("hardware_compatibility_level", "none").lower()
    ccs = compute_capabilities(sidecar["compute_capability"])
    gpu = _cc(runtime.compute_capability)
    if not ccs:
        problems.append(Problem("malformed", "compute_capability is unreadable"))
    elif level == "ampere_plus":
        if gpu < 80 or gpu in _JETSON:
            problems.append(Problem(
                "compute_capability",
                "engine is hardware-compatible (ampere_plus), which runs on sm80 and newer "
                f"except Jetson/DRIVE; this GPU is {_cc_text(gpu)}: build the engine on this "
                "device"))
    elif level in ("none", "same_compute_capability"):
        if gpu not in ccs:
            problems.append(Problem(
                "compute_capability",
                f"engine built for compute capability {', '.join(map(_cc_text, ccs))}, "
                f"this GPU is {_cc_text(gpu)}"))
    else:
        problems.append(Problem("malformed", f"unknown hardware_compatibility_level {level}"))
    have = sidecar["precision"]
    if runtime.precision and canonical_precision(have) != runtime.precision:
        problems.append(Problem("precision", f"engine precision {have} != requested "
                                             f"{runtime.precision}"))
    try:
        sidecar_profiles(sidecar)
    except InvalidInputError as e:
        problems.append(Problem("malformed", str(e)))
    return problems


@lru_cache(maxsize=1)
def _validator() -> Any:
    # jsonschema is the reference implementation of the schema language; the C++ runtime's own
    # validator (cpp/src/json_schema.cpp) implements the keyword subset the schema uses, and the
    # shared vectors hold the two to the same verdicts.
    import jsonschema

    schema = load_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def load_schema() -> dict[str, Any]:
    """The sidecar JSON Schema (``engine_sidecar.schema.json``)."""
    return json.loads(SCHEMA_PATH.read_text())


#: The keys a sidecar must have: the schema's ``required``, read from it.
REQUIRED_KEYS = tuple(load_schema()["required"])


def schema_problems(sidecar: Any) -> list[Problem]:
    """One ``malformed`` problem per schema violation of ``sidecar`` (``[]``: it conforms)."""
    errors = sorted(_validator().iter_errors(sidecar), key=lambda e: list(e.absolute_path))
    return [Problem("malformed", f"sidecar {'/'.join(map(str, e.absolute_path)) or '(root)'}: "
                                 f"{e.message}") for e in errors]


def sidecar_profiles(sidecar: dict[str, Any]) -> list[Profile]:
    """The sidecar's optimisation profiles, in the engine's order (InvalidInputError if bad)."""
    profiles = sidecar.get("profiles")
    if not isinstance(profiles, list) or not profiles:
        raise InvalidInputError("sidecar profiles is empty or not a list")
    if not all(isinstance(p, dict) for p in profiles):
        raise InvalidInputError(f"a profile is {{'min', 'opt', 'max'}}, got {profiles!r}")
    return [Profile.from_dict(p) for p in profiles]


def make_sidecar(*, flavour: str, trt_version: str, compute_capabilities: Sequence[str],
                 precision: str, profiles: Sequence[Profile], onnx_sha256: str, engine: bytes,
                 metadata: dict[str, Any], io_dtype: str = "float32",
                 aot_targets: Sequence[str] = (), gpu_name: str | None = None,
                 hardware_compatibility: str = "none", optimization_level: int | None = None,
                 workspace_mib: int | None = None, cache_key: str | None = None,
                 verification: dict[str, Any] | None = None,
                 build_seconds: float | None = None) -> dict[str, Any]:
    """A sidecar for ``engine`` (the schema's format), checked against the schema before it is
    returned, so no writer can produce one that a runtime would refuse as malformed.

    ``compute_capabilities`` are ``"major.minor"``: one is written as a string, several (a
    multi-target TensorRT-RTX engine, which the C++ runtime for standard TensorRT refuses) as a
    list. ``profiles`` become ``{"min": [N, H, W], "opt": [...], "max": [...]}``.
    """
    import datetime

    ccs = list(compute_capabilities)
    sidecar = {
        "format": SIDECAR_FORMAT,
        "flavour": flavour,
        "trt_version": trt_version,
        "compute_capability": ccs[0] if len(ccs) == 1 else ccs,
        "aot_targets": list(aot_targets),
        "gpu_name": gpu_name,
        "precision": precision,
        "profiles": [p.to_dict() for p in profiles],
        "io": {**{name: [-1, c, -1, -1] for name, c in TENSOR_CHANNELS.items()},
               "layout": "NCHW", "dtype": io_dtype},
        "builder_optimization_level": optimization_level,
        "hardware_compatibility_level": hardware_compatibility,
        "workspace_mib": workspace_mib,
        "onnx_sha256": onnx_sha256,
        "engine_sha256": sha256_bytes(engine),
        "engine_bytes": len(engine),
        "cache_key": cache_key,
        "metadata": metadata,
        "verification": verification or {},
        "build_seconds": build_seconds,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    problems = schema_problems(sidecar)
    if problems:
        raise InvalidInputError("the sidecar to write breaks the schema: "
                                + "; ".join(p.message for p in problems))
    return sidecar


def raise_problems(engine_path: str | os.PathLike[str], problems: list[Problem]) -> None:
    """:class:`EngineMismatchError` listing ``problems``, if any."""
    if problems:
        raise EngineMismatchError(f"engine {engine_path} does not match its sidecar: "
                                  + "; ".join(p.message for p in problems))


def read_engine(engine_path: str | os.PathLike[str]) -> tuple[bytes, dict[str, Any]]:
    """``(engine bytes, sidecar)`` with the sidecar checked against the schema and the bytes
    against the sidecar: what can be checked before any TensorRT or GPU is touched.

    The bytes returned are the bytes hashed: deserialise these, never the file again (a file
    replaced in between would otherwise run unchecked). Raises :class:`ModelNotFoundError` or
    :class:`EngineMismatchError`.
    """
    return check_engine(engine_path)


def check_engine(engine_path: str | os.PathLike[str], runtime: RuntimeExpectation | None = None,
                 expected: dict[str, Any] | None = None) -> tuple[bytes, dict[str, Any]]:
    """``(engine bytes, sidecar)`` when the engine passes every check asked for, all at once.

    Always: the sidecar exists, parses and follows the schema, and the bytes match it. With
    ``runtime``: every compatibility rule of :func:`engine_problems`. With ``expected``: each
    given sidecar field equals its value (the engine cache uses this to refuse an engine built
    for another request). Every problem found is listed in one :class:`EngineMismatchError`;
    a missing engine is :class:`ModelNotFoundError`.
    """
    path = Path(engine_path)
    if not path.is_file():
        raise ModelNotFoundError(f"engine not found: {path}")
    sidecar = read_sidecar(path)
    engine = path.read_bytes()
    if runtime is not None:
        problems = engine_problems(sidecar, engine, runtime)
    else:
        problems = schema_problems(sidecar) + integrity_problems(sidecar, engine)
    for key, want in (expected or {}).items():
        have = sidecar.get(key, "<missing>")
        if have != want:
            problems.append(Problem(EXPECTED_REASON, f"{key}: engine has {have!r}, wanted {want!r}"))
    raise_problems(path, problems)
    return engine, sidecar
