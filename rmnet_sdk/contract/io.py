"""The model IO contract: what every R-MNet artifact takes and returns.

Every artifact of this project (``.keras``, ``.onnx``, TensorRT ``.engine``) has the same
interface, so one runtime serves them all:

* inputs ``image`` ``[N, 3, H, W]`` (RGB in ``[-1, 1]``, ``x / 127.5 - 1``, holes zeroed) and
  ``mask`` ``[N, 1, H, W]`` (``1`` = hole);
* output ``prediction`` ``[N, 3, H, W]`` in ``[-1, 1]``;
* ``H`` and ``W`` positive multiples of :data:`SIZE_MULTIPLE`.

The pixel conversion itself lives in :mod:`rmnet_sdk.imaging` (``to_model_inputs``), the mask
polarity of files in :mod:`rmnet_sdk.masks`; the C++ runtime restates this contract in
``cpp/src/opencv_backend.cpp`` and ``cpp/src/trt_engine.cpp`` and is tested against the same
models.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ..errors import InvalidInputError, ModelError

IMAGE = "image"
MASK = "mask"
PREDICTION = "prediction"
#: Input tensor name -> channels, in the order the graph declares them.
INPUT_CHANNELS = MappingProxyType({IMAGE: 3, MASK: 1})
#: Output tensor name and channels.
OUTPUT = (PREDICTION, 3)
#: Every tensor name -> channels.
TENSOR_CHANNELS = MappingProxyType({**INPUT_CHANNELS, PREDICTION: 3})
#: Every tensor of the contract, inputs first.
TENSOR_NAMES = (IMAGE, MASK, PREDICTION)

#: H and W of every model tensor must be multiples of this: the generator halves the resolution
#: four times (and the prefill's exact halvings stop at 1/16).
SIZE_MULTIPLE = 16

#: Declared in model metadata; the runtime converts accordingly (``rmnet_sdk.imaging``).
NORMALIZATION = "x/127.5-1"
MASK_POLARITY = "1=hole"
LAYOUT = "NCHW"


def round_up_to_multiple(v: int) -> int:
    """The smallest positive multiple of :data:`SIZE_MULTIPLE` that is ``>= v``."""
    return max(SIZE_MULTIPLE, -(-int(v) // SIZE_MULTIPLE) * SIZE_MULTIPLE)


def check_spatial_size(h: int, w: int) -> tuple[int, int]:
    """Check that ``h x w`` is a size the network accepts; return it as ints.

    Anything but positive multiples of 16 fails deep inside the graph (ONNX Runtime: a shape
    mismatch at the final ``Mul``), so it is refused here with the size to pad or resize to.
    """
    try:
        hi, wi = int(h), int(w)
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"height and width must be integers, got {h!r} x {w!r}") from e
    if hi != h or wi != w or hi <= 0 or wi <= 0 or hi % SIZE_MULTIPLE or wi % SIZE_MULTIPLE:
        hint = ""
        if isinstance(h, (int, float)) and isinstance(w, (int, float)) and h > 0 and w > 0:
            hint = f" (pad or resize to e.g. {round_up_to_multiple(h)}x{round_up_to_multiple(w)})"
        raise InvalidInputError(
            f"model tensors need height and width that are positive multiples of {SIZE_MULTIPLE}"
            f" (the generator pools four times); got {h}x{w}{hint}")
    return hi, wi


def check_onnx_io(model: Any, source: str = "model") -> None:
    """:class:`ModelError` unless an ``onnx.ModelProto`` has this contract's IO: inputs ``image``
    ``[N,3,H,W]`` and ``mask`` ``[N,1,H,W]``, output ``prediction`` ``[N,3,H,W]``."""
    init = {t.name for t in model.graph.initializer}
    ins = {vi.name: vi for vi in model.graph.input if vi.name not in init}
    outs = {vi.name: vi for vi in model.graph.output}
    if set(ins) != set(INPUT_CHANNELS) or PREDICTION not in outs:
        raise ModelError(f"{source} is not an R-MNet model: expected inputs image, mask and output "
                         f"prediction; got inputs {sorted(ins)}, outputs {sorted(outs)}")
    for name, c in TENSOR_CHANNELS.items():
        vi = ins.get(name) or outs[name]
        dims = vi.type.tensor_type.shape.dim
        if len(dims) != 4 or (dims[1].HasField("dim_value") and dims[1].dim_value != c):
            raise ModelError(f"{source}: {name} must be [N,{c},H,W]")
