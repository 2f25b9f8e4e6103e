"""Evaluation protocol: square crops, per-bucket tables, baselines, the ``rmnet eval`` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo

from rmnet_sdk.cli import main
from rmnet_sdk.evaluation import center_square, evaluate, opencv_method
from rmnet_sdk.masks import hole_ratio


def _images(n: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [synthetic_photo(rng, 120, 170) for _ in range(n)]


def test_center_square() -> None:
    img = synthetic_photo(np.random.default_rng(0), 384, 530)
    sq = center_square(img, 256)
    assert sq.shape == (256, 256, 3)
    small = center_square(img[:50, :70], 64)  # upscales small images
    assert small.shape == (64, 64, 3)


def test_opencv_baselines_keep_known_pixels() -> None:
    img = _images(1)[0]
    hole = np.zeros(img.shape[:2], bool)
    hole[40:70, 50:90] = True
    for name in ("telea", "ns"):
        out = opencv_method(name)(img, hole)
        np.testing.assert_array_equal(out[~hole], img[~hole])


def test_per_bucket_table_ranks_methods() -> None:
    buckets = [(0.1, 0.2), (0.3, 0.4)]
    seen: list[float] = []

    def oracle(rgb, hole):
        seen.append(hole_ratio(hole))
        return rgb.copy()

    def grey(rgb, hole):
        return np.where(hole[..., None], np.uint8(128), rgb)

    res = evaluate({"oracle": oracle, "grey": grey, "ns": opencv_method("ns")}, _images(),
                   size=64, buckets=buckets, progress=False)
    assert res.bucket_names() == ["0.10-0.20", "0.30-0.40"]
    assert all(0.1 < r <= 0.2 or 0.3 < r <= 0.4 for r in seen) and len(seen) == 6
    for b in [*res.bucket_names(), "all"]:
        assert res.table["oracle"][b]["psnr_hole"] == float("inf")
        assert res.table["oracle"][b]["ssim"] == 1.0
        assert res.table["ns"][b]["psnr_hole"] > res.table["grey"][b]["psnr_hole"]
    assert res.table["grey"]["all"]["count"] == 6
    assert "| 0.10-0.20 | psnr_hole |" in res.markdown()


def test_masks_are_reproducible() -> None:
    a = evaluate({"ns": opencv_method("ns")}, _images(2), size=64, buckets=[(0.2, 0.3)], progress=False)
    b = evaluate({"ns": opencv_method("ns")}, _images(2), size=64, buckets=[(0.2, 0.3)], progress=False)
    assert a.table == b.table


def _toy(tmp_path: Path) -> Path:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import make_toy_onnx

    return make_toy_onnx(tmp_path / "toy.onnx", resolution=64)


def test_eval_cli(photos_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import make_toy_onnx

    model = make_toy_onnx(tmp_path / "toy.onnx", resolution=64)
    out = tmp_path / "ev"
    assert main(["eval", "--images", str(photos_dir), "--limit", "2", "--size", "64",
                 "--buckets", "0.1-0.2,0.4-0.5", "--model", str(model), "-o", str(out)]) == 0
    result = json.loads((out / "eval.json").read_text())
    table = result["table"]
    assert set(table) == {"rmnet", "telea", "ns", "prefill"}
    assert table["ns"]["0.10-0.20"]["count"] == 2
    assert set(result["deltas"]) == {"rmnet-ns", "rmnet-telea", "rmnet-prefill"}
    assert (out / "grid.png").is_file() and "Paired differences" in (out / "eval.md").read_text()

    # a split JSON selects its test list; several masks per photo and bucket
    names = sorted(p.name for p in photos_dir.iterdir() if p.suffix in (".jpg", ".png"))[:3]
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": names[:1], "validation": [], "test": names[1:3]}))
    out2 = tmp_path / "ev2"
    assert main(["eval", "--images", str(photos_dir), "--files", str(split), "--size", "64",
                 "--buckets", "0.1-0.2", "--masks-per-bucket", "2", "--model", str(model),
                 "-o", str(out2)]) == 0
    result = json.loads((out2 / "eval.json").read_text())
    assert result["photos"] == 2 and result["table"]["ns"]["0.10-0.20"]["count"] == 4
    assert main(["eval", "--images", str(photos_dir), "--files", str(split), "--subset",
                 "holdout", "--model", str(model), "-o", str(out2)]) != 0
    assert "no 'holdout' list" in capsys.readouterr().err


def test_bootstrap_intervals_and_paired_deltas() -> None:
    from rmnet_sdk.evaluation import bootstrap_mean

    lo, hi = bootstrap_mean(np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert 1.5 < lo < 3.0 < hi < 4.5
    assert bootstrap_mean(np.array([2.0, 2.0, 2.0])) == (2.0, 2.0)

    def brighter(rgb: np.ndarray, hole: np.ndarray) -> np.ndarray:  # NS, then +6 in the holes
        out = opencv_method("ns")(rgb, hole).astype(np.int16)
        out[hole] += 6
        return np.clip(out, 0, 255).astype(np.uint8)

    res = evaluate({"worse": brighter, "ns": opencv_method("ns")}, _images(4), size=64,
                   buckets=[(0.2, 0.3)], masks_per_bucket=2, progress=False)
    mean, lo, hi = res.deltas["worse-ns"]["all"]["psnr_hole"]
    assert hi < 0 and lo <= mean <= hi  # consistently worse: the interval excludes 0
    lo_ci, hi_ci = res.ci["ns"]["all"]["psnr_hole"]
    assert lo_ci <= res.table["ns"]["all"]["psnr_hole"] <= hi_ci
    assert res.table["ns"]["all"]["count"] == 8 and res.photos == 4
    assert "**" not in res.delta_markdown("psnr_hole")  # a loss is never marked as a win


def test_fid_column_with_inception_weights(photos_dir: Path, tmp_path: Path) -> None:
    """--inception adds each method's FID (outputs vs originals) to the 'all' row."""
    from conftest import make_pooling_inception

    from rmnet_sdk.errors import ModelNotFoundError

    inception = make_pooling_inception(tmp_path / "inception.onnx")
    images = _images(3)
    result = evaluate({"ns": opencv_method("ns"), "id": lambda rgb, hole: rgb.copy()}, images,
                      size=64, buckets=[(0.2, 0.3), (0.4, 0.5)], progress=False,
                      inception_weights=inception)
    assert result.table["id"]["all"]["fid"] == pytest.approx(0.0, abs=1e-9)  # outputs == originals
    assert result.table["ns"]["all"]["fid"] > 0
    assert "fid" not in result.table["ns"]["0.20-0.30"]
    assert "| all | fid |" in result.markdown()
    with pytest.raises(ModelNotFoundError, match="Inception"):
        evaluate({"ns": opencv_method("ns")}, images, size=64, progress=False,
                 inception_weights=tmp_path / "missing.onnx")
    out = tmp_path / "ev"
    assert main(["eval", "--images", str(photos_dir), "--limit", "2", "--size", "64",
                 "--buckets", "0.1-0.2", "--no-baselines", "--model", str(_toy(tmp_path)),
                 "--inception", str(inception), "-o", str(out)]) == 0
    table = json.loads((out / "eval.json").read_text())["table"]
    assert np.isfinite(table["rmnet"]["all"]["fid"])


def test_example_grid_has_labelled_columns_and_hard_cases() -> None:
    from rmnet_sdk.evaluation import GRID_CASES, example_grid

    squares = [center_square(im, 64) for im in _images(4)]
    methods = {"ns": opencv_method("ns"), "copy": lambda rgb, hole: rgb.copy()}
    grid = example_grid(methods, squares, per_case=1)
    rows, cols = len(GRID_CASES), len(methods) + 2  # input | methods | original
    assert grid.shape[0] >= rows * (64 + 18) and grid.shape[1] >= cols * 64
    header = grid[:18, :64]
    assert (header == 255).mean() > 0.6 and (header < 128).any()  # white strip with dark text


def test_result_round_trips_through_json(tmp_path: Path) -> None:
    from rmnet_sdk.evaluation import EvalResult, save_result

    res = evaluate({"ns": opencv_method("ns"), "telea": opencv_method("telea")}, _images(2),
                   size=64, buckets=[(0.2, 0.3)], progress=False)
    save_result(res, tmp_path)
    back = EvalResult.from_dict(json.loads((tmp_path / "eval.json").read_text()))
    assert back.markdown() == res.markdown()
    assert back.delta_markdown() == res.delta_markdown()
