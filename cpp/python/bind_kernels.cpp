//! \file bind_kernels.cpp
//! \brief The preprocess/composite kernels for Python: CPU twins always, CUDA when built with it.
//!
//! These exist for parity tests against rmnet_sdk.imaging / rmnet_sdk.masks and for benchmarks;
//! the Inpainter uses the same code internally.
#include "numpy_views.hpp"

#include "backend.hpp"
#include "cpu_twins.h"
#include "gpu_ops.hpp"

#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <utility>

namespace rmnet {
namespace python {
namespace {

using kernels::DType;

DType dtypeArg(std::string const& name)
{
    if (name == "float32")
    {
        return DType::kFLOAT;
    }
    if (name == "float16")
    {
        return DType::kHALF;
    }
    throw Error(Status::kINVALID_ARGUMENT, "dtype must be 'float32' or 'float16', got '" + name + "'");
}

void sameSize(ImageArg const& img, MaskArg const& mask)
{
    if (img.view.height != mask.view.height || img.view.width != mask.view.width)
    {
        throw Error(Status::kINVALID_ARGUMENT, "mask and image differ in size");
    }
}

std::pair<py::array, py::array> preprocess(py::handle image, py::handle mask, int32_t outH, int32_t outW, bool bgr,
    std::optional<std::pair<int32_t, int32_t>> region, std::string const& dtype, bool gpu, int32_t device)
{
    ImageArg const img = imageArg(image, "image", bgr, false);
    MaskArg const msk = maskArg(mask);
    sameSize(img, msk);
    DType const t = dtypeArg(dtype);
    py::dtype const npType(dtype);
    py::array outImage(npType, {py::ssize_t{1}, py::ssize_t{3}, py::ssize_t{outH}, py::ssize_t{outW}});
    py::array outMask(npType, {py::ssize_t{1}, py::ssize_t{1}, py::ssize_t{outH}, py::ssize_t{outW}});
    // the runtime's own parameter mapping, so these parity tests cover what Inpainter runs
    detail::Job const job{img.view, msk.view, ImageView{}, region ? region->first : outH, region ? region->second : outW};
    kernels::PreprocessParams const p
        = detail::preprocessParams(job, outH, outW, t, outImage.mutable_data(), outMask.mutable_data());
    {
        py::gil_scoped_release release;
        if (gpu)
        {
            detail::preprocessGpu(p, device);
        }
        else
        {
            kernels::preprocessCpu(p);
        }
    }
    return {outImage, outMask};
}

py::array composite(py::handle image, py::handle mask, py::handle prediction, bool bgr,
    std::optional<std::pair<int32_t, int32_t>> region, bool gpu, int32_t device)
{
    ImageArg const img = imageArg(image, "image", bgr, false);
    MaskArg const msk = maskArg(mask);
    sameSize(img, msk);
    py::array pred = py::array::ensure(prediction);
    if (!pred)
    {
        throw Error(Status::kINVALID_ARGUMENT, "prediction: expected a numpy array");
    }
    if (pred.ndim() == 4 && pred.shape(0) == 1)
    {
        pred = pred[py::int_(0)];
    }
    if (pred.ndim() != 3 || pred.shape(0) != 3)
    {
        throw Error(Status::kINVALID_ARGUMENT, "prediction: expected [3,h,w] (or [1,3,h,w])");
    }
    bool const half = pred.dtype().is(py::dtype("float16"));
    if (!half && !pred.dtype().is(py::dtype::of<float>()))
    {
        throw Error(Status::kINVALID_ARGUMENT, "prediction: expected float32 or float16");
    }
    pred = py::array::ensure(py::module_::import("numpy").attr("ascontiguousarray")(pred));
    py::array_t<uint8_t> out = newImage(img.view.height, img.view.width);
    int32_t const predH = static_cast<int32_t>(pred.shape(1));
    int32_t const predW = static_cast<int32_t>(pred.shape(2));
    ImageView const outView{out.mutable_data(), img.view.height, img.view.width, 3, 3 * static_cast<size_t>(img.view.width),
        img.view.format, 0};
    detail::Job const job{img.view, msk.view, outView, region ? region->first : predH, region ? region->second : predW};
    kernels::CompositeParams const p
        = detail::compositeParams(job, predH, predW, half ? DType::kHALF : DType::kFLOAT, pred.data());
    {
        py::gil_scoped_release release;
        if (gpu)
        {
            detail::compositeGpu(p, device);
        }
        else
        {
            kernels::compositeCpu(p);
        }
    }
    return std::move(out);
}

} // namespace

void bindKernels(py::module_& m)
{
    char const* preDoc
        = "uint8 HxWx3 image + HxW mask (nonzero = hole) -> (image [1,3,out_h,out_w], mask [1,1,out_h,out_w]):\n"
          "area/bilinear resize, x/127.5-1, holes set to 0, hole mask never shrinks. `region=(h, w)`: the image\n"
          "maps onto the top-left h x w of the tensor, the rest is reflect-101 padding (known).";
    char const* compDoc
        = "Full-resolution composite: prediction [3,h,w] (float32/float16, [-1,1]) bilinear-upsampled into the\n"
          "holes of `image`; known pixels are copied. `region=(h, w)`: the part of the prediction covering the image.";
    m.def("preprocess_cpu",
        [](py::handle image, py::handle mask, int32_t outH, int32_t outW, bool bgr,
            std::optional<std::pair<int32_t, int32_t>> region, std::string const& dtype) {
            return preprocess(image, mask, outH, outW, bgr, region, dtype, false, 0);
        },
        py::arg("image"), py::arg("mask"), py::arg("out_h"), py::arg("out_w"), py::arg("bgr") = false,
        py::kw_only(), py::arg("region") = py::none(), py::arg("dtype") = "float32", preDoc);
    m.def("composite_cpu",
        [](py::handle image, py::handle mask, py::handle prediction, bool bgr,
            std::optional<std::pair<int32_t, int32_t>> region) {
            return composite(image, mask, prediction, bgr, region, false, 0);
        },
        py::arg("image"), py::arg("mask"), py::arg("prediction"), py::arg("bgr") = false, py::kw_only(),
        py::arg("region") = py::none(), compDoc);
    m.def("preprocess_gpu",
        [](py::handle image, py::handle mask, int32_t outH, int32_t outW, bool bgr,
            std::optional<std::pair<int32_t, int32_t>> region, std::string const& dtype, int32_t device) {
            return preprocess(image, mask, outH, outW, bgr, region, dtype, true, device);
        },
        py::arg("image"), py::arg("mask"), py::arg("out_h"), py::arg("out_w"), py::arg("bgr") = false,
        py::kw_only(), py::arg("region") = py::none(), py::arg("dtype") = "float32", py::arg("device") = 0,
        "CUDA kernel version of preprocess_cpu (raises BackendUnavailableError, a RuntimeError, without a GPU).");
    m.def("composite_gpu",
        [](py::handle image, py::handle mask, py::handle prediction, bool bgr,
            std::optional<std::pair<int32_t, int32_t>> region, int32_t device) {
            return composite(image, mask, prediction, bgr, region, true, device);
        },
        py::arg("image"), py::arg("mask"), py::arg("prediction"), py::arg("bgr") = false, py::kw_only(),
        py::arg("region") = py::none(), py::arg("device") = 0,
        "CUDA kernel version of composite_cpu (raises BackendUnavailableError, a RuntimeError, without a GPU).");
}

} // namespace python
} // namespace rmnet
