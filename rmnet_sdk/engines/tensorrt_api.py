"""TensorRT glue: the only code that calls the TensorRT builder API.

Precision lives in the ONNX (research/sdk_anchors.md §5-6): a fp16 engine is built from the fp16
ONNX as a *strongly typed* network. TensorRT 10.x needs the ``STRONGLY_TYPED`` creation flag (set
by name, never as a raw bit: its value differs between 10 and 11); TensorRT 11 and TensorRT-RTX
are always strongly typed and have no ``BuilderFlag.FP16`` (this module never touches it).
TensorRT-RTX ignores timing caches (a runtime cache replaces them), so none is set for it.

After a build the engine is checked: IO names, shapes and profiles, and that its layers run in
the requested precision. With a usable GPU that is done on the deserialised engine (engine
inspector, ``ProfilingVerbosity.DETAILED``); without one (RTX ahead-of-time builds) on the parsed
network's tensor types and the builder config's profiles, and the sidecar says which.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._fileio import atomic_write_bytes
from ..contract.cache_key import EngineRequest
from ..contract.io import INPUT_CHANNELS
from ..errors import BackendUnavailableError, ExportError, ModelError
from .environment import TrtEnvironment
from .onnx_source import OnnxSource

log = logging.getLogger("rmnet_sdk.engines")


def _enum_name(value: Any) -> str:
    name = getattr(value, "name", None)
    return str(name if name is not None else value).rsplit(".", 1)[-1].upper()


_SEVERITY = {"INTERNAL_ERROR": logging.CRITICAL, "ERROR": logging.ERROR,
             "WARNING": logging.WARNING, "INFO": logging.INFO, "VERBOSE": 5}
trt_log = logging.getLogger("rmnet_sdk.engines.tensorrt")


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
        atomic_write_bytes(timing_cache, data)
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

