//! \file preprocess.cuh
//! \brief Per-pixel preprocess: full-resolution uint8 image + hole mask -> model tensors.
//!
//! One output pixel of `image` [3,H,W] and `mask` [1,H,W] is computed from the source by
//! - the hole mask: a model pixel is a hole iff *any* source pixel of its cell is (holes never
//!   shrink), cell rows `[i*srcH/H, ceil((i+1)*srcH/H))`, same for columns
//!   (rmnet_sdk.masks.resize_hole_mask);
//! - the image: area average (OpenCV INTER_AREA) when no side grows, bilinear (INTER_LINEAR) when
//!   one does, a plain copy at equal size (rmnet_sdk.imaging.resize_image), then `x/127.5 - 1`,
//!   and 0 inside holes (`I_M = I * (1 - hole)`).
//! The averages are exact integer sums with one final division; the Python reference rounds to
//! uint8 first, hence the documented tolerance of 1 LSB (1/127.5).
#pragma once

#include "pixel_math.cuh"

#include <cstddef>

namespace rmnet {
namespace kernels {

//! Everything one preprocess launch needs for one batch item. Pointers are host memory for the CPU
//! twin and device memory for the kernel.
struct PreprocessParams
{
    uint8_t const* image;  //!< srcH x srcW x 3 uint8, rows imagePitch bytes apart
    size_t imagePitch;     //!< bytes between image rows (>= 3 * srcW)
    uint8_t const* mask;   //!< srcH x srcW uint8, nonzero = hole
    size_t maskPitch;      //!< bytes between mask rows (>= srcW)
    int32_t srcH;          //!< source height
    int32_t srcW;          //!< source width
    int32_t dstH;          //!< model tensor height
    int32_t dstW;          //!< model tensor width
    int32_t regionH;       //!< rows of the tensor the image is resized onto (the rest: reflect-101 pad, known)
    int32_t regionW;       //!< columns likewise; region == dst for the `resize` strategy
    bool bgr;              //!< source channels are B,G,R (the tensor is always R,G,B)
    DType dtype;           //!< element type of both outputs
    void* outImage;        //!< [3, dstH, dstW] in [-1, 1], 0 in holes
    void* outMask;         //!< [1, dstH, dstW] in {0, 1}, 1 = hole
};

//! True iff any source pixel of the region cell (ry, rx) is a hole.
RMNET_HD bool holeCell(PreprocessParams const& p, int32_t ry, int32_t rx)
{
    int32_t const y0 = static_cast<int32_t>(static_cast<int64_t>(ry) * p.srcH / p.regionH);
    int32_t const y1 = static_cast<int32_t>((static_cast<int64_t>(ry + 1) * p.srcH + p.regionH - 1) / p.regionH);
    int32_t const x0 = static_cast<int32_t>(static_cast<int64_t>(rx) * p.srcW / p.regionW);
    int32_t const x1 = static_cast<int32_t>((static_cast<int64_t>(rx + 1) * p.srcW + p.regionW - 1) / p.regionW);
    for (int32_t sy = y0; sy < y1; ++sy)
    {
        uint8_t const* row = p.mask + static_cast<size_t>(sy) * p.maskPitch;
        for (int32_t sx = x0; sx < x1; ++sx)
        {
            if (row[sx] != 0)
            {
                return true;
            }
        }
    }
    return false;
}

//! Area average of the region cell (ry, rx), in uint8 units. Working in units of 1/regionW source
//! pixels (columns) and 1/regionH (rows), every overlap weight is an integer, so the weighted sum
//! is exact and independent of summation order (bit-identical on CPU and GPU).
RMNET_HD void sampleArea(PreprocessParams const& p, int32_t ry, int32_t rx, float px3[3])
{
    int64_t const ay0 = static_cast<int64_t>(ry) * p.srcH;
    int64_t const ay1 = ay0 + p.srcH;
    int64_t const ax0 = static_cast<int64_t>(rx) * p.srcW;
    int64_t const ax1 = ax0 + p.srcW;
    int32_t const sy0 = static_cast<int32_t>(ay0 / p.regionH);
    int32_t const sy1 = static_cast<int32_t>((ay1 + p.regionH - 1) / p.regionH);
    int32_t const sx0 = static_cast<int32_t>(ax0 / p.regionW);
    int32_t const sx1 = static_cast<int32_t>((ax1 + p.regionW - 1) / p.regionW);
    uint64_t acc[3] = {0, 0, 0};
    for (int32_t sy = sy0; sy < sy1; ++sy)
    {
        int64_t const lo = static_cast<int64_t>(sy) * p.regionH;
        uint32_t const wy = static_cast<uint32_t>((ay1 < lo + p.regionH ? ay1 : lo + p.regionH) - (ay0 > lo ? ay0 : lo));
        uint8_t const* row = p.image + static_cast<size_t>(sy) * p.imagePitch;
        uint32_t rowSum[3] = {0, 0, 0};
        for (int32_t sx = sx0; sx < sx1; ++sx)
        {
            int64_t const left = static_cast<int64_t>(sx) * p.regionW;
            uint32_t const wx
                = static_cast<uint32_t>((ax1 < left + p.regionW ? ax1 : left + p.regionW) - (ax0 > left ? ax0 : left));
            uint8_t const* px = row + 3 * static_cast<size_t>(sx);
            rowSum[0] += wx * px[0];
            rowSum[1] += wx * px[1];
            rowSum[2] += wx * px[2];
        }
        acc[0] += static_cast<uint64_t>(wy) * rowSum[0];
        acc[1] += static_cast<uint64_t>(wy) * rowSum[1];
        acc[2] += static_cast<uint64_t>(wy) * rowSum[2];
    }
    float const total = static_cast<float>(static_cast<int64_t>(p.srcH) * p.srcW);
    for (int32_t c = 0; c < 3; ++c)
    {
        px3[c] = divRn(static_cast<float>(acc[c]), total);
    }
}

//! Bilinear sample (half-pixel centres) of the region pixel (ry, rx), in uint8 units.
RMNET_HD void sampleLinear(PreprocessParams const& p, int32_t ry, int32_t rx, float px3[3])
{
    int32_t y0, y1, x0, x1;
    float fy, fx;
    linearTap(ry, p.srcH, p.regionH, y0, y1, fy);
    linearTap(rx, p.srcW, p.regionW, x0, x1, fx);
    uint8_t const* r0 = p.image + static_cast<size_t>(y0) * p.imagePitch;
    uint8_t const* r1 = p.image + static_cast<size_t>(y1) * p.imagePitch;
    for (int32_t c = 0; c < 3; ++c)
    {
        px3[c] = bilinear(r0[3 * x0 + c], r0[3 * x1 + c], r1[3 * x0 + c], r1[3 * x1 + c], fx, fy);
    }
}

//! Computes and stores tensor pixel (y, x): 3 image channels and the mask.
RMNET_HD void preprocessPixel(PreprocessParams const& p, int32_t y, int32_t x)
{
    int32_t const ry = reflect101(y, p.regionH);
    int32_t const rx = reflect101(x, p.regionW);
    int64_t const plane = static_cast<int64_t>(p.dstH) * p.dstW;
    int64_t const at = static_cast<int64_t>(y) * p.dstW + x;
    // Padding beyond the region counts as known (rmnet_sdk.inpainter's "original" strategy): its
    // content is the reflected *unmasked* image.
    bool const hole = y < p.regionH && x < p.regionW && holeCell(p, ry, rx);
    storeElement(p.outMask, p.dtype, at, hole ? 1.0f : 0.0f);
    float px3[3] = {0.0f, 0.0f, 0.0f};
    if (!hole)
    {
        if (p.regionH == p.srcH && p.regionW == p.srcW)
        {
            uint8_t const* px = p.image + static_cast<size_t>(ry) * p.imagePitch + 3 * static_cast<size_t>(rx);
            px3[0] = px[0];
            px3[1] = px[1];
            px3[2] = px[2];
        }
        else if (p.regionH <= p.srcH && p.regionW <= p.srcW)
        {
            sampleArea(p, ry, rx, px3);
        }
        else
        {
            sampleLinear(p, ry, rx, px3);
        }
    }
    for (int32_t c = 0; c < 3; ++c)
    {
        float const v = hole ? 0.0f : toModelRange(px3[p.bgr ? 2 - c : c]);
        storeElement(p.outImage, p.dtype, c * plane + at, v);
    }
}

//! Host-side argument check shared by the CPU twin and the CUDA launcher; nullptr when valid.
inline char const* validatePreprocess(PreprocessParams const& p)
{
    if (p.image == nullptr || p.mask == nullptr || p.outImage == nullptr || p.outMask == nullptr)
    {
        return "preprocess: null pointer";
    }
    if (p.srcH <= 0 || p.srcW <= 0 || p.dstH <= 0 || p.dstW <= 0)
    {
        return "preprocess: sizes must be positive";
    }
    if (p.regionH <= 0 || p.regionW <= 0 || p.regionH > p.dstH || p.regionW > p.dstW)
    {
        return "preprocess: region must lie inside the tensor";
    }
    if (p.imagePitch < 3 * static_cast<size_t>(p.srcW) || p.maskPitch < static_cast<size_t>(p.srcW))
    {
        return "preprocess: row pitch smaller than a row";
    }
    return nullptr;
}

} // namespace kernels
} // namespace rmnet
