"""One critic step and one generator step, per Keras backend.

The loss arithmetic is shared (``keras.ops``); only "take gradients" differs between TensorFlow
(``GradientTape`` inside ``tf.function``) and PyTorch (``autograd``), so the same model trains on
a CPU machine with TensorFlow and on a GPU machine that only has PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
from keras import ops

from .config import TrainConfig
from .features import feature_preprocess
from .losses import (
    adversarial_generator_loss,
    hole_ssim_loss,
    masked_l1,
    perceptual_and_reverse_mask_losses,
    wasserstein_critic_loss,
)
from .model import clip_weights, composite

StepFn = Callable[[Any, Any, Any], dict[str, Any]]


def generator_losses(cfg: TrainConfig, G: keras.Model, D: keras.Model, vgg: keras.Model | None,
                     images: Any, holes: Any) -> dict[str, Any]:
    """All generator loss terms for one batch (``total`` is what is minimised)."""
    pred = G([images, holes], training=True)
    out = composite(images, pred, holes)
    zero = ops.convert_to_tensor(0.0)
    if vgg is not None and cfg.perceptual_weight > 0:
        l_p, l_rm = perceptual_and_reverse_mask_losses(vgg, images, pred, holes,
                                                       feature_preprocess(cfg.feature_loss))
    else:
        l_p = l_rm = zero
    adv = adversarial_generator_loss(D(out, training=True)) if cfg.adv_weight > 0 else zero
    total = cfg.perceptual_weight * ((1.0 - cfg.lambda_rm) * l_p + cfg.lambda_rm * l_rm)
    total = total + cfg.adv_weight * adv
    l1_hole = masked_l1(pred, images, holes)
    l1_valid = masked_l1(pred, images, 1.0 - holes)
    if cfg.l1_hole_weight:
        total = total + cfg.l1_hole_weight * l1_hole
    if cfg.l1_valid_weight:
        total = total + cfg.l1_valid_weight * l1_valid
    terms = {}
    if cfg.ssim_weight:  # only when used: the extra blurs are not free
        terms["g_ssim_hole"] = hole_ssim_loss(images, out, holes)
        total = total + cfg.ssim_weight * terms["g_ssim_hole"]
    return {"g_total": total, "g_perceptual": l_p, "g_reverse_mask": l_rm, "g_adversarial": adv,
            "g_l1_hole": l1_hole, "g_l1_valid": l1_valid, **terms, "fake": ops.stop_gradient(out)}


def make_steps(cfg: TrainConfig, G: keras.Model, D: keras.Model, vgg: keras.Model | None,
               g_opt: keras.optimizers.Optimizer, d_opt: keras.optimizers.Optimizer, *,
               global_batch_size: int | None = None) -> tuple[StepFn, StepFn]:
    """``(generator_step, critic_step)`` for the active Keras backend.

    ``generator_step(images, holes)`` returns its loss terms and ``fake`` (the composite
    ``I_out``, gradient stopped); ``critic_step(images, fake, noise)`` trains the critic on it.
    Reusing the generator's forward pass for the critic makes the WGAN part nearly free (the
    critic is ~5 % of the generator's cost), which matters for CPU training.

    ``global_batch_size``: set when the steps run on every replica of a ``tf.distribute``
    strategy (:mod:`.distribute`), each on its share of the batch.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tf_steps(cfg, G, D, vgg, g_opt, d_opt, global_batch_size)
    if backend == "torch":
        return _torch_steps(cfg, G, D, vgg, g_opt, d_opt)
    raise NotImplementedError(f"training supports the tensorflow and torch backends, not {backend}")


def replica_share(loss: Any, images: Any, global_batch_size: int | None) -> Any:
    """The part of the global-batch loss one replica differentiates (TensorFlow).

    Keras's optimiser sums the replicas' gradients, and each loss here is a mean over the
    replica's examples, so it counts with weight local/global batch
    (``tf.nn.compute_average_loss`` over the replica's examples); with one replica holding the
    whole batch (``global_batch_size`` None) this is the loss itself."""
    if global_batch_size is None:
        return loss
    import tensorflow as tf

    per_example = tf.fill(tf.shape(images)[:1], loss)
    return tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)


def _tf_steps(cfg, G, D, vgg, g_opt, d_opt, global_batch_size=None):
    import tensorflow as tf

    @tf.function
    def critic_step(images, fake, noise):
        with tf.GradientTape() as tape:
            loss = wasserstein_critic_loss(D(images, training=True), D(fake, training=True))
            terms = {"d_wasserstein": loss}
            if cfg.critic_constraint == "gp":
                inter = noise * images + (1.0 - noise) * fake
                with tf.GradientTape() as gp_tape:
                    gp_tape.watch(inter)
                    scores = D(inter, training=True)
                grad = gp_tape.gradient(scores, inter)
                norm = tf.sqrt(tf.reduce_sum(tf.square(grad), axis=[1, 2, 3]) + 1e-12)
                gp = tf.reduce_mean(tf.square(norm - 1.0))
                terms["d_gradient_penalty"] = gp
                loss = loss + cfg.gp_weight * gp
            share = replica_share(loss, images, global_batch_size)
        grads = tape.gradient(share, D.trainable_variables)
        d_opt.apply(grads, D.trainable_variables)
        if cfg.critic_constraint == "clip":
            clip_weights(D, cfg.clip_value)
        return {"d_total": loss, **terms}

    @tf.function
    def generator_step(images, holes):
        with tf.GradientTape() as tape:
            terms = generator_losses(cfg, G, D, vgg, images, holes)
            share = replica_share(terms["g_total"], images, global_batch_size)
        grads = tape.gradient(share, G.trainable_variables)
        g_opt.apply(grads, G.trainable_variables)
        return terms

    return generator_step, critic_step


def _torch_steps(cfg, G, D, vgg, g_opt, d_opt):
    import torch

    def _apply(opt, model, loss):
        model.zero_grad()
        loss.backward()
        variables = model.trainable_variables
        grads = [v.value.grad for v in variables]
        with torch.no_grad():
            opt.apply(grads, variables)

    def critic_step(images, fake, noise):
        loss = wasserstein_critic_loss(D(images, training=True), D(fake, training=True))
        terms = {"d_wasserstein": loss.detach()}
        if cfg.critic_constraint == "gp":
            inter = (noise * images + (1.0 - noise) * fake).detach().requires_grad_(True)
            scores = D(inter, training=True)
            (grad,) = torch.autograd.grad(scores.sum(), inter, create_graph=True)
            gp = ((grad.flatten(1).pow(2).sum(1) + 1e-12).sqrt() - 1.0).pow(2).mean()
            terms["d_gradient_penalty"] = gp.detach()
            loss = loss + cfg.gp_weight * gp
        _apply(d_opt, D, loss)
        if cfg.critic_constraint == "clip":
            with torch.no_grad():
                clip_weights(D, cfg.clip_value)
        return {"d_total": loss.detach(), **terms}

    def generator_step(images, holes):
        terms = generator_losses(cfg, G, D, vgg, images, holes)
        _apply(g_opt, G, terms["g_total"])
        D.zero_grad()
        return {k: v.detach() for k, v in terms.items()}

    return generator_step, critic_step
