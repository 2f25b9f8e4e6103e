"""``rmnet``: inpaint images from the command line, and report what this machine can run.

    rmnet inpaint photo.jpg mask.png -o filled.png [--compare before_after.png]
    rmnet inpaint --images photos/ --masks masks/ -o out/        # pairs by file stem
    rmnet inpaint --images photos/ --masks watermark.png -o out/ --resize-mask
    rmnet info
    rmnet bench --model model.onnx --keras model.keras -o benchmarks/results/my-machine
    rmnet serve [--model model.onnx] [--max-batch 8] [--instances 2]   # Triton, loopback
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
from pathlib import Path

import numpy as np

from . import __version__
from .errors import ImageReadError, InvalidInputError, RMNetError
from .imaging import list_images, read_image, write_image

log = logging.getLogger("rmnet_sdk")


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model file (.onnx, .engine, .keras); default: the bundled model")
    p.add_argument("--backend", default="auto",
                   help="auto | tensorrt | onnxruntime | onnxruntime-cuda | keras | native")
    p.add_argument("--device", type=int, default=0, help="CUDA device index (GPU backends)")
    p.add_argument("--strategy", default="auto", choices=["auto", "resize", "crop", "original"],
                   help="size handling: auto (original up to a short side of twice the model "
                        "resolution, else resize), resize (whole image at model resolution), crop (model-"
                        "resolution crops around each hole: large photos, small holes), original "
                        "(full resolution, padded to a multiple of 16)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads (ONNX Runtime)")
    p.add_argument("--precision", default="auto", choices=["auto", "fp32", "fp16", "int8"],
                   help="bundled model only: which file to run (auto: INT8 on ONNX Runtime CPU, "
                        "fp16 on TensorRT, fp32 otherwise)")
    p.add_argument("--ensemble", default="none", choices=["none", "flip"],
                   help="flip: also run the mirrored image and average (twice the time)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rmnet", description="R-MNet inpainting SDK",
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog=__doc__)
    parser.add_argument("--version", action="version", version=f"rmnet-sdk {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("inpaint", help="fill the holes of one image or a folder of images",
                       description="Fill the holes (mask: white = hole) of an image or a folder.")
    p.add_argument("image", nargs="?", help="input image (single-image mode)")
    p.add_argument("mask", nargs="?", help="mask image, white = hole (single-image mode)")
    p.add_argument("--images", help="folder of input images (folder mode)")
    p.add_argument("--masks", help="folder of masks paired by file stem, or one mask file for all")
    p.add_argument("-o", "--output", required=True,
                   help="output file (single mode) or folder (folder mode; PNG files)")
    p.add_argument("--mask-polarity", default="white-hole", choices=["white-hole", "black-hole"],
                   help="mask files: white-hole (default) or black-hole (QD-IMD, NVIDIA sets)")
    p.add_argument("--resize-mask", action="store_true",
                   help="resize masks to each image's size (holes never shrink) instead of "
                        "failing on a size mismatch")
    p.add_argument("--color", default="rgb", choices=["rgb", "bgr"],
                   help="channel order handed to the model (files are always read as RGB)")
    p.add_argument("--format", default="png", choices=["png", "jpg", "webp"],
                   help="output format in folder mode (default png: lossless)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--compare", help="single mode: also write a before | after image here")
    _add_model_options(p)

    e = sub.add_parser("eval", help="quality per hole-ratio bucket vs OpenCV Telea / NS / prefill",
                       description="PSNR/SSIM/MAE (whole image and holes only) of the model and "
                                   "of OpenCV Telea, Navier-Stokes and the pyramid prefill alone, "
                                   "per hole-ratio bucket, with 95 %% bootstrap intervals over "
                                   "photos and paired differences to each baseline.")
    e.add_argument("--images", required=True, help="folder of evaluation images")
    e.add_argument("--files", help="JSON list (or file with one name per line) restricting "
                                   "--images, or a split JSON ({\"train\": [...], \"test\": "
                                   "[...]}, see --subset)")
    e.add_argument("--subset", default="test",
                   help="with a split JSON in --files: which list to evaluate (default: test)")
    e.add_argument("--masks-per-bucket", type=int, default=1,
                   help="generated masks per image and bucket (default: 1)")
    e.add_argument("--masks", help="folder of masks (default: generated per image and bucket)")
    e.add_argument("--mask-polarity", default="white-hole", choices=["white-hole", "black-hole"])
    e.add_argument("--buckets", default="0.01-0.1,0.1-0.2,0.2-0.3,0.3-0.4,0.4-0.5,0.5-0.6",
                   help="hole-ratio buckets for generated masks, e.g. 0.1-0.2,0.2-0.3")
    e.add_argument("--size", type=int, default=256, help="evaluation resolution (square)")
    e.add_argument("--limit", type=int, help="use at most this many images")
    e.add_argument("--seed", type=int, default=0, help="mask seed")
    e.add_argument("--no-baselines", action="store_true", help="skip OpenCV Telea / NS")
    e.add_argument("--inception", metavar="INCEPTION.onnx",
                   help="also report FID, with this Inception feature network (ONNX; not "
                        "downloaded by the SDK, see rmnet_sdk.metrics.fid)")
    e.add_argument("-o", "--output", required=True, help="folder for eval.json, eval.md, grid.png")
    _add_model_options(e)

    bp = sub.add_parser("bench", help="latency/throughput of every backend vs TF-Keras and OpenCV",
                        description="Benchmark every available backend and precision (model-only "
                                    "and end-to-end, per stage) with same-run TF-Keras and OpenCV "
                                    "references; writes bench.json, bench.md, bench.png.")
    from .bench import add_arguments as _bench_arguments

    _bench_arguments(bp)

    sp = sub.add_parser("serve", help="serve the model on Triton Inference Server (PyTriton)",
                        description="Serve HxWx3 uint8 images + HxW masks over HTTP/gRPC with "
                                    "dynamic batching, health/readiness and Prometheus metrics.")
    from .serving.cli import add_arguments as _serve_arguments

    _serve_arguments(sp)
    _add_model_options(sp)

    q = sub.add_parser("info", help="backends, GPU, library versions, model metadata")
    _add_model_options(q)
    q.add_argument("--json", action="store_true", help="machine-readable output")
    return parser


def _load_pair(image_path: Path, mask_path: Path, args: argparse.Namespace):
    from . import masks

    image = read_image(image_path, keep_alpha=True)
    hole = masks.read_mask(mask_path, polarity=args.mask_polarity)
    if hole.shape != image.shape[:2]:
        if not args.resize_mask:
            raise InvalidInputError(
                f"mask {mask_path.name} is {hole.shape[1]}x{hole.shape[0]} but image "
                f"{image_path.name} is {image.shape[1]}x{image.shape[0]} (use --resize-mask)")
        hole = masks.resize_hole_mask(hole, image.shape[:2])
    return image, hole


def _check_not_input(out: Path, inputs: list[Path]) -> None:
    for p in inputs:
        if p.exists() and out.exists() and out.resolve() == p.resolve():
            raise InvalidInputError(f"output {out} is an input file: refusing to overwrite it")


def _cmd_inpaint(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from .inpainter import Inpainter

    folder_mode = args.images is not None
    if folder_mode == (args.image is not None):
        raise InvalidInputError("give either IMAGE MASK or --images DIR --masks DIR|FILE")
    if not folder_mode and args.mask is None:
        raise InvalidInputError("single-image mode needs IMAGE and MASK")
    if folder_mode and args.masks is None:
        raise InvalidInputError("folder mode needs --masks DIR|FILE")
    inpainter = Inpainter(args.model, backend=args.backend, device=args.device,
                          strategy=args.strategy, threads=args.threads, precision=args.precision,
                          ensemble=args.ensemble)
    log.info("%r", inpainter)

    if not folder_mode:
        image_path, mask_path, out = Path(args.image), Path(args.mask), Path(args.output)
        _check_not_input(out, [image_path, mask_path])
        if out.exists() and not args.overwrite:
            raise InvalidInputError(f"{out} exists (use --overwrite to replace it)")
        image, hole = _load_pair(image_path, mask_path, args)
        result = inpainter.run(image, hole, color=args.color)
        write_image(out, result, overwrite=args.overwrite)
        if args.compare:
            before = image.copy()
            before[hole] = 255 if image.shape[2] == 3 else (255, 255, 255, 255)
            gutter = np.full((image.shape[0], 8, image.shape[2]), 255, np.uint8)
            write_image(Path(args.compare), np.concatenate([before, gutter, result], axis=1),
                        overwrite=True)
        print(f"wrote {out}" + (f" and {args.compare}" if args.compare else ""))
        return 0

    images = list_images(args.images)
    if not images:
        raise InvalidInputError(f"no images found in {args.images}")
    masks_arg = Path(args.masks)
    if masks_arg.is_dir():
        by_stem = {p.stem: p for p in list_images(masks_arg)}
        pairs = [(p, by_stem.get(p.stem)) for p in images]
    elif masks_arg.is_file():
        pairs = [(p, masks_arg) for p in images]
    else:
        raise InvalidInputError(f"--masks {masks_arg} is neither a folder nor a file")
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)
    failures: list[str] = []
    written = skipped = 0
    for image_path, mask_path in tqdm(pairs, desc="inpainting", unit="img"):
        rel = image_path.relative_to(args.images).with_suffix("." + args.format)
        out = out_dir / rel
        try:
            if mask_path is None:
                raise InvalidInputError(f"no mask named {image_path.stem}.* in {masks_arg}")
            _check_not_input(out, [image_path, mask_path])
            if out.exists() and not args.overwrite:
                skipped += 1
                continue
            image, hole = _load_pair(image_path, mask_path, args)
            result = inpainter.run(image, hole, color=args.color)
            if args.format == "jpg" and result.shape[2] == 4:
                result = result[:, :, :3]  # JPEG has no alpha
            write_image(out, result, overwrite=args.overwrite)
            written += 1
        except (ImageReadError, InvalidInputError) as e:
            failures.append(f"{image_path}: {e}")
    print(f"wrote {written} image(s) to {out_dir}" +
          (f", kept {skipped} existing (use --overwrite)" if skipped else ""))
    if failures:
        print(f"{len(failures)} input(s) failed:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    return 0


def machine_info(args: argparse.Namespace | None = None) -> dict[str, object]:
    """What ``rmnet info`` reports (also used by the benchmark's environment block)."""
    from .backends import available_backends, cuda_device_count

    info: dict[str, object] = {
        "rmnet_sdk": __version__, "python": platform.python_version(),
        "platform": platform.platform(), "cpu": platform.processor() or platform.machine(),
        "cuda_devices": cuda_device_count(),
        "backends": {k: ("available" if v is None else v) for k, v in available_backends().items()},
    }
    for mod in ("numpy", "cv2", "onnxruntime", "onnx", "tensorrt", "tensorrt_rtx"):
        try:
            info[mod] = __import__(mod).__version__
        except Exception:  # not installed (or broken): say so instead of failing
            info[mod] = None
    if args is not None:
        try:
            from .inpainter import Inpainter

            inp = Inpainter(args.model, backend=args.backend, device=args.device,
                            threads=args.threads, precision=getattr(args, "precision", "auto"))
            info["model"] = {"path": str(inp.model_path), **inp.backend.describe()}
        except RMNetError as e:
            info["model"] = f"unavailable: {e}"
    return info


def _cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate, load_eval_images, opencv_method, save_result
    from .imaging import list_images as _list
    from .inpainter import Inpainter
    from .prefill import prefill_uint8

    files = None
    if args.files:
        text = Path(args.files).read_text()
        files = json.loads(text) if text.lstrip().startswith(("[", "{")) else text.split()
        if isinstance(files, dict):
            if args.subset not in files:
                raise InvalidInputError(f"{args.files} has no {args.subset!r} list "
                                        f"(it has {sorted(files)})")
            files = files[args.subset]
    buckets = []
    for part in args.buckets.split(","):
        lo, _, hi = part.partition("-")
        buckets.append((float(lo), float(hi)))
    images = load_eval_images(args.images, files=files, limit=args.limit)
    inp = Inpainter(args.model, backend=args.backend, device=args.device, strategy="resize",
                    threads=args.threads, precision=args.precision, ensemble=args.ensemble)
    methods = {"rmnet": inp.run}
    if not args.no_baselines:
        methods.update({"telea": opencv_method("telea"), "ns": opencv_method("ns"),
                        "prefill": prefill_uint8})
    out = Path(args.output)
    result = evaluate(methods, images, size=args.size, buckets=buckets, seed=args.seed,
                      mask_files=_list(args.masks) if args.masks else None,
                      mask_polarity=args.mask_polarity, grid_path=out / "grid.png",
                      inception_weights=args.inception, masks_per_bucket=args.masks_per_bucket)
    save_result(result, out)
    print(result.markdown())
    print(result.delta_markdown("psnr_hole"))
    print(result.delta_markdown("ssim_hole"))
    print(f"wrote {out}/eval.json, eval.md, grid.png")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    info = machine_info(args)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
        return 0
    for key, value in info.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v}")
        else:
            print(f"{key}: {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(message)s")
    try:
        if args.command == "inpaint":
            return _cmd_inpaint(args)
        if args.command == "eval":
            return _cmd_eval(args)
        if args.command == "bench":
            from . import bench

            return bench.main(args)
        if args.command == "serve":
            from .serving import cli as serve_cli

            return serve_cli.main(args)
        return _cmd_info(args)
    except (RMNetError, FileNotFoundError) as e:
        print(f"rmnet: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
