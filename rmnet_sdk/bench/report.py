"""The ``rmnet bench`` report: its schema, and the JSON, Markdown and plot written from it.

The JSON is the record (every row, the configuration and the machine); the Markdown and the
plot are views of it, so an old ``bench.json`` can be re-rendered without re-running.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from .stats import STAGES

_logger = logging.getLogger("rmnet_sdk")


SCHEMA_VERSION = 1

REQUIRED_ROW_KEYS = ("key", "name", "precision", "mode", "height", "width", "batch", "iterations",
                     "min_ms", "mean_ms", "median_ms", "p90_ms", "p95_ms", "p99_ms", "cv",
                     "throughput_ips")


def validate_report(report: dict[str, Any]) -> None:
    """Raise ``ValueError`` when ``report`` does not follow the schema (used by the tests)."""
    for k in ("schema", "config", "environment", "rows", "ratios", "paper_seconds"):
        if k not in report:
            raise ValueError(f"report has no {k!r}")
    for r in report["rows"]:
        if "error" in r:
            continue
        missing = [k for k in REQUIRED_ROW_KEYS if k not in r]
        if missing:
            raise ValueError(f"row {r.get('key')} misses {missing}")
        if not r["min_ms"] <= r["median_ms"] <= r["p90_ms"] <= r["p95_ms"] <= r["p99_ms"]:
            raise ValueError(f"row {r['key']}: percentiles out of order")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.1f}" if abs(v) >= 10 else f"{v:.2f}"
    return str(v)


def markdown(report: dict[str, Any]) -> str:
    env = report["environment"]
    cpu = env.get("cpu", {})
    m = env.get("machine", {})
    lines = [f"# rmnet bench ({report['created']})", "",
             "## Environment", "",
             f"- CPU: {cpu.get('model')} — {cpu.get('usable_cores')} usable of "
             f"{cpu.get('logical_cores')} logical cores; ISA: {', '.join(cpu.get('isa', []))}",
             "- CPU features: " + (", ".join(f"{k} {'yes' if v else 'no'}"
                                            for k, v in cpu["features"].items())
                                  if cpu.get("features") else "unknown (no /proc/cpuinfo)"),
             f"- GPU: {', '.join(g['name'] + ' (driver ' + g['driver'] + ')' for g in env.get('gpus', [])) or 'none'}",
             f"- Python {m.get('python')}, {m.get('platform')}",
             "- libraries: " + ", ".join(f"{k} {m.get(k)}" for k in
                                         ("rmnet_sdk", "numpy", "cv2", "onnxruntime", "onnx",
                                          "tensorrt") if m.get(k))
             + (f", tensorflow {env['tensorflow']}, keras {env['keras']}" if "tensorflow" in env else ""),
             f"- threads: {json.dumps(env.get('threads', {}))}",
             f"- models: {json.dumps(report.get('models', {}))}",
             ""]
    cfg = report["config"]
    lines += ["## Method", "",
              f"Warm-up {cfg['warmup']} calls per case, then {cfg['rounds']} interleaved rounds "
              f"(every case once per round), at least {cfg['iterations']} calls and "
              f"{cfg['min_seconds']} s per case in total. Latency per call (a call = one batch); "
              "throughput = images/s. `model` = backend inference on ready NCHW tensors; `e2e` = "
              f"`Inpainter.run` on uint8 image + mask (strategy `{cfg['strategy']}`). "
              f"Paper reference: {report['paper_seconds']} s per image (a GPU number).", ""]
    rows = [r for r in report["rows"] if "error" not in r]
    lines += ["## Latency", "",
              "| backend | precision | mode | HxW | N | median ms | mean | min | p90 | p95 | p99 | CV | img/s | vs paper |",
              "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in sorted(rows, key=lambda r: (r["mode"], r["height"] * r["width"], r["width"], r["batch"],
                                         r["median_ms"])):
        speed = report["paper_seconds"] * 1e3 * r["batch"] / r["median_ms"]
        lines.append(f"| {r['name']} | {r['precision']} | {r['mode']} | {r['height']}x{r['width']} | "
                     f"{r['batch']} | **{_fmt(r['median_ms'])}** | {_fmt(r['mean_ms'])} | "
                     f"{_fmt(r['min_ms'])} | {_fmt(r['p90_ms'])} | {_fmt(r['p95_ms'])} | "
                     f"{_fmt(r['p99_ms'])} | {r['cv']:.2f} | {_fmt(r['throughput_ips'])} | {speed:.2f}x |")
    staged = [r for r in rows if r.get("stages")]
    if staged:
        lines += ["", "## Stages (e2e, median ms per call; `-` = no such stage on this backend)", "",
                  "| backend | precision | HxW | N | preprocess | H2D | inference | D2H | composite | total (median) |",
                  "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in staged:
            s = r["stages"]
            lines.append(f"| {r['name']} | {r['precision']} | {r['height']}x{r['width']} | {r['batch']} | "
                         + " | ".join(_fmt(s[f'{k}_ms']) for k in STAGES) + f" | {_fmt(r['median_ms'])} |")
    for mode, ratios in report.get("ratios", {}).items():
        if not ratios:
            continue
        lines += ["", f"## Same-run ratio to TF-Keras ({mode}; < 1 = faster than TF)", "",
                  "| row | median / TF median | speed-up vs paper 0.193 s/img |", "| --- | ---: | ---: |"]
        for q in ratios:
            lines.append(f"| {q['key']} | {q['ratio_vs_tf-keras']:.2f} | {q['speedup_vs_paper']:.2f}x |")
    errors = [r for r in report["rows"] if "error" in r]
    if errors:
        lines += ["", "## Failed cases", ""] + [f"- {r['key']}: {' '.join(r['error'].split())}"
                                                for r in errors]
    return "\n".join(lines) + "\n"


def plot(report: dict[str, Any], path: str | os.PathLike[str]) -> Path | None:
    """Latency vs resolution (batch 1) per backend/precision, and speed-up vs the paper."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        _logger.warning("bench.png not written: matplotlib is not installed "
                     "(pip install 'rmnet-sdk[plot]')")
        return None
    rows = [r for r in report["rows"] if "error" not in r and r["batch"] == 1]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    series: dict[str, list[tuple[int, float, str]]] = {}
    for r in rows:
        label = f"{r['name']} {r['precision']} {r['mode']}"
        series.setdefault(label, []).append((r["height"] * r["width"], r["median_ms"],
                                             f"{r['height']}x{r['width']}"))
    for label, pts in sorted(series.items()):
        pts.sort()
        xs = [p[0] for p in pts]
        ys = [p[1] for p in pts]
        style = "--" if label.startswith(("tf-", "opencv")) else "-"
        axes[0].plot(xs, ys, style, marker="o", label=label)
        axes[1].plot(xs, [report["paper_seconds"] * 1e3 / y for y in ys], style, marker="o", label=label)
    ticks = sorted({(r["height"] * r["width"], f"{r['height']}x{r['width']}") for r in rows})
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xticks([t[0] for t in ticks], [t[1] for t in ticks], rotation=30)
        ax.minorticks_off()
        ax.set_xlabel("resolution (H x W), batch 1")
        ax.grid(True, alpha=0.3)
    axes[0].axhline(report["paper_seconds"] * 1e3, color="k", linestyle=":", label="paper 0.193 s")
    axes[0].set_yscale("log")
    axes[0].set_ylabel("median latency (ms)")
    axes[1].axhline(1.0, color="k", linestyle=":", label="paper 0.193 s")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("speed-up vs 0.193 s per image")
    axes[0].legend(fontsize=7)
    cpu = report["environment"].get("cpu", {}).get("model", "")
    fig.suptitle(f"rmnet bench — {cpu}")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def write_report(report: dict[str, Any], out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """``bench.json``, ``bench.md`` and ``bench.png`` (when matplotlib is installed)."""
    from .._fileio import atomic_write_text

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    validate_report(report)
    paths = {"json": out / "bench.json", "md": out / "bench.md"}
    atomic_write_text(paths["json"], json.dumps(report, indent=2, default=str) + "\n")
    atomic_write_text(paths["md"], markdown(report))
    png = plot(report, out / "bench.png")  # None (and a warning) without matplotlib
    if png:
        paths["png"] = png
    return paths
