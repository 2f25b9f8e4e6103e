"""``rmnet-export``: Keras generator -> ONNX fp32 -> ONNX fp16 -> TensorRT engine, gated at each step."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..contract.cache_key import FLAVOURS
from ..contract.precision import DEFAULT_ENGINE_PRECISION, ENGINE_PRECISIONS
from ..errors import (
    BackendUnavailableError,
    InvalidInputError,
    ModelNotFoundError,
    ParityError,
    RMNetError,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BACKEND, EXIT_GATE = 0, 1, 2, 3, 4

DESCRIPTION = """\
Export an R-MNet generator for deployment. Each step is gated and every output is written
atomically, only after its gate passed; inputs are never overwritten.

  1. --onnx    Keras (.keras) -> fp32 ONNX: inputs image [N,3,H,W] in [-1,1] and mask [N,1,H,W]
               (1 = hole), output prediction [N,3,H,W] (raw tanh); N, H, W dynamic (H, W multiples
               of 16); stride-1 ConvTranspose rewritten as Conv; metadata in metadata_props.
               Gate: max |ONNX Runtime - Keras| <= --tolerance at 1x256x256 and 2x384x512.
  2. --fp16    fp32 ONNX -> fully fp16 ONNX (casts only at the IO). Gates: largest fp32 activation
               <= --activation-limit, no NaN/Inf, and PSNR(fp16 vs fp32 composited uint8 outputs)
               >= --min-psnr on the worst of --num-photos photos with generated hole masks.
  3. --int8    fp32 ONNX -> static INT8 ONNX (QDQ, for ONNX Runtime on CPUs), calibrated on photos
               of --photos. Gate: hole-PSNR drop vs fp32 <= 0.3 dB in every hole-ratio bucket on
               a dev split of --photos that calibration did not see.
  4. --engine  ONNX -> TensorRT engine + sidecar <engine>.json. Full TensorRT (>= 10) builds for
               the local GPU; TensorRT-RTX also builds ahead of time without a GPU for --target.
               A fp16 engine is built from the fp16 ONNX (precision comes from the ONNX types).

MODEL may be a .keras file (all steps) or an .onnx file (steps 2 to 4)."""

EPILOG = """\
examples:
  rmnet-export generator.keras --onnx rmnet.onnx
  rmnet-export generator.keras --onnx rmnet.onnx --fp16 rmnet_fp16.onnx
  rmnet-export rmnet.onnx --int8 rmnet_int8.onnx --photos photos/
  rmnet-export rmnet.onnx --fp16 rmnet_fp16.onnx --engine rmnet.engine \\
      --profile 1x256x256:1x256x256:4x1024x1024 --target sm86,sm89,sm120
  rmnet-export rmnet.onnx --engine model.plan --flavour tensorrt --triton-repo triton_models/

exit status: 0 success, 1 export failed, 2 bad arguments or input, 3 TensorRT/GPU unavailable,
4 a parity/PSNR gate failed."""


def build_parser() -> argparse.ArgumentParser:
    from .fp16 import DEFAULT_ACTIVATION_LIMIT, DEFAULT_MIN_PSNR, DEFAULT_N_PHOTOS
    from .onnx import DEFAULT_OPSET, DEFAULT_TOLERANCE
    from .tensorrt import DEFAULT_PROFILE, HW_COMPAT_LEVELS, RTX_TARGETS

    p = argparse.ArgumentParser(prog="rmnet-export", description=DESCRIPTION, epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", type=Path, help="the generator: a .keras file, or an .onnx file "
                   "exported before (for the --fp16 and --engine steps)")
    out = p.add_argument_group("outputs (at least one)")
    out.add_argument("--onnx", type=Path, metavar="OUT.onnx",
                     help="write the fp32 ONNX here (needs a .keras MODEL)")
    out.add_argument("--fp16", type=Path, metavar="OUT_FP16.onnx",
                     help="write the fp16 ONNX here")
    out.add_argument("--int8", type=Path, metavar="OUT_INT8.onnx",
                     help="write a statically quantised INT8 ONNX (CPU / ONNX Runtime) here, "
                          "only if its hole-PSNR drop vs fp32 is <= 0.3 dB in every bucket")
    out.add_argument("--engine", type=Path, metavar="OUT.engine",
                     help="build a TensorRT engine here, with its sidecar OUT.engine.json")
    out.add_argument("--triton-repo", type=Path, metavar="DIR",
                     help="write a Triton model repository here: the fp32 ONNX (onnxruntime_onnx) "
                          "and the --engine as a TensorRT plan (full TensorRT only; else the plan "
                          "is left to build on the server, see DIR/rmnet_trt/MISSING_PLAN.txt), "
                          "with config.pbtxt (dynamic batching, the engine's profiles)")
    out.add_argument("--report", type=Path, metavar="REPORT.json",
                     help="write every measurement (parity, PSNR, activations, build) as JSON")
    out.add_argument("--force", action="store_true",
                     help="replace existing output files (never the input)")

    ox = p.add_argument_group("ONNX export")
    ox.add_argument("--opset", type=int, default=DEFAULT_OPSET, metavar="N",
                    help=f"ONNX opset, >= 17 (default {DEFAULT_OPSET})")
    ox.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE, metavar="TOL",
                    help=f"parity gate: max abs difference vs Keras (default {DEFAULT_TOLERANCE:g})")
    ox.add_argument("--name", help="model name stored in the metadata (default: from the .keras)")
    ox.add_argument("--model-version", metavar="VERSION", help="model version stored in the metadata")
    ox.add_argument("--resolution", type=int, metavar="PX",
                    help="default inference resolution stored in the metadata (default: the "
                         "training resolution; a model trained on crops can run at a larger size)")
    ox.add_argument("--no-rewrite", action="store_true",
                    help="keep stride-1 ConvTranspose nodes (default: rewrite them as Conv)")

    fx = p.add_argument_group("fp16 conversion")
    fx.add_argument("--fp16-io", action="store_true",
                    help="make the fp16 model's inputs/outputs fp16 too (default: fp32 IO)")
    fx.add_argument("--photos", type=Path, metavar="DIR",
                    help="photos for the fp16 gate and the INT8 calibration (default: "
                         "$RMNET_PHOTOS_DIR; without either, the fp16 gate uses synthetic "
                         "images and --int8 stops; 'synthetic' forces synthetic gate images)")
    fx.add_argument("--num-photos", type=int, default=DEFAULT_N_PHOTOS, metavar="N",
                    help=f"how many photos the fp16 gate uses (default {DEFAULT_N_PHOTOS})")
    fx.add_argument("--gate-size", type=int, metavar="PX",
                    help="square size the gate photos are resized to, a multiple of 16 "
                         "(default: the model's resolution from its metadata)")
    fx.add_argument("--min-psnr", type=float, default=DEFAULT_MIN_PSNR, metavar="DB",
                    help=f"fp16 gate: minimum PSNR in dB (default {DEFAULT_MIN_PSNR:g})")
    fx.add_argument("--activation-limit", type=float, default=DEFAULT_ACTIVATION_LIMIT, metavar="X",
                    help="fp16 gate: largest allowed |activation| of the fp32 model "
                         f"(default {DEFAULT_ACTIVATION_LIMIT:g}; fp16 max is 65504)")

    tx = p.add_argument_group("TensorRT engine")
    tx.add_argument("--profile", action="append", metavar="MIN:OPT:MAX",
                    help="optimisation profile, each part NxHxW (H, W multiples of 16); repeat "
                         f"for several profiles (default {DEFAULT_PROFILE})")
    tx.add_argument("--target", action="append", metavar="SM[,SM...]",
                    help="compute capabilities to build for ahead of time with TensorRT-RTX, e.g. "
                         f"sm86,sm89 (known: {', '.join(RTX_TARGETS)}; no sm87/sm90). Default: "
                         "the local GPU. Full TensorRT only builds for the local GPU")
    tx.add_argument("--flavour", choices=("auto", *FLAVOURS), default="auto",
                    help="TensorRT flavour (default auto: full TensorRT if installed, else RTX)")
    tx.add_argument("--precision", choices=ENGINE_PRECISIONS, default=DEFAULT_ENGINE_PRECISION,
                    help="engine precision (default fp16: built from the fp16 ONNX, which is "
                         "converted and gated first when not given)")
    tx.add_argument("--opt-level", type=int, default=3, metavar="0-5",
                    help="builder optimisation level (default 3; lower builds faster)")
    tx.add_argument("--workspace", type=int, metavar="MIB",
                    help="builder workspace limit in MiB (default: TensorRT's)")
    tx.add_argument("--hardware-compat", choices=HW_COMPAT_LEVELS, default="none",
                    help="hardware compatibility level (default none)")
    tr = p.add_argument_group("Triton repository")
    tr.add_argument("--triton-max-batch", type=int, metavar="N",
                    help="max_batch_size of both models (default: the engine's largest profile "
                         "batch)")
    tr.add_argument("--triton-instances", type=int, default=1, metavar="N",
                    help="model instances per GPU (default 1)")
    tr.add_argument("--triton-queue-delay-us", type=int, default=2000, metavar="US",
                    help="dynamic batcher's max queue delay in microseconds (default 2000)")
    tx.add_argument("--timing-cache", type=Path, metavar="PATH",
                    help="load/save the builder timing cache here (full TensorRT only)")

    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="more log output (-vv includes TensorRT's verbose log)")
    p.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    return p


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.INFO if verbose == 0 else
                                           logging.DEBUG if verbose == 1 else 5)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("rmnet_sdk")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("tf2onnx").setLevel(logging.WARNING if verbose < 2 else logging.INFO)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2" if verbose < 2 else "0")


def _split_targets(values: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(t for v in values or () for t in v.split(",") if t.strip())


def _check_outputs(args: argparse.Namespace, outputs: list[Path]) -> None:
    from ._common import same_file
    from .tensorrt import sidecar_path

    if args.engine:
        outputs = [*outputs, sidecar_path(args.engine)]
    for i, out in enumerate(outputs):
        if same_file(out, args.model):
            raise InvalidInputError(f"output {out} is the input model; refusing to overwrite it")
        for other in outputs[i + 1:]:
            if same_file(out, other):
                raise InvalidInputError(f"{out} is named as two different outputs")
        if out.exists() and not args.force:
            raise InvalidInputError(f"{out} exists; pass --force to replace it")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the requested steps; returns the report (raises RMNetError on failure)."""
    from ._common import log

    model = Path(args.model)
    if not model.is_file():
        raise ModelNotFoundError(f"model not found: {model}")
    kind = model.suffix.lower()
    if kind not in (".keras", ".onnx"):
        raise InvalidInputError(f"MODEL must be a .keras or .onnx file, got {model}")
    outputs = [p for p in (args.onnx, args.fp16, args.int8, args.engine, args.report)
               if p is not None]
    if not any((args.onnx, args.fp16, args.int8, args.engine, args.triton_repo)):
        raise InvalidInputError("nothing to do: give --onnx, --fp16, --int8, --engine and/or "
                                "--triton-repo")
    if kind == ".onnx" and args.onnx:
        raise InvalidInputError("MODEL is already ONNX: --onnx needs a .keras model")
    _check_outputs(args, outputs)

    request = env = None
    if args.engine:  # validate the engine request and find TensorRT before minutes of work
        from .tensorrt import EngineRequest, detect_environment, resolve_targets

        request = EngineRequest(profiles=tuple(args.profile or ()) or EngineRequest().profiles,
                                precision=args.precision, targets=_split_targets(args.target),
                                flavour=args.flavour, optimization_level=args.opt_level,
                                workspace_mib=args.workspace,
                                hardware_compatibility=args.hardware_compat)
        env = detect_environment(args.flavour)
        targets = resolve_targets(env, request)
        log.info("engine: %s %s, targets %s", env.flavour, env.version, ", ".join(targets))
    if args.gate_size is not None:
        from ._common import check_spatial_size

        check_spatial_size(args.gate_size, args.gate_size)

    report: dict[str, Any] = {"model": str(model)}
    progress = sys.stderr.isatty() and not args.quiet
    with tempfile.TemporaryDirectory(prefix="rmnet-export-") as tmp:
        fp32_path: Path | None = model if kind == ".onnx" else None
        from .onnx import load_onnx, onnx_precision

        in_precision = onnx_precision(load_onnx(model)) if kind == ".onnx" else "fp32"
        if kind == ".onnx" and in_precision == "fp16" and args.fp16:
            raise InvalidInputError(f"{model} is already fp16: drop --fp16")
        need_fp16 = bool(args.fp16) or (request is not None and request.precision == "fp16"
                                        and in_precision != "fp16")
        if args.int8 and in_precision != "fp32":
            raise InvalidInputError("--int8 quantises an fp32 model; give the fp32 ONNX or .keras")
        step, total = 0, ((kind == ".keras") + need_fp16 + bool(args.int8) + bool(args.engine)
                          + bool(args.triton_repo))

        def header(text: str) -> None:
            nonlocal step
            step += 1
            log.info("[%d/%d] %s", step, total, text)

        if kind == ".keras":
            from .onnx import export_onnx

            fp32_path = args.onnx or Path(tmp) / "model.onnx"
            header(f"ONNX export -> {fp32_path}")
            r = export_onnx(model, fp32_path, name=args.name, version=args.model_version,
                            resolution=args.resolution,
                            opset=args.opset, rewrite=not args.no_rewrite,
                            tolerance=args.tolerance, overwrite=True)
            report["onnx"] = r.to_dict()
        engine_source = fp32_path
        if need_fp16:
            from .fp16 import convert_fp16

            fp16_path = args.fp16 or Path(tmp) / "model_fp16.onnx"
            header(f"fp16 conversion -> {fp16_path}")
            _, r16 = convert_fp16(fp32_path, fp16_path, keep_io_types=not args.fp16_io,
                                  photos_dir=args.photos, n_photos=args.num_photos,
                                  resolution=args.gate_size, min_psnr=args.min_psnr,
                                  activation_limit=args.activation_limit, overwrite=True,
                                  progress=progress)
            report["fp16"] = r16.to_dict()
            if request is not None and request.precision == "fp16":
                engine_source = fp16_path
        if args.int8:
            from ._common import write_atomic
            from .quantize import quality_gate, quantize_int8

            header(f"INT8 quantisation -> {args.int8}")
            candidate = Path(tmp) / "model_int8.onnx"
            quantize_int8(fp32_path, candidate, photos=args.photos)
            gate = quality_gate(fp32_path, candidate, photos=args.photos, progress=progress)
            report["int8"] = {"path": str(args.int8), "gate": gate.to_dict()}
            log.info("INT8 gate: worst hole-PSNR drop %.3f dB on %d images (limit %.2f dB)",
                     gate.max_drop, gate.images, gate.limit)
            if not gate.passed:
                report["int8"]["path"] = None
                raise ParityError(
                    f"INT8 quality gate failed: hole-PSNR drops by {gate.max_drop:.2f} dB "
                    f"(limit {gate.limit:.2f} dB); {args.int8} was not written")
            write_atomic(args.int8, candidate.read_bytes())
        if args.engine:
            from .tensorrt import build_engine

            header(f"TensorRT engine -> {args.engine}")
            report["engine"] = build_engine(engine_source, args.engine, request, env=env,
                                            timing_cache=args.timing_cache, overwrite=True)
            report["engine"]["path"] = str(args.engine)
        if args.triton_repo:
            from .triton_repo import write_triton_repository

            header(f"Triton model repository -> {args.triton_repo}")
            if in_precision != "fp32":
                raise InvalidInputError("--triton-repo needs the fp32 model (.keras or fp32 ONNX)")
            report["triton_repo"] = write_triton_repository(
                args.triton_repo, fp32_path, engine_path=args.engine,
                profiles=tuple(args.profile or ()), max_batch_size=args.triton_max_batch,
                instances=args.triton_instances, queue_delay_us=args.triton_queue_delay_us,
                overwrite=args.force)
    return report


def _summary(report: dict[str, Any]) -> str:
    lines = []
    if "onnx" in report:
        r = report["onnx"]
        lines.append(f"onnx   {r['path']}  parity max|diff| "
                     + ", ".join(f"{k}: {v:.2g}" for k, v in r["parity"].items()))
    if "fp16" in report:
        r = report["fp16"]
        lines.append(f"fp16   {r['path'] or '(temporary)'}  PSNR min {r['psnr_min']:.1f} dB on "
                     f"{r['n_images']} images, max activation {r['max_activation']:.4g} "
                     f"({r['max_activation_node']})")
    if "int8" in report:
        g = report["int8"]["gate"]
        lines.append(f"int8   {report['int8']['path']}  worst hole-PSNR drop {g['max_drop']:+.2f} dB "
                     f"on {g['images']} images (gate <= {g['limit']:g} dB: "
                     f"{'pass' if g['passed'] else 'FAIL'})")
    if "triton_repo" in report:
        r = report["triton_repo"]
        lines.append(f"triton {r['path']}  models {', '.join(r['models'])}, max batch "
                     f"{r['max_batch_size']}, profiles {', '.join(r['profiles'])}"
                     + (f"; no plan: {r['plan']['missing']}" if r["plan"]["missing"] else ""))
    if "engine" in report:
        r = report["engine"]
        lines.append(f"engine {r['path']}  {r['flavour']} {r['trt_version']} {r['precision']} "
                     f"cc {r['compute_capability']}, {r['engine_bytes'] / 1e6:.1f} MB, built in "
                     f"{r['build_seconds']:.1f} s")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _setup_logging(args.verbose, args.quiet)
    t0 = time.perf_counter()
    try:
        report = run(args)
        if args.report:
            from ._common import write_atomic

            write_atomic(args.report, (json.dumps(report, indent=1, default=str) + "\n").encode())
    except (InvalidInputError, ModelNotFoundError) as e:
        print(f"rmnet-export: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except BackendUnavailableError as e:
        print(f"rmnet-export: unavailable: {e}", file=sys.stderr)
        return EXIT_BACKEND
    except ParityError as e:
        print(f"rmnet-export: gate failed: {e}", file=sys.stderr)
        return EXIT_GATE
    except RMNetError as e:
        print(f"rmnet-export: failed: {e}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("rmnet-export: interrupted (no output was left half-written)", file=sys.stderr)
        return 130
    except Exception as e:  # a bug: say so, with the traceback under -v
        if args.verbose:
            raise
        print(f"rmnet-export: internal error: {type(e).__name__}: {e} (run with -v for details)",
              file=sys.stderr)
        return EXIT_FAILED
    if not args.quiet:
        print(_summary(report))
        print(f"done in {time.perf_counter() - t0:.1f} s")
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
