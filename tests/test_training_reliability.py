"""Training under bad conditions: lost or damaged checkpoints, signals mid-step, unreadable
files, and the exported model's resolution."""

from __future__ import annotations

import json
import logging
import os
import signal
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
pytest.importorskip("tensorflow")

from rmnet_sdk.errors import InvalidInputError, ModelError  # noqa: E402
from rmnet_sdk.training import preset  # noqa: E402
from rmnet_sdk.training.checkpoint import (  # noqa: E402
    latest_checkpoint,
    list_checkpoints,
    save_checkpoint,
)

QUIET = dict(checkpoint_every=1000, sample_every=1000, val_every=1000, log_every=1000)


def _tiny(data_dir: Path, **overrides):
    return preset("tiny", data_dir=str(data_dir), **overrides)


def _arrays(path: Path) -> dict[str, np.ndarray]:
    """A checkpoint's arrays keyed by group and position (variable names carry Keras's
    per-process numbering), without the state record (it holds a wall-clock time)."""
    with np.load(path) as data:
        return {"/".join(k.split("/", 2)[:2]): data[k] for k in data.files if k != "__state__"}


# -- checkpoint fallback ---------------------------------------------------------------------------

def _save_steps(directory: Path, steps: list[int], keep: int = 10) -> None:
    v = keras.Variable(np.zeros(3, np.float32), name="w")
    for s in steps:
        v.assign(np.full(3, s, np.float32))
        save_checkpoint(directory, s, {"g": [v]}, {}, keep=keep)


def test_missing_newest_checkpoint_falls_back_with_a_warning(tmp_path: Path, caplog) -> None:
    _save_steps(tmp_path, [10, 20, 30])
    (tmp_path / "ckpt-00000030.npz").unlink()  # checkpoint.json still names it
    with caplog.at_level(logging.WARNING, "rmnet_sdk.training"):
        assert latest_checkpoint(tmp_path).name == "ckpt-00000020.npz"
    assert "ckpt-00000030.npz, which is missing" in caplog.text
    assert "resuming from ckpt-00000020.npz" in caplog.text


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_damaged_newest_checkpoint_falls_back(tmp_path: Path, caplog, damage: str) -> None:
    _save_steps(tmp_path, [10, 20])
    newest = tmp_path / "ckpt-00000020.npz"
    data = bytearray(newest.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip":  # one byte of array data: only the CRC notices
        data[len(data) // 3] ^= 0xFF
    else:
        data = bytearray()
    newest.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, "rmnet_sdk.training"):
        assert latest_checkpoint(tmp_path).name == "ckpt-00000010.npz"
    assert "ckpt-00000020.npz cannot be read" in caplog.text


def test_missing_index_uses_the_newest_checkpoint(tmp_path: Path, caplog) -> None:
    _save_steps(tmp_path, [10, 20])
    (tmp_path / "checkpoint.json").unlink()
    with caplog.at_level(logging.WARNING, "rmnet_sdk.training"):
        assert latest_checkpoint(tmp_path).name == "ckpt-00000020.npz"
    assert "checkpoint.json is missing" in caplog.text
    (tmp_path / "checkpoint.json").write_text("{not json")
    assert latest_checkpoint(tmp_path).name == "ckpt-00000020.npz"


def test_no_readable_checkpoint_is_an_error_not_a_fresh_start(tmp_path: Path) -> None:
    _save_steps(tmp_path, [10, 20])
    for _, p in list_checkpoints(tmp_path):
        p.write_bytes(p.read_bytes()[:100])
    with pytest.raises(ModelError, match="none of the 2 checkpoints"):
        latest_checkpoint(tmp_path)
    for _, p in list_checkpoints(tmp_path):
        p.unlink()
    with pytest.raises(ModelError, match="no older checkpoint"):
        latest_checkpoint(tmp_path)  # checkpoint.json says there was a run
    assert latest_checkpoint(tmp_path / "none") is None


def test_the_index_wins_over_an_earlier_runs_later_checkpoints(tmp_path: Path, caplog) -> None:
    """A run started over (--no-resume) beside an older run's ckpt-50: the index names its own."""
    _save_steps(tmp_path, [50])
    (tmp_path / "checkpoint.json").unlink()
    _save_steps(tmp_path, [10])
    with caplog.at_level(logging.WARNING, "rmnet_sdk.training"):
        assert latest_checkpoint(tmp_path).name == "ckpt-00000010.npz"
    assert not caplog.text


def test_pruning_never_removes_checkpoints_newer_than_the_one_saved(tmp_path: Path) -> None:
    _save_steps(tmp_path, [10, 20, 30, 40])
    (tmp_path / "ckpt-00000040.npz").write_bytes(b"damaged")
    _save_steps(tmp_path, [35], keep=2)  # a run resumed from 30 saves 35
    assert [s for s, _ in list_checkpoints(tmp_path)] == [40, 35, 30]


def test_trainer_resumes_from_the_newest_readable_checkpoint(tiny_image_dir: Path,
                                                            tmp_path: Path, caplog) -> None:
    from rmnet_sdk.training.train import Trainer

    cfg = _tiny(tiny_image_dir, **QUIET)
    a = Trainer(cfg, tmp_path)
    for _ in range(2):
        a.train_step(a.train_data.batch(a.step))
        a.save()
    first = _arrays(tmp_path / "checkpoints" / "ckpt-00000001.npz")
    (tmp_path / "checkpoints" / "ckpt-00000002.npz").unlink()
    with caplog.at_level(logging.WARNING, "rmnet_sdk.training"):
        b = Trainer(cfg, tmp_path)
    assert b.step == 1
    assert "ckpt-00000002.npz, which is missing" in caplog.text
    b.train_step(b.train_data.batch(b.step))
    b.save()
    # the older checkpoint is untouched and the run goes on from it
    for k, v in _arrays(tmp_path / "checkpoints" / "ckpt-00000001.npz").items():
        np.testing.assert_array_equal(v, first[k], err_msg=k)
    assert json.loads((tmp_path / "checkpoints" / "checkpoint.json").read_text())["step"] == 2


# -- signals -----------------------------------------------------------------------------------

def test_signal_mid_step_resumes_bit_identically(tiny_image_dir: Path, tmp_path: Path,
                                                 caplog) -> None:
    """SIGINT arrives between the generator's and the critic's update of step 6; the step is
    finished and saved, and the resumed run's every array equals an uninterrupted run's."""
    from rmnet_sdk.training.train import Trainer

    cfg = _tiny(tiny_image_dir, **{**QUIET, "checkpoint_every": 4})
    Trainer(cfg, tmp_path / "ref").fit(steps=8, progress=False)

    t = Trainer(cfg, tmp_path / "run")
    real_critic_step = t.critic_step

    def critic_step(*args):
        if t.step == 5:
            os.kill(os.getpid(), signal.SIGINT)
        return real_critic_step(*args)

    t.critic_step = critic_step
    previous = signal.getsignal(signal.SIGINT)
    with caplog.at_level(logging.WARNING, "rmnet_sdk.training"):
        t.fit(steps=8, progress=False)
    assert signal.getsignal(signal.SIGINT) is previous
    assert t.step == 6
    assert "SIGINT: stopped after step 6" in caplog.text
    ckpts = tmp_path / "run" / "checkpoints"
    assert latest_checkpoint(ckpts).name == "ckpt-00000006.npz"

    resumed = Trainer(cfg, tmp_path / "run")
    assert resumed.step == 6
    resumed.fit(steps=8, progress=False)
    expected = _arrays(tmp_path / "ref" / "checkpoints" / "ckpt-00000008.npz")
    got = _arrays(ckpts / "ckpt-00000008.npz")
    assert got.keys() == expected.keys()
    differing = [k for k in expected if not np.array_equal(got[k], expected[k])]
    assert not differing, f"{len(differing)} of {len(expected)} arrays differ: {differing[:5]}"


def test_interrupt_inside_a_step_drops_it(tiny_image_dir: Path, tmp_path: Path, caplog) -> None:
    """A KeyboardInterrupt that cuts a step in half (a second Ctrl-C, or one raised off the main
    thread) saves nothing: the half-updated networks never reach a checkpoint or an export."""
    from rmnet_sdk.training.train import Trainer

    t = Trainer(_tiny(tiny_image_dir, **{**QUIET, "checkpoint_every": 2}), tmp_path)
    real_critic_step = t.critic_step

    def critic_step(*args):
        if t.step == 3:
            raise KeyboardInterrupt
        return real_critic_step(*args)

    t.critic_step = critic_step
    with caplog.at_level(logging.WARNING, "rmnet_sdk.training"):
        t.fit(steps=6, progress=False)
    assert "interrupted inside step 4" in caplog.text
    assert [s for s, _ in list_checkpoints(tmp_path / "checkpoints")] == [2]
    assert not (tmp_path / "generator.keras").exists()
    assert Trainer(_tiny(tiny_image_dir, **QUIET), tmp_path).step == 2


def test_log_lines_go_above_the_progress_bar(tiny_image_dir: Path, tmp_path: Path,
                                             caplog) -> None:
    """While the bar is shown, console log handlers write through tqdm (not into the bar)."""
    import sys

    from rmnet_sdk.training.train import Trainer

    console = logging.StreamHandler(sys.stderr)
    logging.root.addHandler(console)
    try:
        t = Trainer(_tiny(tiny_image_dir, **QUIET), tmp_path)
        seen: list[str] = []
        real_step = t.train_step

        def step(batch):
            seen.extend(type(h).__name__ for h in logging.root.handlers)
            return real_step(batch)

        t.train_step = step
        with caplog.at_level(logging.INFO, "rmnet_sdk.training"):
            t.fit(steps=1, progress=True)
        restored = console in logging.root.handlers
    finally:
        logging.root.removeHandler(console)
    assert "_TqdmLoggingHandler" in seen and "StreamHandler" not in seen, seen
    assert restored
    assert "remapper failed" in caplog.text  # TensorFlow's notice is explained


# -- data ----------------------------------------------------------------------------------------

def test_unreadable_training_files_are_logged_and_reported(tiny_image_dir: Path, tmp_path: Path,
                                                           caplog) -> None:
    import shutil

    from rmnet_sdk.training.train import Trainer

    data = tmp_path / "data"
    shutil.copytree(tiny_image_dir, data)
    (data / "broken.png").write_bytes(b"not a png")
    (data / "a" / "empty.jpg").write_bytes(b"")
    with caplog.at_level(logging.WARNING, "rmnet_sdk.training"):
        Trainer(_tiny(data), tmp_path / "run")
    skipped = [r.getMessage() for r in caplog.records if "skipping a training image" in r.message]
    assert len(skipped) == 2, caplog.text
    assert any("broken.png" in m for m in skipped) and any("empty.jpg" in m for m in skipped)
    report = json.loads((tmp_path / "run" / "data_split.json").read_text())
    assert sorted(Path(f).name for f in report["unreadable"]) == ["broken.png", "empty.jpg"]


# -- the exported model's resolution -------------------------------------------------------------

def test_model_resolution_is_the_recipes_not_the_crop_size(tiny_image_dir: Path,
                                                           tmp_path: Path) -> None:
    from rmnet_sdk.training import TrainConfig
    from rmnet_sdk.training.checkpoint import read_keras_metadata
    from rmnet_sdk.training.train import Trainer

    assert TrainConfig().model_resolution == 256
    cpu = preset("cpu")
    assert (cpu.image_size, cpu.model_resolution) == (128, 256)
    # not part of the recipe hash: it does not change training
    assert cpu.replace(model_resolution=512).recipe_hash() == cpu.recipe_hash()
    with pytest.raises(InvalidInputError, match="model_resolution"):
        preset("cpu", model_resolution=100)

    t = Trainer(_tiny(tiny_image_dir, model_resolution=96, **QUIET), tmp_path)
    meta = read_keras_metadata(t.export_generator())
    assert meta.resolution == 96
    assert t.config.image_size == 64
