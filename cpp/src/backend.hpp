//! \file backend.hpp
//! \brief The backend interface: one batch of validated jobs through preprocess, infer, composite.
#pragma once

#include "rmnet/inpainter.hpp"

#include "composite.cuh"
#include "preprocess.cuh"

#include <memory>
#include <vector>

namespace rmnet {
namespace detail {

//! One validated batch item: pitches are filled in, sizes agree.
struct Job
{
    ImageView image;
    MaskView mask;
    ImageView out;
    int32_t regionH; //!< rows of the model tensor the image maps onto (== model rows for kRESIZE)
    int32_t regionW; //!< columns likewise
};

//! A backend runs jobs that share one model shape. Backends throw rmnet::Error.
class Backend
{
public:
    virtual ~Backend() = default;
    virtual void run(std::vector<Job> const& jobs, int32_t modelH, int32_t modelW, StageTimes& times) = 0;
    //! The network alone on fp32 NCHW host tensors (see Inpainter::infer).
    virtual void infer(float const* image, float const* mask, int32_t n, int32_t h, int32_t w, float* prediction) = 0;
    virtual char const* name() const = 0;
};

//! OpenCV DNN on the CPU (fp32 ONNX). Throws kBACKEND_UNAVAILABLE when built without OpenCV.
std::unique_ptr<Backend> createOpenCvBackend(Options const& options);

//! TensorRT on a CUDA device. Throws kBACKEND_UNAVAILABLE when built without TensorRT or without a
//! usable device.
std::unique_ptr<Backend> createTensorRtBackend(Options const& options);

//! Preprocess parameters for \p job writing into \p outImage / \p outMask (host or device pointers
//! are filled in by the caller where they differ).
inline kernels::PreprocessParams preprocessParams(
    Job const& job, int32_t modelH, int32_t modelW, kernels::DType dtype, void* outImage, void* outMask)
{
    kernels::PreprocessParams p{};
    p.image = job.image.data;
    p.imagePitch = job.image.pitch;
    p.mask = job.mask.data;
    p.maskPitch = job.mask.pitch;
    p.srcH = job.image.height;
    p.srcW = job.image.width;
    p.dstH = modelH;
    p.dstW = modelW;
    p.regionH = job.regionH;
    p.regionW = job.regionW;
    p.bgr = job.image.format == PixelFormat::kBGR;
    p.dtype = dtype;
    p.outImage = outImage;
    p.outMask = outMask;
    return p;
}

//! Composite parameters for \p job reading \p prediction ([3, modelH, modelW]).
inline kernels::CompositeParams compositeParams(
    Job const& job, int32_t modelH, int32_t modelW, kernels::DType dtype, void const* prediction)
{
    kernels::CompositeParams p{};
    p.image = job.image.data;
    p.imagePitch = job.image.pitch;
    p.mask = job.mask.data;
    p.maskPitch = job.mask.pitch;
    p.height = job.image.height;
    p.width = job.image.width;
    p.prediction = prediction;
    p.predType = dtype;
    p.predH = modelH;
    p.predW = modelW;
    p.regionH = job.regionH;
    p.regionW = job.regionW;
    p.bgr = job.image.format == PixelFormat::kBGR;
    p.out = job.out.data;
    p.outPitch = job.out.pitch;
    return p;
}

} // namespace detail
} // namespace rmnet
