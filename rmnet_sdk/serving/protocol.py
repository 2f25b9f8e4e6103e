"""What a served R-MNet model looks like on the wire: one place for server, client and tests.

The served model takes images as users hold them (``HxWx3`` uint8 of any size, ``HxW`` uint8
mask, nonzero = hole) and returns the filled ``HxWx3`` uint8 image: the whole ``Inpainter``
pipeline runs in the server, so clients need no model, no OpenCV and no tensor layout. Triton
adds the batch dimension in front (``max_batch_size`` > 0), so a request carries ``N`` images
of one size; requests of different sizes are batched separately by Triton's dynamic batcher.
"""

from __future__ import annotations

import numpy as np

#: Triton model name of the inpainting model.
MODEL_NAME = "rmnet"
IMAGE_INPUT = "image"
MASK_INPUT = "mask"
OUTPUT = "inpainted"
#: Per-image shapes (without the batch dimension); -1 = any size.
IMAGE_SHAPE = (-1, -1, 3)
MASK_SHAPE = (-1, -1)
DTYPE = np.uint8
TRITON_DTYPE = "UINT8"
#: Optional request parameters (strings), forwarded to ``Inpainter.run``.
PARAM_STRATEGY = "strategy"
PARAM_COLOR = "color"
#: A client's name for its request, quoted in error messages (``InpaintClient`` sets a UUID).
PARAM_TAG = "tag"
PARAMETERS = (PARAM_STRATEGY, PARAM_COLOR, PARAM_TAG)
#: Ends the error of a dynamic batch that failed because of other requests in it.
RESEND_MARKER = "resend them"

__all__ = [
    "MODEL_NAME", "IMAGE_INPUT", "MASK_INPUT", "OUTPUT", "IMAGE_SHAPE", "MASK_SHAPE", "DTYPE",
    "TRITON_DTYPE", "PARAM_STRATEGY", "PARAM_COLOR", "PARAM_TAG", "PARAMETERS", "RESEND_MARKER",
]
