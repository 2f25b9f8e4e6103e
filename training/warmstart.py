"""Start training from an existing generator instead of random weights (fine-tuning).

Sources: a generator ``.keras`` file (from ``rmnet-train``) or an exported ONNX file, the bundled
model included. ONNX is what users actually have -- the SDK ships ONNX, not Keras -- so fine-tuning
the bundled model on one's own photos needs a way back from ONNX to Keras weights.

The ONNX route reads each layer's tensors by the Keras layer name kept in the node names (our
exporter keeps them). tf2onnx folds each BatchNorm into a per-channel scale and offset
(``batchnorm/mul`` and ``add``); the statistics themselves are gone, so the imported layer gets
``gamma = scale, beta = offset, mean = 0, variance = 1 - epsilon``, which computes the same
function in inference mode. Training such a layer on batch statistics would not, so an ONNX
source requires ``freeze_batchnorm="all"``. Every import ends with a parity check against ONNX
Runtime: a mapping error cannot pass silently.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from rmnet_sdk.errors import InvalidInputError, ModelError, ModelNotFoundError
from rmnet_sdk.metadata import ModelMetadata

#: Largest |Keras - ONNX Runtime| accepted after an ONNX import (fp32 noise is ~1e-6).
PARITY_TOLERANCE = 1e-4

_CONV = re.compile(r"(?:^|/)((?:enc|dec)\d+_conv|prediction|correction)(?:_\d+)?/")
_BN = re.compile(r"(?:^|/)((?:enc|dec)\d+_bn)(?:_\d+)?/batchnorm/(mul_1|add_1)$")


def load_initial_weights(model: Any, path: str | Path, *, freeze_batchnorm: str = "all") -> ModelMetadata:
    """Copy a generator's weights from ``path`` (``.keras`` or ``.onnx``) into ``model``.

    Raises :class:`ModelNotFoundError` for a missing file and :class:`ModelError` when the file's
    architecture (width, mask channel) differs from ``model``'s or the import fails its check.
    Returns the source's metadata (its ``training_steps`` count toward the new model's).
    """
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"initial weights not found: {path}")
    if path.suffix == ".keras":
        return _from_keras(model, path)
    if path.suffix == ".onnx":
        if freeze_batchnorm != "all":
            raise InvalidInputError(
                "an ONNX file holds BatchNorm folded into scale and offset, without its statistics: "
                "fine-tune it with freeze_batchnorm='all' (--set freeze_batchnorm=all), or start "
                "from the .keras generator of the run that made it")
        return _from_onnx(model, path)
    raise InvalidInputError(f"initial weights must be a .keras or .onnx file, got {path}")


def _upsampling(model: Any) -> str:
    """The decoder's upsampling mode (:func:`~.model.upsample2x` names its asymmetric mean)."""
    return "asymmetric" if any(layer.name.endswith("_up_mean") for layer in model.layers) \
        else "bilinear"


def _from_keras(model: Any, path: Path) -> ModelMetadata:
    from .checkpoint import load_generator, read_keras_metadata

    source = load_generator(path)
    upsampling = [_upsampling(m) for m in (source, model)]
    if upsampling[0] != upsampling[1]:
        # same weight shapes, different function (an imported reference checkpoint)
        raise ModelError(f"{path} upsamples with {upsampling[0]!r}, the model being trained with "
                         f"{upsampling[1]!r}: its weights would compute something else")
    src, dst = source.get_weights(), model.get_weights()
    shapes_src, shapes_dst = [w.shape for w in src], [w.shape for w in dst]
    if shapes_src != shapes_dst:
        raise ModelError(f"{path} is a different generator (weight shapes {shapes_src[:2]}... vs "
                         f"{shapes_dst[:2]}...): check gf and mask_channel")
    model.set_weights(src)
    return read_keras_metadata(path)


def _from_onnx(model: Any, path: Path) -> ModelMetadata:
    from rmnet_sdk.export import constant_tensors, load_onnx, read_onnx_metadata

    proto = load_onnx(path, check=False)  # corrupt file: ModelError
    tensors = constant_tensors(proto.graph)

    convs: dict[str, list[np.ndarray]] = {}
    bn: dict[str, dict[str, np.ndarray]] = {}
    for node in proto.graph.node:
        weights = [tensors[i] for i in node.input if i in tensors]
        if node.op_type == "Conv" and (m := _CONV.search(node.name)):
            convs[m.group(1)] = weights
        elif node.op_type in ("Mul", "Add") and (m := _BN.search(node.name)) and weights:
            bn.setdefault(m.group(1), {})[m.group(2)] = weights[0].reshape(-1)

    import keras

    new_weights = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            if layer.name not in convs or len(convs[layer.name]) not in (1, 2):
                other = {"prediction": "correction", "correction": "prediction"}.get(layer.name)
                if other in convs:  # a prefill + residual model vs a plain one, or the reverse
                    kind = "a prefill + residual" if other == "correction" else "a plain R-MNet"
                    raise ModelError(f"{path} is {kind} generator: build the model with "
                                     f"prefill={other == 'correction'} (--set prefill=...)")
                raise ModelError(f"{path}: no Conv with a constant kernel for layer {layer.name}; "
                                 "is this an R-MNet ONNX exported by rmnet-export?")
            kernel = convs[layer.name][0]
            # tf2onnx drops an all-zero bias
            bias = convs[layer.name][1] if len(convs[layer.name]) == 2 else np.zeros(kernel.shape[0])
            kernel = kernel.transpose(2, 3, 1, 0)  # ONNX OIHW -> Keras HWIO
            if kernel.shape != tuple(layer.kernel.shape):
                raise ModelError(f"{path}: {layer.name} kernel is {kernel.shape}, the model's is "
                                 f"{tuple(layer.kernel.shape)}: check gf and mask_channel")
            new_weights.append((layer, [kernel, bias]))
        elif isinstance(layer, keras.layers.BatchNormalization):
            parts = bn.get(layer.name, {})
            if set(parts) != {"mul_1", "add_1"}:
                raise ModelError(f"{path}: no folded BatchNorm (scale and offset) for {layer.name}")
            scale, offset = parts["mul_1"], parts["add_1"]
            channels = int(layer.gamma.shape[0])
            if scale.size != channels or offset.size != channels:
                raise ModelError(f"{path}: {layer.name} has {scale.size} channels, the model "
                                 f"{channels}: check gf")
            var = np.full(channels, 1.0 - layer.epsilon, np.float32)
            new_weights.append((layer, [scale, offset, np.zeros(channels, np.float32), var]))
    for layer, weights in new_weights:
        layer.set_weights([w.astype(np.float32) for w in weights])
    _check_parity(model, path)
    return read_onnx_metadata(proto)


def _check_parity(model: Any, path: Path, size: int = 64) -> None:
    from rmnet_sdk.export import check_parity

    diff = check_parity(model, path, sizes=((1, size, size),), tolerance=PARITY_TOLERANCE,
                        raise_on_failure=False)[f"1x{size}x{size}"]
    if not diff <= PARITY_TOLERANCE:
        raise ModelError(f"importing {path} failed its check: Keras and ONNX Runtime differ by "
                         f"{diff:.3g} (limit {PARITY_TOLERANCE}); the graph is not the R-MNet "
                         "layout this importer knows")
