//! \file pixel_formats.cuh
//! \brief Camera pixel formats -> packed RGB/BGR/RGBA/BGRA, per pixel, shared by the CUDA kernel
//! (pixel_formats.cu) and its CPU twin (pixel_formats_cpu.cpp).
//!
//! YUV 4:2:0 (NV12: Y plane + interleaved U,V plane; I420: Y, U and V planes) is decoded with
//! OpenCV's integer BT.601 "video range" arithmetic (cv::cvtColor COLOR_YUV2RGB_NV12 / _I420):
//!   y' = max(Y - 16, 0) * 1220542,  u = U - 128,  v = V - 128,  half = 1 << 19
//!   R = sat((y' + half + 1673527 v) >> 20)
//!   G = sat((y' + half - 852492 v - 409993 u) >> 20)
//!   B = sat((y' + half + 2116026 u) >> 20)
//! (1.164 (Y-16) + 1.596 v, ... in 20-bit fixed point, arithmetic shift = floor). Integer-only, so
//! the GPU and the CPU compute the same bytes as OpenCV. Each 2x2 block of pixels shares one U,V
//! sample (the top-left one's), as OpenCV does: no chroma interpolation.
#pragma once

#include "pixel_math.cuh"

#include <cstddef>

namespace rmnet {
namespace kernels {

//! Frame layouts; the values are those of rmnet::FrameFormat.
enum class FrameLayout : int32_t
{
    kRGB = 0,
    kBGR = 1,
    kRGBA = 2,
    kBGRA = 3,
    kNV12 = 4,
    kI420 = 5,
};

//! Channels of a packed layout (3 or 4); 1 for the planar YUV layouts (their Y plane).
RMNET_HD int32_t packedChannels(FrameLayout f)
{
    return f == FrameLayout::kRGBA || f == FrameLayout::kBGRA ? 4 : (f == FrameLayout::kNV12 || f == FrameLayout::kI420 ? 1 : 3);
}

RMNET_HD bool isYuv420(FrameLayout f)
{
    return f == FrameLayout::kNV12 || f == FrameLayout::kI420;
}

RMNET_HD bool isBgrOrder(FrameLayout f)
{
    return f == FrameLayout::kBGR || f == FrameLayout::kBGRA;
}

RMNET_HD uint8_t saturateU8(int32_t v)
{
    return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

//! One YUV sample -> R, G, B (OpenCV's BT.601 video-range fixed point; see the file comment).
RMNET_HD void yuvToRgb(int32_t y, int32_t u, int32_t v, uint8_t rgb[3])
{
    int32_t const yy = (y > 16 ? y - 16 : 0) * 1220542;
    int32_t const uu = u - 128;
    int32_t const vv = v - 128;
    int32_t const half = 1 << 19;
    rgb[0] = saturateU8((yy + half + 1673527 * vv) >> 20);
    rgb[1] = saturateU8((yy + half - 852492 * vv - 409993 * uu) >> 20);
    rgb[2] = saturateU8((yy + half + 2116026 * uu) >> 20);
}

//! One conversion: \p src (any layout) -> \p dst (a packed layout). Pointers are host memory for
//! the CPU twin and device memory for the kernel.
struct ConvertParams
{
    uint8_t const* src[3];  //!< packed: src[0]; NV12: Y, UV; I420: Y, U, V
    size_t srcPitch[3];     //!< bytes between rows of each plane
    FrameLayout srcFormat;
    uint8_t* dst;           //!< height x width x channels(dstFormat)
    size_t dstPitch;
    FrameLayout dstFormat;  //!< kRGB, kBGR, kRGBA or kBGRA
    int32_t height;
    int32_t width;
};

//! R, G, B and alpha of source pixel (y, x); alpha is 255 for layouts without one.
RMNET_HD void loadPixel(ConvertParams const& p, int32_t y, int32_t x, uint8_t rgb[3], uint8_t& alpha)
{
    alpha = 255;
    if (isYuv420(p.srcFormat))
    {
        int32_t const luma = p.src[0][static_cast<size_t>(y) * p.srcPitch[0] + x];
        size_t const cy = static_cast<size_t>(y / 2);
        int32_t u, v;
        if (p.srcFormat == FrameLayout::kNV12)
        {
            uint8_t const* uv = p.src[1] + cy * p.srcPitch[1] + 2 * static_cast<size_t>(x / 2);
            u = uv[0];
            v = uv[1];
        }
        else
        {
            u = p.src[1][cy * p.srcPitch[1] + x / 2];
            v = p.src[2][cy * p.srcPitch[2] + x / 2];
        }
        yuvToRgb(luma, u, v, rgb);
        return;
    }
    int32_t const n = packedChannels(p.srcFormat);
    uint8_t const* px = p.src[0] + static_cast<size_t>(y) * p.srcPitch[0] + static_cast<size_t>(n) * x;
    bool const bgr = isBgrOrder(p.srcFormat);
    rgb[0] = px[bgr ? 2 : 0];
    rgb[1] = px[1];
    rgb[2] = px[bgr ? 0 : 2];
    if (n == 4)
    {
        alpha = px[3];
    }
}

//! Converts and stores pixel (y, x).
RMNET_HD void convertPixel(ConvertParams const& p, int32_t y, int32_t x)
{
    uint8_t rgb[3];
    uint8_t alpha;
    loadPixel(p, y, x, rgb, alpha);
    int32_t const n = packedChannels(p.dstFormat);
    uint8_t* out = p.dst + static_cast<size_t>(y) * p.dstPitch + static_cast<size_t>(n) * x;
    bool const bgr = isBgrOrder(p.dstFormat);
    out[0] = rgb[bgr ? 2 : 0];
    out[1] = rgb[1];
    out[2] = rgb[bgr ? 0 : 2];
    if (n == 4)
    {
        out[3] = alpha;
    }
}

//! Host-side argument check shared by the CPU twin and the CUDA launcher; nullptr when valid.
inline char const* validateConvert(ConvertParams const& p)
{
    if (p.height <= 0 || p.width <= 0)
    {
        return "convert: sizes must be positive";
    }
    if (p.dst == nullptr || p.src[0] == nullptr)
    {
        return "convert: null pointer";
    }
    if (isYuv420(p.dstFormat) || static_cast<int32_t>(p.dstFormat) < 0 || static_cast<int32_t>(p.dstFormat) > 3)
    {
        return "convert: the output must be RGB, BGR, RGBA or BGRA";
    }
    if (static_cast<int32_t>(p.srcFormat) < 0 || static_cast<int32_t>(p.srcFormat) > 5)
    {
        return "convert: unknown source format";
    }
    if (isYuv420(p.srcFormat))
    {
        if (p.height % 2 != 0 || p.width % 2 != 0)
        {
            return "convert: NV12/I420 frames need an even width and height";
        }
        size_t const chromaRow = p.srcFormat == FrameLayout::kNV12 ? static_cast<size_t>(p.width) : static_cast<size_t>(p.width / 2);
        if (p.src[1] == nullptr || (p.srcFormat == FrameLayout::kI420 && p.src[2] == nullptr))
        {
            return "convert: a chroma plane is missing";
        }
        if (p.srcPitch[0] < static_cast<size_t>(p.width) || p.srcPitch[1] < chromaRow
            || (p.srcFormat == FrameLayout::kI420 && p.srcPitch[2] < chromaRow))
        {
            return "convert: a plane's row pitch is smaller than its row";
        }
    }
    else if (p.srcPitch[0] < static_cast<size_t>(packedChannels(p.srcFormat)) * p.width)
    {
        return "convert: source row pitch smaller than a row";
    }
    if (p.dstPitch < static_cast<size_t>(packedChannels(p.dstFormat)) * p.width)
    {
        return "convert: output row pitch smaller than a row";
    }
    return nullptr;
}

} // namespace kernels
} // namespace rmnet
