"""Training pipeline: model shapes, losses, critic constraint, learning, resume, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from rmnet_sdk.errors import DataError, InvalidInputError, WeightsNotFoundError  # noqa: E402
from rmnet_sdk.training import preset  # noqa: E402
from rmnet_sdk.training.checkpoint import read_keras_metadata  # noqa: E402
from rmnet_sdk.training.losses import (  # noqa: E402
    build_vgg_features,
    perceptual_and_reverse_mask_losses,
    resolve_vgg_weights,
)
from rmnet_sdk.training.model import build_critic, build_generator, composite  # noqa: E402


def _batch(n: int, h: int, w: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.uniform(-1, 1, (n, h, w, 3)).astype(np.float32)
    holes = np.zeros((n, h, w, 1), np.float32)
    holes[:, h // 4: h // 2, w // 3: 2 * w // 3] = 1.0
    return images, holes


@pytest.mark.parametrize("shape", [(64, 64), (256, 256), (96, 160)])
def test_generator_output_shape(shape: tuple[int, int]) -> None:
    G = build_generator(8)
    images, holes = _batch(2, *shape)
    out = keras.ops.convert_to_numpy(G([images, holes], training=False))
    assert out.shape == (2, *shape, 3)
    assert np.all(np.abs(out) <= 1.0)


def test_generator_matches_paper_width() -> None:
    """gf=64 is the paper's 8.3 M-parameter generator (DESIGN.md performance model)."""
    G = build_generator(64)
    assert 8.2e6 < G.count_params() < 8.4e6


def test_generator_ignores_hole_content() -> None:
    """The network sees I*M only: changing pixels inside the hole cannot change its output."""
    G = build_generator(8)
    images, holes = _batch(1, 64, 64)
    other = np.where(holes > 0, -images, images)
    a = keras.ops.convert_to_numpy(G([images, holes], training=False))
    b = keras.ops.convert_to_numpy(G([other, holes], training=False))
    np.testing.assert_array_equal(a, b)


def test_composite_keeps_known_pixels_exactly() -> None:
    images, holes = _batch(2, 32, 48)
    pred = np.random.default_rng(1).uniform(-1, 1, images.shape).astype(np.float32)
    out = keras.ops.convert_to_numpy(composite(images, pred, holes))
    known = holes[..., 0] == 0
    np.testing.assert_array_equal(out[known], images[known])
    np.testing.assert_array_equal(out[~known], pred[~known])


def test_reverse_mask_loss_nonzero_and_gradient_only_in_hole() -> None:
    vgg = build_vgg_features("random", seed=0)
    images, holes = _batch(2, 64, 64)
    pred = tf.Variable(np.random.default_rng(2).uniform(-1, 1, images.shape).astype(np.float32))
    with tf.GradientTape() as tape:
        _, l_rm = perceptual_and_reverse_mask_losses(vgg, images, pred, holes)
    grad = tape.gradient(l_rm, pred).numpy()
    assert float(l_rm) > 0.0
    outside = np.broadcast_to(holes == 0, grad.shape)
    assert np.all(grad[outside] == 0.0)
    assert np.abs(grad[~outside]).max() > 0.0


def test_missing_vgg_weights_gives_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match="vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"):
        resolve_vgg_weights("imagenet")
    with pytest.raises(WeightsNotFoundError, match="random"):
        resolve_vgg_weights(str(tmp_path / "nope.h5"))
    assert resolve_vgg_weights("random") is None


def test_critic_is_fixed_size_and_scores_batches() -> None:
    D = build_critic(64, 8)
    images, _ = _batch(3, 64, 64)
    assert keras.ops.convert_to_numpy(D(images)).shape == (3, 1)


def test_config_rejects_bad_values() -> None:
    with pytest.raises(InvalidInputError, match="multiple of 16"):
        preset("tiny", image_size=100)
    with pytest.raises(InvalidInputError, match="hole_ratio"):
        preset("tiny", hole_ratio=(0.5, 0.1))
    with pytest.raises(InvalidInputError, match="unknown preset"):
        preset("nope")


# -- the trainer ---------------------------------------------------------------------------------

def _tiny(data_dir: Path, **overrides):
    return preset("tiny", data_dir=str(data_dir), **overrides)


def test_weight_clipping_applied(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.training.train import Trainer

    t = Trainer(_tiny(tiny_image_dir, critic_constraint="clip", clip_value=0.01), tmp_path)
    t.train_step(t.train_data.batch(0))
    for v in t.D.trainable_variables:
        assert np.abs(keras.ops.convert_to_numpy(v)).max() <= 0.01 + 1e-7, v.path


def test_gradient_penalty_reported(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.training.train import Trainer

    t = Trainer(_tiny(tiny_image_dir, critic_constraint="gp"), tmp_path)
    losses = t.train_step(t.train_data.batch(0))
    assert losses["d_gradient_penalty"] > 0.0
    assert np.isfinite(losses["d_total"])


def test_thirty_steps_lower_the_generator_loss(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.training.train import Trainer

    cfg = _tiny(tiny_image_dir, steps=30, checkpoint_every=1000, sample_every=1000, val_every=1000)
    t = Trainer(cfg, tmp_path)
    fixed = t.train_data.batch(10_000)  # a fixed batch, judged before and after training

    def g_loss() -> float:
        from rmnet_sdk.training.steps import generator_losses

        terms = generator_losses(cfg, t.G, t.D, t.vgg, fixed.images, fixed.holes)
        return float(terms["g_total"]) - cfg.adv_weight * float(terms["g_adversarial"])

    before = g_loss()
    t.fit(progress=False)
    after = g_loss()
    assert t.step == 30
    assert after < 0.9 * before, (before, after)
    # the run folder has everything the README promises
    assert (tmp_path / "config.json").is_file()
    assert (tmp_path / "metrics.jsonl").is_file()
    assert list((tmp_path / "samples").glob("*.png"))
    assert list((tmp_path / "tensorboard").iterdir())
    meta = read_keras_metadata(tmp_path / "generator.keras")
    assert (meta.gf, meta.resolution, meta.training_steps) == (8, 64, 30)
    assert meta.config_hash == cfg.recipe_hash()


def test_resume_gives_identical_next_step(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.training.train import Trainer

    cfg = _tiny(tiny_image_dir, critic_constraint="gp", l1_hole_weight=1.0)
    a = Trainer(cfg, tmp_path)
    for _ in range(3):
        a.train_step(a.train_data.batch(a.step))
    a.save()
    expected = a.train_step(a.train_data.batch(a.step))

    b = Trainer(cfg, tmp_path)  # resumes from the checkpoint at step 3
    assert b.step == 3
    got = b.train_step(b.train_data.batch(b.step))
    assert got.keys() == expected.keys()
    for k in expected:
        assert got[k] == pytest.approx(expected[k], rel=1e-5, abs=1e-7), k


def test_checkpoint_from_other_recipe_fails_loudly(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.errors import ModelError
    from rmnet_sdk.training.train import Trainer

    a = Trainer(_tiny(tiny_image_dir), tmp_path)
    a.save()
    with pytest.raises(ModelError, match="does not match|variables"):
        Trainer(_tiny(tiny_image_dir, gf=16), tmp_path)


def test_empty_folder_is_a_data_error(tmp_path: Path) -> None:
    from rmnet_sdk.training.train import Trainer

    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        Trainer(_tiny(tmp_path / "empty"), tmp_path / "run")
    with pytest.raises(DataError, match="does not exist"):
        Trainer(_tiny(tmp_path / "missing"), tmp_path / "run")


def test_unreadable_images_are_reported_not_fatal(tiny_image_dir: Path, tmp_path: Path) -> None:
    import shutil

    from rmnet_sdk.training.data import build_datasets

    data = tmp_path / "data"
    shutil.copytree(tiny_image_dir, data)
    (data / "broken.png").write_bytes(b"not a png")
    _, _, report = build_datasets(_tiny(data))
    assert any("broken.png" in f for f in report["unreadable"])

    only_bad = tmp_path / "bad"
    only_bad.mkdir()
    (only_bad / "x.jpg").write_bytes(b"garbage")
    with pytest.raises(DataError, match="could be read"):
        build_datasets(_tiny(only_bad))


def test_batches_are_deterministic_and_in_range(tiny_image_dir: Path) -> None:
    from rmnet_sdk.training.data import build_datasets

    cfg = _tiny(tiny_image_dir)
    train, val, _ = build_datasets(cfg)
    b1, b2 = train.batch(5), train.batch(5)
    np.testing.assert_array_equal(b1.images, b2.images)
    np.testing.assert_array_equal(b1.holes, b2.holes)
    assert not np.array_equal(train.batch(6).holes, b1.holes)
    assert b1.images.shape == (4, 64, 64, 3) and b1.holes.shape == (4, 64, 64, 1)
    assert b1.images.min() >= -1 and b1.images.max() <= 1
    ratios = b1.holes.mean(axis=(1, 2, 3))
    assert np.all((ratios >= 0.01) & (ratios <= 0.6))
    tf_batch = next(iter(train.tf_dataset(5, 6)))
    np.testing.assert_array_equal(tf_batch[0].numpy(), b1.images)


def test_masks_from_folder_with_polarity(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.masks import write_mask
    from rmnet_sdk.training.data import build_datasets

    hole = np.zeros((50, 70), bool)
    hole[10:30, 20:50] = True
    write_mask(tmp_path / "m.png", hole, polarity="black-hole")
    cfg = _tiny(tiny_image_dir, mask_dir=str(tmp_path), mask_polarity="black-hole")
    train, _, _ = build_datasets(cfg)
    ratio = float(train.batch(0).holes.mean())
    assert 0.1 < ratio < 0.3  # ~ 600/3500 after resizing, not the complement


def test_cli_runs_and_resumes(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.training.cli import main

    run = tmp_path / "run"
    assert main(["--data", str(tiny_image_dir), "--run-dir", str(run), "--preset", "tiny",
                 "--steps", "4", "--no-progress"]) == 0
    index = json.loads((run / "checkpoints" / "checkpoint.json").read_text())
    assert index["step"] == 4
    assert main(["--run-dir", str(run), "--steps", "6", "--no-progress"]) == 0
    assert json.loads((run / "checkpoints" / "checkpoint.json").read_text())["step"] == 6
    assert main(["--data", str(tmp_path / "nothing"), "--run-dir", str(tmp_path / "r2"),
                 "--preset", "tiny", "--no-progress"]) == 2


def test_interrupt_saves_a_checkpoint(tiny_image_dir: Path, tmp_path: Path) -> None:
    """Ctrl-C (KeyboardInterrupt, also raised for SIGTERM) saves the current step and returns."""
    from rmnet_sdk.training.checkpoint import latest_checkpoint
    from rmnet_sdk.training.train import Trainer

    t = Trainer(_tiny(tiny_image_dir, checkpoint_every=1000, sample_every=1000, val_every=1000),
                tmp_path)
    real_step = t.train_step

    def step(batch):
        if t.step == 3:
            raise KeyboardInterrupt
        return real_step(batch)

    t.train_step = step
    t.fit(steps=10, progress=False)
    assert t.step == 3
    assert latest_checkpoint(tmp_path / "checkpoints").name == "ckpt-00000003.npz"
    assert Trainer(_tiny(tiny_image_dir), tmp_path).step == 3


def test_recorded_photo_split_is_reproduced(photos_dir: Path) -> None:
    """The bundled model's train/validation split (docs/model/split.json) stays fixed."""
    from rmnet_sdk.imaging import list_images
    from rmnet_sdk.training.data import split_files

    recorded = json.loads((Path(__file__).parents[1] / "docs/model/split.json").read_text())
    train, val = split_files(list_images(photos_dir), 0.1)
    assert sorted(p.name for p in val) == recorded["validation"]
    assert sorted(p.name for p in train) == recorded["train"]


def test_best_generator_is_kept_across_restarts(tiny_image_dir: Path, tmp_path: Path) -> None:
    """Validation keeps the best generator (GAN steps are noisy); a restart remembers the score."""
    from rmnet_sdk.training.checkpoint import read_keras_metadata
    from rmnet_sdk.training.train import Trainer

    t = Trainer(_tiny(tiny_image_dir), tmp_path)
    best = tmp_path / "best" / "generator.keras"
    assert t._keep_best({"val/psnr_hole": 10.0}) == best and best.is_file()
    assert read_keras_metadata(best).training_steps == 0
    stamp = best.stat().st_mtime_ns
    assert t._keep_best({"val/psnr_hole": 9.0}) is None
    assert t._keep_best({"val/ssim_hole": 0.9}) is None  # no hole-PSNR: nothing to compare
    t.step = 7
    assert Trainer(_tiny(tiny_image_dir), tmp_path)._keep_best({"val/psnr_hole": 9.5}) is None
    assert best.stat().st_mtime_ns == stamp
    assert t._keep_best({"val/psnr_hole": 11.0}) == best
    record = json.loads((tmp_path / "best.json").read_text())
    assert record["step"] == 7 and record["scores"]["val/psnr_hole"] == 11.0
    assert read_keras_metadata(best).training_steps == 7


def test_resume_takes_the_learning_rate_from_the_config(tiny_image_dir: Path, tmp_path: Path) -> None:
    """Keras stores the learning rate in the optimiser state; a resumed run must use the config's
    (that is how a learning-rate decay is applied to a running training)."""
    import numpy as np

    from rmnet_sdk.training.train import Trainer

    t = Trainer(_tiny(tiny_image_dir, g_lr=1e-3, d_lr=5e-4), tmp_path)
    t.fit(steps=2, progress=False)
    assert np.isclose(float(np.asarray(t.g_opt.learning_rate)), 1e-3)
    r = Trainer(_tiny(tiny_image_dir, g_lr=1e-4, d_lr=5e-5), tmp_path)
    assert r.step == 2
    assert np.isclose(float(np.asarray(r.g_opt.learning_rate)), 1e-4)
    assert np.isclose(float(np.asarray(r.d_opt.learning_rate)), 5e-5)
    r.fit(steps=3, progress=False)
    assert np.isclose(float(np.asarray(r.g_opt.learning_rate)), 1e-4)


def test_generator_weight_average(tiny_image_dir: Path, tmp_path: Path) -> None:
    """ema_decay keeps avg = d*avg + (1-d)*w after every step; exports use the average; it is
    checkpointed, and a run that enables it on an old checkpoint starts it from the weights."""
    import numpy as np

    from rmnet_sdk.errors import InvalidInputError
    from rmnet_sdk.training.checkpoint import load_generator
    from rmnet_sdk.training.train import Trainer

    with pytest.raises(InvalidInputError, match="ema_decay"):
        _tiny(tiny_image_dir, ema_decay=1.0).validate()
    plain = Trainer(_tiny(tiny_image_dir), tmp_path / "plain")
    plain.fit(steps=2, progress=False)
    assert plain.G_ema is None and plain.inference_generator is plain.G

    t = Trainer(_tiny(tiny_image_dir, ema_decay=0.5), tmp_path / "ema")
    w0 = [np.array(v) for v in t.G.variables]
    t.fit(steps=1, progress=False)
    w1 = [np.array(v) for v in t.G.variables]
    floats = [i for i, v in enumerate(t.G.variables) if "float" in str(v.dtype)]
    moved = [i for i in floats if not np.array_equal(w0[i], w1[i])]
    assert moved  # the step changed weights, so the average is a real blend
    for i in floats:
        np.testing.assert_allclose(np.array(t.G_ema.variables[i]), 0.5 * w0[i] + 0.5 * w1[i],
                                   rtol=1e-6, atol=1e-7)
    exported = load_generator(t.export_generator(tmp_path / "g.keras"))
    for a, b in zip(exported.get_weights(), t.G_ema.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    resumed = Trainer(_tiny(tiny_image_dir, ema_decay=0.5), tmp_path / "ema")
    for a, b in zip(resumed.G_ema.get_weights(), t.G_ema.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    upgraded = Trainer(_tiny(tiny_image_dir, ema_decay=0.9), tmp_path / "plain")
    assert upgraded.step == 2
    for a, b in zip(upgraded.G_ema.get_weights(), upgraded.G.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_config_changes_on_resume_are_recorded(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.training.config import load_config
    from rmnet_sdk.training.train import Trainer

    Trainer(_tiny(tiny_image_dir), tmp_path).fit(steps=2, progress=False)
    Trainer(_tiny(tiny_image_dir), tmp_path)  # same config: nothing recorded
    assert not (tmp_path / "config_changes.jsonl").exists()
    Trainer(_tiny(tiny_image_dir, g_lr=1e-5, ema_decay=0.99), tmp_path)
    lines = (tmp_path / "config_changes.jsonl").read_text().splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["step"] == 2
    assert record["changes"] == {"ema_decay": {"from": 0.0, "to": 0.99},
                                 "g_lr": {"from": _tiny(tiny_image_dir).g_lr, "to": 1e-5}}
    assert load_config(tmp_path / "config.json").g_lr == 1e-5


@pytest.mark.parametrize("which, expected", [("encoder", 5), ("all", 9)])
def test_frozen_batchnorm_keeps_its_statistics(tiny_image_dir: Path, tmp_path: Path,
                                               which: str, expected: int) -> None:
    """Frozen BN layers neither update moving statistics nor train gamma/beta; the rest trains."""
    import numpy as np

    from rmnet_sdk.training.train import Trainer

    t = Trainer(_tiny(tiny_image_dir, freeze_batchnorm=which), tmp_path)
    assert len(t.frozen_batchnorm) == expected
    frozen = [t.G.get_layer(n) for n in t.frozen_batchnorm]
    before = [[np.array(v) for v in layer.variables] for layer in frozen]
    conv_before = np.array(t.G.get_layer("enc1_conv").kernel)
    t.fit(steps=2, progress=False)
    for layer, vals in zip(frozen, before, strict=True):
        for v, old in zip(layer.variables, vals, strict=True):
            np.testing.assert_array_equal(np.array(v), old)
    assert not np.array_equal(np.array(t.G.get_layer("enc1_conv").kernel), conv_before)
    if which == "encoder":
        dec = t.G.get_layer("dec1_bn")
        assert dec.trainable
    # a checkpoint of an unfrozen run resumes with frozen BN (the optimiser keeps every slot)
    Trainer(_tiny(tiny_image_dir), tmp_path / "plain").fit(steps=1, progress=False)
    r = Trainer(_tiny(tiny_image_dir, freeze_batchnorm=which), tmp_path / "plain")
    r.fit(steps=2, progress=False)
    assert r.step == 2


def test_ssim_loss_is_the_reported_hole_ssim() -> None:
    """The optional SSIM term optimises exactly the metric that is reported (same window,
    constants and borders as rmnet_sdk.metrics) on the composited output."""
    from rmnet_sdk import metrics
    from rmnet_sdk.training.losses import hole_ssim_loss, ssim_map

    rng = np.random.default_rng(5)
    gt = rng.integers(0, 256, (2, 32, 40, 3)).astype(np.uint8)
    out = np.clip(gt.astype(int) + rng.integers(-40, 41, gt.shape), 0, 255).astype(np.uint8)
    holes = np.zeros((2, 32, 40), bool)
    holes[0, 8:20, 10:30] = True
    holes[1, 2:30, 5:15] = True
    a, b = gt / 127.5 - 1.0, out / 127.5 - 1.0
    s = keras.ops.convert_to_numpy(ssim_map(keras.ops.convert_to_tensor(b, "float32"),
                                            keras.ops.convert_to_tensor(a, "float32")))
    np.testing.assert_allclose(s[0], metrics.ssim_map(out[0], gt[0]), atol=2e-4)
    for i in range(2):
        loss = keras.ops.convert_to_numpy(hole_ssim_loss(
            keras.ops.convert_to_tensor(a[i:i + 1], "float32"),
            keras.ops.convert_to_tensor(b[i:i + 1], "float32"),
            keras.ops.convert_to_tensor(holes[i:i + 1, ..., None], "float32")))
        assert 1.0 - float(loss) == pytest.approx(metrics.ssim(gt[i], out[i], holes[i]), abs=2e-4)
    same = hole_ssim_loss(keras.ops.convert_to_tensor(a[:1], "float32"),
                          keras.ops.convert_to_tensor(a[:1], "float32"),
                          keras.ops.convert_to_tensor(holes[:1, ..., None], "float32"))
    assert float(keras.ops.convert_to_numpy(same)) == pytest.approx(0.0, abs=1e-5)


def test_ssim_term_is_logged_and_trains(tiny_image_dir: Path, tmp_path: Path) -> None:
    from rmnet_sdk.training.train import Trainer

    t = Trainer(_tiny(tiny_image_dir, ssim_weight=2.0), tmp_path)
    terms = t.train_step(t.train_data.batch(0))
    assert 0.0 < terms["g_ssim_hole"] < 2.0
    assert "g_ssim_hole" not in Trainer(_tiny(tiny_image_dir), tmp_path / "b").train_step(
        t.train_data.batch(0))
    with pytest.raises(InvalidInputError, match="ssim_weight"):
        _tiny(tiny_image_dir, ssim_weight=-1.0)
