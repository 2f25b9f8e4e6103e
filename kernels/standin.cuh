//! \file standin.cuh
//! \brief The stand-in network (cpp/src/standin_engine.hpp): a fixed, deterministic per-pixel function
//! of the model tensors, shared by its CUDA kernel and its CPU twin.
//!
//! prediction[b, c] = 0.5 * image[b, c] + 0.125 * (sum of the 4 neighbours of image[b, c], borders
//! replicated) - 0.125 * mask[b] * (c - 1) -- a blur with a visible, channel-dependent hole tint,
//! enough to show that every pixel, channel and batch item went through the right buffers. Explicitly
//! rounded arithmetic, so kernel and twin agree bit for bit.
#pragma once

#include "pixel_math.cuh"

namespace rmnet {
namespace kernels {

struct StandinParams
{
    void const* image; //!< [n, 3, h, w]
    void const* mask;  //!< [n, 1, h, w]
    void* prediction;  //!< [n, 3, h, w]
    DType inType;
    DType outType;
    int32_t n, h, w;
};

RMNET_HD char const* validateStandin(StandinParams const& p)
{
    if (p.image == nullptr || p.mask == nullptr || p.prediction == nullptr)
    {
        return "standin: null tensor";
    }
    if (p.n < 1 || p.h < 1 || p.w < 1)
    {
        return "standin: empty shape";
    }
    return nullptr;
}

RMNET_HD float standinAt(StandinParams const& p, int64_t base, int32_t y, int32_t x)
{
    return loadElement(p.image, p.inType, base + static_cast<int64_t>(y) * p.w + x);
}

//! Computes prediction[b, :, y, x].
RMNET_HD void standinPixel(StandinParams const& p, int32_t b, int32_t y, int32_t x)
{
    int64_t const plane = static_cast<int64_t>(p.h) * p.w;
    float const m = loadElement(p.mask, p.inType, b * plane + static_cast<int64_t>(y) * p.w + x);
    int32_t const ys[2] = {y > 0 ? y - 1 : 0, y + 1 < p.h ? y + 1 : p.h - 1};
    int32_t const xs[2] = {x > 0 ? x - 1 : 0, x + 1 < p.w ? x + 1 : p.w - 1};
    for (int32_t c = 0; c < 3; ++c)
    {
        int64_t const base = (static_cast<int64_t>(b) * 3 + c) * plane;
        float const up = standinAt(p, base, ys[0], x);
        float const down = standinAt(p, base, ys[1], x);
        float const left = standinAt(p, base, y, xs[0]);
        float const right = standinAt(p, base, y, xs[1]);
        float const sum = addRn(addRn(up, down), addRn(left, right));
        float const tint = mulRn(mulRn(m, static_cast<float>(c - 1)), 0.125f);
        float const v = subRn(addRn(mulRn(standinAt(p, base, y, x), 0.5f), mulRn(sum, 0.125f)), tint);
        storeElement(p.prediction, p.outType, base + static_cast<int64_t>(y) * p.w + x, v);
    }
}

} // namespace kernels
} // namespace rmnet
