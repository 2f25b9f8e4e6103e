"""Make the bundled default model from a training run: export, gate, evaluate, write the card.

    python -m rmnet_sdk.training.bundle --run-dir runs/bundled-v1 --version 0.2 \
        [--install --models-dir rmnet_sdk/models --docs-dir docs]

One command so the shipped files, their numbers and the model card can never drift apart:

1. the run's latest checkpoint -> ``generator.keras`` (``rmnet-train --export-only``);
2. ``rmnet-export``: fp32 ONNX (parity gate vs Keras), fp16 ONNX (PSNR gate), INT8 ONNX
   (hole-PSNR gate) -- each written only after its gate passed;
3. ``rmnet_sdk.evaluation`` on the run's held-out test split (the ``test`` list of its
   ``split_file``: whole source packages that training and checkpoint selection never read) at
   256x256, two masks per photo and bucket (``--masks-per-bucket``): fp32 and INT8 against the
   previous bundled model, the pyramid prefill alone, OpenCV Telea and Navier-Stokes, with
   bootstrap intervals, plus the labelled example grid (thin scratches, text, large holes);
4. the training curves (``rmnet_sdk.training.report``) and ``MODEL_CARD.md`` rendered from
   ``docs/model/MODEL_CARD.template.md`` with every number filled in from steps 1-3;
5. with ``--install``: the three ONNX files, the card and ``bundle.json`` copied into
   ``--models-dir``, the evaluation and training curves into ``--docs-dir`` (both required: the
   step writes only where it is told; atomically), only when the model improved: its paired
   test hole-PSNR gain over the previous model has an interval above 0 and it is not worse than
   the prefill alone (interval reaching 0), unless ``--allow-worse``.

The INT8 calibration and the fp16/INT8 gates read only the split's train and validation photos.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from .._fileio import sha256_file

# run from the repository root (like rmnet-train, whose config paths are relative to it)
DOCS = Path("docs")
TEMPLATE = DOCS / "model" / "MODEL_CARD.template.md"
EVAL_SIZE = 256


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


#: The metrics of the card's evaluation table, in its row order.
CARD_METRICS = ("psnr_hole", "ssim_hole", "mae_hole")


def evaluation_tables(ev: dict[str, Any]) -> dict[str, str]:
    """The card's evaluation tables (``eval_table``, ``delta_psnr``, ``delta_ssim``), rendered
    by :class:`rmnet_sdk.evaluation.EvalResult` from the saved evaluation so the card and
    ``rmnet eval`` show one format."""
    from ..evaluation import EvalResult

    result = EvalResult.from_dict(ev)
    return {"eval_table": result.markdown(CARD_METRICS),
            "delta_psnr": result.delta_markdown("psnr_hole"),
            "delta_ssim": result.delta_markdown("ssim_hole")}


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


def _trainval_photos(photos: Path, split: dict[str, Any], stage: Path) -> Path:
    """A folder of links to the split's train + validation photos: what calibration and the
    export gates may read (never the test photos)."""
    folder = stage / "photos-trainval"
    folder.mkdir(parents=True, exist_ok=True)
    for name in split["train"] + split["validation"]:
        link = folder / name
        if not link.exists():
            link.symlink_to((photos / name).resolve())
    return folder


def _evaluate(stage: Path, photos: Path, out: Path, test_files: list[str],
              previous: Path | None, masks_per_bucket: int) -> dict[str, Any]:
    from ..evaluation import BASELINES, evaluate, load_eval_images, opencv_method, save_result
    from ..inpainter import Inpainter
    from ..prefill import prefill_uint8

    images = load_eval_images(photos, files=test_files)
    methods = {
        "rmnet": Inpainter(stage / "rmnet_default.onnx", backend="onnxruntime").run,
        "rmnet-int8": Inpainter(stage / "rmnet_default_int8.onnx", backend="onnxruntime").run,
    }
    if previous is not None:
        methods["previous"] = Inpainter(previous, backend="onnxruntime").run
    methods.update({"prefill": prefill_uint8, "telea": opencv_method("telea"),
                    "ns": opencv_method("ns")})
    result = evaluate(methods, images, size=EVAL_SIZE, grid_path=out / "grid.png",
                      masks_per_bucket=masks_per_bucket, baselines=(*BASELINES, "previous"))
    save_result(result, out)
    return {**result.to_dict(), "images": len(images), "files": test_files,
            "previous": str(previous) if previous else None}


#: How far below the prefill alone a model may be and still count as "not worse": the upper
#: end of the paired interval must reach -tolerance. A residual that has barely moved differs
#: from the prefill by ~1e-6 SSIM, consistently (a significant but meaningless difference).
NOT_WORSE_TOLERANCE = {"psnr_hole": 0.05, "ssim_hole": 0.002}


def ship_decision(ev: dict[str, Any]) -> dict[str, Any]:
    """Install only a model that beats the previous one on the test split (paired hole-PSNR
    gain, interval above 0) and is not worse than the prefill alone (the upper end of its paired
    interval reaches ``-NOT_WORSE_TOLERANCE``)."""
    deltas = ev["deltas"]
    prev = deltas.get("rmnet-previous", {}).get("all", {}).get("psnr_hole")
    pre = deltas["rmnet-prefill"]["all"]["psnr_hole"]
    pre_ssim = deltas["rmnet-prefill"]["all"]["ssim_hole"]
    beats_previous = prev is None or prev[1] > 0
    not_worse_than_prefill = (pre[2] >= -NOT_WORSE_TOLERANCE["psnr_hole"]
                              and pre_ssim[2] >= -NOT_WORSE_TOLERANCE["ssim_hole"])
    return {"beats_previous": beats_previous, "not_worse_than_prefill": not_worse_than_prefill,
            "ship": beats_previous and not_worse_than_prefill, "vs_previous": prev,
            "vs_prefill": pre, "vs_prefill_ssim": pre_ssim}


def target_met(ev: dict[str, Any], margin_db: float = 0.5, from_ratio: float = 0.1) -> bool:
    """The quality target: hole-PSNR >= NS + ``margin_db`` overall and in every bucket from
    ``from_ratio`` up, and hole-SSIM >= NS in each of those buckets (test split, means)."""
    table = ev["table"]
    rows = [b for b in table["rmnet"] if b != "all" and float(b.split("-")[0]) >= from_ratio - 1e-9]
    psnr_ok = all(table["rmnet"][b]["psnr_hole"] - table["ns"][b]["psnr_hole"] >= margin_db
                  for b in [*rows, "all"])
    ssim_ok = all(table["rmnet"][b]["ssim_hole"] >= table["ns"][b]["ssim_hole"] for b in rows)
    return psnr_ok and ssim_ok


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rmnet_sdk.training.bundle", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", type=Path, required=True, help="training run (its checkpoints)")
    p.add_argument("--version", required=True, help="model version for the metadata and card")
    p.add_argument("--keras", type=Path,
                   help="bundle this generator (e.g. RUN/best/generator.keras, the best "
                        "validation score) instead of the run's latest checkpoint")
    p.add_argument("--log", type=Path, action="append", default=[],
                   help="the run's log file (for the training hours); repeat for several phases")
    p.add_argument("--photos", type=Path, default=None,
                   help="photo corpus (default: the run's data_dir)")
    p.add_argument("--split-file", type=Path, default=None,
                   help="split JSON with train/validation/test lists (default: the run's)")
    p.add_argument("--previous", type=Path, default=None,
                   help="the model to beat (default: the fp32 model in --models-dir, else the "
                        "bundled one of the installed package)")
    p.add_argument("--masks-per-bucket", type=int, default=2,
                   help="generated masks per test photo and hole-ratio bucket")
    p.add_argument("--test-limit", type=int, default=None,
                   help="evaluate only the first N test photos (a quick dry run; never for a "
                        "model that ships: --install refuses it)")
    p.add_argument("--stage", type=Path, default=Path("runs/bundle"),
                   help="working folder (git-ignored)")
    p.add_argument("--models-dir", type=Path, default=None,
                   help="where --install writes the models, card and bundle.json (required with "
                        "--install; rmnet_sdk/models replaces a checkout's bundled model)")
    p.add_argument("--docs-dir", type=Path, default=None,
                   help="where --install writes the evaluation (DIR/model/eval) and training "
                        "curves (DIR/training) (required with --install; e.g. docs)")
    p.add_argument("--install", action="store_true",
                   help="copy the models, card and bundle.json into --models-dir, and the "
                        "evaluation and training curves into --docs-dir")
    p.add_argument("--allow-worse", action="store_true",
                   help="install even if the model does not beat the previous one")
    args = p.parse_args(argv)
    if args.install and args.test_limit:
        p.error("--install evaluates on the whole test split: drop --test-limit")
    if args.install and (args.models_dir is None or args.docs_dir is None):
        p.error("--install writes only where it is told: give --models-dir DIR (the models, "
                "card and bundle.json; rmnet_sdk/models for this checkout) and --docs-dir DIR "
                "(evaluation and training curves; docs for this checkout)")

    from .._fileio import atomic_write_bytes
    from ..models import BUNDLED, MODELS_DIR
    from .report import main as report_main

    t0 = time.time()
    models_dir = args.models_dir or MODELS_DIR  # read (previous model, lineage); written: --install
    config = json.loads((args.run_dir / "config.json").read_text())
    photos = args.photos or Path(config["data_dir"])
    split_file = args.split_file or (Path(config["split_file"]) if config.get("split_file") else None)
    if split_file is None or not split_file.is_file():
        raise SystemExit("bundle needs a split file with a held-out test list (--split-file or "
                         "the run's split_file)")
    split = json.loads(split_file.read_text())
    previous = args.previous or (models_dir / BUNDLED["fp32"])
    previous = previous if previous.is_file() else None
    stage = args.stage / f"v{args.version}"
    stage.mkdir(parents=True, exist_ok=True)
    gate_photos = _trainval_photos(photos, split, stage)
    export_report = _export(args.run_dir, stage, args.version, gate_photos, args.keras)
    from .checkpoint import read_keras_metadata

    steps = read_keras_metadata(args.keras or stage / "generator.keras").training_steps
    ev = _evaluate(stage, photos, stage / "eval", split["test"][:args.test_limit], previous,
                   args.masks_per_bucket)
    report_main([str(args.run_dir), str(stage / "training")])
    hours = sum(h for h in (training_hours(log) for log in args.log) if h is not None) or None
    origin = lineage(args.run_dir, models_dir / "bundle.json")
    if hours is not None and origin is not None and origin["hours"] is not None:
        hours += origin["hours"]
    files = {prec: stage / name for prec, name in BUNDLED.items()}
    decision = ship_decision(ev)
    bundle = {
        "version": args.version, "steps": steps, "training_hours": hours, "config": config,
        "init": origin, "schedule": schedule_changes(args.run_dir),
        "files": {name.name: {"bytes": name.stat().st_size, "sha256": sha256_file(name)}
                  for name in files.values()},
        "export": export_report, "eval": ev, "verdict": verdict(ev["table"]),
        "verdict_int8": verdict(ev["table"], model="rmnet-int8"),
        "target_met": target_met(ev), "ship": decision,
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
    cfg_keys = ("gf", "prefill", "mask_channel", "image_size", "batch_size", "crop",
                "min_crop_fraction", "max_crop_fraction", "rot90", "hole_ratio", "mask_kinds",
                "l1_hole_weight", "l1_valid_weight", "ssim_weight", "perceptual_weight",
                "adv_weight", "g_lr", "g_beta1", "lr_schedule", "lr_final_fraction", "ema_decay",
                "freeze_batchnorm", "steps", "seed")
    table = ev["table"]
    values = {
        "version": args.version,
        "steps": f"{steps:,}",
        "hours": "unknown" if hours is None else f"{hours:.1f}",
        "images_per_step": str(config["batch_size"]),
        "files_table": files_table,
        "eval_images": str(ev["images"]),
        "masks_per_bucket": str(ev["masks_per_bucket"]),
        "test_packages": ", ".join(split.get("test_packages", [])) or "see the split file",
        "split_counts": (f"{len(split['train'])} train, {len(split['validation'])} validation, "
                         f"{len(split['test'])} test"),
        "split_file": str(split_file),
        **evaluation_tables(ev),
        "verdict": ("beats OpenCV Navier-Stokes on hole-PSNR and hole-SSIM in every bucket from "
                    "0.1 up" if v["beats_baseline"] else
                    "does **not** beat OpenCV Navier-Stokes in every bucket from 0.1 up"),
        "target": ("meets" if bundle["target_met"] else "does **not** meet"),
        "psnr_all": f"{table['rmnet']['all']['psnr_hole']:.2f}",
        "ns_psnr_all": f"{table['ns']['all']['psnr_hole']:.2f}",
        "prefill_psnr_all": f"{table['prefill']['all']['psnr_hole']:.2f}",
        "previous_psnr_all": (f"{table['previous']['all']['psnr_hole']:.2f}"
                              if "previous" in table else "n/a"),
        "config_table": "| setting | value |\n| --- | --- |\n" + "\n".join(
            f"| `{k}` | `{json.dumps(config[k])}` |" for k in cfg_keys if k in config),
        "date": datetime.now().strftime("%Y-%m-%d"),
        "schedule": lineage_text(origin) + schedule_text(schedule_changes(args.run_dir)),
        "selection": (f"`{args.keras}` (the best validation hole-PSNR of the run; validation "
                      "photos only, the test split was not read)"
                      if args.keras else "the run's latest checkpoint"),
    }
    card = render_card(TEMPLATE.read_text(), values)
    atomic_write_bytes(stage / "MODEL_CARD.md", card.encode())
    print(f"staged in {stage} ({time.time() - t0:.0f} s): test hole-PSNR {values['psnr_all']} dB "
          f"(NS {values['ns_psnr_all']}, prefill {values['prefill_psnr_all']}, previous "
          f"{values['previous_psnr_all']}); {values['verdict']}; ship: {decision}")

    if args.install:
        if not decision["ship"] and not args.allow_worse:
            print(f"not installed: the model does not beat the previous one or is worse than "
                  f"the prefill on the test split ({decision}; --allow-worse to override)",
                  file=sys.stderr)
            return 1
        models_dir.mkdir(parents=True, exist_ok=True)
        for f in files.values():
            atomic_write_bytes(models_dir / f.name, f.read_bytes())
        atomic_write_bytes(models_dir / "MODEL_CARD.md", card.encode())
        atomic_write_bytes(models_dir / "bundle.json", (stage / "bundle.json").read_bytes())
        for sub, dest in (("eval", args.docs_dir / "model" / "eval"),
                          ("training", args.docs_dir / "training")):
            dest.mkdir(parents=True, exist_ok=True)
            for f in sorted((stage / sub).iterdir()):
                if f.is_file():
                    atomic_write_bytes(dest / f.name, f.read_bytes())
        print(f"installed into {models_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
