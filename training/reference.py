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

from rmnet_sdk.errors import InvalidInputError, ModelError, RMNetError
from rmnet_sdk.metadata import ModelMetadata

from .reference_h5 import (  # noqa: F401 (the reading API is also this module's)
    DECODER_CONVS,
    ENCODER_CONVS,
    KERAS2_BN_EPSILON,
    OUTPUT_CONV,
    REFERENCE_RESOLUTION,
    ReferenceCheckpoint,
    read_reference_checkpoint,
    reference_batchnorm_widths,
    reference_shapes,
)

log = logging.getLogger("rmnet_sdk.training")

REFERENCE_ORIGIN = "reference R-MNet (Jam et al.)"
CHANNEL_ORDERS = ("bgr", "rgb")


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
