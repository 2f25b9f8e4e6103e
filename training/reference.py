"""Import the reference implementation's Keras 2 checkpoints into our generator.

The authors' code (Jireh-Jam/R-MNet-Inpainting-keras, ``rmnet.py``, Keras 2.3 / TF 1.13) saves
its generator with ``save_weights`` after every epoch; a ``model.save`` file (of the generator,
or of the combined GAN that nests it) holds the same weights under ``model_weights``. Both are
read here with ``h5py`` alone, without Keras 2 or TF 1:

* **Layout.** A Keras 2 HDF5 group lists its layers in the attribute ``layer_names`` (the
  model's layer order) and each layer group lists ``weight_names`` such as
  ``enc_conv_1/kernel:0``. A nested model (the generator inside the GAN) is one layer whose
  weight names carry the inner layer names. The generator is the model that holds
  ``enc_conv_1``.
* **Mapping.** Named layers map by name (``enc_conv_1..5``, ``upsample_conv_1..4``,
  ``final_output``). The eight BatchNorm layers have automatic names whose numbers depend on
  what was built before, so they map by their order in ``layer_names`` -- the order Keras 2's own
  ``load_weights`` uses -- and their widths must follow the architecture's.
* **What differs from our graph, and what the import does about it.** The decoder's stride-1
  ``Conv2DTranspose`` kernels become ``Conv2D`` kernels (spatially flipped, in/out swapped: the
  same function). The reference's last encoder block has no BatchNorm: ours gets an identity one
  (``gamma=1, beta=0, mean=0, var=1-epsilon``). Keras 2's bilinear ``UpSampling2D`` has no
  half-pixel centres: the generator is built with ``upsampling="asymmetric"``, which computes
  exactly that. A BatchNorm epsilon other than ours (only knowable from a whole-model file) is
  folded into the moving variance.
* **Colour.** The reference reads images with OpenCV and never swaps channels in training, so its
  networks see **BGR**; our contract is RGB. By default the first convolution's input channels
  and the last one's output channels are reversed, which makes the imported model take and give
  RGB exactly (masking acts on each channel alike). ``channels="rgb"`` keeps them for a checkpoint
  trained on RGB. Range ([-1, 1], ``x/127.5-1``), mask polarity (1 = hole, masked inside the
  model) and resolution (256) already match our contract.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rmnet_sdk.errors import InvalidInputError, ModelError, ModelNotFoundError, RMNetError
from rmnet_sdk.metadata import ModelMetadata

log = logging.getLogger("rmnet_sdk.training")

REFERENCE_ORIGIN = "reference R-MNet (Jam et al.)"
#: ``IMG_HEIGHT``/``IMG_WIDTH`` of the reference's ``config/config.ini`` (training and testing).
REFERENCE_RESOLUTION = 256
#: Keras 2's BatchNormalization default, used when the file does not say.
KERAS2_BN_EPSILON = 1e-3
CHANNEL_ORDERS = ("bgr", "rgb")

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


# -- mapping -------------------------------------------------------------------------------------

def transpose_kernel_as_conv(kernel: np.ndarray) -> np.ndarray:
    """A stride-1 ``Conv2DTranspose`` kernel ``(kh, kw, out, in)`` as the ``Conv2D`` kernel
    ``(kh, kw, in, out)`` of the same function: spatially flipped, in/out swapped."""
    return np.ascontiguousarray(np.transpose(kernel[::-1, ::-1], (0, 1, 3, 2)))


def _batchnorm(vars_: dict[str, np.ndarray], eps_file: float,
               eps_ours: float) -> list[np.ndarray]:
    """``[gamma, beta, mean, variance]`` for our layer: ``variance + eps_ours`` equals the file's
    ``variance + eps_file``, the only place either appears in inference."""
    variance = vars_["moving_variance"] + np.float32(eps_file - eps_ours)
    return [vars_["gamma"], vars_["beta"], vars_["moving_mean"], variance.astype(np.float32)]


def generator_weights(ckpt: ReferenceCheckpoint, *, channels: str = "bgr",
                      bn_epsilon: float = KERAS2_BN_EPSILON) -> dict[str, list[np.ndarray]]:
    """Weights for our generator's layers (``build_generator(gf, upsampling="asymmetric")``),
    by layer name, in ``layer.set_weights`` order. ``bn_epsilon`` is our BatchNorm's."""
    if channels not in CHANNEL_ORDERS:
        raise InvalidInputError(f"channels must be one of {CHANNEL_ORDERS}, got {channels!r}")
    flip = channels == "bgr"
    eps = ckpt.bn_epsilons or (KERAS2_BN_EPSILON,) * len(ckpt.batchnorms)
    out: dict[str, list[np.ndarray]] = {}
    for i, name in enumerate(ENCODER_CONVS, start=1):
        kernel, bias = ckpt.convs[name]["kernel"], ckpt.convs[name]["bias"]
        if i == 1 and flip:
            kernel = kernel[:, :, ::-1, :]
        out[f"enc{i}_conv"] = [np.ascontiguousarray(kernel), bias]
    for i, (_, vars_) in enumerate(ckpt.batchnorms[:4], start=1):
        out[f"enc{i}_bn"] = _batchnorm(vars_, eps[i - 1], bn_epsilon)
    width = 8 * ckpt.gf
    out["enc5_bn"] = [np.ones(width, np.float32), np.zeros(width, np.float32),
                      np.zeros(width, np.float32),
                      np.full(width, np.float32(1.0) - np.float32(bn_epsilon), np.float32)]
    for i, name in enumerate(DECODER_CONVS, start=1):
        out[f"dec{i}_conv"] = [transpose_kernel_as_conv(ckpt.convs[name]["kernel"]),
                               ckpt.convs[name]["bias"]]
        out[f"dec{i}_bn"] = _batchnorm(ckpt.batchnorms[3 + i][1], eps[3 + i], bn_epsilon)
    kernel = transpose_kernel_as_conv(ckpt.convs[OUTPUT_CONV]["kernel"])
    bias = ckpt.convs[OUTPUT_CONV]["bias"]
    if flip:
        kernel, bias = kernel[..., ::-1], bias[::-1]
    out["prediction"] = [np.ascontiguousarray(kernel), np.ascontiguousarray(bias)]
    return out


def build_reference_generator(ckpt: ReferenceCheckpoint, *, channels: str = "bgr") -> Any:
    """Our paper-faithful generator (no mask channel, no prefill, TF 1 upsampling) holding the
    checkpoint's weights."""
    from .model import build_generator

    model = build_generator(ckpt.gf, mask_channel=False, upsampling="asymmetric")
    weighted = {layer.name for layer in model.layers if layer.weights}
    eps_ours = {float(layer.epsilon) for layer in model.layers if hasattr(layer, "epsilon")}
    if len(eps_ours) != 1:
        raise ModelError(f"our generator's BatchNorm layers use several epsilons {eps_ours}")
    weights = generator_weights(ckpt, channels=channels, bn_epsilon=eps_ours.pop())
    if weighted != set(weights):
        raise ModelError("this rmnet-sdk's paper-configuration generator has other weighted "
                         f"layers than the reference: ours only {sorted(weighted - set(weights))}, "
                         f"reference only {sorted(set(weights) - weighted)}")
    for name, values in weights.items():
        layer = model.get_layer(name)
        ours = [tuple(w.shape) for w in layer.get_weights()]
        theirs = [tuple(v.shape) for v in values]
        if ours != theirs:
            raise ModelError(f"{name}: mapped shapes {theirs} != our layer's {ours}")
        layer.set_weights(values)
    return model


# -- the import ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What :func:`import_reference_checkpoint` read and wrote."""

    output: Path
    source: Path
    layout: str
    nested_in: str
    gf: int
    channels: str
    resolution: int
    resolution_from: str
    keras_version: str
    batchnorm_layers: tuple[str, ...]
    parameters: int
    metadata: ModelMetadata

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d.update(output=str(self.output), source=str(self.source),
                 metadata=self.metadata.to_dict())
        return d


def origin_text(channels: str) -> str:
    conversion = ("trained on BGR, channels reversed to RGB on import" if channels == "bgr"
                  else "RGB as trained")
    return f"{REFERENCE_ORIGIN}, {conversion}"


def import_reference_checkpoint(source: str | Path, output: str | Path, *,
                                channels: str = "bgr", resolution: int | None = None,
                                name: str = "rmnet-reference", version: str = "0",
                                overwrite: bool = False) -> ImportReport:
    """Convert a reference ``.h5`` checkpoint into our ``.keras`` generator with metadata.

    ``channels``: the colour order the checkpoint was trained on (``"bgr"``, the reference
    code's, is converted to our RGB). ``resolution``: the metadata's model resolution (default:
    the file's input size for a whole-model file, else the reference's 256). The output is
    written atomically and an existing one only replaced with ``overwrite``.
    """
    from .checkpoint import file_sha256, save_generator
    from .model import count_params

    source, output = Path(source), Path(output)
    if output.suffix != ".keras":
        raise InvalidInputError(f"the output must be a .keras file, got {output}")
    if not overwrite and output.exists():
        raise InvalidInputError(f"{output} exists; pass overwrite=True (CLI: --force) to "
                                "replace it")
    if channels not in CHANNEL_ORDERS:
        raise InvalidInputError(f"channels must be one of {CHANNEL_ORDERS}, got {channels!r}")
    if resolution is not None:
        from rmnet_sdk.contract.io import check_spatial_size

        check_spatial_size(resolution, resolution)
    ckpt = read_reference_checkpoint(source)
    if resolution is not None:
        res, res_from = int(resolution), "argument"
    elif ckpt.resolution is not None:
        res, res_from = ckpt.resolution, "the file's input shape"
    else:
        res, res_from = REFERENCE_RESOLUTION, "the reference's config.ini"
    model = build_reference_generator(ckpt, channels=channels)
    meta = ModelMetadata(name=name, version=str(version), resolution=res, gf=ckpt.gf,
                         mask_channel=False, upsampling="asymmetric",
                         origin=origin_text(channels), origin_file=source.name,
                         origin_sha256=file_sha256(source))
    try:
        save_generator(model, output, meta, overwrite=overwrite)
    except FileExistsError as e:
        raise InvalidInputError(str(e)) from e
    report = ImportReport(output=output, source=source, layout=ckpt.layout,
                          nested_in=ckpt.nested_in, gf=ckpt.gf, channels=channels,
                          resolution=res, resolution_from=res_from,
                          keras_version=ckpt.keras_version,
                          batchnorm_layers=tuple(n for n, _ in ckpt.batchnorms),
                          parameters=count_params(model), metadata=meta)
    log.info("imported %s (%s%s, gf=%d) -> %s", source, ckpt.layout,
             f", generator nested in {ckpt.nested_in!r}" if ckpt.nested_in else "", ckpt.gf,
             output)
    return report


# -- command line --------------------------------------------------------------------------------

EPILOG = """\
examples:
  rmnet-import-reference models/RMNet_WACV2021/weight_100.h5 -o rmnet-celeba.keras
  rmnet-export rmnet-celeba.keras --onnx rmnet-celeba.onnx --fp16 rmnet-celeba_fp16.onnx
  rmnet inpaint photo.jpg mask.png -o filled.png --model rmnet-celeba.onnx

exit status: 0 success, 2 bad arguments or a file that is not a reference generator."""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="rmnet-import-reference", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Convert a Keras 2 .h5 checkpoint of the reference R-MNet implementation "
                    "(Jireh-Jam/R-MNet-Inpainting-keras; generator.save_weights or model.save) "
                    "into an rmnet-sdk generator (.keras, with metadata) for rmnet-export.")
    p.add_argument("checkpoint", type=Path, help="the reference .h5 file")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.keras")
    p.add_argument("--channels", choices=CHANNEL_ORDERS, default="bgr",
                   help="colour order the checkpoint was trained on (default bgr: the reference "
                        "reads images with OpenCV; converted to RGB on import)")
    p.add_argument("--resolution", type=int, metavar="PX",
                   help="model resolution in the metadata (default: the file's input size, "
                        f"else {REFERENCE_RESOLUTION})")
    p.add_argument("--name", default="rmnet-reference", help="model name in the metadata")
    p.add_argument("--model-version", default="0", metavar="VERSION",
                   help="model version in the metadata")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--json", action="store_true", help="print the import report as JSON")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
    try:
        report = import_reference_checkpoint(
            args.checkpoint, args.output, channels=args.channels, resolution=args.resolution,
            name=args.name, version=args.model_version, overwrite=args.force)
    except RMNetError as e:
        print(f"rmnet-import-reference: error: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.to_dict(), indent=1))
    else:
        where = f", generator nested in {report.nested_in!r}" if report.nested_in else ""
        print(f"{report.source} ({report.layout} HDF5{where}, Keras {report.keras_version or '?'})"
              f"\n  gf={report.gf}, {report.parameters:,} parameters, resolution "
              f"{report.resolution} (from {report.resolution_from}), input {report.channels}"
              f"\n  -> {report.output}  [{report.metadata.origin}]")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
