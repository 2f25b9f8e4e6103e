//! \file bind_inpainter.cpp
//! \brief rmnet_sdk._native.Inpainter: the C++ Inpainter on numpy arrays, GIL released while running.
#include "numpy_views.hpp"

#include <pybind11/stl.h>

#include <string>
#include <vector>

namespace rmnet {
namespace python {
namespace {

template <typename E>
E choice(std::string const& what, std::string const& value, std::vector<std::pair<char const*, E>> const& options)
{
    std::string names;
    for (auto const& o : options)
    {
        if (value == o.first)
        {
            return o.second;
        }
        names += std::string(names.empty() ? "" : ", ") + "'" + o.first + "'";
    }
    throw Error(Status::kINVALID_ARGUMENT, what + " must be one of " + names + ", got '" + value + "'");
}

Inpainter make(std::string const& modelPath, std::string const& backend, int32_t device, std::string const& precision,
    std::string const& strategy, int32_t modelSize, bool cudaGraph, bool checkSidecar, std::string const& onnxSha256,
    int32_t numThreads, int32_t cropMargin)
{
    Options o;
    o.modelPath = modelPath;
    o.backend = choice<Backend>("backend", backend,
        {{"auto", Backend::kAUTO}, {"tensorrt", Backend::kTENSORRT}, {"opencv", Backend::kOPENCV}});
    o.device = device;
    o.precision = choice<Precision>("precision", precision,
        {{"auto", Precision::kAUTO}, {"fp32", Precision::kFP32}, {"fp16", Precision::kFP16}});
    o.strategy = choice<Strategy>(
        "strategy", strategy,
        {{"resize", Strategy::kRESIZE}, {"original", Strategy::kORIGINAL}, {"crop", Strategy::kCROP}});
    o.modelSize = modelSize;
    o.cropMargin = cropMargin;
    o.cudaGraph = cudaGraph;
    o.checkSidecar = checkSidecar;
    o.onnxSha256 = onnxSha256;
    o.numThreads = numThreads;
    py::gil_scoped_release release; // loading/building can take a while
    return Inpainter(o);
}

py::array run(Inpainter& self, py::handle image, py::handle mask, py::object out, bool bgr)
{
    ImageArg const img = imageArg(image, "image", bgr, false);
    MaskArg const msk = maskArg(mask);
    py::object result = out.is_none() ? py::object(newImage(img.view.height, img.view.width)) : out;
    ImageArg const dst = imageArg(result, "out", bgr, true);
    {
        py::gil_scoped_release release;
        self.run(img.view, msk.view, dst.view);
    }
    return py::reinterpret_borrow<py::array>(result);
}

py::array runPrepared(Inpainter& self, py::handle image, PreparedMask const& mask, py::object out, bool bgr)
{
    ImageArg const img = imageArg(image, "image", bgr, false);
    py::object result = out.is_none() ? py::object(newImage(img.view.height, img.view.width)) : out;
    ImageArg const dst = imageArg(result, "out", bgr, true);
    {
        py::gil_scoped_release release;
        self.runPrepared(img.view, mask, dst.view);
    }
    return py::reinterpret_borrow<py::array>(result);
}

py::list boxList(std::vector<Box> const& boxes)
{
    py::list out;
    for (Box const& b : boxes)
    {
        out.append(py::make_tuple(b.x0, b.y0, b.x1, b.y1));
    }
    return out;
}

//! A list of HxWx3 arrays or one NxHxWx3 array (and likewise for masks) -> list of outputs.
std::vector<py::array> runBatch(Inpainter& self, py::sequence images, py::sequence masks, bool bgr)
{
    if (py::len(images) != py::len(masks))
    {
        throw Error(Status::kINVALID_ARGUMENT, "images and masks differ in count");
    }
    std::vector<ImageArg> in;
    std::vector<MaskArg> ms;
    std::vector<py::array> results;
    std::vector<ImageView> inViews, outViews;
    std::vector<MaskView> maskViews;
    for (size_t i = 0; i < py::len(images); ++i)
    {
        in.push_back(imageArg(images[i], "image", bgr, false));
        ms.push_back(maskArg(masks[i]));
        results.push_back(newImage(in.back().view.height, in.back().view.width));
        inViews.push_back(in.back().view);
        maskViews.push_back(ms.back().view);
        outViews.push_back(imageArg(results.back(), "out", bgr, true).view);
    }
    {
        py::gil_scoped_release release;
        self.run(inViews, maskViews, outViews);
    }
    return results;
}

//! Raw model tensors: image [N,3,H,W], mask [N,1,H,W] (float32) -> prediction [N,3,H,W].
py::array_t<float> infer(Inpainter& self, py::handle image, py::handle mask)
{
    using Tensor = py::array_t<float, py::array::c_style | py::array::forcecast>;
    Tensor const img = Tensor::ensure(image);
    Tensor const msk = Tensor::ensure(mask);
    if (!img || !msk || img.ndim() != 4 || img.shape(1) != 3 || msk.ndim() != 4 || msk.shape(1) != 1
        || msk.shape(0) != img.shape(0) || msk.shape(2) != img.shape(2) || msk.shape(3) != img.shape(3))
    {
        throw Error(Status::kINVALID_ARGUMENT, "infer: expected image [N,3,H,W] and mask [N,1,H,W]");
    }
    auto const n = static_cast<int32_t>(img.shape(0));
    auto const h = static_cast<int32_t>(img.shape(2));
    auto const w = static_cast<int32_t>(img.shape(3));
    py::array_t<float> pred({img.shape(0), py::ssize_t{3}, img.shape(2), img.shape(3)});
    float* out = pred.mutable_data();
    {
        py::gil_scoped_release release;
        self.infer(img.data(), msk.data(), n, h, w, out);
    }
    return pred;
}

} // namespace

void bindInpainter(py::module_& m)
{
    py::class_<Inpainter>(m, "Inpainter",
        "R-MNet inpainting in C++: preprocess -> infer (OpenCV DNN on the CPU for .onnx, TensorRT for\n"
        ".engine/.plan) -> composite at full resolution. Known pixels are returned unchanged.")
        .def(py::init(&make), py::arg("model_path"), py::kw_only(), py::arg("backend") = "auto",
            py::arg("device") = 0, py::arg("precision") = "auto", py::arg("strategy") = "resize",
            py::arg("model_size") = 256, py::arg("cuda_graph") = true, py::arg("check_sidecar") = true,
            py::arg("onnx_sha256") = "", py::arg("num_threads") = 0, py::arg("crop_margin") = 128)
        .def("run", &run, py::arg("image"), py::arg("mask"), py::kw_only(), py::arg("out") = py::none(),
            py::arg("bgr") = false,
            "Inpaint one uint8 HxWx3 image (mask HxW, nonzero = hole). Writes into `out` if given (may be\n"
            "`image` itself), else into a new array; returns it.")
        .def("run_batch", &runBatch, py::arg("images"), py::arg("masks"), py::kw_only(), py::arg("bgr") = false,
            "Inpaint a list (or N-stacked array) of images; items of one model shape run as one batch.")
        .def(
            "prepare_mask", [](Inpainter const& self, py::handle mask) { return self.prepareMask(maskArg(mask).view); },
            py::arg("mask"),
            "Prepare an HxW mask (nonzero = hole) once for many frames of its size: a copy of it and, under\n"
            "strategy 'crop', its crop boxes.")
        .def("run_prepared", &runPrepared, py::arg("image"), py::arg("mask"), py::kw_only(),
            py::arg("out") = py::none(), py::arg("bgr") = false,
            "Like run() with a PreparedMask: the same pixels, the boxes are not searched again.")
        .def("infer", &infer, py::arg("image"), py::arg("mask"),
            "The network alone: image [N,3,H,W] in [-1,1] and mask [N,1,H,W] (1 = hole), float32 ->\n"
            "prediction [N,3,H,W] (raw tanh output). No resizing, masking or compositing.")
        .def_property_readonly("backend", &Inpainter::backendName)
        .def_property_readonly("last_times",
            [](Inpainter const& self) {
                StageTimes const t = self.lastTimes();
                py::dict d;
                d["preprocess_ms"] = t.preprocessMs;
                d["infer_ms"] = t.inferMs;
                d["composite_ms"] = t.compositeMs;
                return d;
            },
            "Milliseconds per stage of the last run.");

    py::class_<PreparedMask>(m, "PreparedMask", "A mask prepared by Inpainter.prepare_mask.")
        .def_property_readonly("height", &PreparedMask::height)
        .def_property_readonly("width", &PreparedMask::width)
        .def_property_readonly("empty", &PreparedMask::empty)
        .def_property_readonly(
            "boxes", [](PreparedMask const& p) { return boxList(p.boxes()); },
            "(x0, y0, x1, y1) of each model input cut from a frame.");

    m.def(
        "hole_boxes",
        [](py::handle mask, int32_t modelSize, int32_t margin) {
            return boxList(holeBoxes(maskArg(mask).view, modelSize, margin));
        },
        py::arg("mask"), py::arg("model_size"), py::arg("margin"),
        "rmnet::holeBoxes: the crop strategy's (x0, y0, x1, y1) boxes, as rmnet_sdk.inpainter.hole_boxes.");
}

} // namespace python
} // namespace rmnet
