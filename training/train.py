"""The training loop: n_critic critic steps per generator step, checkpoints, validation, samples.

Everything a resumed run needs is in the checkpoint (all network, optimiser and RNG-state
variables); the data for step ``k`` is a pure function of ``(seed, k)``, so a resumed run takes
exactly the step an uninterrupted one would have taken.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from rmnet_sdk import metrics
from rmnet_sdk._fileio import atomic_write_text
from rmnet_sdk.evaluation import opencv_method
from rmnet_sdk.imaging import composite as composite_uint8
from rmnet_sdk.imaging import from_model_range, tile_grid, write_image
from rmnet_sdk.metadata import ModelMetadata

from .checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint, save_generator
from .config import TrainConfig, load_config, save_config
from .data import Batch, build_datasets

log = logging.getLogger("rmnet_sdk.training")


def opencv_baseline(batch: Batch, method: str = "ns") -> np.ndarray:
    """OpenCV's classical inpainting of a batch (uint8 RGB), the baseline to beat."""
    fill = opencv_method(method)
    gt = from_model_range(batch.images)
    holes = batch.holes[..., 0] > 0.5
    return np.stack([fill(g, h) for g, h in zip(gt, holes, strict=True)])


def mean_metrics(gt: np.ndarray, out: np.ndarray, holes: np.ndarray) -> dict[str, float]:
    scores = metrics.evaluate_batch(gt, out, holes)
    return {k: float(v) for k, v in scores.items() if k != "count"}


def freeze_batchnorm(model: Any, which: str) -> list[str]:
    """Set ``trainable=False`` on the generator's BatchNorm layers (``encoder``: ``enc*``;
    ``all``); returns the names of the frozen layers."""
    import keras

    if which == "none":
        return []
    frozen = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization) and (
                which == "all" or layer.name.startswith("enc")):
            layer.trainable = False
            frozen.append(layer.name)
    return frozen


class Trainer:
    """Owns the networks, optimisers, data and run directory of one training run."""

    def __init__(self, config: TrainConfig, run_dir: str | Path, *, resume: bool = True) -> None:
        import keras

        from .features import build_feature_network
        from .model import build_critic, build_generator
        from .steps import make_steps

        self.config = config.validate()
        self.run_dir = Path(run_dir)
        self.ckpt_dir = self.run_dir / "checkpoints"
        self.run_dir.mkdir(parents=True, exist_ok=True)
        # Data first: a bad folder should fail before minutes of model building.
        self.train_data, self.val_batch, self.data_report = build_datasets(self.config)
        cfg = self.config
        # The VGG is built first: with random weights it seeds the global RNG itself.
        self.vgg = (build_feature_network(cfg.feature_loss, vgg_weights=cfg.vgg_weights,
                                          seed=cfg.seed)
                    if cfg.perceptual_weight > 0 else None)
        keras.utils.set_random_seed(cfg.seed)
        self.G = build_generator(cfg.gf, mask_channel=cfg.mask_channel, prefill=cfg.prefill)
        checkpoint = latest_checkpoint(self.ckpt_dir) if resume else None
        # Fine-tuning: the start weights matter only for a new run (a checkpoint holds them).
        self.init_steps = 0
        if cfg.init_from and checkpoint is None:
            self._init_from(cfg.init_from)
        elif (self.run_dir / "init.json").is_file():
            self.init_steps = int(json.loads((self.run_dir / "init.json").read_text())["steps"])
        self.D = build_critic(cfg.image_size, cfg.df)
        self.g_opt = keras.optimizers.Adam(cfg.g_lr, beta_1=cfg.g_beta1)
        self.d_opt = keras.optimizers.Adam(cfg.d_lr, beta_1=cfg.d_beta1)
        self.g_opt.build(self.G.trainable_variables)
        self.d_opt.build(self.D.trainable_variables)
        # After the optimiser is built on every variable (checkpoints stay compatible): frozen
        # BatchNorm layers use their moving statistics in training too (Keras 3 semantics of
        # trainable=False) and drop out of the gradient step.
        self.frozen_batchnorm = freeze_batchnorm(self.G, cfg.freeze_batchnorm)
        # Built after G, D and the optimisers, so enabling it leaves their initialisation alone.
        self.G_ema = None
        if cfg.ema_decay > 0:
            self.G_ema = build_generator(cfg.gf, mask_channel=cfg.mask_channel, prefill=cfg.prefill)
            self.G_ema.set_weights(self.G.get_weights())
        self.generator_step, self.critic_step = make_steps(cfg, self.G, self.D, self.vgg,
                                                           self.g_opt, self.d_opt)
        self.step = 0
        self.partial_step = False
        self._writer = None
        self._baseline: dict[str, float] | None = None
        if checkpoint is not None:
            self.restore(checkpoint)
            self._record_config_change()
        else:
            self._write_run_files()

    def _write_run_files(self) -> None:
        """config.json and data_split.json of a new run (the model card reads both)."""
        save_config(self.config, self.run_dir / "config.json")
        (self.run_dir / "data_split.json").write_text(json.dumps(self.data_report, indent=1))

    def _init_from(self, source: str) -> None:
        """Load the generator's start weights (see :mod:`.warmstart`); ``init.json`` records
        where they came from, and their steps count toward the exported model's."""
        from .checkpoint import file_sha256
        from .warmstart import load_initial_weights

        meta = load_initial_weights(self.G, source, freeze_batchnorm=self.config.freeze_batchnorm)
        self.init_steps = int(meta.training_steps)
        record = {"path": str(source), "sha256": file_sha256(source), "steps": self.init_steps,
                  "metadata": meta.to_dict()}
        atomic_write_text(self.run_dir / "init.json", json.dumps(record, indent=1) + "\n")
        log.info("generator starts from %s (%s %s, %d steps)", source, meta.name, meta.version,
                 self.init_steps)

    # -- state --------------------------------------------------------------------------------
    def _groups(self) -> dict[str, list[Any]]:
        groups = {"generator": list(self.G.variables), "critic": list(self.D.variables),
                  "g_opt": list(self.g_opt.variables), "d_opt": list(self.d_opt.variables)}
        if self.vgg is not None:
            groups["vgg"] = list(self.vgg.variables)
        if self.G_ema is not None:
            groups["g_ema"] = list(self.G_ema.variables)
        return groups

    def _record_config_change(self) -> None:
        """A resume with a changed config (e.g. a lower learning rate) rewrites config.json and
        appends ``{"step", "changes"}`` to config_changes.jsonl, so the run's schedule is on record."""
        path = self.run_dir / "config.json"
        if not path.is_file():
            save_config(self.config, path)
            return
        old = load_config(path).to_dict()  # fields added since then read as their defaults
        new = self.config.to_dict()
        changes = {k: {"from": old.get(k), "to": v} for k, v in new.items()
                   if json.dumps(old.get(k), default=list) != json.dumps(v, default=list)}
        if not changes:
            return
        log.info("config changed at step %d: %s", self.step,
                 ", ".join(f"{k} {c['from']} -> {c['to']}" for k, c in changes.items()))
        with open(self.run_dir / "config_changes.jsonl", "a") as f:
            f.write(json.dumps({"step": self.step, "changes": changes}, default=list) + "\n")
        save_config(self.config, path)

    @property
    def inference_generator(self) -> Any:
        """What validation, samples and exports use: the weight average when there is one."""
        return self.G_ema if self.G_ema is not None else self.G

    def _update_ema(self) -> None:
        d = self.config.ema_decay
        for avg, var in zip(self.G_ema.variables, self.G.variables, strict=True):
            if "float" in str(avg.dtype):
                avg.assign(avg * d + var * (1.0 - d))
            else:  # RNG seed state and counters: follow the live model
                avg.assign(var)

    def save(self) -> Path:
        state = {"config_hash": self.config.recipe_hash(), "time": time.time()}
        path = save_checkpoint(self.ckpt_dir, self.step, self._groups(), state,
                               keep=self.config.keep_checkpoints)
        log.info("saved checkpoint %s", path)
        return path

    def restore(self, path: str | Path) -> None:
        state = load_checkpoint(path, self._groups(), optional=frozenset({"g_ema"}))
        if state.get("config_hash") != self.config.recipe_hash():
            log.warning("checkpoint %s was written by another recipe (hash %s, now %s)",
                        path, state.get("config_hash"), self.config.recipe_hash())
        self.step = int(state["step"])
        if "g_ema" in state["missing_groups"] and self.G_ema is not None:
            log.info("checkpoint %s has no generator average: starting it from the weights", path)
            self.G_ema.set_weights(self.G.get_weights())
        # Keras keeps the learning rate as an optimiser variable, so loading restored the old
        # one; the config decides (a lower --set g_lr=... on resume is a learning-rate decay).
        for name, opt, lr in (("g_lr", self.g_opt, self.config.g_lr),
                              ("d_lr", self.d_opt, self.config.d_lr)):
            old = float(np.asarray(opt.learning_rate))
            if not np.isclose(old, lr, rtol=1e-6):
                log.info("%s: %g in the checkpoint, %g from the config: using %g", name, old, lr, lr)
            opt.learning_rate = lr
        log.info("resumed from %s at step %d", path, self.step)

    # -- one step -----------------------------------------------------------------------------
    def lr_factor(self, step: int) -> float:
        """The learning-rate multiplier at ``step``: 1 for "constant"; for "cosine" a half cosine
        from 1 at step 0 to ``lr_final_fraction`` at ``steps`` (flat after)."""
        cfg = self.config
        if cfg.lr_schedule == "constant":
            return 1.0
        t = min(max(step / max(cfg.steps, 1), 0.0), 1.0)
        return cfg.lr_final_fraction + (1.0 - cfg.lr_final_fraction) * 0.5 * (1.0 + np.cos(np.pi * t))

    def _apply_lr_schedule(self) -> None:
        if self.config.lr_schedule == "constant":
            return
        factor = self.lr_factor(self.step)
        self.g_opt.learning_rate = self.config.g_lr * factor
        self.d_opt.learning_rate = self.config.d_lr * factor

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One generator step, its critic steps and the weight average, then ``step += 1``.

        ``partial_step`` is true while variables are being updated: an exception escaping from
        here leaves the generator one update ahead of the critic and the counter, a state no
        uninterrupted run passes through, so it must never be checkpointed."""
        from keras import ops

        images = ops.convert_to_tensor(batch.images)
        holes = ops.convert_to_tensor(batch.holes)
        noise = ops.convert_to_tensor(batch.noise)
        self._apply_lr_schedule()
        self.partial_step = True
        terms: dict[str, Any] = dict(self.generator_step(images, holes))
        fake = terms.pop("fake")
        if self.config.adv_weight > 0:  # no adversarial term: the critic would be dead weight
            for _ in range(self.config.n_critic):
                terms.update(self.critic_step(images, fake, noise))
        if self.G_ema is not None:
            self._update_ema()
        self.step += 1
        self.partial_step = False
        return {k: float(ops.convert_to_numpy(v)) for k, v in terms.items()}

    # -- evaluation ---------------------------------------------------------------------------
    def predict(self, batch: Batch) -> np.ndarray:
        """Composited uint8 outputs of the generator (inference mode) for ``batch``."""
        from keras import ops

        pred = self.inference_generator([ops.convert_to_tensor(batch.images),
                                         ops.convert_to_tensor(batch.holes)], training=False)
        pred_u8 = from_model_range(ops.convert_to_numpy(pred))
        gt = from_model_range(batch.images)
        holes = batch.holes[..., 0] > 0.5
        return np.stack([composite_uint8(g, p, h) for g, p, h in zip(gt, pred_u8, holes, strict=True)])

    def validate(self) -> dict[str, float]:
        gt = from_model_range(self.val_batch.images)
        holes = self.val_batch.holes[..., 0] > 0.5
        result = {f"val/{k}": v for k, v in mean_metrics(gt, self.predict(self.val_batch), holes).items()}
        if self._baseline is None:
            ns = opencv_baseline(self.val_batch, "ns")
            self._baseline = {f"val/ns_{k}": v for k, v in mean_metrics(gt, ns, holes).items()}
        return {**result, **self._baseline}

    def save_samples(self, path: str | Path | None = None) -> Path:
        """PNG grid, one row per validation image: masked input | output | ground truth."""
        gt = from_model_range(self.val_batch.images)
        holes = self.val_batch.holes[..., 0] > 0.5
        out = self.predict(self.val_batch)
        masked = np.where(holes[..., None], np.uint8(255), gt)
        grid = tile_grid([[m, o, g] for m, o, g in zip(masked, out, gt, strict=True)])
        path = Path(path) if path else self.run_dir / "samples" / f"step-{self.step:08d}.png"
        return write_image(path, grid, overwrite=True)

    # -- logging ------------------------------------------------------------------------------
    def _log_scalars(self, values: dict[str, float]) -> None:
        with open(self.run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": self.step, **values}) + "\n")
        try:
            import tensorflow as tf
        except ImportError:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(str(self.run_dir / "tensorboard"))
        with self._writer.as_default(step=self.step):
            for k, v in values.items():
                tf.summary.scalar(k, v)
        self._writer.flush()

    def export_generator(self, path: str | Path | None = None) -> Path:
        """The generator as ``.keras`` with model metadata (gf, recipe hash...); its resolution is
        the config's ``model_resolution``, which exports inherit unless given ``--resolution``."""
        cfg = self.config
        meta = ModelMetadata(resolution=cfg.model_resolution, gf=cfg.gf,
                             mask_channel=cfg.mask_channel or cfg.prefill, prefill=cfg.prefill,
                             config_hash=cfg.recipe_hash(),
                             training_steps=self.init_steps + self.step)
        return save_generator(self.inference_generator, path or self.run_dir / "generator.keras", meta)

    def _keep_best(self, scores: dict[str, float], key: str = "val/psnr_hole") -> Path | None:
        """Export the generator to ``best/generator.keras`` when ``key`` beats every earlier
        validation of this run (``best.json`` remembers it across restarts). GAN training is
        noisy step to step; rolling checkpoints alone would lose a better earlier model."""
        if key not in scores:
            return None
        record = self.run_dir / "best.json"
        best = json.loads(record.read_text())["scores"][key] if record.is_file() else float("-inf")
        if scores[key] <= best:
            return None
        path = self.export_generator(self.run_dir / "best" / "generator.keras")
        atomic_write_text(record, json.dumps({"step": self.step, "key": key, "scores": scores},
                                             indent=1) + "\n")
        log.info("new best %s = %.3f at step %d: %s", key, scores[key], self.step, path)
        return path

    # -- the loop -----------------------------------------------------------------------------
    def fit(self, steps: int | None = None, *, progress: bool = True) -> dict[str, float]:
        """Train until ``steps`` total steps (default: the config's).

        Ctrl-C (SIGINT) or SIGTERM lets the current step finish, with its validation and
        samples, then saves a checkpoint and returns: the checkpoint is a state an uninterrupted
        run passes through, so a resume continues bit for bit. A second signal stops at once;
        a step cut off halfway is then dropped (nothing is saved, the last checkpoint stays)."""
        from tqdm.auto import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        cfg = self.config
        end = steps if steps is not None else cfg.steps
        last: dict[str, float] = {}
        if self.step >= end:
            return last
        stop = _StopRequest()
        previous = stop.install()
        bar = tqdm(total=end, initial=self.step, disable=not progress, unit="step",
                   desc="training", dynamic_ncols=True)
        saved_at = -1
        try:
            # Log lines go above the bar instead of into it (tqdm.write for the root logger's
            # console handlers, restored afterwards).
            with logging_redirect_tqdm(tqdm_class=tqdm) if progress else contextlib.nullcontext():
                self._log_known_tf_messages()
                if keras_backend() == "tensorflow":
                    ds = self.train_data.tf_dataset(self.step, end)
                    batches = (Batch(*(t.numpy() for t in item)) for item in ds)
                else:
                    batches = self.train_data.batches(self.step, end)
                for batch in batches:
                    last = self.train_step(batch)
                    bar.update(1)
                    bar.set_postfix(g=f"{last['g_total']:.3g}", d=f"{last.get('d_total', 0.0):.3g}")
                    if self.step % cfg.log_every == 0:
                        self._log_scalars(last)
                    if self.step % cfg.val_every == 0 or self.step == end:
                        scores = self.validate()
                        self._log_scalars(scores)
                        log.info("step %d: %s", self.step,
                                 ", ".join(f"{k}={v:.3f}" for k, v in scores.items() if "hole" in k))
                        self._keep_best(scores)
                    if self.step % cfg.sample_every == 0 or self.step == end:
                        self.save_samples()
                    if self.step % cfg.checkpoint_every == 0 or self.step == end:
                        self.save()
                        saved_at = self.step
                    if stop.signal is not None:
                        log.warning("%s: stopped after step %d", stop.signal, self.step)
                        break
        except KeyboardInterrupt:
            if self.partial_step:
                log.warning("interrupted inside step %d: its partial update is dropped and nothing "
                            "is saved; a resume continues from the last checkpoint", self.step + 1)
                return last
            log.warning("interrupted at step %d", self.step)
        finally:
            bar.close()
            stop.restore(previous)
        if saved_at != self.step:
            self.save()
        self.export_generator()
        return last

    def _log_known_tf_messages(self) -> None:
        """Say what TensorFlow's one alarming-looking but harmless message means, once per run.

        Grappler's remapper tries to fuse the critic's Conv2D+BiasAdd+LeakyRelu, finds that the
        gradient needs the unfused BiasAdd, and prints an ERROR line; the meta-optimiser then
        keeps that graph as it was before the remapper pass (unfused, same numbers). TensorFlow
        has no knob for one message: TF_CPP_MIN_LOG_LEVEL=3 would hide every real error with it,
        so it is explained instead."""
        if keras_backend() == "tensorflow" and self.config.adv_weight > 0:
            log.info("TensorFlow may print 'remapper failed: ... LeakyReluGrad ... missing node' "
                     "while compiling the critic step: a harmless graph-optimiser notice (the "
                     "critic graph runs without that fusion), not a training error")


class _StopRequest:
    """SIGINT/SIGTERM handler that asks the training loop to stop after the current step.

    A second signal raises KeyboardInterrupt at once (for a step that hangs)."""

    _SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signal: str | None = None

    def __call__(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.signal is not None:
            raise KeyboardInterrupt(name)
        self.signal = name
        log.warning("%s: finishing the current step, then saving a checkpoint (send it again to "
                    "stop at once without saving)", name)

    def install(self) -> dict[int, Any] | None:
        """Install for SIGINT and SIGTERM; the previous handlers, or ``None`` off the main thread
        (where Python delivers no signals anyway)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        previous = {s: signal.getsignal(s) for s in self._SIGNALS}
        for s in self._SIGNALS:
            signal.signal(s, self)
        return previous

    @staticmethod
    def restore(previous: dict[int, Any] | None) -> None:
        for s, handler in (previous or {}).items():
            signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def keras_backend() -> str:
    import keras

    return keras.backend.backend()

