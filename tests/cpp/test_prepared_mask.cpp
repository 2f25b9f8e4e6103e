//! Strategy::kCROP, rmnet::holeBoxes and the prepared-mask path (Inpainter::prepareMask /
//! runPrepared) on the CPU backend. argv[1]: the tiny test ONNX; model-free checks run without it.
//! The boxes' parity with rmnet_sdk.inpainter.hole_boxes on random masks is in
//! tests/test_native_video.py; the cases here were computed by that function.
#include "check.hpp"

#include "rmnet/inpainter.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace {

std::string gModel;

struct Frame
{
    int h, w;
    size_t pitch;
    std::vector<uint8_t> pixels;
    Frame(int height, int width, int pad, unsigned seed)
        : h(height)
        , w(width)
        , pitch(3 * static_cast<size_t>(width) + pad)
        , pixels(pitch * height)
    {
        for (size_t i = 0; i < pixels.size(); ++i)
        {
            pixels[i] = static_cast<uint8_t>((i * 37 + seed * 101) ^ (i >> 6));
        }
    }
    rmnet::ImageView view()
    {
        return rmnet::ImageView{pixels.data(), h, w, 3, pitch, rmnet::PixelFormat::kBGR};
    }
};

struct Mask
{
    int h, w;
    std::vector<uint8_t> data;
    Mask(int height, int width)
        : h(height)
        , w(width)
        , data(static_cast<size_t>(height) * width, 0)
    {
    }
    void fill(int y0, int y1, int x0, int x1)
    {
        for (int y = y0; y < y1; ++y)
        {
            for (int x = x0; x < x1; ++x)
            {
                data[static_cast<size_t>(y) * w + x] = 255;
            }
        }
    }
    rmnet::MaskView view() const
    {
        return rmnet::MaskView{data.data(), h, w, 0, data.size()};
    }
};

bool samePixels(Frame const& a, Frame const& b)
{
    for (int y = 0; y < a.h; ++y)
    {
        for (int x = 0; x < 3 * a.w; ++x)
        {
            if (a.pixels[y * a.pitch + x] != b.pixels[y * b.pitch + x])
            {
                return false;
            }
        }
    }
    return true;
}

rmnet::Options cropOptions(int32_t size = 48, int32_t margin = 8)
{
    rmnet::Options o;
    o.modelPath = gModel;
    o.strategy = rmnet::Strategy::kCROP;
    o.modelSize = size;
    o.cropMargin = margin;
    return o;
}

} // namespace

TEST(holeBoxesMatchThePythonReference)
{
    Mask one(300, 400);
    one.fill(100, 101, 100, 101);
    CHECK(rmnet::holeBoxes(one.view(), 256, 32) == (std::vector<rmnet::Box>{{0, 0, 256, 256}}));
    Mask merged(300, 900); // the last two clusters' boxes overlap and merge
    merged.fill(10, 20, 10, 20);
    merged.fill(200, 210, 600, 650);
    merged.fill(230, 240, 660, 670);
    CHECK(rmnet::holeBoxes(merged.view(), 64, 16)
        == (std::vector<rmnet::Box>{{0, 0, 64, 64}, {584, 159, 697, 272}}));
    Mask two(120, 160);
    two.fill(30, 40, 20, 30);
    two.fill(60, 70, 100, 120);
    CHECK(rmnet::holeBoxes(two.view(), 48, 8) == (std::vector<rmnet::Box>{{1, 11, 49, 59}, {86, 41, 134, 89}}));
    CHECK(rmnet::holeBoxes(Mask(10, 10).view(), 48, 8).empty());
    CHECK_THROWS_CODE(rmnet::holeBoxes(two.view(), 0, 8), rmnet::Status::kINVALID_ARGUMENT);
    CHECK_THROWS_CODE(rmnet::holeBoxes(two.view(), 48, -1), rmnet::Status::kINVALID_ARGUMENT);
}

TEST(preparedEqualsCropRunAndKeepsKnownPixels)
{
    if (gModel.empty())
    {
        return;
    }
    rmnet::Inpainter inp(cropOptions());
    Mask mask(120, 160);
    mask.fill(30, 40, 20, 30);
    mask.fill(60, 70, 100, 120);
    rmnet::PreparedMask const prepared = inp.prepareMask(mask.view());
    CHECK(prepared.boxes().size() == 2 && !prepared.empty());
    for (unsigned seed = 0; seed < 3; ++seed)
    {
        Frame frame(120, 160, 7, seed), viaRun(120, 160, 0, 99), viaPrepared(120, 160, 3, 98);
        inp.run(frame.view(), mask.view(), viaRun.view());
        inp.runPrepared(frame.view(), prepared, viaPrepared.view());
        CHECK(samePixels(viaRun, viaPrepared));
        int changedKnown = 0, changedHole = 0;
        for (int y = 0; y < frame.h; ++y)
        {
            for (int x = 0; x < 3 * frame.w; ++x)
            {
                bool const hole = mask.data[static_cast<size_t>(y) * mask.w + x / 3] != 0;
                bool const diff = frame.pixels[y * frame.pitch + x] != viaPrepared.pixels[y * viaPrepared.pitch + x];
                (hole ? changedHole : changedKnown) += diff;
            }
        }
        CHECK(changedKnown == 0);
        CHECK(changedHole > 0);
        Frame inPlace = frame;
        inp.runPrepared(inPlace.view(), prepared, inPlace.view());
        CHECK(samePixels(inPlace, viaRun));
    }
}

TEST(emptyMaskCopiesTheFrame)
{
    if (gModel.empty())
    {
        return;
    }
    rmnet::Inpainter inp(cropOptions());
    Mask none(40, 50);
    rmnet::PreparedMask const prepared = inp.prepareMask(none.view());
    CHECK(prepared.empty() && prepared.boxes().empty());
    Frame frame(40, 50, 0, 1), out(40, 50, 0, 2);
    inp.runPrepared(frame.view(), prepared, out.view());
    CHECK(samePixels(frame, out));
}

TEST(preparedMaskMismatchesAreRefused)
{
    if (gModel.empty())
    {
        return;
    }
    rmnet::Inpainter inp(cropOptions());
    Mask mask(120, 160);
    mask.fill(30, 40, 20, 30);
    rmnet::PreparedMask const prepared = inp.prepareMask(mask.view());
    Frame small(100, 160, 0, 1), out(100, 160, 0, 1);
    CHECK_THROWS_CODE(inp.runPrepared(small.view(), prepared, out.view()), rmnet::Status::kINVALID_ARGUMENT);
    rmnet::Inpainter other(cropOptions(64, 8));
    Frame frame(120, 160, 0, 1), out2(120, 160, 0, 1);
    CHECK_THROWS_CODE(other.runPrepared(frame.view(), prepared, out2.view()), rmnet::Status::kINVALID_ARGUMENT);
    CHECK_THROWS_CODE(inp.runPrepared(frame.view(), rmnet::PreparedMask{}, out2.view()),
        rmnet::Status::kINVALID_ARGUMENT);
    rmnet::Options bad = cropOptions();
    bad.cropMargin = -1;
    CHECK_THROWS_CODE(rmnet::Inpainter{bad}, rmnet::Status::kINVALID_ARGUMENT);
}

int main(int argc, char** argv)
{
    gModel = argc > 1 ? argv[1] : "";
    std::printf("rmnet %s (%s), model: %s\n", rmnet::version(), rmnet::buildInfo(),
        gModel.empty() ? "(none: model tests skipped)" : gModel.c_str());
    return rmnet_test::runAll();
}
