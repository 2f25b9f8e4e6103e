//! Camera frames (frame.hpp): the conversion's per-pixel YUV math against values from
//! cv2.cvtColor(COLOR_YUV2RGB_NV12), plane/pitch handling, and refusals. The full comparison with
//! OpenCV over random frames is tests/test_native_frames.py.
#include "check.hpp"

#include "pixel_formats.cuh"
#include "rmnet/inpainter.hpp"

#include <cstdint>
#include <cstdio>
#include <vector>

TEST(yuvMatchesOpenCv)
{
    struct Case
    {
        int y, u, v;
        uint8_t r, g, b;
    };
    // cv2.cvtColor(np.array([[Y, Y], [Y, Y], [U, V]], np.uint8), cv2.COLOR_YUV2RGB_NV12)[0, 0]
    Case const cases[] = {{16, 128, 128, 0, 0, 0}, {235, 128, 128, 255, 255, 255}, {81, 90, 240, 254, 0, 0},
        {145, 54, 34, 0, 255, 1}, {0, 255, 0, 0, 54, 255}};
    for (Case const& c : cases)
    {
        uint8_t rgb[3];
        rmnet::kernels::yuvToRgb(c.y, c.u, c.v, rgb);
        CHECK(rgb[0] == c.r && rgb[1] == c.g && rgb[2] == c.b);
    }
}

TEST(planesAndPitches)
{
    // 2x4 NV12 with padded rows: Y pitch 6, UV pitch 5; chroma (U, V) per 2x2 block
    std::vector<uint8_t> y = {16, 16, 235, 235, 9, 9, 16, 16, 235, 235, 9, 9};
    std::vector<uint8_t> uv = {128, 128, 128, 128, 7};
    std::vector<uint8_t> out(2 * 4 * 4, 0);
    rmnet::convertFrame(rmnet::FrameView::nv12(y.data(), 6, uv.data(), 5, 2, 4),
        rmnet::FrameView::packed(out.data(), 2, 4, rmnet::FrameFormat::kBGRA));
    CHECK(out[0] == 0 && out[3] == 255 && out[8] == 255 && out[16] == 0 && out[31] == 255);
    // I420 with the same content
    std::vector<uint8_t> u = {128, 128}, v = {128, 128};
    std::vector<uint8_t> rgb(2 * 4 * 3, 1);
    rmnet::convertFrame(rmnet::FrameView::i420(y.data(), 6, u.data(), v.data(), 2, 2, 4),
        rmnet::FrameView::packed(rgb.data(), 2, 4, rmnet::FrameFormat::kRGB));
    CHECK(rgb[0] == 0 && rgb[6] == 255 && rgb[12] == 0 && rgb[21] == 255);
}

TEST(refusals)
{
    std::vector<uint8_t> buf(64, 0), out(64, 0);
    auto const odd = rmnet::FrameView::nv12(buf.data(), 3, buf.data() + 9, 3, 3, 3);
    CHECK_THROWS_CODE(
        rmnet::convertFrame(odd, rmnet::FrameView::packed(out.data(), 3, 3, rmnet::FrameFormat::kRGB)),
        rmnet::Status::kINVALID_ARGUMENT);
    auto const rgba = rmnet::FrameView::packed(buf.data(), 2, 2, rmnet::FrameFormat::kRGBA);
    CHECK_THROWS_CODE(
        rmnet::convertFrame(rgba, rmnet::FrameView::nv12(out.data(), 2, out.data() + 4, 2, 2, 2)),
        rmnet::Status::kINVALID_ARGUMENT);
    CHECK_THROWS_CODE(
        rmnet::convertFrame(rgba, rmnet::FrameView::packed(out.data(), 2, 3, rmnet::FrameFormat::kRGB)),
        rmnet::Status::kINVALID_ARGUMENT);
    auto const device = rmnet::FrameView::packed(buf.data(), 2, 2, rmnet::FrameFormat::kRGBA, 0, rmnet::Memory::kCUDA);
    CHECK_THROWS_CODE(
        rmnet::convertFrame(device, rmnet::FrameView::packed(out.data(), 2, 2, rmnet::FrameFormat::kRGB)),
        rmnet::Status::kINVALID_ARGUMENT);
#if !RMNET_WITH_CUDA
    CHECK_THROWS_CODE(rmnet::convertFrameAsync(device,
                          rmnet::FrameView::packed(out.data(), 2, 2, rmnet::FrameFormat::kRGB, 0, rmnet::Memory::kCUDA),
                          nullptr),
        rmnet::Status::kBACKEND_UNAVAILABLE);
#endif
}

int main()
{
    return rmnet_test::runAll();
}
