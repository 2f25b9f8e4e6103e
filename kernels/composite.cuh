//! \file composite.cuh
//! \brief Per-pixel composite: model-resolution prediction -> full-resolution uint8 output.
//!
//! `I_out = I * M + up(pred) * M_r`: known pixels are copied byte for byte, never recomputed; hole
//! pixels take the prediction, upsampled with OpenCV INTER_LINEAR semantics (half-pixel centres,
//! border replicate) and converted with `(x + 1) * 127.5`, round half to even, clip
//! (rmnet_sdk.imaging.upsample_prediction / from_model_range / composite). The interpolation is
//! only evaluated for hole pixels, which is the whole point of fusing the two steps.
#pragma once

#include "pixel_math.cuh"

#include <cstddef>

namespace rmnet {
namespace kernels {

//! Everything one composite launch needs for one batch item.
struct CompositeParams
{
    uint8_t const* image;    //!< height x width x 3 uint8 original, rows imagePitch bytes apart
    size_t imagePitch;       //!< bytes between image rows
    uint8_t const* mask;     //!< height x width uint8, nonzero = hole
    size_t maskPitch;        //!< bytes between mask rows
    int32_t height;          //!< full-resolution height
    int32_t width;           //!< full-resolution width
    void const* prediction;  //!< [3, predH, predW] R,G,B planes in [-1, 1]
    DType predType;          //!< fp32 or fp16
    int32_t predH;           //!< prediction tensor height
    int32_t predW;           //!< prediction tensor width
    int32_t regionH;         //!< rows of the prediction that cover the image (the rest is padding)
    int32_t regionW;         //!< columns likewise; region == pred for the `resize` strategy
    bool bgr;                //!< image/out channels are B,G,R
    uint8_t* out;            //!< height x width x 3 uint8; may alias `image` (same pitch)
    size_t outPitch;         //!< bytes between output rows
};

//! Bilinear sample of prediction channel \p c at full-resolution pixel (y, x).
RMNET_HD float samplePrediction(CompositeParams const& p, int32_t c, int32_t y0, int32_t y1, int32_t x0, int32_t x1,
    float fy, float fx)
{
    int64_t const plane = static_cast<int64_t>(c) * p.predH * p.predW;
    int64_t const r0 = plane + static_cast<int64_t>(y0) * p.predW;
    int64_t const r1 = plane + static_cast<int64_t>(y1) * p.predW;
    return bilinear(loadElement(p.prediction, p.predType, r0 + x0), loadElement(p.prediction, p.predType, r0 + x1),
        loadElement(p.prediction, p.predType, r1 + x0), loadElement(p.prediction, p.predType, r1 + x1), fx, fy);
}

//! Computes and stores output pixel (y, x).
RMNET_HD void compositePixel(CompositeParams const& p, int32_t y, int32_t x)
{
    uint8_t const* src = p.image + static_cast<size_t>(y) * p.imagePitch + 3 * static_cast<size_t>(x);
    uint8_t* dst = p.out + static_cast<size_t>(y) * p.outPitch + 3 * static_cast<size_t>(x);
    if (p.mask[static_cast<size_t>(y) * p.maskPitch + x] == 0)
    {
        uint8_t const b0 = src[0], b1 = src[1], b2 = src[2];
        dst[0] = b0;
        dst[1] = b1;
        dst[2] = b2;
        return;
    }
    int32_t y0, y1, x0, x1;
    float fy, fx;
    linearTap(y, p.regionH, p.height, y0, y1, fy);
    linearTap(x, p.regionW, p.width, x0, x1, fx);
    for (int32_t c = 0; c < 3; ++c)
    {
        float const v = samplePrediction(p, c, y0, y1, x0, x1, fy, fx);
        dst[p.bgr ? 2 - c : c] = fromModelRange(v);
    }
}

//! Host-side argument check shared by the CPU twin and the CUDA launcher; nullptr when valid.
inline char const* validateComposite(CompositeParams const& p)
{
    if (p.image == nullptr || p.mask == nullptr || p.prediction == nullptr || p.out == nullptr)
    {
        return "composite: null pointer";
    }
    if (p.height <= 0 || p.width <= 0 || p.predH <= 0 || p.predW <= 0)
    {
        return "composite: sizes must be positive";
    }
    if (p.regionH <= 0 || p.regionW <= 0 || p.regionH > p.predH || p.regionW > p.predW)
    {
        return "composite: region must lie inside the prediction";
    }
    size_t const row = 3 * static_cast<size_t>(p.width);
    if (p.imagePitch < row || p.outPitch < row || p.maskPitch < static_cast<size_t>(p.width))
    {
        return "composite: row pitch smaller than a row";
    }
    return nullptr;
}

} // namespace kernels
} // namespace rmnet
