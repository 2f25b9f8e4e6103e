//! \file numpy_views.hpp
//! \brief numpy arrays <-> rmnet views without copies (pitched rows are fine, e.g. a[:, 10:50]).
#pragma once

#include "rmnet/inpainter.hpp"

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <string>

namespace rmnet {
namespace python {

namespace py = pybind11;

//! An HxWx3 uint8 array viewed in place when its pixels are packed (strides [pitch, 3, 1]);
//! other layouts are copied once into a C-contiguous array (kept alive by `holder`).
struct ImageArg
{
    py::array holder;
    ImageView view;
};

//! An HxW (or HxWx1) bool/uint8 mask, viewed in place when rows are packed; else copied.
struct MaskArg
{
    py::array holder;
    MaskView view;
};

ImageArg imageArg(py::handle obj, char const* what, bool bgr, bool writable);
MaskArg maskArg(py::handle obj);

//! A new HxWx3 uint8 array.
py::array_t<uint8_t> newImage(int32_t height, int32_t width);

} // namespace python
} // namespace rmnet
