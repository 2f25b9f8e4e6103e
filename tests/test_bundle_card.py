"""The model-card helpers of ``rmnet_sdk.training.bundle``: verdict, hours, lineage, rendering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rmnet_sdk.training import bundle


def _row(psnr: float, ssim: float) -> dict[str, float]:
    return {"psnr_hole": psnr, "ssim_hole": ssim}


def test_verdict_needs_both_metrics_in_every_bucket_from_a_tenth() -> None:
    table = {
        "rmnet": {"0.01-0.10": _row(10, 0.1), "0.10-0.20": _row(20, 0.6),
                  "0.20-0.30": _row(19, 0.5), "all": _row(0, 0)},
        "ns": {"0.01-0.10": _row(30, 0.9), "0.10-0.20": _row(19, 0.5),
               "0.20-0.30": _row(18, 0.4), "all": _row(99, 1)},
    }
    v = bundle.verdict(table)
    assert v["beats_baseline"]  # the small-hole bucket and "all" do not count
    assert v["buckets"]["0.10-0.20"]["psnr_hole_delta"] == pytest.approx(1.0)
    table["rmnet"]["0.20-0.30"] = _row(19, 0.39)  # PSNR ahead, SSIM behind
    assert not bundle.verdict(table)["beats_baseline"]


def test_training_hours_skip_pauses(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("2026-01-01 10:00:00,1 INFO a\n2026-01-01 10:05:00,1 INFO b\n"
                   "2026-01-01 14:00:00,1 INFO resumed\n2026-01-01 14:10:00,1 INFO c\n")
    assert bundle.training_hours(log) == pytest.approx(15 / 60)
    assert bundle.training_hours(tmp_path / "missing.log") is None


def test_lineage_counts_the_bundled_model_it_started_from(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    assert bundle.lineage(run, tmp_path / "bundle.json") is None
    assert bundle.lineage_text(None) == ""
    (run / "init.json").write_text(json.dumps({
        "path": "rmnet_sdk/models/rmnet_default.onnx", "sha256": "ab" * 32, "steps": 8250,
        "metadata": {"name": "rmnet-default", "version": "0.2"}}))
    installed = tmp_path / "bundle.json"
    installed.write_text(json.dumps({"training_hours": 3.5,
                                     "files": {"x.onnx": {"sha256": "cd" * 32}}}))
    assert bundle.lineage(run, installed)["hours"] is None  # not the installed model: unknown
    installed.write_text(json.dumps({"training_hours": 3.5, "schedule": "from step 4,001: x",
                                     "files": {"x.onnx": {"sha256": "ab" * 32}}}))
    origin = bundle.lineage(run, installed)
    assert origin["hours"] == 3.5 and origin["steps"] == 8250
    text = bundle.lineage_text(origin)
    assert "rmnet-default 0.2: 8,250 steps, 3.5 h" in text
    assert "changed its config on resume from step 4,001: x." in text


def test_schedule_from_config_changes(tmp_path: Path) -> None:
    assert bundle.schedule_changes(tmp_path) is None
    assert "first step to the last" in bundle.schedule_text(None)
    with open(tmp_path / "config_changes.jsonl", "w") as f:
        f.write(json.dumps({"step": 4001, "changes": {"ema_decay": {"from": 0.0, "to": 0.999}}}) + "\n")
        f.write(json.dumps({"step": 6358, "changes": {"g_lr": {"from": 2e-4, "to": 5e-5}}}) + "\n")
    changes = bundle.schedule_changes(tmp_path)
    assert changes == "from step 4,001: `ema_decay` 0.0 → 0.999; from step 6,358: `g_lr` 0.0002 → 5e-05"
    assert bundle.schedule_text(changes).endswith(changes + ".")


def test_card_placeholders_must_all_be_filled() -> None:
    assert bundle.render_card("v{{a}} {{b}}", {"a": "1", "b": "x"}) == "v1 x"
    with pytest.raises(KeyError, match="missing"):
        bundle.render_card("{{missing}}", {})
