"""``rmnet-train``: train R-MNet on a folder of images.

Examples::

    rmnet-train --data ~/photos --run-dir runs/cpu --preset cpu --vgg-weights random
    rmnet-train --run-dir runs/cpu                  # resume a run (its config.json is reused)
    rmnet-train --data ~/photos --run-dir runs/p --preset paper --set d_lr=1e-4 --steps 20000
    rmnet-train --run-dir runs/p --distribute mirrored        # every local GPU, same global batch
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

from rmnet_sdk.errors import RMNetError

from .config import PRESETS, TrainConfig, load_config, preset


def _parse_set(items: list[str]) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects key=value, got {item!r}")
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rmnet-train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="folder of training images (searched recursively)")
    p.add_argument("--val-data", help="separate validation folder (default: a hashed split of --data)")
    p.add_argument("--masks", help="folder of mask images (default: procedural masks)")
    p.add_argument("--mask-polarity", choices=["white-hole", "black-hole"],
                   help="mask files: white-hole (ours) or black-hole (QD-IMD and NVIDIA sets)")
    p.add_argument("--run-dir", required=True,
                   help="run folder: config, checkpoints, samples, TensorBoard logs")
    p.add_argument("--preset", default=None, choices=sorted(PRESETS),
                   help="start from a named recipe (default for new runs: paper)")
    p.add_argument("--config", help="JSON config file (as saved in a run folder)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set gf=32 --set lambda_rm=0.4")
    p.add_argument("--steps", type=int, help="train until this many total steps")
    p.add_argument("--vgg-weights", help="'imagenet' (Keras cache), a .h5 path, or 'random'")
    p.add_argument("--init-from", metavar="PATH",
                   help="new run: start the generator from this .keras or .onnx file (fine-tune, "
                        "e.g. rmnet_sdk/models/rmnet_default.onnx with --set freeze_batchnorm=all)")
    p.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints")
    p.add_argument("--export", help="also write the final generator to this .keras path")
    p.add_argument("--export-only", metavar="PATH",
                   help="do not train: write the latest checkpoint's generator to PATH (.keras)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs only)")
    p.add_argument("--distribute", default="none", choices=["none", "mirrored", "multi-worker"],
                   help="tf.distribute: mirrored = every local GPU, multi-worker = the cluster in "
                        "TF_CONFIG; batch_size is the global batch (README, Scaling out)")
    return p


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    run_config = Path(args.run_dir) / "config.json"
    if args.config:
        cfg = load_config(args.config)
    elif args.preset:
        cfg = preset(args.preset)
    elif run_config.is_file() and not args.no_resume:
        cfg = load_config(run_config)
    else:
        cfg = preset("paper")
    overrides = _parse_set(args.set)
    for attr, key in (("data", "data_dir"), ("val_data", "val_dir"), ("masks", "mask_dir"),
                      ("mask_polarity", "mask_polarity"), ("steps", "steps"),
                      ("vgg_weights", "vgg_weights"), ("init_from", "init_from")):
        if getattr(args, attr) is not None:
            overrides[key] = getattr(args, attr)
    return TrainConfig.from_dict({**cfg.to_dict(), **overrides}).validate()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        from .distribute import make_trainer

        cfg = resolve_config(args)
        trainer = make_trainer(cfg, args.run_dir, distribute=args.distribute,
                               resume=not args.no_resume)
        if args.export_only:
            print(f"wrote {trainer.export_generator(args.export_only)} (step {trainer.step})")
            return 0
        trainer.fit(progress=not args.no_progress)
        if args.export:
            trainer.export_generator(args.export)
    except RMNetError as e:
        print(f"rmnet-train: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
