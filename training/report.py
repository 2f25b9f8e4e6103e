"""Summarise a run folder for the docs: loss curves, validation vs OpenCV NS, latest samples.

    python -m rmnet_sdk.training.report runs/cpu docs/training
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def read_metrics(run_dir: Path) -> list[dict[str, float]]:
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"no metrics.jsonl in {run_dir}")
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_run(run_dir: Path, out_png: Path) -> Path:
    """Two panels: training losses (per logged step) and validation hole-PSNR vs OpenCV NS."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(run_dir)
    train = [r for r in rows if "g_total" in r]
    val = [r for r in rows if "val/psnr_hole" in r]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for key in ("g_total", "g_l1_hole", "g_l1_valid", "g_perceptual", "g_reverse_mask"):
        pts = [(r["step"], r[key]) for r in train if r.get(key)]
        if pts:
            ax1.plot(*zip(*pts, strict=True), label=key, lw=1)
    ax1.set_xlabel("step")
    ax1.set_yscale("log")
    ax1.set_title("generator losses")
    ax1.legend(fontsize=8)
    if val:
        steps = [r["step"] for r in val]
        ax2.plot(steps, [r["val/psnr_hole"] for r in val], "o-", label="R-MNet hole PSNR")
        ax2.plot(steps, [r["val/ns_psnr_hole"] for r in val], "--", label="OpenCV NS hole PSNR")
        ax2.set_xlabel("step")
        ax2.set_ylabel("dB")
        ax2.set_title("validation (fixed batch)")
        ax2.legend(fontsize=8)
    fig.tight_layout()
    out_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
    return out_png


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rmnet_sdk.training.report", description=__doc__)
    p.add_argument("run_dir", type=Path)
    p.add_argument("out_dir", type=Path)
    args = p.parse_args(argv)
    plot_run(args.run_dir, args.out_dir / "loss_curve.png")
    samples = sorted((args.run_dir / "samples").glob("step-*.png"))
    if samples:
        shutil.copyfile(samples[-1], args.out_dir / "samples_latest.png")
    rows = read_metrics(args.run_dir)
    val = [r for r in rows if "val/psnr_hole" in r]
    summary = {"steps": rows[-1]["step"] if rows else 0, "last_validation": val[-1] if val else None,
               "config": json.loads((args.run_dir / "config.json").read_text())}
    (args.out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"wrote {args.out_dir}/loss_curve.png, samples_latest.png, summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
