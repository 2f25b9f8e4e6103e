//! \file pixel_math.cuh
//! \brief Scalar arithmetic shared by the CUDA kernels and their CPU twins.
//!
//! Everything here is compiled twice: by nvcc for the kernels and by the host compiler for the CPU
//! twins. The CPU tests therefore check the very arithmetic the GPU runs, provided both sides
//! compute the same bits. Two things would break that, and are handled here:
//!  - nvcc contracts `a * b + c` into an FMA by default; the host compiler does not. The `*Rn`
//!    helpers use the explicitly rounded CUDA intrinsics, which are never contracted.
//!  - `__float2half_rn` is not host-callable in every CUDA version, and a CPU-only build has no
//!    cuda_fp16.h at all; fp16 is therefore converted with portable integer code on both sides.
#pragma once

#include <math.h>

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define RMNET_HD __host__ __device__ __forceinline__
#else
#define RMNET_HD inline
#endif

namespace rmnet {
namespace kernels {

//! Element type of a model tensor.
enum class DType : int32_t
{
    kFLOAT = 0, //!< IEEE fp32
    kHALF = 1,  //!< IEEE fp16 (stored as raw uint16 bits)
};

//! Bytes per element of \p t.
RMNET_HD int32_t dtypeSize(DType t)
{
    return t == DType::kHALF ? 2 : 4;
}

RMNET_HD float mulRn(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

RMNET_HD float addRn(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fadd_rn(a, b);
#else
    return a + b;
#endif
}

RMNET_HD float subRn(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fsub_rn(a, b);
#else
    return a - b;
#endif
}

RMNET_HD float divRn(float a, float b)
{
#if defined(__CUDA_ARCH__)
    return __fdiv_rn(a, b); // IEEE division even under --use_fast_math
#else
    return a / b;
#endif
}

RMNET_HD uint32_t floatBits(float f)
{
#if defined(__CUDA_ARCH__)
    return __float_as_uint(f);
#else
    uint32_t u;
    std::memcpy(&u, &f, sizeof(u));
    return u;
#endif
}

RMNET_HD float bitsFloat(uint32_t u)
{
#if defined(__CUDA_ARCH__)
    return __uint_as_float(u);
#else
    float f;
    std::memcpy(&f, &u, sizeof(f));
    return f;
#endif
}

//! fp32 -> fp16 bits, round to nearest even (IEEE), NaN stays NaN, overflow goes to infinity.
RMNET_HD uint16_t floatToHalfBits(float f)
{
    uint32_t const x = floatBits(f);
    uint32_t const sign = (x >> 16) & 0x8000u;
    uint32_t const absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u)
    {
        return static_cast<uint16_t>(sign | 0x7e00u); // NaN
    }
    if (absx >= 0x47800000u)
    {
        return static_cast<uint16_t>(sign | 0x7c00u); // >= 65536 (or inf): infinity
    }
    uint32_t const e = absx >> 23;
    if (e < 113u)
    {
        // Half subnormal: count of 2^-24 units, mant24 * 2^(e - 126), rounded to nearest even.
        int32_t const shift = 126 - static_cast<int32_t>(e);
        if (shift > 24)
        {
            return static_cast<uint16_t>(sign); // below half of the smallest subnormal
        }
        uint32_t const mant = (absx & 0x7fffffu) | 0x800000u;
        uint32_t h = mant >> shift;
        uint32_t const rem = mant & ((1u << shift) - 1u);
        uint32_t const halfway = 1u << (shift - 1);
        if (rem > halfway || (rem == halfway && (h & 1u)))
        {
            ++h;
        }
        return static_cast<uint16_t>(sign | h);
    }
    uint32_t h = ((e - 112u) << 10) | ((absx >> 13) & 0x3ffu);
    uint32_t const rem = absx & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
    {
        ++h; // a carry into the exponent is correct, up to infinity (0x7c00)
    }
    return static_cast<uint16_t>(sign | h);
}

//! fp16 bits -> fp32 (exact).
RMNET_HD float halfBitsToFloat(uint16_t h)
{
    uint32_t const sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t const exp = (h >> 10) & 0x1fu;
    uint32_t const mant = h & 0x3ffu;
    if (exp == 0u)
    {
        float const v = static_cast<float>(mant) * 5.9604644775390625e-8f; // mant * 2^-24, exact
        return bitsFloat(floatBits(v) | sign);
    }
    if (exp == 31u)
    {
        return bitsFloat(sign | 0x7f800000u | (mant << 13));
    }
    return bitsFloat(sign | ((exp + 112u) << 23) | (mant << 13));
}

//! uint8 [0, 255] -> model range [-1, 1]: `v / 127.5 - 1` in fp32, as rmnet_sdk.imaging.
RMNET_HD float toModelRange(float v)
{
    return subRn(divRn(v, 127.5f), 1.0f);
}

//! Model range -> uint8: `(x + 1) * 127.5`, round half to even, clip to [0, 255] (NaN -> 0).
RMNET_HD uint8_t fromModelRange(float x)
{
    float const y = mulRn(addRn(x, 1.0f), 127.5f);
    if (!(y > 0.0f))
    {
        return 0;
    }
    if (y >= 255.0f)
    {
        return 255;
    }
    return static_cast<uint8_t>(nearbyintf(y)); // default rounding mode: half to even, both sides
}

//! Stores \p v into element \p i of a fp32 or fp16 tensor.
RMNET_HD void storeElement(void* base, DType t, int64_t i, float v)
{
    if (t == DType::kHALF)
    {
        static_cast<uint16_t*>(base)[i] = floatToHalfBits(v);
    }
    else
    {
        static_cast<float*>(base)[i] = v;
    }
}

//! Loads element \p i of a fp32 or fp16 tensor as fp32.
RMNET_HD float loadElement(void const* base, DType t, int64_t i)
{
    if (t == DType::kHALF)
    {
        return halfBitsToFloat(static_cast<uint16_t const*>(base)[i]);
    }
    return static_cast<float const*>(base)[i];
}

//! OpenCV BORDER_REFLECT_101 index (`dcb|abcd|cba`), repeated for pads longer than the image.
RMNET_HD int32_t reflect101(int32_t i, int32_t n)
{
    if (n <= 1)
    {
        return 0;
    }
    while (i < 0 || i >= n)
    {
        i = i < 0 ? -i : 2 * (n - 1) - i;
    }
    return i;
}

//! Bilinear tap for destination index \p d when resizing \p srcN samples to \p dstN with
//! half-pixel centres (OpenCV INTER_LINEAR): source coordinate `(d + 0.5) * srcN / dstN - 0.5`,
//! computed exactly in integers, clamped at the borders like OpenCV (weight 1 on the edge sample).
RMNET_HD void linearTap(int32_t d, int32_t srcN, int32_t dstN, int32_t& i0, int32_t& i1, float& frac)
{
    int64_t const num = (2 * static_cast<int64_t>(d) + 1) * srcN - dstN;
    int64_t const den = 2 * static_cast<int64_t>(dstN);
    int64_t i = num >= 0 ? num / den : -((-num + den - 1) / den); // floor division
    int64_t const rem = num - i * den;
    frac = divRn(static_cast<float>(rem), static_cast<float>(den));
    if (i < 0)
    {
        i = 0;
        frac = 0.0f;
    }
    if (i >= srcN - 1)
    {
        i = srcN - 1;
        frac = 0.0f;
    }
    i0 = static_cast<int32_t>(i);
    i1 = i0 + 1 < srcN ? i0 + 1 : i0;
}

//! Horizontal-then-vertical bilinear blend (OpenCV's order): `(a*(1-fx) + b*fx)*(1-fy) + ...`.
RMNET_HD float bilinear(float p00, float p01, float p10, float p11, float fx, float fy)
{
    float const gx = subRn(1.0f, fx);
    float const gy = subRn(1.0f, fy);
    float const top = addRn(mulRn(p00, gx), mulRn(p01, fx));
    float const bottom = addRn(mulRn(p10, gx), mulRn(p11, fx));
    return addRn(mulRn(top, gy), mulRn(bottom, fy));
}

} // namespace kernels
} // namespace rmnet
