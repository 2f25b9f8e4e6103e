//! \file numpy_views.cpp
#include "numpy_views.hpp"

#include <sstream>

namespace rmnet {
namespace python {
namespace {

std::string shapeOf(py::array const& a)
{
    std::ostringstream s;
    s << "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i)
    {
        s << (i ? ", " : "") << a.shape(i);
    }
    s << (a.ndim() == 1 ? ",)" : ")");
    return s.str();
}

std::string dtypeOf(py::array const& a)
{
    return py::str(a.dtype()).cast<std::string>();
}

} // namespace

ImageArg imageArg(py::handle obj, char const* what, bool bgr, bool writable)
{
    py::array arr = py::array::ensure(obj);
    if (!arr)
    {
        throw Error(Status::kINVALID_ARGUMENT, std::string(what) + ": expected a numpy array");
    }
    if (!arr.dtype().is(py::dtype::of<uint8_t>()))
    {
        throw Error(Status::kINVALID_ARGUMENT, std::string(what) + ": expected dtype uint8, got " + dtypeOf(arr));
    }
    if (arr.ndim() != 3 || arr.shape(2) != 3)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            std::string(what) + ": expected an HxWx3 image, got shape " + shapeOf(arr));
    }
    if (arr.shape(0) == 0 || arr.shape(1) == 0)
    {
        throw Error(Status::kINVALID_ARGUMENT, std::string(what) + ": empty image, shape " + shapeOf(arr));
    }
    bool const packed = arr.strides(2) == 1 && arr.strides(1) == 3 && arr.strides(0) >= 3 * arr.shape(1);
    if (!packed)
    {
        if (writable)
        {
            throw Error(Status::kINVALID_ARGUMENT,
                std::string(what) + ": needs packed pixels (strides [pitch, 3, 1]) to be written in place");
        }
        arr = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>::ensure(arr);
    }
    if (writable && !arr.writeable())
    {
        throw Error(Status::kINVALID_ARGUMENT, std::string(what) + ": array is read-only");
    }
    ImageArg a;
    a.view.data = static_cast<uint8_t*>(const_cast<void*>(arr.data())); // inputs are only read
    a.view.height = static_cast<int32_t>(arr.shape(0));
    a.view.width = static_cast<int32_t>(arr.shape(1));
    a.view.channels = 3;
    a.view.pitch = static_cast<size_t>(arr.strides(0));
    a.view.format = bgr ? PixelFormat::kBGR : PixelFormat::kRGB;
    a.holder = std::move(arr);
    return a;
}

MaskArg maskArg(py::handle obj)
{
    py::array arr = py::array::ensure(obj);
    if (!arr)
    {
        throw Error(Status::kINVALID_ARGUMENT, "mask: expected a numpy array");
    }
    if (!(arr.ndim() == 2 || (arr.ndim() == 3 && arr.shape(2) == 1)))
    {
        throw Error(Status::kINVALID_ARGUMENT, "mask: expected an HxW (or HxWx1) array, got shape " + shapeOf(arr));
    }
    // bool and uint8 are read in place (bool bytes are 0/1); other dtypes become `mask != 0`.
    char const kind = arr.dtype().kind();
    bool const byteMask = arr.itemsize() == 1 && (kind == 'b' || kind == 'u');
    if (kind != 'b' && kind != 'i' && kind != 'u' && kind != 'f')
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "mask: expected bool, integer or float values (nonzero = hole); got dtype " + dtypeOf(arr));
    }
    if (kind == 'f')
    {
        // NaN != 0 would make a hole: rejected like rmnet_sdk.masks.as_hole_mask does.
        py::module_ const np = py::module_::import("numpy");
        if (!np.attr("isfinite")(arr).attr("all")().cast<bool>())
        {
            throw Error(Status::kINVALID_ARGUMENT,
                "mask: expected finite values (nonzero = hole); got a float mask containing NaN or Inf");
        }
    }
    if (!byteMask)
    {
        arr = py::array::ensure(arr.attr("__ne__")(0));
    }
    if (!(arr.strides(1) == 1 && arr.strides(0) >= arr.shape(1)))
    {
        arr = py::array::ensure(py::module_::import("numpy").attr("ascontiguousarray")(arr));
    }
    MaskArg m;
    m.view.data = static_cast<uint8_t const*>(arr.data());
    m.view.height = static_cast<int32_t>(arr.shape(0));
    m.view.width = static_cast<int32_t>(arr.shape(1));
    m.view.pitch = static_cast<size_t>(arr.strides(0));
    m.holder = std::move(arr);
    return m;
}

py::array_t<uint8_t> newImage(int32_t height, int32_t width)
{
    return py::array_t<uint8_t>({static_cast<py::ssize_t>(height), static_cast<py::ssize_t>(width), py::ssize_t{3}});
}

} // namespace python
} // namespace rmnet
