"""``rmnet_sdk._native``: the C++ runtime (pybind11 module ``_rmnet_native``), loaded safely.

The compiled module is imported with ``RTLD_DEEPBIND`` so that it and its libraries prefer their
own dependencies. Without it, importing TensorFlow first (which exports its bundled protobuf
globally) makes Debian's OpenCV DNN inside the extension bind to TensorFlow's protobuf and fail
to parse any ONNX file ("basic_string::_M_create"). With it both live in one process.
"""

from __future__ import annotations

import os
import sys

_flags = sys.getdlopenflags()
if hasattr(os, "RTLD_DEEPBIND"):
    sys.setdlopenflags(os.RTLD_NOW | os.RTLD_LOCAL | os.RTLD_DEEPBIND)
try:
    from . import _rmnet_native as _impl
finally:
    sys.setdlopenflags(_flags)

from ._rmnet_native import *  # noqa: E402,F403 - the extension's public API, re-exported

#: the compiled extension file (for tools that inspect it)
EXTENSION_FILE: str = _impl.__file__
__doc__ = (__doc__ or "") + "\n" + (_impl.__doc__ or "")
