"""``rmnet-sidecar``: write the sidecar for a TensorRT engine built outside rmnet-export.

An engine built with ``trtexec`` (on a Jetson, say) has no ``<engine>.json``, and both runtimes
refuse engines without one. This writes it from what the builder knows -- the TensorRT version and
compute capability of the device, the profiles given to trtexec -- and from the ONNX it was built
from (its hash, precision and metadata), with the engine's size and sha256. Neither TensorRT nor a
GPU is needed, so it runs on any machine with the SDK; the C++ runtime on the device then needs
only the two files. With TensorRT or a GPU present, the version or compute capability default to
this machine's.

    rmnet-sidecar rmnet.engine --onnx rmnet_fp16.onnx --trt-version 10.3.0 \\
        --compute-capability 8.7 --profile 1x256x256:1x256x256:4x1024x1024
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import RMNetError
from ..sidecar import RuntimeExpectation, engine_problems, sidecar_path
from ._common import sha256_bytes, write_atomic
from .tensorrt import (
    FLAVOURS,
    HW_COMPAT_LEVELS,
    SIDECAR_FORMAT,
    Profile,
    normalize_target,
    read_onnx_source,
    target_to_cc,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _local_trt_version(flavour: str) -> str | None:
    try:
        module = __import__("tensorrt_rtx" if flavour == "tensorrt-rtx" else "tensorrt")
    except Exception:
        return None
    return str(getattr(module, "__version__", "")) or None


def _local_cc() -> str | None:
    from .._cuda import cuda_devices

    gpus = cuda_devices()
    return gpus[0].cc if gpus else None


def make_external_sidecar(engine: bytes, source_onnx: Path, *, trt_version: str,
                          compute_capability: str, profiles: Sequence[Profile],
                          flavour: str = "tensorrt", hardware_compatibility: str = "none",
                          precision: str | None = None, built_by: str = "trtexec"
                          ) -> dict[str, Any]:
    """The sidecar of ``engine`` built elsewhere from ``source_onnx`` (keys as rmnet-export's)."""
    import onnx

    from .onnx import onnx_precision, read_onnx_metadata

    source = read_onnx_source(source_onnx)
    model = onnx.load_from_string(source.data)
    have = onnx_precision(model)
    precision = precision or ("fp16" if have == "fp16" else "fp32")
    return {
        "format": SIDECAR_FORMAT,
        "flavour": flavour,
        "trt_version": trt_version,
        "compute_capability": compute_capability,
        "aot_targets": [],
        "gpu_name": None,
        "precision": precision,
        "profiles": [p.to_dict() for p in profiles],
        "io": {"image": [-1, 3, -1, -1], "mask": [-1, 1, -1, -1], "prediction": [-1, 3, -1, -1],
               "layout": "NCHW", "dtype": "float16" if have == "fp16" else "float32"},
        "builder_optimization_level": None,
        "hardware_compatibility_level": hardware_compatibility,
        "workspace_mib": None,
        "onnx_sha256": source.sha256,
        "engine_sha256": sha256_bytes(engine),
        "engine_bytes": len(engine),
        "cache_key": None,
        "metadata": read_onnx_metadata(model).to_dict(),
        "verification": {"method": f"rmnet-sidecar: declared for an engine built by {built_by}; "
                                   "TensorRT version, GPU and profiles as given, not inspected"},
        "build_seconds": None,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rmnet-sidecar", description=__doc__.split("\n\n")[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Exit codes: 0 written, 1 failed, 2 bad arguments or inputs.")
    p.add_argument("engine", type=Path, help="the serialized engine (.engine/.plan)")
    p.add_argument("--onnx", type=Path, required=True,
                   help="the ONNX file the engine was built from (hash, precision, metadata)")
    p.add_argument("--trt-version", help="TensorRT version of the builder, e.g. 10.3.0 (JetPack "
                                         "6.x: dpkg -l | grep nvinfer); default: this machine's")
    p.add_argument("--compute-capability", help="GPU the engine was built on, e.g. 8.7 (Jetson "
                                                "Orin); default: this machine's GPU 0")
    p.add_argument("--profile", action="append", required=True,
                   help="MIN:OPT:MAX as NxHxW each, in the order given to trtexec "
                        "(--minShapes/--optShapes/--maxShapes); repeat for several profiles")
    p.add_argument("--flavour", choices=FLAVOURS, default="tensorrt")
    p.add_argument("--hardware-compatibility", choices=HW_COMPAT_LEVELS, default="none",
                   help="the level the engine was built with (trtexec --hardwareCompatibilityLevel)")
    p.add_argument("--precision", choices=("fp16", "fp32"),
                   help="default: the ONNX's (strongly typed engines take it from the types)")
    p.add_argument("--force", action="store_true", help="replace an existing sidecar")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if not args.engine.is_file():
            raise FileNotFoundError(f"engine not found: {args.engine}")
        out = sidecar_path(args.engine)
        if out.exists() and not args.force:
            print(f"rmnet-sidecar: {out} exists (use --force to replace it)", file=sys.stderr)
            return EXIT_USAGE
        trt_version = args.trt_version or _local_trt_version(args.flavour)
        cc = args.compute_capability or _local_cc()
        if not trt_version or not cc:
            print("rmnet-sidecar: give --trt-version and --compute-capability of the machine that "
                  "built the engine (this one has no TensorRT or GPU to read them from)",
                  file=sys.stderr)
            return EXIT_USAGE
        cc = target_to_cc(normalize_target(cc))  # "87", "sm87", "8.7" -> "8.7"
        profiles = [Profile.parse(p) for p in args.profile]
        engine = args.engine.read_bytes()
        sidecar = make_external_sidecar(
            engine, args.onnx, trt_version=trt_version, compute_capability=cc,
            profiles=profiles, flavour=args.flavour,
            hardware_compatibility=args.hardware_compatibility, precision=args.precision)
        # What the C++ and Python runtimes will check on the device must pass here.
        problems = engine_problems(sidecar, engine, RuntimeExpectation(
            flavour=args.flavour, trt_version=trt_version, compute_capability=cc))
        if problems:
            print("rmnet-sidecar: " + "; ".join(p.message for p in problems), file=sys.stderr)
            return EXIT_USAGE
        write_atomic(out, (json.dumps(sidecar, indent=1) + "\n").encode())
    except (RMNetError, OSError, ValueError) as e:
        print(f"rmnet-sidecar: {e}", file=sys.stderr)
        return EXIT_USAGE if isinstance(e, (ValueError, FileNotFoundError)) else EXIT_FAILED
    print(f"wrote {out} ({args.flavour} {trt_version}, sm {cc}, {sidecar['precision']}, "
          f"{len(profiles)} profile(s), engine sha256 {sidecar['engine_sha256'][:12]}...)")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
