"""Helper process for tests/test_distribute.py (a script, not a test module).

``python tests/distributed_run.py trajectory DATA_DIR RUN_ROOT STEPS OUT.json``: in a fresh
process (logical devices must be configured before TensorFlow starts), train the "tiny" preset
for STEPS steps on one device and with MirroredStrategy over 2 logical CPU devices, from the same
initial weights and batches, and write both loss trajectories to OUT.json.
"""

from __future__ import annotations

import json
import os
import sys


def trajectory(data_dir: str, run_root: str, steps: int, out: str) -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from rmnet_sdk.training import preset
    from rmnet_sdk.training.distribute import make_trainer

    cfg = preset("tiny", data_dir=data_dir, critic_constraint="gp", ema_decay=0.9)
    result = {}
    for mode, devices in (("none", None), ("mirrored", ["/cpu:0", "/cpu:1"])):
        trainer = make_trainer(cfg, os.path.join(run_root, mode), distribute=mode, devices=devices)
        # Dropout masks are random per call and per replica shape: no two runs can share them.
        for model in (trainer.G, trainer.D):
            for layer in model.layers:
                if isinstance(layer, keras.layers.Dropout):
                    layer.rate = 0.0
        losses = [trainer.train_step(trainer.train_data.batch(trainer.step)) for _ in range(steps)]
        result[mode] = {"losses": losses, "replicas": int(tf.distribute.get_strategy().num_replicas_in_sync)
                        if mode == "none" else trainer.distribution.num_replicas}
    result["gradients"] = gradient_difference()
    with open(out, "w") as f:
        json.dump(result, f)


def gradient_difference() -> dict[str, float]:
    """Gradient of the mean loss over a batch of 8 on one device, versus the sum over 2 replicas
    of 4 of the gradients of :func:`replica_share` (the sum is what Keras's optimiser applies
    under tf.distribute). Returns the largest difference; a missing or wrong scale shows as a
    difference of the size of the gradient itself (also returned)."""
    import keras
    import numpy as np
    import tensorflow as tf

    from rmnet_sdk.training.steps import replica_share

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(8, 5)).astype("float32"))
    y = tf.constant(rng.normal(size=(8, 1)).astype("float32"))
    keras.utils.set_random_seed(1)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="tanh"),
                              keras.layers.Dense(1)])

    def grads(xb, yb, global_batch):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(xb) - yb))
            share = replica_share(loss, xb, global_batch)
        return tape.gradient(share, model.trainable_variables)

    single = grads(x, y, None)
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])

    def part(t):
        return strategy.experimental_distribute_values_from_function(
            lambda ctx: t[ctx.replica_id_in_sync_group * 4:(ctx.replica_id_in_sync_group + 1) * 4])

    per_replica = strategy.run(grads, args=(part(x), part(y), 8))
    summed = [strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None) for g in per_replica]
    return {"max_diff": float(max(np.abs(a.numpy() - b.numpy()).max()
                                  for a, b in zip(single, summed, strict=True))),
            "max_grad": float(max(np.abs(a.numpy()).max() for a in single))}

if __name__ == "__main__":
    if sys.argv[1] == "trajectory":
        trajectory(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        raise SystemExit(f"unknown command {sys.argv[1]!r}")
