"""rmnet_sdk.masks: conventions, files, hole-preserving resize, and the deprecated generator names."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rmnet_sdk import imaging
from rmnet_sdk import mask_generators as G
from rmnet_sdk import masks as M
from rmnet_sdk.errors import ImageReadError, InvalidInputError


def _random_hole(rng: np.random.Generator, shape: tuple[int, int], p: float = 0.05) -> np.ndarray:
    return rng.random(shape) < p


# -- as_hole_mask / binarize ---------------------------------------------------------------------

@pytest.mark.parametrize("make", [
    lambda h: h,
    lambda h: h.astype(np.uint8) * 255,
    lambda h: h.astype(np.uint16) * 7,
    lambda h: h.astype(np.int64) * -3,
    lambda h: h.astype(np.float32) * 0.25,
    lambda h: h.astype(np.float64),
    lambda h: (h.astype(np.uint8) * 255)[:, :, None],
    lambda h: h[:, :, None],
])
def test_as_hole_mask_accepts_public_forms(make) -> None:
    hole = _random_hole(np.random.default_rng(0), (9, 13), 0.3)
    src = make(hole)
    out = M.as_hole_mask(src)
    assert out.dtype == np.bool_ and out.shape == (9, 13) and out.flags.c_contiguous
    np.testing.assert_array_equal(out, hole)
    assert not np.shares_memory(out, src)


def test_as_hole_mask_copies_non_contiguous_input() -> None:
    hole = _random_hole(np.random.default_rng(1), (10, 12), 0.5)
    out = M.as_hole_mask(hole.T)
    assert out.flags.c_contiguous and out.shape == (12, 10)
    np.testing.assert_array_equal(out, hole.T)


@pytest.mark.parametrize("bad, words", [
    (np.zeros((4, 5, 3), np.uint8), "shape (4, 5, 3)"),
    (np.zeros((4, 5, 2), np.uint8), "shape (4, 5, 2)"),
    (np.zeros(7, np.uint8), "shape (7,)"),
    (np.zeros((2, 3, 4, 1), np.uint8), "shape (2, 3, 4, 1)"),
    (np.zeros((0, 5), np.uint8), "empty"),
    (np.zeros((3, 0, 1), bool), "empty"),
    (np.array([[0.0, np.nan]]), "NaN"),
    (np.array([[0.0, np.inf]], np.float32), "NaN or Inf"),
    (np.zeros((3, 3), complex), "complex"),
    (np.zeros((3, 3), object), "object"),
    (np.array([["a", "b"]]), "<U1"),
])
def test_as_hole_mask_rejects(bad: np.ndarray, words: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        M.as_hole_mask(bad, name="my_mask")
    msg = str(info.value)
    assert "my_mask" in msg and "HxW" in msg and words in msg


def test_binarize_polarity_and_threshold() -> None:
    gray = np.array([[0, 127, 128, 255]], np.uint8)
    np.testing.assert_array_equal(M.binarize(gray), [[False, False, True, True]])
    np.testing.assert_array_equal(M.binarize(gray, polarity="black-hole"),
                                  [[True, True, False, False]])
    np.testing.assert_array_equal(M.binarize(np.array([[0.2, 0.7]]), 0.5), [[False, True]])
    with pytest.raises(InvalidInputError):
        M.binarize(gray, polarity="white")  # type: ignore[arg-type]


# -- files ---------------------------------------------------------------------------------------

@pytest.fixture()
def hole() -> np.ndarray:
    h = np.zeros((30, 41), bool)
    h[5:12, 3:30] = True
    h[20, :] = True
    return h


def test_white_hole_round_trip(tmp_path: Path, hole: np.ndarray) -> None:
    p = M.write_mask(tmp_path / "m.png", hole)
    raw = np.asarray(Image.open(p))
    assert raw.dtype == np.uint8 and set(np.unique(raw)) == {0, 255}
    np.testing.assert_array_equal(raw == 255, hole)  # white = hole on disk
    np.testing.assert_array_equal(M.read_mask(p), hole)


def test_black_hole_round_trip_and_complement(tmp_path: Path, hole: np.ndarray) -> None:
    p = M.write_mask(tmp_path / "qd.png", hole, polarity="black-hole")
    raw = np.asarray(Image.open(p))
    np.testing.assert_array_equal(raw == 0, hole)  # black = hole on disk
    np.testing.assert_array_equal(M.read_mask(p, polarity="black-hole"), hole)
    np.testing.assert_array_equal(M.read_mask(p), ~hole)


def test_read_mask_any_format_ignores_alpha(tmp_path: Path, hole: np.ndarray) -> None:
    rgba = np.zeros((*hole.shape, 4), np.uint8)
    rgba[hole, :3] = 255
    rgba[..., 3] = np.where(hole, 0, 255)  # an alpha opposite to the holes must not matter
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(M.read_mask(tmp_path / "a.png"), hole)
    Image.fromarray(hole.astype(np.uint8) * 255).save(tmp_path / "b.bmp")
    np.testing.assert_array_equal(M.read_mask(tmp_path / "b.bmp"), hole)


#: Grey values around the 8-bit threshold (127) and their 8-bit reading: the top byte, as
#: read_image scales 16-bit files (and as Pillow reads 16-bit RGB).
_GREY16 = np.array([[0, 255, 32512, 32767, 32768, 33023, 65535]], np.uint16)
_GREY16_AS_8BIT = np.array([[0, 0, 127, 127, 128, 128, 255]], np.uint8)


def _save_grey16(path: Path, layout: str) -> Path:
    if layout == "tiff-big-endian":
        im = Image.frombytes("I;16B", _GREY16.shape[::-1], _GREY16.astype(">u2").tobytes())
    else:
        im = Image.fromarray(_GREY16)  # mode I;16, little-endian
    im.save(path, format="PNG" if path.suffix == ".png" else "TIFF")
    assert Image.open(path).mode == ("I;16B" if layout == "tiff-big-endian" else "I;16")
    return path


@pytest.mark.parametrize("layout", ["png", "tiff-little-endian", "tiff-big-endian"])
def test_read_mask_16bit_grey_scales_like_read_image(tmp_path: Path, layout: str) -> None:
    p = _save_grey16(tmp_path / ("m.png" if layout == "png" else "m.tif"), layout)
    rgb = imaging.read_image(p)
    for c in range(3):
        np.testing.assert_array_equal(rgb[:, :, c], _GREY16_AS_8BIT)
    np.testing.assert_array_equal(imaging.read_image(p, gray=True), _GREY16_AS_8BIT)
    hole = np.array([[False, False, False, False, True, True, True]])
    np.testing.assert_array_equal(M.read_mask(p), hole)
    np.testing.assert_array_equal(M.read_mask(p, polarity="black-hole"), ~hole)
    np.testing.assert_array_equal(M.read_mask(p, threshold=0), _GREY16_AS_8BIT > 0)


def test_read_mask_8bit_grey_threshold_and_exif(tmp_path: Path) -> None:
    grey = np.array([[0, 126, 127, 128, 200, 255]], np.uint8)
    Image.fromarray(grey).save(tmp_path / "m.png")
    np.testing.assert_array_equal(M.read_mask(tmp_path / "m.png"), grey > 127)
    np.testing.assert_array_equal(M.read_mask(tmp_path / "m.png", polarity="black-hole"),
                                  grey <= 127)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display: photo and mask turn together
    Image.fromarray(grey).save(tmp_path / "r.png", exif=exif)
    turned = M.read_mask(tmp_path / "r.png")
    assert turned.shape == (6, 1) == imaging.read_image(tmp_path / "r.png").shape[:2]
    np.testing.assert_array_equal(turned, np.rot90(grey > 127, k=-1))


def test_read_image_refuses_gray_with_alpha(tmp_path: Path) -> None:
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(tmp_path / "g.png")
    with pytest.raises(InvalidInputError, match="gray"):
        imaging.read_image(tmp_path / "g.png", gray=True, keep_alpha=True)


def test_read_mask_errors(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError, match="not found"):
        M.read_mask(tmp_path / "missing.png")
    (tmp_path / "junk.png").write_bytes(b"definitely not a png")
    with pytest.raises(ImageReadError, match="cannot decode"):
        M.read_mask(tmp_path / "junk.png")


def test_write_mask_refuses_to_overwrite(tmp_path: Path, hole: np.ndarray) -> None:
    p = M.write_mask(tmp_path / "m.png", hole)
    with pytest.raises(FileExistsError):
        M.write_mask(p, ~hole)
    np.testing.assert_array_equal(M.read_mask(p), hole)  # untouched
    M.write_mask(p, ~hole, overwrite=True)
    np.testing.assert_array_equal(M.read_mask(p), ~hole)
    assert sorted(x.name for x in tmp_path.iterdir()) == ["m.png"]  # no temp files left
    with pytest.raises(InvalidInputError, match="PNG"):
        M.write_mask(tmp_path / "m.jpg", hole)


def test_hole_ratio_and_bucket() -> None:
    h = np.zeros((10, 10), np.uint8)
    h[:3, :5] = 9
    assert M.hole_ratio(h) == pytest.approx(0.15)
    assert M.ratio_bucket(0.15) == 1
    assert M.ratio_bucket(0.1) == 0 and M.ratio_bucket(0.6) == 5
    assert M.ratio_bucket(0.005) is None and M.ratio_bucket(0.61) is None


# -- resize --------------------------------------------------------------------------------------

def _resize_reference(hole: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    H, W = hole.shape
    h, w = size
    out = np.zeros(size, bool)
    for i in range(h):
        y0, y1 = (i * H) // h, ((i + 1) * H + h - 1) // h
        for j in range(w):
            x0, x1 = (j * W) // w, ((j + 1) * W + w - 1) // w
            out[i, j] = hole[y0:y1, x0:x1].any()
    return out


@pytest.mark.parametrize("src, dst, p", [
    ((100, 77), (64, 48), 0.01),   # non-integer down
    ((37, 53), (256, 256), 0.05),  # odd up
    ((128, 128), (64, 64), 0.02),  # integer down
    ((64, 48), (100, 77), 0.05),   # non-integer up
    ((90, 40), (31, 97), 0.03),    # down in y, up in x
    ((7, 5), (3, 2), 0.1),
    ((16, 16), (16, 16), 0.2),     # identity
])
def test_resize_hole_mask_matches_bruteforce(src, dst, p) -> None:
    rng = np.random.default_rng([*src, *dst])
    hole = _random_hole(rng, src, p)
    out = M.resize_hole_mask(hole, dst)
    assert out.dtype == np.bool_ and out.shape == dst
    np.testing.assert_array_equal(out, _resize_reference(hole, dst))


@pytest.mark.parametrize("src, dst", [((100, 77), (64, 48)), ((300, 211), (17, 23)),
                                      ((513, 512), (256, 256))])
def test_downscale_never_loses_a_hole(src, dst) -> None:
    rng = np.random.default_rng(7)
    hole = _random_hole(rng, src, 0.002)
    out = M.resize_hole_mask(hole, dst)
    ys, xs = np.nonzero(hole)
    assert ys.size > 0
    assert out[(ys * dst[0]) // src[0], (xs * dst[1]) // src[1]].all()
    single = np.zeros(src, bool)
    single[ys[0], xs[0]] = True  # one pixel survives any downscale
    assert M.resize_hole_mask(single, dst).sum() >= 1


def test_resize_identity_returns_copy_and_rejects_bad_size() -> None:
    hole = _random_hole(np.random.default_rng(3), (12, 9), 0.3)
    out = M.resize_hole_mask(hole, (12, 9))
    np.testing.assert_array_equal(out, hole)
    assert not np.shares_memory(out, hole)
    for bad in [(0, 5), (5, -1), (5,), (2.5, 4)]:
        with pytest.raises(InvalidInputError):
            M.resize_hole_mask(hole, bad)  # type: ignore[arg-type]


# -- generator names kept on rmnet_sdk.masks -----------------------------------------------------

@pytest.mark.parametrize("name", sorted(G.__all__))
def test_generator_names_on_masks_warn_and_return_the_same_object(name: str) -> None:
    with pytest.warns(DeprecationWarning, match=rf"rmnet_sdk\.masks\.{name} .*rmnet_sdk\.mask_generators"):
        moved = getattr(M, name)
    assert moved is getattr(G, name)
    with pytest.warns(DeprecationWarning):
        from rmnet_sdk.masks import make_mask  # noqa: F401  (the `from` form goes through it too)


def test_runtime_names_do_not_warn_and_unknown_names_raise() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert M.read_mask and M.HOLE_RATIO_BUCKETS and M.resize_hole_mask
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        M.no_such_thing  # noqa: B018


def test_importing_masks_does_not_load_the_generators() -> None:
    code = "import sys, rmnet_sdk.masks; print('rmnet_sdk.mask_generators' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
