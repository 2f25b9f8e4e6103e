"""Build the benchmark models (fixed widths, for latency matrices) into runs/bench-models/ (git-ignored).

    python benchmarks/make_models.py [--checkpoint runs/<run>/checkpoints/ckpt-N.npz] [--photos DIR]

- gf64.keras/.onnx: untrained paper-width generator (gf=64, no mask channel);
- gf32mc-step800.keras/.onnx: the bundled model's width (gf=32, mask channel; no prefill) with
  the generator weights of a training checkpoint (untrained when no checkpoint is given) --
  speed does not depend on the weights, the INT8 quality gate does;
- *-int8.onnx: INT8 (rmnet_sdk.export.quantize defaults) of both, calibrated on --photos
  (default: $RMNET_PHOTOS_DIR, else the development corpus ../shared/data/photos).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

#: The development photo corpus beside the checkout (read there, never copied in).
PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "data" / "photos"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", help="training checkpoint (.npz) for the gf=32 model")
    p.add_argument("-o", "--output", default="runs/bench-models")
    p.add_argument("--photos", default=os.environ.get("RMNET_PHOTOS_DIR") or str(PHOTOS),
                   help="INT8 calibration photos (default: $RMNET_PHOTOS_DIR, else %(default)s)")
    args = p.parse_args()
    from rmnet_sdk.export import export_onnx
    from rmnet_sdk.export.quantize import quantize_int8
    from rmnet_sdk.metadata import ModelMetadata
    from rmnet_sdk.training.checkpoint import save_generator
    from rmnet_sdk.training.model import build_generator

    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for name, gf, mc, ckpt in [("gf64", 64, False, None),
                               ("gf32mc-step800", 32, True, args.checkpoint)]:
        g = build_generator(gf, mask_channel=mc)
        steps = 0
        if ckpt:
            data = np.load(ckpt)
            keys = sorted(k for k in data.files if k.startswith("generator/"))
            if len(keys) != len(g.variables):
                raise SystemExit(f"{ckpt}: {len(keys)} generator variables, model has {len(g.variables)}")
            for k, v in zip(keys, g.variables, strict=True):
                v.assign(data[k])
            steps = int(Path(ckpt).stem.split("-")[-1])
        path = save_generator(g, out / f"{name}.keras",
                              ModelMetadata(name=name, gf=gf, mask_channel=mc, training_steps=steps))
        export_onnx(str(path), out / f"{name}.onnx")
        quantize_int8(out / f"{name}.onnx", out / f"{name}-int8.onnx", photos=args.photos)
        print(f"wrote {out}/{name}.keras, .onnx, -int8.onnx", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
