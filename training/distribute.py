"""Training on several GPUs or machines with ``tf.distribute`` (TensorFlow backend only).

``--distribute mirrored`` runs one replica per local GPU (``MirroredStrategy``);
``--distribute multi-worker`` runs one process per machine, described by ``TF_CONFIG``
(``MultiWorkerMirroredStrategy``, collective all-reduce). In both, the configured ``batch_size``
is the global batch: batch ``k`` is still the pure function of ``(seed, k)`` of
:mod:`.data`; worker ``w`` of ``W`` makes only its contiguous slice of it (samples
``w*B/W ... (w+1)*B/W - 1``), which its local replicas split again. Every replica runs the same
generator and critic steps (:func:`.steps.make_steps` with ``global_batch_size``): each loss is
a mean over the replica's examples, weighted by local/global batch size, and the optimisers sum
the replicas' gradients, so a step equals the single-device step on the whole batch up to the
terms that are not plain per-example means (the hole-normalised L1 divides by each replica's own
hole area). BatchNorm layers in training mode use the global batch's statistics (Keras's
``synchronized=True``, an all-reduce per layer): with per-replica statistics a replica of 2
examples normalises differently from the single device's 4, and the critic's scores drift.

Checkpoints hold plain variable values, so a run can resume with another number of replicas
(the global batch must stay divisible by it). Only the chief (worker 0) writes: checkpoints,
samples, metrics, exports and the run files that the model card reads. Every worker reads the
run folder (checkpoints to resume from), so multi-machine runs need it on a shared file system.

Keras's torch backend cannot use any of this: ``tf.distribute`` drives TensorFlow variables and
``keras.distribution`` covers JAX only, so with ``KERAS_BACKEND=torch`` training stays on one
device (``--distribute none``).
"""

from __future__ import annotations

import copy
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rmnet_sdk.errors import BackendUnavailableError, InvalidInputError

from .config import TrainConfig
from .train import Trainer, keras_backend

log = logging.getLogger("rmnet_sdk.training")

MODES = ("none", "mirrored", "multi-worker")


@dataclass
class Distribution:
    """A strategy and where this process sits in it."""

    mode: str
    strategy: Any
    worker_index: int = 0
    num_workers: int = 1

    @property
    def num_replicas(self) -> int:
        return int(self.strategy.num_replicas_in_sync)

    @property
    def local_replicas(self) -> int:
        return self.num_replicas // self.num_workers

    @property
    def is_chief(self) -> bool:
        return self.worker_index == 0

    def describe(self) -> str:
        return (f"{self.mode}: {self.num_replicas} replica(s) on {self.num_workers} worker(s), "
                f"this is worker {self.worker_index}{' (chief)' if self.is_chief else ''}")


def _worker_rank(tf_config: dict[str, Any]) -> tuple[int, int]:
    """(rank, count) of this task among the cluster's chief + workers, chief first."""
    cluster = tf_config.get("cluster", {})
    task = tf_config.get("task", {})
    order = [("chief", i) for i in range(len(cluster.get("chief", [])))]
    order += [("worker", i) for i in range(len(cluster.get("worker", [])))]
    me = (task.get("type"), int(task.get("index", 0)))
    if me not in order:
        raise InvalidInputError(f"TF_CONFIG task {task} is not a chief or worker of its cluster "
                                f"{sorted(cluster)}")
    return order.index(me), len(order)


def make_distribution(mode: str = "none", *, devices: list[str] | None = None) -> Distribution:
    """The strategy for ``mode``. ``devices`` (mirrored only) defaults to every local GPU."""
    if mode not in MODES:
        raise InvalidInputError(f"--distribute must be one of {list(MODES)}, got {mode!r}")
    if mode != "none" and keras_backend() != "tensorflow":
        raise BackendUnavailableError(
            f"--distribute {mode} needs the TensorFlow backend (tf.distribute); Keras's "
            f"{keras_backend()} backend trains on one device only (--distribute none)")
    import tensorflow as tf

    if mode == "none":
        return Distribution(mode, tf.distribute.get_strategy())
    if mode == "mirrored":
        if devices is None and not tf.config.list_physical_devices("GPU"):
            log.warning("--distribute mirrored without GPUs: one replica on the CPU")
        return Distribution(mode, tf.distribute.MirroredStrategy(devices=devices))
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise InvalidInputError("--distribute multi-worker needs TF_CONFIG (the cluster and this "
                                "process's task); see README, Scaling out")
    try:
        tf_config = json.loads(raw)
    except ValueError as e:
        raise InvalidInputError(f"TF_CONFIG is not JSON: {e}") from e
    rank, count = _worker_rank(tf_config)
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    return Distribution(mode, strategy, worker_index=rank, num_workers=count)


def worker_shard(data: Any, config: TrainConfig, dist: Distribution) -> Any:
    """``data`` restricted to this worker's slice of every global batch (see module docstring)."""
    if dist.num_workers == 1:
        return data
    per_worker = config.batch_size // dist.num_workers
    shard = copy.copy(data)
    shard.config = data.config.replace(batch_size=per_worker)
    shard.first_sample = dist.worker_index * per_worker
    return shard


def distribute_steps(dist: Distribution, generator_step, critic_step):
    """Step functions with :class:`.train.Trainer`'s signatures that take this worker's part of
    the batch, split it among the local replicas, run the steps on every replica and return the
    loss terms averaged over replicas (``fake`` stays per replica, for the critic)."""
    import tensorflow as tf

    strategy = dist.strategy
    local = dist.local_replicas
    mean = tf.distribute.ReduceOp.MEAN

    def split(tensor):
        n = int(tensor.shape[0]) // local

        def part(ctx):
            i = ctx.replica_id_in_sync_group % local
            return tensor[i * n:(i + 1) * n]

        return strategy.experimental_distribute_values_from_function(part)

    @tf.function
    def run_generator(images, holes):
        terms = strategy.run(generator_step, args=(images, holes))
        fake = terms.pop("fake")
        return {k: strategy.reduce(mean, v, axis=None) for k, v in terms.items()}, fake

    @tf.function
    def run_critic(images, fake, noise):
        terms = strategy.run(critic_step, args=(images, fake, noise))
        return {k: strategy.reduce(mean, v, axis=None) for k, v in terms.items()}

    def generator(images, holes):
        terms, fake = run_generator(split(images), split(holes))
        return {**terms, "fake": fake}

    def critic(images, fake, noise):
        return run_critic(split(images), fake, split(noise))

    return generator, critic


def _synchronize_batchnorm(models: list[Any]) -> list[Any]:
    """Turn on cross-replica batch statistics in the models' BatchNorm layers (read at call time,
    so before the steps are traced); returns the layers."""
    import keras

    layers = [layer for m in models for layer in m.layers
              if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in layers:
        layer.synchronized = True
    return layers


class DistributedTrainer(Trainer):
    """A :class:`.train.Trainer` whose networks and optimisers live in a ``tf.distribute``
    strategy; only the chief writes to the run folder."""

    def __init__(self, config: TrainConfig, run_dir: str | Path, *, distribution: Distribution,
                 resume: bool = True) -> None:
        from .steps import make_steps

        self.distribution = dist = distribution
        if config.batch_size % dist.num_replicas:
            raise InvalidInputError(
                f"batch_size {config.batch_size} (the global batch) must be divisible by the "
                f"{dist.num_replicas} replicas of --distribute {dist.mode}")
        log.info("distributed training, %s; %d example(s) per replica", dist.describe(),
                 config.batch_size // dist.num_replicas)
        with dist.strategy.scope():
            super().__init__(config, run_dir, resume=resume)
            steps = make_steps(self.config, self.G, self.D, self.vgg, self.g_opt, self.d_opt,
                               global_batch_size=self.config.batch_size)
        self.synchronized_bn = _synchronize_batchnorm([self.G, self.D])
        self.generator_step, self.critic_step = distribute_steps(dist, *steps)
        self.train_data = worker_shard(self.train_data, self.config, dist)

    # -- only the chief writes ------------------------------------------------------------------
    def _write_run_files(self) -> None:
        if self.distribution.is_chief:
            super()._write_run_files()

    def _record_config_change(self) -> None:
        if self.distribution.is_chief:
            super()._record_config_change()

    def save(self) -> Path | None:
        return super().save() if self.distribution.is_chief else None

    def save_samples(self, path: str | Path | None = None) -> Path | None:
        return super().save_samples(path) if self.distribution.is_chief else None

    def _log_scalars(self, values: dict[str, float]) -> None:
        if self.distribution.is_chief:
            super()._log_scalars(values)

    def _keep_best(self, scores: dict[str, float], key: str = "val/psnr_hole") -> Path | None:
        return super()._keep_best(scores, key) if self.distribution.is_chief else None

    def export_generator(self, path: str | Path | None = None) -> Path | None:
        if not self.distribution.is_chief:
            return None
        # exported models carry no training-only setting (synchronized BN is TensorFlow-only)
        for layer in self.synchronized_bn:
            layer.synchronized = False
        try:
            return super().export_generator(path)
        finally:
            for layer in self.synchronized_bn:
                layer.synchronized = True

    def weights_checksum(self) -> float:
        """Sum of |w| over the generator and critic: equal on every worker of a healthy run."""
        return float(sum(np.abs(np.asarray(v)).astype(np.float64).sum()
                         for v in [*self.G.weights, *self.D.weights]))

    def fit(self, steps: int | None = None, *, progress: bool = True) -> dict[str, float]:
        last = super().fit(steps, progress=progress)
        log.info("worker %d/%d finished at step %d, weights checksum %.10e",
                 self.distribution.worker_index, self.distribution.num_workers, self.step,
                 self.weights_checksum())
        return last


def make_trainer(config: TrainConfig, run_dir: str | Path, *, distribute: str = "none",
                 resume: bool = True, devices: list[str] | None = None) -> Trainer:
    """A plain :class:`.train.Trainer` for ``none``, else a :class:`DistributedTrainer`."""
    if distribute == "none":
        return Trainer(config, run_dir, resume=resume)
    return DistributedTrainer(config, run_dir, resume=resume,
                              distribution=make_distribution(distribute, devices=devices))


__all__ = ["MODES", "Distribution", "DistributedTrainer", "distribute_steps", "make_distribution",
           "make_trainer", "worker_shard"]
