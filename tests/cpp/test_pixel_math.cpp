//! Unit tests of the shared per-pixel math (kernels/*.cuh) on the CPU.
#include "check.hpp"

#include "cpu_twins.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

#if RMNET_WITH_CUDA
#include <cuda_fp16.h>
#endif

using namespace rmnet::kernels;

TEST(halfConversionKnownValues)
{
    CHECK(floatToHalfBits(0.0f) == 0x0000);
    CHECK(floatToHalfBits(-0.0f) == 0x8000);
    CHECK(floatToHalfBits(1.0f) == 0x3c00);
    CHECK(floatToHalfBits(-2.0f) == 0xc000);
    CHECK(floatToHalfBits(65504.0f) == 0x7bff);
    CHECK(floatToHalfBits(65520.0f) == 0x7c00);            // halfway to 65536 rounds to even: inf
    CHECK(floatToHalfBits(65519.0f) == 0x7bff);
    CHECK(floatToHalfBits(5.9604645e-8f) == 0x0001);        // smallest subnormal
    CHECK(floatToHalfBits(2.9802322e-8f) == 0x0000);        // exactly half of it: ties to even (0)
    CHECK(floatToHalfBits(std::numeric_limits<float>::infinity()) == 0x7c00);
    CHECK((floatToHalfBits(std::nanf("")) & 0x7c00) == 0x7c00 && (floatToHalfBits(std::nanf("")) & 0x3ff) != 0);
    CHECK(floatToHalfBits(1.0f + 1.0f / 2048.0f) == 0x3c00); // tie between 1 and 1+2^-10: even (1)
    CHECK(floatToHalfBits(1.0f + 3.0f / 2048.0f) == 0x3c02); // tie: rounds up to even
}

TEST(halfRoundTripAllHalves)
{
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000u; ++h)
    {
        bool const nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
        if (!nan && floatToHalfBits(halfBitsToFloat(static_cast<uint16_t>(h))) != h)
        {
            ++bad;
        }
    }
    CHECK(bad == 0);
}

#if RMNET_WITH_CUDA
// cuda_fp16.h's __float2half_rn is host-callable in CUDA 12+: the portable code must agree with it.
TEST(halfMatchesCudaFp16)
{
    int bad = 0;
    for (uint32_t i = 0; i < (1u << 20); ++i)
    {
        uint32_t const bits = i * 4099u + (i >> 7); // spread over all exponents and mantissas
        float f;
        std::memcpy(&f, &bits, 4);
        if (std::isnan(f))
        {
            continue;
        }
        __half const h = __float2half_rn(f);
        uint16_t ref;
        std::memcpy(&ref, &h, 2);
        bad += ref != floatToHalfBits(f);
    }
    CHECK(bad == 0);
}
#endif

TEST(modelRange)
{
    CHECK(toModelRange(0.0f) == -1.0f);
    CHECK(toModelRange(255.0f) == 1.0f);
    CHECK(fromModelRange(-1.0f) == 0);
    CHECK(fromModelRange(1.0f) == 255);
    CHECK(fromModelRange(-3.0f) == 0);
    CHECK(fromModelRange(7.0f) == 255);
    CHECK(fromModelRange(std::nanf("")) == 0);
    for (int v = 0; v < 256; ++v)
    {
        CHECK(fromModelRange(toModelRange(static_cast<float>(v))) == v);
    }
}

TEST(reflectIndex)
{
    CHECK(reflect101(-1, 5) == 1);
    CHECK(reflect101(5, 5) == 3);
    CHECK(reflect101(6, 5) == 2);
    CHECK(reflect101(12, 5) == 4); // longer than the image: reflects again
    CHECK(reflect101(3, 1) == 0);
}

TEST(linearTapHalfPixel)
{
    int32_t i0, i1;
    float f;
    linearTap(0, 4, 8, i0, i1, f); // (0.5 * 0.5) - 0.5 < 0: clamped to the first sample
    CHECK(i0 == 0 && i1 == 1 && f == 0.0f);
    linearTap(1, 4, 8, i0, i1, f); // 1.5 * 0.5 - 0.5 = 0.25
    CHECK(i0 == 0 && i1 == 1 && f == 0.25f);
    linearTap(7, 4, 8, i0, i1, f); // 3.25 -> clamped to the last sample
    CHECK(i0 == 3 && i1 == 3 && f == 0.0f);
    linearTap(2, 5, 5, i0, i1, f); // identity
    CHECK(i0 == 2 && f == 0.0f);
}

TEST(preprocessAreaExactMean)
{
    // 4x4 -> 2x2: every output is the mean of a 2x2 block; 3x3 -> 2x2 uses fractional weights.
    std::vector<uint8_t> img(4 * 4 * 3), mask(4 * 4, 0);
    for (size_t i = 0; i < img.size(); ++i)
    {
        img[i] = static_cast<uint8_t>(i * 7);
    }
    std::vector<float> out(3 * 2 * 2), outMask(2 * 2);
    PreprocessParams p{img.data(), 12, mask.data(), 4, 4, 4, 2, 2, 2, 2, false, DType::kFLOAT, out.data(), outMask.data()};
    preprocessCpu(p);
    float const mean = (img[0] + img[3] + img[12] + img[15]) / 4.0f;
    CHECK(std::fabs(out[0] - (mean / 127.5f - 1.0f)) < 1e-6f);
    CHECK(outMask[0] == 0.0f);

    // 3x3 constant image -> 2x2: still the constant, whatever the weights.
    std::vector<uint8_t> flat(3 * 3 * 3, 200), m3(9, 0);
    PreprocessParams q{flat.data(), 9, m3.data(), 3, 3, 3, 2, 2, 2, 2, false, DType::kFLOAT, out.data(), outMask.data()};
    preprocessCpu(q);
    for (float v : out)
    {
        CHECK(std::fabs(v - (200.0f / 127.5f - 1.0f)) < 1e-6f);
    }
}

TEST(preprocessHoleNeverShrinks)
{
    // One hole pixel in a 9x9 mask reaches the 2x2 output, and zeroes the image there.
    std::vector<uint8_t> img(9 * 9 * 3, 255), mask(9 * 9, 0);
    mask[4 * 9 + 4] = 1; // the centre pixel belongs to all four cells of a 9 -> 2 resize
    std::vector<float> out(3 * 4), outMask(4);
    PreprocessParams p{img.data(), 27, mask.data(), 9, 9, 9, 2, 2, 2, 2, false, DType::kFLOAT, out.data(), outMask.data()};
    preprocessCpu(p);
    for (int i = 0; i < 4; ++i)
    {
        CHECK(outMask[i] == 1.0f);
        CHECK(out[i] == 0.0f);
    }
}

TEST(preprocessRejectsBadParams)
{
    std::vector<uint8_t> img(12), mask(4);
    std::vector<float> out(12), outMask(4);
    PreprocessParams p{img.data(), 5, mask.data(), 2, 2, 2, 2, 2, 2, 2, false, DType::kFLOAT, out.data(), outMask.data()};
    bool threw = false;
    try
    {
        preprocessCpu(p); // pitch 5 < 3 * width
    }
    catch (std::invalid_argument const&)
    {
        threw = true;
    }
    CHECK(threw);
}

TEST(compositeCopiesKnownPixels)
{
    int const h = 5, w = 7;
    std::vector<uint8_t> img(h * w * 3), mask(h * w, 0), out(h * w * 3, 0);
    for (size_t i = 0; i < img.size(); ++i)
    {
        img[i] = static_cast<uint8_t>(i * 13 + 1);
    }
    mask[2 * w + 3] = 255;
    std::vector<float> pred(3 * 4 * 4, 0.0f); // 0.0 -> 127.5 -> 128 (half to even)
    CompositeParams p{img.data(), 21, mask.data(), 7, h, w, pred.data(), DType::kFLOAT, 4, 4, 4, 4, false, out.data(), 21};
    compositeCpu(p);
    for (int i = 0; i < h * w; ++i)
    {
        for (int c = 0; c < 3; ++c)
        {
            CHECK(out[i * 3 + c] == (mask[i] ? 128 : img[i * 3 + c]));
        }
    }
}

TEST_MAIN()
