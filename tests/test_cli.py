"""The ``rmnet`` CLI: single and folder mode, overwrite protection, failures reported, info."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo

from rmnet_sdk.cli import main
from rmnet_sdk.imaging import list_images, read_image, write_image
from rmnet_sdk.mask_generators import make_mask
from rmnet_sdk.masks import write_mask


@pytest.fixture()
def pair(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    img = synthetic_photo(np.random.default_rng(0), 90, 120)
    hole = make_mask("boxes", (90, 120), 1)
    write_image(tmp_path / "in.png", img)
    write_mask(tmp_path / "in_mask.png", hole)
    return tmp_path / "in.png", tmp_path / "in_mask.png", img, hole


def test_single_image(pair, tmp_path: Path, toy_onnx: Path) -> None:
    image, mask, img, hole = pair
    out, cmp_ = tmp_path / "out.png", tmp_path / "cmp.png"
    assert main(["inpaint", str(image), str(mask), "-o", str(out), "--model", str(toy_onnx),
                 "--compare", str(cmp_)]) == 0
    result = read_image(out)
    np.testing.assert_array_equal(result[~hole], img[~hole])
    assert read_image(cmp_).shape == (90, 2 * 120 + 8, 3)
    # no silent overwrite of outputs, never of inputs
    assert main(["inpaint", str(image), str(mask), "-o", str(out), "--model", str(toy_onnx)]) == 2
    before = image.read_bytes()
    assert main(["inpaint", str(image), str(mask), "-o", str(image), "--model", str(toy_onnx),
                 "--overwrite"]) == 2
    assert image.read_bytes() == before


def test_size_mismatch_needs_resize_mask(pair, tmp_path: Path, toy_onnx: Path, capsys) -> None:
    image, _, _, _ = pair
    write_mask(tmp_path / "small.png", make_mask("boxes", (45, 60), 2))
    out = tmp_path / "o.png"
    assert main(["inpaint", str(image), str(tmp_path / "small.png"), "-o", str(out),
                 "--model", str(toy_onnx)]) == 2
    assert "--resize-mask" in capsys.readouterr().err
    assert main(["inpaint", str(image), str(tmp_path / "small.png"), "-o", str(out),
                 "--model", str(toy_onnx), "--resize-mask"]) == 0


def test_folder_mode_on_photos(photos_dir: Path, tmp_path: Path, toy_onnx: Path, capsys) -> None:
    images, masks_dir, out = tmp_path / "images", tmp_path / "masks", tmp_path / "out"
    sources = list_images(photos_dir)[:4]
    for i, src in enumerate(sources):
        img = read_image(src)
        write_image(images / f"{src.stem}.jpg", img)
        write_mask(masks_dir / f"{src.stem}.png", make_mask("mixed", img.shape[:2], i))
    rgba = np.dstack([synthetic_photo(np.random.default_rng(1), 64, 64),
                      np.full((64, 64), 77, np.uint8)])
    write_image(images / "alpha.png", rgba)
    write_mask(masks_dir / "alpha.png", make_mask("boxes", (64, 64), 5))
    (images / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    write_mask(masks_dir / "broken.png", make_mask("boxes", (64, 64), 6))

    code = main(["inpaint", "--images", str(images), "--masks", str(masks_dir), "-o", str(out),
                 "--model", str(toy_onnx)])
    err = capsys.readouterr().err
    assert code == 1 and "broken.jpg" in err
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted([f"{s.stem}.png" for s in sources] + ["alpha.png"])
    assert read_image(out / "alpha.png", keep_alpha=True)[..., 3].min() == 77
    first = out / f"{sources[0].stem}.png"
    stamp = first.stat().st_mtime_ns
    (images / "broken.jpg").unlink()
    assert main(["inpaint", "--images", str(images), "--masks", str(masks_dir), "-o", str(out),
                 "--model", str(toy_onnx)]) == 0
    assert first.stat().st_mtime_ns == stamp  # kept: no --overwrite


def test_folder_mode_one_mask_for_all(tmp_path: Path, toy_onnx: Path) -> None:
    for i in range(3):
        write_image(tmp_path / "imgs" / f"{i}.png", synthetic_photo(np.random.default_rng(i), 64, 80))
    write_mask(tmp_path / "wm.png", make_mask("strokes", (32, 40), 0))
    assert main(["inpaint", "--images", str(tmp_path / "imgs"), "--masks", str(tmp_path / "wm.png"),
                 "-o", str(tmp_path / "o"), "--model", str(toy_onnx), "--resize-mask"]) == 0
    assert len(list((tmp_path / "o").iterdir())) == 3


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    from PIL import Image

    img = synthetic_photo(np.random.default_rng(0), 40, 60)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    Image.fromarray(img).save(tmp_path / "r.jpg", exif=exif, quality=95)
    assert read_image(tmp_path / "r.jpg").shape == (60, 40, 3)


def test_info_json(toy_onnx: Path, capsys) -> None:
    assert main(["info", "--json", "--model", str(toy_onnx)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backends"]["onnxruntime"] == "available"
    assert info["model"]["metadata"]["name"] == "toy"


def test_usage_errors(tmp_path: Path, toy_onnx: Path) -> None:
    assert main(["inpaint", "-o", str(tmp_path / "x.png"), "--model", str(toy_onnx)]) == 2
    assert main(["inpaint", str(tmp_path / "missing.png"), str(tmp_path / "m.png"),
                 "-o", str(tmp_path / "x.png"), "--model", str(toy_onnx)]) == 2


def test_ensemble_option_reaches_the_inpainter(pair, tmp_path: Path, toy_onnx: Path) -> None:
    from rmnet_sdk import Inpainter

    image, mask, img, hole = pair
    out = tmp_path / "flip.png"
    assert main(["inpaint", str(image), str(mask), "-o", str(out), "--model", str(toy_onnx),
                 "--backend", "onnxruntime", "--ensemble", "flip"]) == 0
    flip = Inpainter(toy_onnx, backend="onnxruntime", ensemble="flip").run(img, hole)
    plain = Inpainter(toy_onnx, backend="onnxruntime").run(img, hole)
    assert not np.array_equal(flip, plain)  # the toy model is not mirror-symmetric
    np.testing.assert_array_equal(read_image(out), flip)
