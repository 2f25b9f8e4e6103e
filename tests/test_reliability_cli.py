"""``rmnet inpaint`` under bad input: nothing lost or overwritten, every failure reported, the
folder run goes on. Each test reproduces one defect of the bad-input campaign (issue 17)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_photo

from rmnet_sdk import cli
from rmnet_sdk.cli import main
from rmnet_sdk.imaging import read_image, write_image
from rmnet_sdk.masks import write_mask


def _photo(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return synthetic_photo(np.random.default_rng(seed), h, w)


def _box(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    hole = np.zeros((h, w), bool)
    hole[y0:y1, x0:x1] = True
    return hole


@pytest.fixture()
def single(tmp_path: Path) -> tuple[Path, Path]:
    write_image(tmp_path / "p.png", _photo())
    write_mask(tmp_path / "mask.png", _box(48, 64, 10, 30, 10, 40))
    return tmp_path / "p.png", tmp_path / "mask.png"


def _inpaint(*args: object, model: Path) -> int:
    return main(["inpaint", *map(str, args), "--model", str(model)])


# -- 1: --compare must obey --overwrite and never replace an input ------------------------------

def test_compare_never_replaces_an_input(single, tmp_path: Path, toy_onnx: Path, capsys) -> None:
    image, mask = single
    before = image.read_bytes(), mask.read_bytes()
    for extra in ([], ["--overwrite"]):
        for target in (image, mask):
            assert _inpaint(image, mask, "-o", tmp_path / "out.png", "--compare", target,
                            *extra, model=toy_onnx) == 2
            assert "is an input file" in capsys.readouterr().err
    assert (image.read_bytes(), mask.read_bytes()) == before
    assert not (tmp_path / "out.png").exists()  # refused before any work


def test_compare_respects_overwrite(single, tmp_path: Path, toy_onnx: Path, capsys) -> None:
    image, mask = single
    existing = tmp_path / "cmp.png"
    existing.write_bytes(b"keep me")
    assert _inpaint(image, mask, "-o", tmp_path / "out.png", "--compare", existing,
                    model=toy_onnx) == 2
    assert "use --overwrite" in capsys.readouterr().err
    assert existing.read_bytes() == b"keep me" and not (tmp_path / "out.png").exists()
    assert _inpaint(image, mask, "-o", tmp_path / "out.png", "--compare", existing,
                    "--overwrite", model=toy_onnx) == 0
    assert read_image(existing).shape == (48, 2 * 64 + 8, 3)
    # one file cannot be both outputs
    assert _inpaint(image, mask, "-o", tmp_path / "o2.png", "--compare", tmp_path / "o2.png",
                    model=toy_onnx) == 2


# -- 2 and 7: folder pairing by relative path, no ambiguity, no shared outputs -------------------

def test_folder_pairs_masks_by_relative_path(tmp_path: Path, toy_onnx: Path, capsys) -> None:
    imgs, masks, out = tmp_path / "imgs", tmp_path / "masks", tmp_path / "out"
    img = _photo()
    write_image(imgs / "a0.png", img)
    write_image(imgs / "sub" / "a0.png", img)
    write_image(imgs / "sub" / "lonely.png", img)
    left, right = _box(48, 64, 8, 40, 4, 28), _box(48, 64, 8, 40, 36, 60)
    write_mask(masks / "a0.png", left)
    write_mask(masks / "sub" / "a0.png", right)
    write_mask(masks / "lonely.png", left)  # same stem, other folder: not its mask
    assert main(["inpaint", "--images", str(imgs), "--masks", str(masks), "-o", str(out),
                 "--model", str(toy_onnx)]) == 1
    top, nested = read_image(out / "a0.png"), read_image(out / "sub" / "a0.png")
    np.testing.assert_array_equal(top[~left], img[~left])      # filled where ITS mask says
    assert (top[left] != img[left]).any()
    np.testing.assert_array_equal(nested[~right], img[~right])
    assert (nested[right] != img[right]).any()
    err = capsys.readouterr().err
    assert "lonely.png" in err and "relative path" in err
    assert not (out / "sub" / "lonely.png").exists()


def test_folder_refuses_ambiguous_masks(tmp_path: Path, toy_onnx: Path, capsys) -> None:
    imgs, masks, out = tmp_path / "imgs", tmp_path / "masks", tmp_path / "out"
    write_image(imgs / "c.png", _photo())
    write_image(imgs / "ok.png", _photo(seed=1))
    write_mask(masks / "c.png", _box(48, 64, 0, 10, 0, 10))
    write_image(masks / "c.jpg", np.zeros((48, 64, 3), np.uint8))
    write_mask(masks / "ok.png", _box(48, 64, 0, 10, 0, 10))
    assert main(["inpaint", "--images", str(imgs), "--masks", str(masks), "-o", str(out),
                 "--model", str(toy_onnx)]) == 1
    assert "ambiguous masks" in capsys.readouterr().err
    assert not (out / "c.png").exists() and (out / "ok.png").exists()


def test_folder_inputs_sharing_an_output_name_are_refused(tmp_path: Path, toy_onnx: Path,
                                                          capsys) -> None:
    imgs, out = tmp_path / "imgs", tmp_path / "out"
    write_image(imgs / "dup.jpg", _photo())
    write_image(imgs / "dup.png", _photo(seed=2))
    write_image(imgs / "solo.png", _photo(seed=3))
    write_mask(tmp_path / "m.png", _box(48, 64, 10, 20, 10, 20))
    assert main(["inpaint", "--images", str(imgs), "--masks", str(tmp_path / "m.png"),
                 "-o", str(out), "--model", str(toy_onnx)]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("would both be written") == 2 and "kept" not in captured.out
    assert not (out / "dup.png").exists() and (out / "solo.png").exists()


# -- 10, 11: oversized inputs and write errors are recorded, the run goes on ---------------------

def test_folder_oversized_image_is_a_failure_not_a_crash(tmp_path: Path, toy_onnx: Path,
                                                         capsys) -> None:
    imgs, out = tmp_path / "imgs", tmp_path / "out"
    write_image(imgs / "big.png", _photo(64, 64))      # 4096 px: over the limit set below
    write_image(imgs / "small.png", _photo(32, 32))    # 1024 px
    write_mask(tmp_path / "m.png", _box(32, 32, 4, 12, 4, 12))
    assert main(["inpaint", "--images", str(imgs), "--masks", str(tmp_path / "m.png"),
                 "--resize-mask", "-o", str(out), "--model", str(toy_onnx),
                 "--max-image-pixels", "2000"]) == 1
    err = capsys.readouterr().err
    assert "big.png" in err and "decompression bomb" in err and "--max-image-pixels" in err
    assert (out / "small.png").exists() and not (out / "big.png").exists()


def test_folder_write_error_is_recorded_and_the_run_goes_on(tmp_path: Path, toy_onnx: Path,
                                                            capsys) -> None:
    imgs, out = tmp_path / "imgs", tmp_path / "out"
    write_image(imgs / "a.png", _photo())
    write_image(imgs / "sub" / "b.png", _photo(seed=1))
    write_image(imgs / "z.png", _photo(seed=2))
    write_mask(tmp_path / "m.png", _box(48, 64, 10, 20, 10, 20))
    out.mkdir()
    (out / "sub").write_text("a file where the output folder should be")
    assert main(["inpaint", "--images", str(imgs), "--masks", str(tmp_path / "m.png"),
                 "-o", str(out), "--model", str(toy_onnx)]) == 1
    captured = capsys.readouterr()
    assert "1 input(s) failed" in captured.err and "cannot write" in captured.err
    assert "Traceback" not in captured.err
    assert (out / "a.png").exists() and (out / "z.png").exists()
    assert "wrote 2 image(s)" in captured.out


def test_single_write_error_is_a_message_not_a_traceback(single, tmp_path: Path,
                                                         toy_onnx: Path, capsys) -> None:
    image, mask = single
    (tmp_path / "blocker").write_text("not a folder")
    assert _inpaint(image, mask, "-o", tmp_path / "blocker" / "out.png", model=toy_onnx) == 1
    assert "cannot write" in capsys.readouterr().err


# -- 12: RGBA input to JPEG ----------------------------------------------------------------------

def test_rgba_input_written_to_jpeg(tmp_path: Path, toy_onnx: Path) -> None:
    rgba = np.dstack([_photo(), np.full((48, 64), 200, np.uint8)])
    write_image(tmp_path / "p.png", rgba)
    write_mask(tmp_path / "m.png", _box(48, 64, 10, 30, 10, 40))
    assert _inpaint(tmp_path / "p.png", tmp_path / "m.png", "-o", tmp_path / "o.jpg",
                    "--compare", tmp_path / "c.jpg", model=toy_onnx) == 0
    assert read_image(tmp_path / "o.jpg", keep_alpha=True).shape == (48, 64, 3)
    assert read_image(tmp_path / "c.jpg", keep_alpha=True).shape == (48, 2 * 64 + 8, 3)


# -- 14: CLI numbers ----------------------------------------------------------------------------

@pytest.mark.parametrize("threads", ["-1", "0", "1.5", "two"])
def test_cli_threads_must_be_a_positive_integer(single, tmp_path: Path, toy_onnx: Path,
                                                threads: str, capsys) -> None:
    image, mask = single
    with pytest.raises(SystemExit) as exc:
        _inpaint(image, mask, "-o", tmp_path / "o.png", "--threads", threads, model=toy_onnx)
    assert exc.value.code == 2 and "positive integer" in capsys.readouterr().err


# -- 16: messages, interrupts --------------------------------------------------------------------

def test_output_that_is_a_folder_says_so(single, tmp_path: Path, toy_onnx: Path, capsys) -> None:
    image, mask = single
    (tmp_path / "outdir").mkdir()
    assert _inpaint(image, mask, "-o", tmp_path / "outdir", "--overwrite", model=toy_onnx) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "--overwrite" not in err


def test_ctrl_c_in_a_folder_run_prints_a_summary(tmp_path: Path, toy_onnx: Path, monkeypatch,
                                                 capsys) -> None:
    imgs, out = tmp_path / "imgs", tmp_path / "out"
    for i in range(3):
        write_image(imgs / f"{i}.png", _photo(seed=i))
    write_mask(tmp_path / "m.png", _box(48, 64, 10, 20, 10, 20))
    from rmnet_sdk.inpainter import Inpainter

    real, calls = Inpainter.run, []

    def run_then_interrupt(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(Inpainter, "run", run_then_interrupt)
    assert main(["inpaint", "--images", str(imgs), "--masks", str(tmp_path / "m.png"),
                 "-o", str(out), "--model", str(toy_onnx)]) == 130
    captured = capsys.readouterr()
    assert "wrote 1 image(s)" in captured.out
    assert "interrupted (Ctrl-C) after 1 of 3" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["0.png"]  # no partial or hidden files


def test_sigterm_during_a_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    code = (
        "import os, signal, sys\n"
        "from rmnet_sdk import cli\n"
        "from rmnet_sdk._fileio import atomic_path\n"
        "cli.install_signal_handlers()\n"
        "try:\n"
        f"    with atomic_path({str(tmp_path / 'out.png')!r}) as tmp:\n"
        "        tmp.write_bytes(b'half')\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "except cli._Terminated:\n"
        "    sys.exit(143)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 143, proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_main_installs_the_sigterm_handler(single, tmp_path: Path, toy_onnx: Path) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    try:
        image, mask = single
        assert _inpaint(image, mask, "-o", tmp_path / "o.png", model=toy_onnx) == 0
        assert signal.getsignal(signal.SIGTERM) is cli._raise_terminated
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- first use ------------------------------------------------------------------------------------

def test_size_errors_say_height_by_width(single, tmp_path: Path, toy_onnx: Path, capsys) -> None:
    image, _ = single
    write_mask(tmp_path / "small.png", _box(20, 30, 2, 8, 2, 8))  # 20 rows, 30 columns
    assert _inpaint(image, tmp_path / "small.png", "-o", tmp_path / "o.png", model=toy_onnx) == 2
    err = capsys.readouterr().err
    assert "20x30 (HxW)" in err and "48x64" in err
    from rmnet_sdk import Inpainter
    from rmnet_sdk.errors import InvalidInputError

    with pytest.raises(InvalidInputError, match="20x30 but its image is 48x64"):
        Inpainter(toy_onnx, backend="onnxruntime").run(_photo(), _box(20, 30, 2, 8, 2, 8))


def test_mask_from_alpha(tmp_path: Path, toy_onnx: Path) -> None:
    rgb = _photo()
    alpha = np.full((48, 64), 255, np.uint8)
    hole = _box(48, 64, 12, 30, 20, 44)
    alpha[hole] = 0
    write_image(tmp_path / "cut.png", np.dstack([rgb, alpha]))
    assert _inpaint(tmp_path / "cut.png", "--mask-from-alpha", "-o", tmp_path / "o.png",
                    model=toy_onnx) == 0
    out = read_image(tmp_path / "o.png", keep_alpha=True)
    assert out.shape == (48, 64, 3)                   # opaque: the fill is visible
    np.testing.assert_array_equal(out[~hole], rgb[~hole])
    assert (out[hole] != rgb[hole]).any()
    # an image without alpha has no hole to take
    write_image(tmp_path / "rgb.png", rgb)
    assert _inpaint(tmp_path / "rgb.png", "--mask-from-alpha", "-o", tmp_path / "o2.png",
                    model=toy_onnx) == 2


def test_all_zero_mask_warns_and_suggests_alpha(tmp_path: Path, toy_onnx: Path, caplog) -> None:
    rgba = np.dstack([_photo(), np.full((48, 64), 255, np.uint8)])
    rgba[10:20, 10:20, 3] = 0  # the hole painted as transparency, the mask file left empty
    write_image(tmp_path / "p.png", rgba)
    write_mask(tmp_path / "m.png", np.zeros((48, 64), bool))
    assert _inpaint(tmp_path / "p.png", tmp_path / "m.png", "-o", tmp_path / "o.png",
                    model=toy_onnx) == 0
    assert "no hole pixels" in caplog.text and "--mask-from-alpha" in caplog.text


def test_help_shows_defaults_and_one_polarity_story(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["inpaint", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: auto)" in text and "(default: white-hole)" in text
    assert "CUDA device index (GPU backends) (default: 0)" in text  # 0 is a default too
    assert "(default: None)" not in text
    assert "black-hole (QD-IMD and NVIDIA sets)" in text
    from rmnet_sdk.training.cli import build_parser as train_parser

    train_help = " ".join(train_parser().format_help().split())
    assert "black-hole (QD-IMD and NVIDIA sets)" in train_help


def test_environment_pixel_limit(tmp_path: Path) -> None:
    write_image(tmp_path / "p.png", _photo(32, 32))
    env = {**os.environ, "RMNET_MAX_IMAGE_PIXELS": "100"}
    code = ("from rmnet_sdk.imaging import read_image\n"
            "from rmnet_sdk.errors import ImageReadError\n"
            f"try:\n    read_image({str(tmp_path / 'p.png')!r})\n"
            "except ImageReadError as e:\n    print('refused', e)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=120)
    assert "refused" in proc.stdout and "RMNET_MAX_IMAGE_PIXELS" in proc.stdout, proc.stderr
