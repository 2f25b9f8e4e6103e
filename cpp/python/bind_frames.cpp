//! \file bind_frames.cpp
//! \brief Camera frames for Python: rmnet::convertFrame and Inpainter.run_frame on numpy buffers.
//!
//! Packed frames are HxWxC arrays; NV12 and I420 frames are the (H * 3/2) x W uint8 buffers that
//! OpenCV's cvtColor takes (Y rows, then the chroma rows), so tests can compare with it directly.
#include "numpy_views.hpp"

#include <string>
#include <utility>
#include <vector>

namespace rmnet {
namespace python {
namespace {

using Buffer = py::array_t<uint8_t, py::array::c_style | py::array::forcecast>;

FrameFormat formatArg(std::string const& name)
{
    std::vector<std::pair<char const*, FrameFormat>> const names{{"rgb", FrameFormat::kRGB},
        {"bgr", FrameFormat::kBGR}, {"rgba", FrameFormat::kRGBA}, {"bgra", FrameFormat::kBGRA},
        {"nv12", FrameFormat::kNV12}, {"i420", FrameFormat::kI420}};
    for (auto const& n : names)
    {
        if (name == n.first)
        {
            return n.second;
        }
    }
    throw Error(Status::kINVALID_ARGUMENT, "format must be rgb, bgr, rgba, bgra, nv12 or i420, got '" + name + "'");
}

int32_t channelsOf(FrameFormat f)
{
    return f == FrameFormat::kRGBA || f == FrameFormat::kBGRA ? 4 : 3;
}

//! A view of \p buf (kept alive by the caller) as a frame of \p format.
FrameView frameOf(Buffer& buf, FrameFormat format)
{
    uint8_t* data = buf.mutable_data();
    if (format == FrameFormat::kNV12 || format == FrameFormat::kI420)
    {
        if (buf.ndim() != 2 || buf.shape(0) % 3 != 0)
        {
            throw Error(Status::kINVALID_ARGUMENT, "a YUV 4:2:0 frame is an (H * 3/2) x W uint8 array");
        }
        auto const h = static_cast<int32_t>(buf.shape(0) * 2 / 3);
        auto const w = static_cast<int32_t>(buf.shape(1));
        size_t const plane = static_cast<size_t>(h) * w;
        if (format == FrameFormat::kNV12)
        {
            return FrameView::nv12(data, static_cast<size_t>(w), data + plane, static_cast<size_t>(w), h, w);
        }
        return FrameView::i420(data, static_cast<size_t>(w), data + plane, data + plane + plane / 4,
            static_cast<size_t>(w / 2), h, w);
    }
    if (buf.ndim() != 3 || buf.shape(2) != channelsOf(format))
    {
        throw Error(Status::kINVALID_ARGUMENT, "a packed frame is an HxWxC uint8 array with C = 3 (rgb, bgr) or 4");
    }
    return FrameView::packed(data, static_cast<int32_t>(buf.shape(0)), static_cast<int32_t>(buf.shape(1)), format);
}

py::array newFrame(int32_t h, int32_t w, FrameFormat f)
{
    if (f == FrameFormat::kNV12 || f == FrameFormat::kI420)
    {
        throw Error(Status::kINVALID_ARGUMENT, "the output must be rgb, bgr, rgba or bgra (no YUV output)");
    }
    return py::array_t<uint8_t>({py::ssize_t{h}, py::ssize_t{w}, py::ssize_t{channelsOf(f)}});
}

py::array convert(py::handle src, std::string const& format, std::string const& outFormat)
{
    Buffer buf = Buffer::ensure(src);
    if (!buf)
    {
        throw Error(Status::kINVALID_ARGUMENT, "convert_frame: expected a uint8 array");
    }
    FrameView const in = frameOf(buf, formatArg(format));
    FrameFormat const of = formatArg(outFormat);
    py::array result = newFrame(in.height, in.width, of);
    Buffer outBuf = Buffer::ensure(result);
    FrameView const out = frameOf(outBuf, of);
    {
        py::gil_scoped_release release;
        convertFrame(in, out);
    }
    return result;
}

py::array runFrame(Inpainter& self, py::handle frame, py::handle mask, std::string const& format,
    std::string const& outFormat)
{
    Buffer buf = Buffer::ensure(frame);
    if (!buf)
    {
        throw Error(Status::kINVALID_ARGUMENT, "run_frame: expected a uint8 array");
    }
    FrameView const in = frameOf(buf, formatArg(format));
    FrameFormat const of = formatArg(outFormat);
    py::array result = newFrame(in.height, in.width, of);
    Buffer outBuf = Buffer::ensure(result);
    FrameView const out = frameOf(outBuf, of);
    if (py::isinstance<PreparedMask>(mask))
    {
        PreparedMask const& prepared = mask.cast<PreparedMask const&>();
        py::gil_scoped_release release;
        self.runFrame(in, prepared, out);
    }
    else
    {
        MaskArg const m = maskArg(mask);
        py::gil_scoped_release release;
        self.runFrame(in, m.view, out);
    }
    return result;
}

} // namespace

void bindFrames(py::module_& m)
{
    m.def("convert_frame", &convert, py::arg("frame"), py::arg("format"), py::arg("out_format") = "rgb",
        "rmnet::convertFrame (the CPU twin of the conversion kernel): a frame in format rgb, bgr, rgba,\n"
        "bgra, nv12 or i420 (YUV: the (H*3/2) x W buffer of cv2) -> HxWxC in out_format.");
    py::object cls = m.attr("Inpainter");
    cls.attr("run_frame") = py::cpp_function(&runFrame, py::is_method(cls), py::arg("frame"), py::arg("mask"),
        py::kw_only(), py::arg("format"), py::arg("out_format") = "rgb",
        "Inpaint a camera frame (format rgb, bgr, rgba, bgra, nv12, i420) with a mask (HxW array or\n"
        "PreparedMask); returns HxWxC in out_format (rgb, bgr, rgba, bgra).");
}

} // namespace python
} // namespace rmnet
