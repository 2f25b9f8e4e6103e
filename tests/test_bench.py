"""Benchmark harness logic: statistics, stage timing, case planning, report schema.

Speed is measured by ``rmnet bench``, never asserted here; nothing below depends on timing.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from rmnet_sdk import bench
from rmnet_sdk.backends.base import Backend
from rmnet_sdk.metadata import ModelMetadata


def test_percentiles_match_numpy_and_order():
    x = [0.5, 0.1, 0.3, 0.2, 0.4, 1.0, 0.05]
    for q in (0, 50, 90, 95, 99, 100):
        assert bench.percentile(x, q) == pytest.approx(np.percentile(x, q))
    s = bench.summarize(x, batch=4)
    assert s["iterations"] == 7
    assert s["min_ms"] == pytest.approx(50.0)
    assert s["max_ms"] == pytest.approx(1000.0)
    assert s["median_ms"] == pytest.approx(300.0)
    assert s["mean_ms"] == pytest.approx(np.mean(x) * 1e3)
    assert s["min_ms"] <= s["median_ms"] <= s["p90_ms"] <= s["p95_ms"] <= s["p99_ms"] <= s["max_ms"]
    assert s["throughput_ips"] == pytest.approx(4 * 7 / sum(x))
    assert s["cv"] == pytest.approx(np.std(x) / np.mean(x))


def test_summarize_single_sample_and_empty():
    s = bench.summarize([0.25])
    assert s["min_ms"] == s["median_ms"] == s["p99_ms"] == pytest.approx(250.0)
    assert s["cv"] == 0.0
    with pytest.raises(ValueError):
        bench.summarize([])
    assert np.isnan(bench.percentile([], 50))


def test_stage_times_sum_to_total():
    calls = [(10.2, 10.7), (10.8, 11.0)]
    st = bench.stage_times(10.0, 11.5, calls)
    assert st["h2d"] is None and st["d2h"] is None  # CPU: no such stages
    assert st["preprocess"] == pytest.approx(0.2)
    assert st["inference"] == pytest.approx(0.7)
    assert st["composite"] == pytest.approx(0.6)  # 0.1 gap between calls + 0.5 after the last
    assert sum(v for v in st.values() if v is not None) == pytest.approx(1.5)


def test_stage_times_with_copies_and_without_calls():
    st = bench.stage_times(0.0, 1.0, [(0.1, 0.9)], copies={"h2d": 0.1, "d2h": 0.05})
    assert st["inference"] == pytest.approx(0.65)
    assert sum(v for v in st.values() if v is not None) == pytest.approx(1.0)
    empty = bench.stage_times(0.0, 0.3, [])  # empty mask: no model call at all
    assert empty["preprocess"] == pytest.approx(0.3) and empty["inference"] == 0.0


def test_summarize_stages_uses_medians_and_keeps_absent_stages():
    per_iter = [bench.stage_times(0.0, t, [(0.1, t - 0.1)]) for t in (1.0, 2.0, 3.0)]
    s = bench.summarize_stages(per_iter)
    assert s["inference_ms"] == pytest.approx(1800.0)
    assert s["preprocess_ms"] == pytest.approx(100.0)
    assert s["h2d_ms"] is None and s["d2h_ms"] is None


class _Echo(Backend):
    name = "echo"

    def __init__(self):
        super().__init__(ModelMetadata())
        self.seen = []

    def infer(self, image, mask):
        self.seen.append(image.shape)
        return np.zeros_like(image)


def test_timing_backend_wraps_inpainter_without_changing_results(monkeypatch):
    from rmnet_sdk import Inpainter

    inp = Inpainter.__new__(Inpainter)  # no model file needed: the backend is injected
    inp.backend, inp.resolution, inp.strategy, inp.crop_margin = _Echo(), 32, "original", 16
    rgb = np.random.default_rng(0).integers(0, 256, (2, 32, 48, 3), dtype=np.uint8)
    hole = np.zeros((2, 32, 48), bool)
    hole[:, 8:20, 10:30] = True
    plain = inp.run(rgb, hole)
    timer = bench.TimingBackend(inp.backend)
    inp.backend = timer
    timed = inp.run(rgb, hole)
    np.testing.assert_array_equal(plain, timed)
    assert len(timer.calls) == 1 and timer.name == "echo"  # one batched call of 2
    assert timer.inner.seen[-1] == (2, 3, 32, 48)
    a, b = timer.calls[0]
    assert b >= a


def test_plan_cases_respects_pixel_budget():
    plan = bench.plan_cases([(256, 256), (1024, 1024)], [1, 4, 16], max_pixels=1024 * 1024)
    assert ((256, 256), 16) in plan
    assert ((1024, 1024), 1) in plan  # batch 1 always kept
    assert ((1024, 1024), 4) not in plan


def test_make_inputs_are_consistent():
    d = bench.make_inputs((32, 48), 2, seed=1)
    assert d["images"].shape == (2, 32, 48, 3) and d["images"].dtype == np.uint8
    assert d["holes"].shape == (2, 32, 48) and d["holes"].any()
    assert d["x"].shape == (2, 3, 32, 48) and d["m"].shape == (2, 1, 32, 48)
    assert np.all(d["x"][d["m"].repeat(3, axis=1) > 0] == 0)  # holes are zeroed like Inpainter


def _fake_cases(cfg):
    sleepy = bench.Case("fake", "fp32", "model", (16, 16), 1, lambda: None)
    ref = bench.Case("tf-keras", "fp32", "model", (16, 16), 1, lambda: None, reference=True)
    timer = bench.TimingBackend(_Echo())
    e2e = bench.Case("fake", "fp32", "e2e", (16, 16), 2,
                     lambda: timer.infer(np.zeros((2, 3, 16, 16), np.float32),
                                         np.zeros((2, 1, 16, 16), np.float32)), timer=timer)

    def boom():
        raise MemoryError("too big")

    bad = bench.Case("fake", "fp32", "model", (16, 16), 16, boom)
    return [sleepy, ref, e2e, bad]


def test_run_report_schema_roundtrip(tmp_path):
    cfg = bench.BenchConfig(model="x.onnx", warmup=1, iterations=4, min_seconds=0.0, rounds=2)
    cases = _fake_cases(cfg)
    bench.run_cases(cases, cfg, log=lambda s: None)
    assert [len(c.samples) for c in cases] == [4, 4, 4, 0]
    rows = [c.row() for c in cases]
    assert "error" in rows[3] and "MemoryError" in rows[3]["error"]
    e2e = rows[2]
    assert set(e2e["stages"]) == {f"{s}_ms" for s in bench.STAGES}
    report = {"schema": bench.SCHEMA_VERSION, "created": "now", "config": cfg.to_dict(),
              "models": {"fp32": "x.onnx"}, "environment": {"cpu": {"model": "test"}},
              "paper_seconds": bench.PAPER_SECONDS, "rows": rows,
              "ratios": {"model": bench.same_run_ratios(rows)}}
    bench.validate_report(report)
    ratio_keys = [r["key"] for r in report["ratios"]["model"]]
    assert ratio_keys == ["fake/fp32/model/16x16/b1", "tf-keras/fp32/model/16x16/b1"]
    paths = bench.write_report(report, tmp_path)
    loaded = json.loads(paths["json"].read_text())
    assert loaded["rows"][0]["key"] == "fake/fp32/model/16x16/b1"
    md = paths["md"].read_text()
    assert "| fake | fp32 | model | 16x16 | 1 |" in md and "Failed cases" in md
    broken = dict(report, rows=[{**rows[0], "p90_ms": -1.0}])
    with pytest.raises(ValueError, match="order"):
        bench.validate_report(broken)
    with pytest.raises(ValueError, match="ratios"):
        bench.validate_report({k: v for k, v in report.items() if k != "ratios"})


def test_same_run_ratios():
    rows = [{"key": "a", "name": "ort", "mode": "model", "height": 8, "width": 8, "batch": 1,
             "median_ms": 50.0},
            {"key": "t", "name": "tf-keras", "mode": "model", "height": 8, "width": 8, "batch": 1,
             "median_ms": 200.0},
            {"key": "b", "name": "ort", "mode": "model", "height": 16, "width": 16, "batch": 1,
             "median_ms": 50.0}]  # no TF row at this size: no ratio
    r = bench.same_run_ratios(rows)
    assert [q["key"] for q in r] == ["a", "t"]
    assert r[0]["ratio_vs_tf-keras"] == pytest.approx(0.25)
    assert r[0]["speedup_vs_paper"] == pytest.approx(193.0 / 50.0)


def test_bench_module_does_not_import_tensorflow():
    code = "import rmnet_sdk.bench, sys; print('tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_report_paths_carry_no_machine_prefix(tmp_path, monkeypatch) -> None:
    from rmnet_sdk.bench import _report_path
    from rmnet_sdk.models import MODELS_DIR

    assert _report_path(str(MODELS_DIR / "rmnet_default.onnx")) == "rmnet_sdk/models/rmnet_default.onnx"
    monkeypatch.chdir(tmp_path)
    assert _report_path(str(tmp_path / "runs" / "m.onnx")) == "runs/m.onnx"
    assert _report_path("/elsewhere/m.onnx") == "/elsewhere/m.onnx"
