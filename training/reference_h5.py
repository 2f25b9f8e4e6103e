"""Reading the reference implementation's Keras 2 HDF5 checkpoints with ``h5py`` alone.

A Keras 2 HDF5 group lists its layers in the attribute ``layer_names`` (the model's layer order)
and each layer group lists ``weight_names`` such as ``enc_conv_1/kernel:0``. A nested model (the
generator inside the GAN) is one layer whose weight names carry the inner layer names; the
generator is the model that holds ``enc_conv_1``. What is read stays in Keras 2 layout
(:class:`ReferenceCheckpoint`); :mod:`rmnet_sdk.training.reference` maps it onto our generator.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from rmnet_sdk.errors import ModelError, ModelNotFoundError

#: ``IMG_HEIGHT``/``IMG_WIDTH`` of the reference's ``config/config.ini`` (training and testing).
REFERENCE_RESOLUTION = 256
#: Keras 2's BatchNormalization default, used when the file does not say.
KERAS2_BN_EPSILON = 1e-3

ENCODER_CONVS = tuple(f"enc_conv_{i}" for i in range(1, 6))
DECODER_CONVS = tuple(f"upsample_conv_{i}" for i in range(1, 5))
OUTPUT_CONV = "final_output"
_BN_VARS = ("gamma", "beta", "moving_mean", "moving_variance")
_CONV_VARS = ("kernel", "bias")


def reference_shapes(gf: int) -> dict[str, dict[str, tuple[int, ...]]]:
    """Weight shapes of the reference generator of width ``gf``, as Keras 2 stores them
    (``Conv2D``: ``(kh, kw, in, out)``; ``Conv2DTranspose``: ``(kh, kw, out, in)``)."""
    enc = (3, gf, gf, 2 * gf, 4 * gf, 8 * gf)
    dec = (8 * gf, 8 * gf, 4 * gf, 2 * gf, gf)
    shapes = {name: {"kernel": (5, 5, enc[i], enc[i + 1]), "bias": (enc[i + 1],)}
              for i, name in enumerate(ENCODER_CONVS)}
    shapes.update({name: {"kernel": (3, 3, dec[i + 1], dec[i]), "bias": (dec[i + 1],)}
                   for i, name in enumerate(DECODER_CONVS)})
    shapes[OUTPUT_CONV] = {"kernel": (3, 3, 3, gf), "bias": (3,)}
    return shapes


def reference_batchnorm_widths(gf: int) -> tuple[int, ...]:
    """Channels of the eight BatchNorm layers in model order: encoder blocks 1-4, decoder 1-4."""
    return (gf, gf, 2 * gf, 4 * gf, 8 * gf, 4 * gf, 2 * gf, gf)


@dataclasses.dataclass(frozen=True)
class ReferenceCheckpoint:
    """The generator weights found in a reference ``.h5`` file, still in Keras 2 layout."""

    path: Path
    layout: str                                   # "weights-only" | "whole-model"
    nested_in: str                                # "" or the layer name of the nested generator
    gf: int
    convs: dict[str, dict[str, np.ndarray]]       # layer -> {"kernel", "bias"}
    batchnorms: list[tuple[str, dict[str, np.ndarray]]]  # model order
    keras_version: str = ""
    resolution: int | None = None                 # from a whole-model file's input shape
    bn_epsilons: tuple[float, ...] | None = None  # from a whole-model file's config


# -- reading -------------------------------------------------------------------------------------

def _strings(obj: Any, name: str) -> list[str]:
    """An attribute holding a list of names (Keras 2 splits long lists into ``name0``, ...)."""
    if name in obj.attrs:
        chunks = [obj.attrs[name]]
    else:
        chunks, i = [], 0
        while f"{name}{i}" in obj.attrs:
            chunks.append(obj.attrs[f"{name}{i}"])
            i += 1
    return [v.decode("utf8") if isinstance(v, bytes) else str(v)
            for chunk in chunks for v in np.atleast_1d(chunk)]


def _attr_text(obj: Any, name: str) -> str:
    value = obj.attrs.get(name, "")
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _scope(weight_name: str, layer_name: str) -> str:
    parts = weight_name.split("/")
    return parts[-2] if len(parts) >= 2 else layer_name


def _unnumbered(scope: str) -> str:
    """``enc_conv_1_1`` -> ``enc_conv_1``: TF 1's numbering of a reused scope, undone for the
    reference's named layers only (automatic names such as ``batch_normalization_4`` stay)."""
    base = scope.rsplit("_", 1)[0]
    named = ENCODER_CONVS + DECODER_CONVS + (OUTPUT_CONV,)
    return base if scope not in named and base in named and scope[len(base) + 1:].isdigit() \
        else scope


def _read_layers(path: Path, group: Any) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """``{model: {layer: {var: array}}}`` in file order; ``""`` is the file's own model, any
    other key a nested model (a layer whose weights belong to inner layers)."""
    models: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for layer_name in _strings(group, "layer_names"):
        if layer_name not in group:
            raise ModelError(f"{path}: layer {layer_name!r} is listed but has no group (corrupt "
                             "or truncated file)")
        layer_group = group[layer_name]
        weight_names = _strings(layer_group, "weight_names")
        # a layer's weights share one variable scope (TF 1 may have numbered it: a second
        # model built in one session writes enc_conv_1_1/kernel:0 under enc_conv_1); a nested
        # model's carry the names of its inner layers
        scopes = {_scope(w, layer_name) for w in weight_names}
        nested = len(scopes) > 1
        for weight_name in weight_names:
            if weight_name not in layer_group:
                raise ModelError(f"{path}: weight {layer_name}/{weight_name} is listed but "
                                 "missing (corrupt or truncated file)")
            var = weight_name.split("/")[-1].split(":")[0]
            inner = _unnumbered(_scope(weight_name, layer_name)) if nested else layer_name
            owner = layer_name if nested else ""
            try:
                value = np.asarray(layer_group[weight_name][()], dtype=np.float32)
            except (OSError, ValueError, TypeError) as e:
                raise ModelError(f"{path}: cannot read {layer_name}/{weight_name}: {e}") from e
            models.setdefault(owner, {}).setdefault(inner, {})[var] = value
    return models


def _describe(layers: dict[str, dict[str, np.ndarray]], limit: int = 12) -> str:
    items = [f"{name} ({', '.join(f'{v} {tuple(a.shape)}' for v, a in vars_.items())})"
             for name, vars_ in layers.items()]
    more = f", ... ({len(items) - limit} more)" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


def _find_model_config(config: Any) -> dict[str, Any] | None:
    """The config of the model holding ``enc_conv_1`` (the file's model or a nested one)."""
    if isinstance(config, dict):
        inner = config.get("config")
        if isinstance(inner, dict) and isinstance(inner.get("layers"), list):
            if any(layer.get("name") == ENCODER_CONVS[0] for layer in inner["layers"]
                   if isinstance(layer, dict)):
                return inner
            for layer in inner["layers"]:
                found = _find_model_config(layer)
                if found is not None:
                    return found
    return None


def _check_config(path: Path, config: dict[str, Any]) -> tuple[int | None, tuple[float, ...]]:
    """Resolution and BatchNorm epsilons from a whole-model file's config; refuse layers whose
    class differs from the reference's where the weights alone cannot tell."""
    resolution = None
    epsilons = []
    for layer in config["layers"]:
        cls, cfg = layer.get("class_name"), layer.get("config", {})
        if cls == "InputLayer":
            shape = cfg.get("batch_input_shape") or cfg.get("batch_shape") or []
            if len(shape) == 4 and shape[1] and shape[1] == shape[2]:
                resolution = int(shape[1])
        elif cls == "BatchNormalization":
            epsilons.append(float(cfg.get("epsilon", KERAS2_BN_EPSILON)))
            if not cfg.get("center", True) or not cfg.get("scale", True):
                raise ModelError(f"{path}: BatchNorm {layer.get('name')} has no beta or gamma; "
                                 "the reference generator has both")
        elif cls == "UpSampling2D" and cfg.get("interpolation", "nearest") != "bilinear":
            raise ModelError(f"{path}: {layer.get('name')} upsamples with "
                             f"{cfg.get('interpolation', 'nearest')!r}; the reference generator "
                             "uses 'bilinear'")
        name = layer.get("name")
        if name in DECODER_CONVS + (OUTPUT_CONV,) and cls != "Conv2DTranspose":
            raise ModelError(f"{path}: {name} is a {cls}; the reference generator has a "
                             "Conv2DTranspose there")
    return resolution, tuple(epsilons)


def read_reference_checkpoint(path: str | Path) -> ReferenceCheckpoint:
    """Find and check the reference generator's weights in a Keras 2 ``.h5`` file.

    Raises :class:`ModelNotFoundError` for a missing file and :class:`ModelError` for a file that
    is not HDF5, not a Keras 2 weights layout, not an R-MNet generator, or whose shapes differ
    from the reference architecture's; the message says what was found.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"reference checkpoint not found: {path}")
    if not h5py.is_hdf5(path):
        raise ModelError(f"{path} is not an HDF5 file: expected a Keras 2 .h5 checkpoint of the "
                         "reference implementation (generator.save_weights or model.save)")
    try:
        with h5py.File(path, "r") as f:
            layout = "whole-model" if "model_weights" in f else "weights-only"
            group = f["model_weights"] if layout == "whole-model" else f
            if not _strings(group, "layer_names"):
                raise ModelError(
                    f"{path} is HDF5 but not in the Keras 2 weights layout (no 'layer_names' "
                    f"attribute; top-level entries: {sorted(f.keys())[:12]}). A Keras 3 "
                    "'.weights.h5' or '.keras' file is not a reference checkpoint")
            keras_version = _attr_text(group, "keras_version") or _attr_text(f, "keras_version")
            models = _read_layers(path, group)
            config_text = _attr_text(f, "model_config")
    except (OSError, KeyError) as e:
        raise ModelError(f"cannot read {path} as HDF5: {e}") from e

    holders = [owner for owner, layers in models.items() if ENCODER_CONVS[0] in layers]
    if not holders:
        found = "; ".join(f"{owner or 'model'}: {_describe(layers)}"
                          for owner, layers in models.items()) or "no weights at all"
        raise ModelError(f"{path} is not an R-MNet generator checkpoint: no layer "
                         f"{ENCODER_CONVS[0]!r}. Found {found}")
    if len(holders) > 1:
        raise ModelError(f"{path} holds several generators ({holders}); save one generator")
    owner = holders[0]
    layers = models[owner]

    kernel = layers[ENCODER_CONVS[0]].get("kernel")
    if kernel is None or kernel.ndim != 4 or kernel.shape[:3] != (5, 5, 3):
        shape = None if kernel is None else tuple(kernel.shape)
        hint = " (4 input channels: a mask-channel variant, not the reference)" \
            if shape is not None and len(shape) == 4 and shape[2] == 4 else ""
        raise ModelError(f"{path}: {ENCODER_CONVS[0]}/kernel has shape {shape}, expected "
                         f"(5, 5, 3, gf){hint}")
    gf = int(kernel.shape[3])
    expected = reference_shapes(gf)

    missing = [name for name in expected if name not in layers]
    problems = []
    for name, vars_ in expected.items():
        if name in missing:
            continue
        for var, shape in vars_.items():
            got = layers[name].get(var)
            if got is None:
                problems.append(f"{name}/{var} missing")
            elif tuple(got.shape) != shape:
                problems.append(f"{name}/{var} {tuple(got.shape)} != {shape}")
    batchnorms = [(name, vars_) for name, vars_ in layers.items() if set(vars_) == set(_BN_VARS)]
    unexpected = [name for name in layers if name not in expected
                  and name not in dict(batchnorms)]
    if missing:
        raise ModelError(f"{path}: the reference generator's layers {missing} are missing "
                         f"(gf={gf} from {ENCODER_CONVS[0]}). Found {_describe(layers)}")
    if unexpected:
        raise ModelError(f"{path}: layers the reference generator does not have: "
                         f"{_describe({n: layers[n] for n in unexpected})}")
    widths = reference_batchnorm_widths(gf)
    found_widths = tuple(int(v["gamma"].shape[0]) if v["gamma"].ndim == 1 else -1
                         for _, v in batchnorms)
    if found_widths != widths:
        problems.append(f"BatchNorm widths in file order {found_widths} != {widths} "
                        f"({[n for n, _ in batchnorms]})")
    for name, vars_ in batchnorms:
        if {tuple(a.shape) for a in vars_.values()} != {(int(vars_["gamma"].shape[0]),)}:
            problems.append(f"{name}: BatchNorm variables of different shapes")
    if problems:
        raise ModelError(f"{path} does not match the reference generator (gf={gf}): "
                         + "; ".join(problems))
    bad = [f"{name}/{var}" for name, vars_ in layers.items() for var, a in vars_.items()
           if not np.isfinite(a).all()]
    if bad:
        raise ModelError(f"{path}: non-finite values in {bad[:6]}")

    resolution, epsilons = None, None
    if config_text:
        try:
            config = _find_model_config(json.loads(config_text))
        except json.JSONDecodeError as e:
            raise ModelError(f"{path}: model_config is not valid JSON: {e}") from e
        if config is not None:
            resolution, epsilons = _check_config(path, config)
            if epsilons is not None and len(epsilons) != len(batchnorms):
                epsilons = None
    return ReferenceCheckpoint(
        path=path, layout=layout, nested_in=owner, gf=gf,
        convs={name: layers[name] for name in expected}, batchnorms=batchnorms,
        keras_version=keras_version, resolution=resolution, bn_epsilons=epsilons)
