"""Make the bundled default model from a training run: export, gate, evaluate, write the card.

    python -m rmnet_sdk.training.bundle --run-dir runs/bundled-v1 --version 0.2 [--install]

One command so the shipped files, their numbers and the model card can never drift apart:

1. the run's latest checkpoint -> ``generator.keras`` (``rmnet-train --export-only``);
2. ``rmnet-export``: fp32 ONNX (parity gate vs Keras), fp16 ONNX (PSNR gate), INT8 ONNX
   (hole-PSNR gate) -- each written only after its gate passed;
3. ``rmnet_sdk.evaluation`` on the fixed validation split (``docs/model/validation_files.json``)
   at 256x256: fp32 and INT8 against OpenCV Telea and Navier-Stokes, per hole-ratio bucket,
   plus the example grid;
4. the training curves (``rmnet_sdk.training.report``) and ``MODEL_CARD.md`` rendered from
   ``docs/model/MODEL_CARD.template.md`` with every number filled in from steps 1-3;
5. with ``--install``: the three ONNX files and the card copied into ``rmnet_sdk/models/``
   (atomically; the issue asks to update the shipped files only when the model improved, so
   ``--install`` refuses a model whose validation hole-PSNR is below the installed one's unless
   ``--allow-worse``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

# run from the repository root (like rmnet-train, whose config paths are relative to it)
DOCS = Path("docs")
TEMPLATE = DOCS / "model" / "MODEL_CARD.template.md"
VALIDATION_FILES = DOCS / "model" / "validation_files.json"
EVAL_SIZE = 256


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def training_hours(log_path: Path | None, max_gap_s: float = 600.0) -> float | None:
    """Wall-clock hours the run spent training, from its log's timestamps (pauses between
    sessions, i.e. gaps over ``max_gap_s``, are not counted)."""
    if log_path is None or not log_path.is_file():
        return None
    stamps = []
    for line in log_path.read_text(errors="replace").splitlines():
        m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", line)
        if m:
            stamps.append(datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S").timestamp())
    gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False) if 0 <= b - a <= max_gap_s]
    return sum(gaps) / 3600.0


def _table(result_table: dict[str, dict[str, dict[str, float]]], methods: list[str],
           keys: tuple[str, ...] = ("psnr_hole", "ssim_hole", "mae_hole", "psnr", "ssim")) -> str:
    """Markdown: one row per bucket and metric, one column per method, best in bold."""
    buckets = list(next(iter(result_table.values())))
    lines = ["| bucket | metric | " + " | ".join(methods) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in methods) + " |"]
    for b in buckets:
        for k in keys:
            vals = [result_table[m][b][k] for m in methods]
            best = min(vals) if k.startswith("mae") else max(vals)
            cells = [f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in vals]
            lines.append(f"| {b} | {k} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(table: dict[str, dict[str, dict[str, float]]], model: str = "rmnet",
            baseline: str = "ns", from_ratio: float = 0.1) -> dict[str, Any]:
    """Does ``model`` beat ``baseline`` on hole-PSNR and hole-SSIM in every bucket >= 0.1?"""
    rows = {}
    for b, m in table[model].items():
        if b == "all" or float(b.split("-")[0]) < from_ratio - 1e-9:
            continue
        ref = table[baseline][b]
        rows[b] = {"psnr_hole_delta": m["psnr_hole"] - ref["psnr_hole"],
                   "ssim_hole_delta": m["ssim_hole"] - ref["ssim_hole"]}
    beats = all(r["psnr_hole_delta"] > 0 and r["ssim_hole_delta"] > 0 for r in rows.values())
    return {"beats_baseline": beats, "baseline": baseline, "buckets": rows}


def _export(run_dir: Path, stage: Path, version: str, photos: Path | None,
            keras_path: Path | None) -> dict[str, Any]:
    from ..export.cli import build_parser
    from ..export.cli import run as export_run
    from .cli import main as train_main

    if keras_path is None:
        keras_path = stage / "generator.keras"
        if train_main(["--run-dir", str(run_dir), "--export-only", str(keras_path)]) != 0:
            raise SystemExit("exporting the checkpoint failed")
    argv = [str(keras_path), "--onnx", str(stage / "rmnet_default.onnx"),
            "--fp16", str(stage / "rmnet_default_fp16.onnx"),
            "--int8", str(stage / "rmnet_default_int8.onnx"),
            "--resolution", str(EVAL_SIZE), "--name", "rmnet-default", "--model-version", version,
            "--force"]
    if photos:
        argv += ["--photos", str(photos)]
    return export_run(build_parser().parse_args(argv))


def _evaluate(stage: Path, photos: Path, out: Path) -> dict[str, Any]:
    from ..evaluation import evaluate, load_eval_images, opencv_method, save_result
    from ..inpainter import Inpainter

    files = json.loads(VALIDATION_FILES.read_text())
    images = load_eval_images(photos, files=files)
    methods = {
        "rmnet": Inpainter(stage / "rmnet_default.onnx", backend="onnxruntime").run,
        "rmnet-int8": Inpainter(stage / "rmnet_default_int8.onnx", backend="onnxruntime").run,
        "telea": opencv_method("telea"),
        "ns": opencv_method("ns"),
    }
    result = evaluate(methods, images, size=EVAL_SIZE, grid_path=out / "grid.png")
    save_result(result, out)
    return {"table": result.table, "images": len(images)}


def schedule_changes(run_dir: Path) -> str | None:
    """The run's config changes on resume (config_changes.jsonl), e.g. "from step 4,001:
    `ema_decay` 0.0 → 0.999; ..."; None when the config never changed."""
    path = run_dir / "config_changes.jsonl"
    if not path.is_file():
        return None
    parts = []
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            what = ", ".join(f"`{k}` {c['from']} → {c['to']}" for k, c in rec["changes"].items())
            parts.append(f"from step {rec['step']:,}: {what}")
    return "; ".join(parts) or None


def schedule_text(changes: str | None) -> str:
    if changes is None:
        return "The config above was used from the first step to the last."
    return f"The table shows the final config; it changed on resume {changes}."


def lineage(run_dir: Path, installed: Path) -> dict[str, Any] | None:
    """Where a fine-tuning run's generator started (``init.json``, written by ``--init-from``),
    with that model's steps and hours when it is a bundled model (matched by sha256 against
    ``installed``, the bundle.json of the installed model): the card counts both runs."""
    path = run_dir / "init.json"
    if not path.is_file():
        return None
    init = json.loads(path.read_text())
    meta = init.get("metadata", {})
    out = {"path": init["path"], "sha256": init["sha256"], "steps": int(init["steps"]),
           "name": meta.get("name", "?"), "version": meta.get("version", "?"), "hours": None,
           "schedule": None}
    if installed.is_file():
        bundle = json.loads(installed.read_text())
        if any(f["sha256"] == init["sha256"] for f in bundle.get("files", {}).values()):
            out["hours"] = bundle.get("training_hours")
            out["schedule"] = bundle.get("schedule")
    return out


def lineage_text(origin: dict[str, Any] | None) -> str:
    if origin is None:
        return ""
    hours = "" if origin["hours"] is None else f", {origin['hours']:.1f} h"
    return (f"The generator was fine-tuned from `{origin['path']}` ({origin['name']} "
            f"{origin['version']}: {origin['steps']:,} steps{hours}; sha256 "
            f"`{origin['sha256'][:16]}…`) with a fresh critic; the step and hour counts above "
            "include that model's. "
            + (f"That model's run changed its config on resume {origin['schedule']}. "
               if origin.get("schedule") else ""))


def render_card(template: str, values: dict[str, str]) -> str:
    """``{{name}}`` placeholders -> values; an unknown or unfilled placeholder is an error."""
    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in values:
            raise KeyError(f"MODEL_CARD template placeholder {{{{{key}}}}} has no value")
        return values[key]

    return re.sub(r"\{\{(\w+)\}\}", sub, template)


def _installed_psnr(models_dir: Path) -> float | None:
    card = models_dir / "bundle.json"
    if not card.is_file():
        return None
    return json.loads(card.read_text())["eval"]["table"]["rmnet"]["all"]["psnr_hole"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rmnet_sdk.training.bundle", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True, help="training run (its checkpoints)")
    p.add_argument("--version", required=True, help="model version for the metadata and card")
    p.add_argument("--keras", type=Path,
                   help="bundle this generator (e.g. RUN/best/generator.keras, the best "
                        "validation score) instead of the run's latest checkpoint")
    p.add_argument("--log", type=Path, help="the run's log file (for the training hours)")
    p.add_argument("--photos", type=Path, default=None,
                   help="photo corpus (default: the run's data_dir)")
    p.add_argument("--stage", type=Path, default=Path("runs/bundle"),
                   help="working folder (git-ignored)")
    p.add_argument("--install", action="store_true",
                   help="copy the models, card and bundle.json into rmnet_sdk/models/, and the "
                        "evaluation and training curves into docs/model/ and docs/training/")
    p.add_argument("--allow-worse", action="store_true",
                   help="install even if validation hole-PSNR is below the installed model's")
    args = p.parse_args(argv)

    from .._fileio import atomic_write_bytes
    from ..models import BUNDLED, MODELS_DIR
    from .report import main as report_main

    t0 = time.time()
    config = json.loads((args.run_dir / "config.json").read_text())
    photos = args.photos or Path(config["data_dir"])
    stage = args.stage / f"v{args.version}"
    stage.mkdir(parents=True, exist_ok=True)
    export_report = _export(args.run_dir, stage, args.version, photos, args.keras)
    from .checkpoint import read_keras_metadata

    steps = read_keras_metadata(args.keras or stage / "generator.keras").training_steps
    ev = _evaluate(stage, photos, stage / "eval")
    report_main([str(args.run_dir), str(stage / "training")])
    hours = training_hours(args.log)
    origin = lineage(args.run_dir, MODELS_DIR / "bundle.json")
    if hours is not None and origin is not None and origin["hours"] is not None:
        hours += origin["hours"]
    files = {prec: stage / name for prec, name in BUNDLED.items()}
    bundle = {
        "version": args.version, "steps": steps, "training_hours": hours, "config": config,
        "init": origin, "schedule": schedule_changes(args.run_dir),
        "files": {name.name: {"bytes": name.stat().st_size, "sha256": sha256(name)}
                  for name in files.values()},
        "export": export_report, "eval": ev, "verdict": verdict(ev["table"]),
        "verdict_int8": verdict(ev["table"], model="rmnet-int8"),
    }
    (stage / "bundle.json").write_text(json.dumps(bundle, indent=1, default=str) + "\n")

    gate = export_report["int8"]["gate"]
    fp16 = export_report["fp16"]
    files_table = "\n".join(
        ["| file | precision | size | sha256 | gate |", "| --- | --- | ---: | --- | --- |"]
        + [f"| `{files[p].name}` | {p} | {files[p].stat().st_size / 1e6:.1f} MB | "
           f"`{bundle['files'][files[p].name]['sha256'][:16]}…` | {g} |"
           for p, g in (("fp32", "parity vs Keras: max abs diff " + ", ".join(
               f"{v:.1e} ({k})" for k, v in export_report["onnx"]["parity"].items())),
                        ("fp16", f"PSNR vs fp32 ≥ {fp16['psnr_min']:.1f} dB on "
                                 f"{fp16['n_images']} photos; largest activation "
                                 f"{fp16['max_activation']:.1f}"),
                        ("int8", f"worst hole-PSNR drop vs fp32 {gate['max_drop']:+.2f} dB on "
                                 f"{gate['images']} photos (limit {gate['limit']:g} dB)"))])
    v = bundle["verdict"]
    verdict_lines = "\n".join(
        f"| {b} | {r['psnr_hole_delta']:+.2f} dB | {r['ssim_hole_delta']:+.3f} |"
        for b, r in v["buckets"].items())
    cfg_keys = ("gf", "df", "mask_channel", "image_size", "batch_size", "crop", "min_crop_fraction",
                "max_crop_fraction", "hole_ratio", "mask_kinds", "perceptual_weight", "lambda_rm",
                "l1_hole_weight", "l1_valid_weight", "adv_weight", "critic_constraint",
                "gp_weight", "n_critic", "g_lr", "d_lr", "vgg_weights", "seed")
    values = {
        "version": args.version,
        "steps": f"{steps:,}",
        "hours": "unknown" if hours is None else f"{hours:.1f}",
        "images_per_step": str(config["batch_size"]),
        "files_table": files_table,
        "eval_images": str(ev["images"]),
        "eval_table": _table(ev["table"], ["rmnet", "rmnet-int8", "telea", "ns"]),
        "verdict_table": "| bucket | hole-PSNR vs NS | hole-SSIM vs NS |\n| --- | ---: | ---: |\n"
                         + verdict_lines,
        "verdict": ("beats OpenCV Navier-Stokes on hole-PSNR and hole-SSIM in every bucket from "
                    "0.1 up" if v["beats_baseline"] else
                    "does **not** yet beat OpenCV Navier-Stokes in every bucket from 0.1 up"),
        "psnr_all": f"{ev['table']['rmnet']['all']['psnr_hole']:.2f}",
        "ns_psnr_all": f"{ev['table']['ns']['all']['psnr_hole']:.2f}",
        "config_table": "| setting | value |\n| --- | --- |\n" + "\n".join(
            f"| `{k}` | `{json.dumps(config[k])}` |" for k in cfg_keys if k in config),
        "date": datetime.now().strftime("%Y-%m-%d"),
        "schedule": lineage_text(origin) + schedule_text(schedule_changes(args.run_dir)),
        "selection": (f"`{args.keras}` (chosen by the run's validation hole-PSNR, 16 validation "
                      "photos at 128², so the table below is mildly optimistic)"
                      if args.keras else "the run's latest checkpoint"),
    }
    card = render_card(TEMPLATE.read_text(), values)
    atomic_write_bytes(stage / "MODEL_CARD.md", card.encode())
    print(f"staged in {stage} ({time.time() - t0:.0f} s): validation hole-PSNR "
          f"{values['psnr_all']} dB (NS {values['ns_psnr_all']} dB); {values['verdict']}")

    if args.install:
        old = _installed_psnr(MODELS_DIR)
        new = ev["table"]["rmnet"]["all"]["psnr_hole"]
        if old is not None and new < old and not args.allow_worse:
            print(f"not installed: validation hole-PSNR {new:.2f} dB is below the installed "
                  f"model's {old:.2f} dB (--allow-worse to override)", file=sys.stderr)
            return 1
        for f in files.values():
            atomic_write_bytes(MODELS_DIR / f.name, f.read_bytes())
        atomic_write_bytes(MODELS_DIR / "MODEL_CARD.md", card.encode())
        atomic_write_bytes(MODELS_DIR / "bundle.json", (stage / "bundle.json").read_bytes())
        for sub, dest in (("eval", DOCS / "model" / "eval"), ("training", DOCS / "training")):
            dest.mkdir(parents=True, exist_ok=True)
            for f in sorted((stage / sub).iterdir()):
                if f.is_file():
                    atomic_write_bytes(dest / f.name, f.read_bytes())
        print(f"installed into {MODELS_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
