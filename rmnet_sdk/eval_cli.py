"""``rmnet eval``: quality per hole-ratio bucket, against OpenCV Telea / Navier-Stokes and the
pyramid prefill alone, with bootstrap intervals (the method is :mod:`rmnet_sdk.evaluation`'s)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .errors import InvalidInputError


def add_arguments(e: argparse.ArgumentParser) -> None:
    """``rmnet eval``'s own options (the model options are added by ``rmnet_sdk.cli``)."""
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


def main(args: argparse.Namespace) -> int:
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
