"""ONNX -> TensorRT engine: one code path for TensorRT 10.x, 11.x and TensorRT-RTX.

Precision lives in the ONNX (research/sdk_anchors.md §5-6): a fp16 engine is built from the fp16
ONNX (:mod:`rmnet_sdk.export.fp16`) as a *strongly typed* network. TensorRT 10.x needs the
``STRONGLY_TYPED`` creation flag (set by name, never as a raw bit: its value differs between 10
and 11); TensorRT 11 and TensorRT-RTX are always strongly typed and have no ``BuilderFlag.FP16``
(this module never touches it).

Flavours:

* ``tensorrt`` (module ``tensorrt``, >= 10): builds for the GPU it runs on, so it needs one.
* ``tensorrt-rtx`` (module ``tensorrt_rtx``): builds ahead of time, also without a GPU, for the
  compute capabilities it knows (sm75, sm80, sm86, sm89, sm120, sm121; **no sm87 Jetson Orin,
  no sm90 H100/H200**). It ignores timing caches (a runtime cache replaces them), so none is set.

After a build the engine is checked: IO names, shapes and profiles, and that its layers run in
the requested precision. With a usable GPU that is done on the deserialised engine (engine
inspector, ``ProfilingVerbosity.DETAILED``); without one (RTX ahead-of-time builds) on the
parsed network's tensor types and the builder config's profiles, and the sidecar says which.
A TensorRT runtime is never created unless ``cudaGetDeviceCount`` reports a device: without
one, the runtime object is unusable and the next call segfaults.

Each engine gets a sidecar ``<engine>.json`` (keys the C++ runtime checks: ``onnx_sha256``,
``trt_version``, ``compute_capability``, ``precision``, ``profiles``; see :func:`make_sidecar`).
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import json
import logging
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._cuda import GpuInfo, cuda_device, cuda_devices
from ..contract.io import INPUT_CHANNELS
from ..errors import (
    BackendUnavailableError,
    EngineMismatchError,
    ExportError,
    InvalidInputError,
    ModelError,
    ModelNotFoundError,
)
from ..sidecar import read_engine, read_sidecar, sidecar_path  # noqa: F401 (read_sidecar: re-exported)
from ._common import (
    check_spatial_size,
    log,
    same_file,
    sha256_bytes,
    write_atomic,
)

FLAVOURS = ("tensorrt", "tensorrt-rtx")
_MODULES = {"tensorrt": "tensorrt", "tensorrt-rtx": "tensorrt_rtx"}
#: Compute capabilities TensorRT-RTX 1.x can target ahead of time.
RTX_TARGETS = ("sm75", "sm80", "sm86", "sm89", "sm120", "sm121")
HW_COMPAT_LEVELS = ("none", "ampere_plus", "same_compute_capability")
PRECISIONS = ("fp16", "fp32")
SIDECAR_FORMAT = 1


# -- requests ------------------------------------------------------------------------------------

def _parse_nhw(text: str) -> tuple[int, int, int]:
    parts = text.strip().lower().split("x")
    try:
        n, h, w = (int(p) for p in parts)
    except ValueError as e:
        raise InvalidInputError(f"a profile shape is NxHxW, e.g. 1x256x256; got {text!r}") from e
    return n, h, w


@dataclasses.dataclass(frozen=True)
class Profile:
    """One optimisation profile: min/opt/max of (N, H, W); channels follow from the tensor."""

    min: tuple[int, int, int]
    opt: tuple[int, int, int]
    max: tuple[int, int, int]

    def __post_init__(self) -> None:
        for which in ("min", "opt", "max"):
            value = tuple(int(v) for v in getattr(self, which))
            if len(value) != 3 or value[0] < 1:
                raise InvalidInputError(f"profile {which} must be (N>=1, H, W), got {value}")
            check_spatial_size(value[1], value[2])
            object.__setattr__(self, which, value)
        for i, axis in enumerate("NHW"):
            if not self.min[i] <= self.opt[i] <= self.max[i]:
                raise InvalidInputError(f"profile {self}: {axis} needs min <= opt <= max")

    @classmethod
    def parse(cls, text: str) -> Profile:
        """``"1x256x256:1x256x256:4x1024x1024"`` (min:opt:max) or one ``NxHxW`` (fixed)."""
        parts = text.split(":")
        if len(parts) == 1:
            parts = parts * 3
        if len(parts) != 3:
            raise InvalidInputError(f"a profile is MIN:OPT:MAX, each NxHxW; got {text!r}")
        return cls(*(_parse_nhw(p) for p in parts))

    def shapes(self, channels: int) -> tuple[tuple[int, ...], ...]:
        """(min, opt, max) NCHW shapes for a tensor with ``channels`` channels."""
        return tuple((s[0], channels, s[1], s[2]) for s in (self.min, self.opt, self.max))

    def to_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    @classmethod
    def from_dict(cls, d: dict[str, Sequence[int]]) -> Profile:
        return cls(tuple(d["min"]), tuple(d["opt"]), tuple(d["max"]))

    def __str__(self) -> str:
        return ":".join("x".join(str(v) for v in s) for s in (self.min, self.opt, self.max))


DEFAULT_PROFILE = Profile((1, 256, 256), (1, 256, 256), (4, 1024, 1024))


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
    caps the builder workspace (None = TensorRT's default: the device memory).
    """

    profiles: tuple[Profile, ...] = (DEFAULT_PROFILE,)
    precision: str = "fp16"
    targets: tuple[str, ...] = ()
    flavour: str = "auto"
    optimization_level: int = 3
    workspace_mib: int | None = None
    hardware_compatibility: str = "none"

    def __post_init__(self) -> None:
        profiles = tuple(Profile.parse(p) if isinstance(p, str) else p for p in self.profiles)
        if not profiles:
            raise InvalidInputError("an engine needs at least one optimisation profile")
        object.__setattr__(self, "profiles", profiles)
        targets = tuple(dict.fromkeys(normalize_target(t) for t in self.targets))
        object.__setattr__(self, "targets", targets)
        if self.precision not in PRECISIONS:
            raise InvalidInputError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
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


# -- environment ---------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class TrtEnvironment:
    """The TensorRT module in use, its flavour/version, and the CUDA devices of this machine."""

    trt: Any
    flavour: str
    version: str
    gpus: tuple[GpuInfo, ...] = ()
    #: The CUDA device engines are built, timed and checked on (its GPU is part of the cache key).
    device: int = 0

    @property
    def gpu(self) -> GpuInfo | None:
        return self.gpus[self.device] if 0 <= self.device < len(self.gpus) else None

    @property
    def major(self) -> int:
        m = re.match(r"\d+", self.version)
        return int(m.group()) if m else 0


def _import(flavour: str) -> Any | None:
    try:
        module = importlib.import_module(_MODULES[flavour])
    except Exception as e:  # ImportError, or OSError from a missing libnvinfer
        log.debug("cannot import %s: %s", _MODULES[flavour], e)
        return None
    return module if hasattr(module, "Builder") and hasattr(module, "OnnxParser") else None


def detect_environment(flavour: str = "auto", *, trt_module: Any = None,
                       devices: Sequence[GpuInfo] | None = None, device: int = 0) -> TrtEnvironment:
    """Pick the TensorRT flavour (``auto``: full TensorRT, else TensorRT-RTX) and probe the GPUs.

    ``trt_module``/``devices`` inject a module and a device list (tests, or a caller that has
    already probed). ``device`` is the CUDA ordinal engines are built for and on. Raises
    :class:`BackendUnavailableError` when no usable builder is installed, and
    :class:`InvalidInputError` for a device that does not exist.
    """
    if flavour not in ("auto", *FLAVOURS):
        raise InvalidInputError(f"flavour must be auto or one of {FLAVOURS}, got {flavour!r}")
    if trt_module is not None:
        resolved = flavour if flavour != "auto" else (
            "tensorrt-rtx" if "rtx" in getattr(trt_module, "__name__", "") else "tensorrt")
        module = trt_module
    else:
        order = FLAVOURS if flavour == "auto" else (flavour,)
        module, resolved = None, ""
        for f in order:
            module = _import(f)
            if module is not None:
                resolved = f
                break
        if module is None:
            raise BackendUnavailableError(
                "no TensorRT builder found: install `tensorrt` (>= 10, on the GPU machine) or "
                "`tensorrt-rtx-cu13` (ahead-of-time builds, also without a GPU); "
                f"tried {', '.join(_MODULES[f] for f in order)}")
    version = str(getattr(module, "__version__", "0"))
    gpus = tuple(devices) if devices is not None else tuple(cuda_devices())
    if device < 0 or (gpus and device >= len(gpus)):
        raise InvalidInputError(f"CUDA device {device} does not exist ({len(gpus)} found)")
    env = TrtEnvironment(module, resolved, version, gpus, int(device))
    if env.flavour == "tensorrt" and env.major < 10:
        raise BackendUnavailableError(f"TensorRT {version} is too old: rmnet-sdk needs >= 10 "
                                      "(strongly typed networks)")
    return env


def resolve_targets(env: TrtEnvironment, request: EngineRequest) -> tuple[str, ...]:
    """The compute capabilities the engine will be built for (``smXY`` strings)."""
    if env.flavour == "tensorrt":
        gpu = env.gpu
        if gpu is None:
            raise BackendUnavailableError(
                "full TensorRT builds engines on the GPU they are for, and this machine has no "
                "CUDA device; build on the target device, or use TensorRT-RTX (flavour "
                "'tensorrt-rtx') for an ahead-of-time build for RTX-class GPUs")
        wrong = [t for t in request.targets if t != gpu.sm]
        if wrong:
            raise InvalidInputError(
                f"full TensorRT builds for the local GPU ({gpu.name}, {gpu.sm}) and cannot "
                f"target {', '.join(wrong)}: build on that device (or with TensorRT-RTX)")
        return (gpu.sm,)
    cc_enum = env.trt.ComputeCapability
    available = [t for t in RTX_TARGETS if hasattr(cc_enum, t.upper())]
    if request.targets:
        missing = [t for t in request.targets if not hasattr(cc_enum, t.upper())]
        if missing:
            hint = ""
            if {"sm87", "sm90"} & set(missing):
                hint = (" (TensorRT-RTX has no sm87 Jetson Orin or sm90 H100/H200 target: build "
                        "those with full TensorRT on the device)")
            raise InvalidInputError(f"TensorRT-RTX {env.version} cannot target "
                                    f"{', '.join(missing)}; it knows {', '.join(available)}{hint}")
        return request.targets
    gpu = env.gpu
    if gpu is None:
        raise InvalidInputError(
            "this machine has no CUDA device: name the GPUs to build for ahead of time, e.g. "
            f"targets=('sm86', 'sm89') (CLI: --target sm86,sm89); TensorRT-RTX knows "
            f"{', '.join(available)}")
    if not hasattr(cc_enum, gpu.sm.upper()):
        raise BackendUnavailableError(f"TensorRT-RTX cannot build for this GPU ({gpu.name}, "
                                      f"{gpu.sm}); use full TensorRT on it")
    return (gpu.sm,)


# -- the ONNX as read once ------------------------------------------------------------------------

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


def cache_key_parts(onnx_sha256: str, request: EngineRequest, env: TrtEnvironment
                    ) -> dict[str, Any]:
    """Everything that decides an engine's bytes: the cache key is the sha256 of this."""
    targets = resolve_targets(env, request)
    local = env.flavour == "tensorrt" or not request.targets
    return {
        "onnx_sha256": onnx_sha256,
        "flavour": env.flavour,
        "trt_version": env.version,
        "compute_capability": [target_to_cc(t) for t in targets],
        # the GPU matters when the engine is built (and timed) for the local one
        "gpu_name": env.gpu.name if (local and env.gpu) else None,
        "precision": request.precision,
        "profiles": [p.to_dict() for p in request.profiles],
        "builder_optimization_level": int(request.optimization_level),
        "hardware_compatibility_level": request.hardware_compatibility,
        "workspace_mib": request.workspace_mib,
    }


def cache_key(onnx_sha256: str, request: EngineRequest, env: TrtEnvironment) -> str:
    blob = json.dumps(cache_key_parts(onnx_sha256, request, env), sort_keys=True)
    return sha256_bytes(blob.encode())


# -- TensorRT glue (the only code that calls the TensorRT API) -----------------------------------

def _enum_name(value: Any) -> str:
    name = getattr(value, "name", None)
    return str(name if name is not None else value).rsplit(".", 1)[-1].upper()


_SEVERITY = {"INTERNAL_ERROR": logging.CRITICAL, "ERROR": logging.ERROR,
             "WARNING": logging.WARNING, "INFO": logging.INFO, "VERBOSE": 5}
trt_log = logging.getLogger("rmnet_sdk.export.tensorrt")


def _make_logger(trt: Any) -> Any:
    """A ``trt.ILogger`` that forwards to Python logging (VERBOSE -> level 5, below DEBUG)."""

    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []

        def log(self, severity: Any, msg: str) -> None:
            level = _SEVERITY.get(_enum_name(severity), logging.INFO)
            if level >= logging.ERROR:
                self.errors.append(msg)
            if level == logging.INFO:
                level = logging.DEBUG  # TensorRT's INFO is chatty; our own lines summarise
            trt_log.log(level, "TensorRT: %s", msg)

    return _Logger()


def _make_progress_monitor(trt: Any) -> Any | None:
    """An ``IProgressMonitor`` logging build phases (INFO for top-level ones), or None."""
    base = getattr(trt, "IProgressMonitor", None)
    if base is None:
        return None

    class _Monitor(base):
        def __init__(self) -> None:
            base.__init__(self)
            self.depth: dict[str, int] = {}
            self.started: dict[str, float] = {}
            self.phases: list[str] = []

        def phase_start(self, phase_name: str, parent_phase: str | None, num_steps: int) -> None:
            try:
                depth = self.depth.get(parent_phase, -1) + 1 if parent_phase else 0
                self.depth[phase_name] = depth
                self.started[phase_name] = time.perf_counter()
                self.phases.append(phase_name)
                log.log(logging.INFO if depth <= 1 else logging.DEBUG,
                        "TensorRT build: %s%s (%d steps)", "  " * depth, phase_name, num_steps)
            except Exception:  # never let a logging problem abort the build
                pass

        def step_complete(self, phase_name: str, step: int) -> bool:
            return True

        def phase_finish(self, phase_name: str) -> None:
            try:
                depth = self.depth.get(phase_name, 0)
                dt = time.perf_counter() - self.started.get(phase_name, time.perf_counter())
                log.log(logging.INFO if depth == 0 else logging.DEBUG,
                        "TensorRT build: %s%s done in %.1f s", "  " * depth, phase_name, dt)
            except Exception:
                pass

    return _Monitor()


def _dims(shape: Any) -> list[int]:
    return [int(v) for v in tuple(shape)]


def _network_flags(env: TrtEnvironment) -> int:
    flags_enum = env.trt.NetworkDefinitionCreationFlag
    if hasattr(flags_enum, "STRONGLY_TYPED"):
        return 1 << int(flags_enum.STRONGLY_TYPED)
    if env.flavour == "tensorrt" and env.major < 11:
        raise BackendUnavailableError(f"TensorRT {env.version} has no STRONGLY_TYPED network flag")
    return 0  # TensorRT 11 / RTX: always strongly typed


def inspect_network(trt: Any, network: Any, precision: str) -> dict[str, Any]:
    """IO of the parsed network and the dtype of every layer output, checked against the contract.

    Precision rule (strong typing makes the network's types the engine's types): a fp16 engine
    may hold fp32 tensors only at its IO (the IO casts and constant parameters); a fp32 engine
    holds no fp16 tensor.
    """
    io: dict[str, dict[str, Any]] = {}
    for kind, count, get in (("input", network.num_inputs, network.get_input),
                             ("output", network.num_outputs, network.get_output)):
        for i in range(count):
            t = get(i)
            io[t.name] = {"mode": kind, "shape": _dims(t.shape), "dtype": _enum_name(t.dtype)}
    expected = {"image": ("input", 3), "mask": ("input", 1), "prediction": ("output", 3)}
    if set(io) != set(expected):
        raise ModelError(f"the network's IO is {sorted(io)}; expected {sorted(expected)}")
    for name, (mode, c) in expected.items():
        shape = io[name]["shape"]
        if io[name]["mode"] != mode or len(shape) != 4 or shape[1] != c:
            raise ModelError(f"network {name} is a {io[name]['mode']} of shape {shape}; "
                             f"expected a {mode} of [N,{c},H,W]")
        if any(shape[i] != -1 for i in (0, 2, 3)):
            raise ModelError(f"network {name} has static N/H/W {shape}; export with dynamic dims")
    output_names = {n for n, v in io.items() if v["mode"] == "output"}
    dtypes: dict[str, int] = {}
    offenders: list[str] = []
    want_half = precision == "fp16"
    compute_half = 0
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        ltype = _enum_name(layer.type)
        for j in range(layer.num_outputs):
            out = layer.get_output(j)
            dt = _enum_name(out.dtype)
            dtypes[dt] = dtypes.get(dt, 0) + 1
            if want_half:
                if dt == "HALF" and ltype in ("CONVOLUTION", "DECONVOLUTION"):
                    compute_half += 1
                if dt == "FLOAT" and not (ltype == "CONSTANT" or
                                          (ltype == "CAST" and out.name in output_names)):
                    offenders.append(f"{layer.name} ({ltype})")
            elif dt == "HALF":
                offenders.append(f"{layer.name} ({ltype})")
    if want_half and not compute_half:
        offenders.append("no fp16 convolution at all")
    if offenders:
        raise ExportError(f"the network does not run in {precision}: "
                          + ", ".join(offenders[:8])
                          + ("" if want_half else " (build fp32 engines from the fp32 ONNX)"))
    return {"io": io, "layers": int(network.num_layers), "dtypes": dict(sorted(dtypes.items()))}


_HALF_RE = re.compile(r"fp16|half", re.I)
_FLOAT_RE = re.compile(r"fp32|float(?!16)", re.I)


def inspector_precision(info_json: str, precision: str,
                        io_names: Sequence[str] = ("image", "mask", "prediction"),
                        ) -> dict[str, Any] | None:
    """Per-layer precision from ``IEngineInspector`` JSON (DETAILED); None when it has no types.

    A fp16 engine may hold fp32-only layers only where they touch the IO (reformat/cast layers).
    """
    try:
        data = json.loads(info_json)
    except (TypeError, ValueError):
        return None
    layers = data.get("Layers", []) if isinstance(data, dict) else []
    half, float_only, typed = 0, [], 0
    for layer in layers:
        if not isinstance(layer, dict):
            continue
        fmts = [str(o.get("Format/Datatype", "")) for o in layer.get("Outputs", [])
                if isinstance(o, dict)]
        has_half = any(_HALF_RE.search(f) for f in fmts)
        has_float = any(_FLOAT_RE.search(f) for f in fmts)
        if not (has_half or has_float):
            continue
        typed += 1
        if has_half:
            half += 1
        elif has_float:
            tensors = [str(t.get("Name", "")) for key in ("Inputs", "Outputs")
                       for t in layer.get(key, []) if isinstance(t, dict)]
            if not any(t in io_names for t in tensors):
                float_only.append(str(layer.get("Name", "?")))
    if not typed:
        return None
    result = {"method": "engine_inspector", "typed_layers": typed, "fp16_layers": half,
              "fp32_layers": float_only}
    if precision == "fp16" and (float_only or not half):
        raise ExportError(f"the engine does not run in fp16: {len(float_only)} fp32 layer(s) "
                          f"({', '.join(float_only[:6])}), {half} fp16 layer(s)")
    if precision == "fp32" and half:
        raise ExportError(f"the fp32 engine has {half} fp16 layer(s)")
    return result


def _config_readback(config: Any, profiles: list[Any]) -> dict[str, Any]:
    """What the builder config will build: profiles (read back) and compute capabilities."""
    back = []
    for prof in profiles:
        entry = {}
        for name in INPUT_CHANNELS:
            mn, op, mx = prof.get_shape(name)
            entry[name] = {"min": _dims(mn), "opt": _dims(op), "max": _dims(mx)}
        back.append(entry)
    ccs: list[str] = []
    n = getattr(config, "num_compute_capabilities", 0) or 0
    for i in range(int(n)):
        ccs.append(_enum_name(config.get_compute_capability(i)).lower())
    return {"num_optimization_profiles": int(config.num_optimization_profiles),
            "profiles": back, "compute_capabilities": ccs}


def _check_profiles(found: list[dict[str, Any]], request: EngineRequest, where: str) -> None:
    want = [{name: {k: [v[0], c, v[1], v[2]] for k, v in p.to_dict().items()}
             for name, c in INPUT_CHANNELS.items()} for p in request.profiles]
    if found != want:
        raise ExportError(f"the {where} profiles {found} differ from the request {want}")


def _build_serialized(env: TrtEnvironment, source: OnnxSource, request: EngineRequest,
                      targets: Sequence[str], timing_cache: Path | None) -> tuple[bytes, dict]:
    trt = env.trt
    logger = _make_logger(trt)
    builder = trt.Builder(logger)
    if builder is None:
        raise BackendUnavailableError(f"{env.flavour} could not create a builder: "
                                      + "; ".join(logger.errors[-3:]))
    network = builder.create_network(_network_flags(env))
    flags_enum = trt.NetworkDefinitionCreationFlag
    if hasattr(flags_enum, "STRONGLY_TYPED") and hasattr(network, "get_flag") and \
            not network.get_flag(flags_enum.STRONGLY_TYPED):
        raise ExportError("the TensorRT network is not strongly typed")
    parser = trt.OnnxParser(network, logger)
    # The bytes that were hashed; the path only resolves external weights (checked after the build).
    if not parser.parse(source.data, str(source.path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise ExportError(f"{env.flavour} cannot parse {source.path}: " + "; ".join(errors[:5]))
    net_info = inspect_network(trt, network, request.precision)

    config = builder.create_builder_config()
    config.profiling_verbosity = trt.ProfilingVerbosity.DETAILED
    config.builder_optimization_level = int(request.optimization_level)
    if request.workspace_mib:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(request.workspace_mib) << 20)
    if request.hardware_compatibility != "none":
        level = request.hardware_compatibility.upper()
        levels = getattr(trt, "HardwareCompatibilityLevel", None)
        if levels is None or not hasattr(levels, level):
            raise BackendUnavailableError(
                f"{env.flavour} {env.version} has no hardware compatibility level {level} "
                "(SAME_COMPUTE_CAPABILITY needs TensorRT >= 10.9; JetPack 6 ships 10.3): build "
                "with hardware_compatibility='none' on the target GPU")
        config.hardware_compatibility_level = getattr(levels, level)
    if env.flavour == "tensorrt-rtx":
        config.num_compute_capabilities = len(targets)
        for i, t in enumerate(targets):
            config.set_compute_capability(getattr(trt.ComputeCapability, t.upper()), i)
    profiles = []
    for p in request.profiles:
        prof = builder.create_optimization_profile()
        for name, c in INPUT_CHANNELS.items():
            prof.set_shape(name, *p.shapes(c))
        if config.add_optimization_profile(prof) < 0:
            raise ExportError(f"TensorRT rejected the optimisation profile {p}")
        profiles.append(prof)
    readback = _config_readback(config, profiles)
    _check_profiles(readback["profiles"], request, "builder config")

    cache = None
    if timing_cache is not None:
        if env.flavour == "tensorrt-rtx":
            log.info("TensorRT-RTX does not use a timing cache (it keeps a runtime cache); "
                     "ignoring %s", timing_cache)
        else:
            data = timing_cache.read_bytes() if timing_cache.is_file() else b""
            cache = config.create_timing_cache(data)
            if cache is None and data:
                log.warning("timing cache %s is unreadable; starting a new one", timing_cache)
                cache = config.create_timing_cache(b"")
            if cache is not None and config.set_timing_cache(cache, False) is False:
                log.warning("TensorRT refused the timing cache %s (another GPU or version?); "
                            "building without it", timing_cache)
                cache = None
            elif cache is not None:
                log.info("timing cache %s (%d bytes)", timing_cache, len(data))
    monitor = _make_progress_monitor(trt)
    if monitor is not None and hasattr(config, "progress_monitor"):
        config.progress_monitor = monitor
    else:
        log.info("this TensorRT has no progress monitor; building without progress steps")

    target_text = ", ".join(targets)
    log.info("building a %s %s engine for %s (%d profile(s), optimisation level %d)...",
             request.precision, env.flavour, target_text, len(profiles),
             request.optimization_level)
    t0 = time.perf_counter()
    serialized = builder.build_serialized_network(network, config)
    seconds = time.perf_counter() - t0
    if serialized is None:
        raise ExportError(f"{env.flavour} failed to build the engine: "
                          + ("; ".join(logger.errors[-5:]) or "see the TensorRT log"))
    blob = bytes(memoryview(serialized))
    if not blob:
        raise ExportError(f"{env.flavour} returned an empty engine")
    log.info("built in %.1f s: %.1f MB", seconds, len(blob) / 1e6)
    if cache is not None and timing_cache is not None:
        data = bytes(memoryview(cache.serialize()))
        timing_cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(timing_cache, data)
        log.info("saved timing cache %s (%d bytes)", timing_cache, len(data))
    info = {"network": net_info, "config": readback, "build_seconds": round(seconds, 3),
            "progress_monitor": monitor is not None,
            "phases": list(getattr(monitor, "phases", []))[:50]}
    return blob, info


def _verify_on_gpu(env: TrtEnvironment, blob: bytes, request: EngineRequest,
                   targets: Sequence[str]) -> dict[str, Any]:
    """Deserialise and check IO, profiles and layer precision; only with a matching GPU."""
    gpu = env.gpu
    if gpu is None:
        return {"deserialized": False,
                "reason": "no CUDA device: IO and profiles were checked on the parsed network and "
                          "the builder config, precision on the network's tensor types"}
    if gpu.sm not in targets:
        return {"deserialized": False,
                "reason": f"the local GPU ({gpu.sm}) is not a build target ({', '.join(targets)})"}
    trt = env.trt
    logger = _make_logger(trt)
    runtime = trt.Runtime(logger)
    engine = runtime.deserialize_cuda_engine(blob)
    if engine is None:
        raise ExportError("the freshly built engine does not deserialise: "
                          + "; ".join(logger.errors[-3:]))
    io = {}
    for i in range(engine.num_io_tensors):
        name = engine.get_tensor_name(i)
        io[name] = {"mode": _enum_name(engine.get_tensor_mode(name)).lower(),
                    "shape": _dims(engine.get_tensor_shape(name)),
                    "dtype": _enum_name(engine.get_tensor_dtype(name))}
    if set(io) != {"image", "mask", "prediction"}:
        raise ExportError(f"engine IO is {sorted(io)}, expected image, mask, prediction")
    if int(engine.num_optimization_profiles) != len(request.profiles):
        raise ExportError(f"engine has {engine.num_optimization_profiles} profiles, "
                          f"requested {len(request.profiles)}")
    found = []
    for k in range(len(request.profiles)):
        entry = {}
        for name in INPUT_CHANNELS:
            mn, op, mx = engine.get_tensor_profile_shape(name, k)
            entry[name] = {"min": _dims(mn), "opt": _dims(op), "max": _dims(mx)}
        found.append(entry)
    _check_profiles(found, request, "engine")
    result: dict[str, Any] = {"deserialized": True, "io": io}
    inspector = engine.create_engine_inspector()
    info = inspector.get_engine_information(trt.LayerInformationFormat.JSON) if inspector else ""
    precision = inspector_precision(info, request.precision)
    if precision is None:
        result["precision_check"] = {"method": "network_dtypes",
                                     "reason": "the engine inspector reported no layer types"}
    else:
        result["precision_check"] = precision
    del inspector, engine, runtime  # runtime outlives its engines: drop in this order
    return result


# -- sidecars ------------------------------------------------------------------------------------

def make_sidecar(*, env: TrtEnvironment, request: EngineRequest, targets: Sequence[str],
                 onnx_sha256: str, engine_sha256: str, engine_bytes: int,
                 metadata: dict[str, Any], key: str, info: dict[str, Any]) -> dict[str, Any]:
    """The sidecar JSON.

    ``compute_capability`` is ``"major.minor"`` of the GPU the engine was built on (full
    TensorRT, or a single-target RTX build); a multi-target RTX build writes a list (which the C++
    runtime for standard TensorRT deliberately does not accept). ``profiles`` is a list of
    ``{"min": [N, H, W], "opt": [...], "max": [...]}``.
    """
    ccs = [target_to_cc(t) for t in targets]
    local = env.flavour == "tensorrt" or not request.targets
    return {
        "format": SIDECAR_FORMAT,
        "flavour": env.flavour,
        "trt_version": env.version,
        "compute_capability": ccs[0] if len(ccs) == 1 else ccs,
        "aot_targets": list(targets) if env.flavour == "tensorrt-rtx" else [],
        "gpu_name": env.gpu.name if (local and env.gpu) else None,
        "precision": request.precision,
        "profiles": [p.to_dict() for p in request.profiles],
        "io": {"image": [-1, 3, -1, -1], "mask": [-1, 1, -1, -1], "prediction": [-1, 3, -1, -1],
               "layout": "NCHW", "dtype": info.get("io_dtype", "float32")},
        "builder_optimization_level": int(request.optimization_level),
        "hardware_compatibility_level": request.hardware_compatibility,
        "workspace_mib": request.workspace_mib,
        "onnx_sha256": onnx_sha256,
        "engine_sha256": engine_sha256,
        "engine_bytes": engine_bytes,
        "cache_key": key,
        "metadata": metadata,
        "verification": info.get("verification", {}),
        "build_seconds": info.get("build_seconds"),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


#: Sidecar fields that must equal the expected values for an engine to be used.
MATCH_FIELDS = ("cache_key", "onnx_sha256", "flavour", "trt_version", "compute_capability",
                "precision", "profiles", "builder_optimization_level",
                "hardware_compatibility_level")


def sidecar_problems(sidecar: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """One line per field of ``expected`` the sidecar does not match (empty = match)."""
    problems = []
    for key, want in expected.items():
        have = sidecar.get(key, "<missing>")
        if have != want:
            problems.append(f"{key}: engine has {have!r}, wanted {want!r}")
    return problems


def check_engine(engine_path: str | os.PathLike[str],
                 expected: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check an engine file against its sidecar (and ``expected`` sidecar fields); return it.

    Raises :class:`ModelNotFoundError` for a missing engine and :class:`EngineMismatchError`
    for a missing/unreadable sidecar, an engine file whose size or sha256 differs from the
    sidecar's (truncated or corrupt), or a sidecar that does not match ``expected``. No TensorRT
    or GPU is needed. Engines are trusted inputs once this passes: never load one that fails.
    """
    path = Path(engine_path)
    _, sidecar = read_engine(path)  # integrity (rmnet_sdk.sidecar, the one check)
    problems = sidecar_problems(sidecar, expected or {})
    if problems:
        raise EngineMismatchError(f"engine {path} does not match its sidecar: "
                                  + "; ".join(problems))
    return sidecar


# -- the builder ---------------------------------------------------------------------------------

def build_engine(onnx_path: str | os.PathLike[str], engine_path: str | os.PathLike[str],
                 request: EngineRequest | None = None, *, env: TrtEnvironment | None = None,
                 timing_cache: str | os.PathLike[str] | None = None,
                 overwrite: bool = True, source: OnnxSource | None = None) -> dict[str, Any]:
    """Build ``engine_path`` (+ sidecar ``<engine>.json``) from an R-MNet ONNX file.

    The engine's precision comes from the ONNX types: ``request.precision="fp16"`` needs the fp16
    ONNX (:func:`rmnet_sdk.export.convert_fp16`). ``env`` defaults to
    :func:`detect_environment` with ``request.flavour``. ``timing_cache`` is loaded if present and
    saved after the build (full TensorRT only). ``source`` is the ONNX as already read and hashed
    (:func:`read_onnx_source`; the engine cache passes the one its key came from): those bytes are
    parsed, never the file again. Both files are written atomically, the engine first. Returns the
    sidecar. Errors: :class:`ModelError` (bad ONNX),
    :class:`InvalidInputError` (bad request), :class:`BackendUnavailableError` (no usable
    TensorRT/GPU), :class:`ExportError` (parse/build/verification failure).
    """
    import onnx

    from .onnx import check_io_contract, onnx_precision, read_onnx_metadata

    request = request or EngineRequest()
    onnx_path, engine_path = Path(onnx_path), Path(engine_path)
    if same_file(onnx_path, engine_path) or same_file(onnx_path, sidecar_path(engine_path)):
        raise InvalidInputError(f"refusing to overwrite the input {onnx_path}")
    if not overwrite and engine_path.exists():
        raise InvalidInputError(f"{engine_path} exists; pass overwrite=True (CLI: --force)")
    source = source or read_onnx_source(onnx_path)
    try:
        model = onnx.load_from_string(source.data)
        # External tensors are checked where they live (next to the file), not relative to the CWD.
        onnx.checker.check_model(str(source.path) if source.external else model)
    except Exception as e:  # protobuf DecodeError, onnx ValidationError, ...
        raise ModelError(f"{onnx_path} is not a valid ONNX model: {e}") from e
    check_io_contract(model, str(onnx_path))
    have = onnx_precision(model)
    if have != request.precision:
        hint = (" convert it first (rmnet_sdk.export.convert_fp16 / rmnet-export --fp16)"
                if request.precision == "fp16" else " build fp32 engines from the fp32 ONNX")
        raise InvalidInputError(f"a {request.precision} engine needs a {request.precision} ONNX "
                                f"(precision comes from the ONNX types), {onnx_path} is {have}:"
                                + hint)
    io_types = {vi.name: vi.type.tensor_type.elem_type for vi in model.graph.input}
    metadata = read_onnx_metadata(model).to_dict()
    del model
    env = env or detect_environment(request.flavour)
    if request.flavour != "auto" and env.flavour != request.flavour:
        raise InvalidInputError(f"the request asks for {request.flavour}, the environment is "
                                f"{env.flavour}")
    targets = resolve_targets(env, request)
    onnx_sha = source.sha256
    key = cache_key(onnx_sha, request, env)
    with cuda_device(env.device if env.flavour == "tensorrt" else None):
        blob, info = _build_serialized(env, source, request, targets,
                                       Path(timing_cache) if timing_cache else None)
        gpu_check = _verify_on_gpu(env, blob, request, targets)
    changed = source.external_changed()
    if changed:
        raise ExportError(f"the external data {', '.join(changed)} of {onnx_path} changed while "
                          "the engine was being built; build again")
    verification: dict[str, Any] = {
        "io": info["network"]["io"], "profiles_checked_on": "builder_config",
        "config": info["config"],
        "precision_check": {"method": "network_dtypes", "dtypes": info["network"]["dtypes"],
                            "layers": info["network"]["layers"]},
    }
    verification["deserialized"] = gpu_check.pop("deserialized")
    if verification["deserialized"]:
        verification["profiles_checked_on"] = "engine"
        if gpu_check.get("precision_check", {}).get("method") == "engine_inspector":
            verification["precision_check"] = gpu_check.pop("precision_check")
    verification.update(gpu_check)
    info["verification"] = verification
    info["io_dtype"] = "float16" if 10 in io_types.values() else "float32"
    sidecar = make_sidecar(env=env, request=request, targets=targets, onnx_sha256=onnx_sha,
                           engine_sha256=sha256_bytes(blob), engine_bytes=len(blob),
                           metadata=metadata, key=key, info=info)
    write_atomic(engine_path, blob, overwrite=overwrite)
    write_atomic(sidecar_path(engine_path), (json.dumps(sidecar, indent=1) + "\n").encode())
    log.info("wrote %s (%.1f MB) and %s", engine_path, len(blob) / 1e6, sidecar_path(engine_path))
    return sidecar


def expected_sidecar_fields(onnx_sha256: str, request: EngineRequest, env: TrtEnvironment
                            ) -> dict[str, Any]:
    """The sidecar fields an engine built for this request on this environment must have."""
    parts = cache_key_parts(onnx_sha256, request, env)
    ccs = parts["compute_capability"]
    return {"cache_key": cache_key(onnx_sha256, request, env), "onnx_sha256": onnx_sha256,
            "flavour": env.flavour, "trt_version": env.version,
            "compute_capability": ccs[0] if len(ccs) == 1 else ccs,
            "precision": request.precision, "profiles": parts["profiles"],
            "builder_optimization_level": parts["builder_optimization_level"],
            "hardware_compatibility_level": parts["hardware_compatibility_level"]}
