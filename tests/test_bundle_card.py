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


def _ev(rmnet: dict[str, tuple[float, float]], ns: dict[str, tuple[float, float]],
        deltas: dict[str, tuple[float, float, float]]) -> dict:
    table = {"rmnet": {b: _row(*v) for b, v in rmnet.items()},
             "ns": {b: _row(*v) for b, v in ns.items()}}
    return {"table": table, "deltas": {
        name: {"all": {"psnr_hole": d, "ssim_hole": (0.0, -0.001, 0.001)}}
        for name, d in deltas.items()}}


def test_ship_needs_a_paired_gain_over_the_previous_model_and_not_worse_than_the_prefill() -> None:
    ev = _ev({}, {}, {"rmnet-previous": (1.2, 0.9, 1.5), "rmnet-prefill": (0.0, -0.05, 0.05)})
    assert bundle.ship_decision(ev)["ship"]
    ev = _ev({}, {}, {"rmnet-previous": (0.1, -0.1, 0.3), "rmnet-prefill": (0.1, 0.0, 0.2)})
    assert not bundle.ship_decision(ev)["ship"]  # the gain's interval contains 0
    ev = _ev({}, {}, {"rmnet-previous": (1.0, 0.8, 1.2), "rmnet-prefill": (-1e-6, -2e-6, -1e-7)})
    assert bundle.ship_decision(ev)["ship"]  # a meaningless, if consistent, difference
    ev = _ev({}, {}, {"rmnet-previous": (1.0, 0.8, 1.2), "rmnet-prefill": (-0.3, -0.4, -0.2)})
    decision = bundle.ship_decision(ev)
    assert decision["beats_previous"] and not decision["not_worse_than_prefill"]
    assert not decision["ship"]


def test_target_is_half_a_decibel_over_ns_from_a_tenth_up_and_ssim_at_least_ns() -> None:
    ns = {"0.01-0.10": (20.0, 0.6), "0.10-0.20": (18.0, 0.5), "all": (19.0, 0.55)}
    ok = {"0.01-0.10": (19.0, 0.5), "0.10-0.20": (18.6, 0.5), "all": (19.5, 0.55)}
    assert bundle.target_met(_ev(ok, ns, {}))  # the small-hole bucket does not count
    short = {**ok, "0.10-0.20": (18.4, 0.5)}
    assert not bundle.target_met(_ev(short, ns, {}))
    low_ssim = {**ok, "0.10-0.20": (18.6, 0.49)}
    assert not bundle.target_met(_ev(low_ssim, ns, {}))


@pytest.mark.parametrize("given", [[], ["--models-dir", "m"], ["--docs-dir", "d"]])
def test_install_writes_only_where_it_is_told(tmp_path: Path, given: list[str],
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """``--install`` without both destinations stops before any work (and before any write):
    the bundle step never picks a folder in the checkout or the installed package by itself."""
    with pytest.raises(SystemExit) as exc:
        bundle.main(["--run-dir", str(tmp_path / "run"), "--version", "9", "--install",
                     "--stage", str(tmp_path / "stage"), *given])
    assert exc.value.code == 2
    assert "--models-dir DIR" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_card_tables_are_the_evaluation_renderer_s() -> None:
    """The shipped card holds exactly the tables that ``rmnet_sdk.evaluation`` renders from the
    shipped ``bundle.json`` (one table format, no second renderer in the bundle step)."""
    from rmnet_sdk.models import MODELS_DIR

    card = (MODELS_DIR / "MODEL_CARD.md").read_text()
    tables = bundle.evaluation_tables(json.loads((MODELS_DIR / "bundle.json").read_text())["eval"])
    assert set(tables) == {"eval_table", "delta_psnr", "delta_ssim"}
    for name, table in tables.items():
        assert table.count("\n") > 5, name
        assert table in card, name
    assert "| bucket | metric | rmnet | rmnet-int8 |" in tables["eval_table"]
