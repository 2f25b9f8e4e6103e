//! rmnet::Inpainter through the C++ API on the CPU backend: errors, strategies, batches.
//! argv[1]: the tiny test ONNX (tests/cpp/tiny_onnx.py); model-free checks run without it.
#include "check.hpp"

#include "rmnet/inpainter.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

std::string gModel;

struct Image
{
    int h, w;
    size_t pitch;
    std::vector<uint8_t> pixels, mask;
    Image(int height, int width, int pad = 0)
        : h(height)
        , w(width)
        , pitch(3 * static_cast<size_t>(width) + pad)
        , pixels(pitch * height)
        , mask(static_cast<size_t>(height) * width, 0)
    {
        for (size_t i = 0; i < pixels.size(); ++i)
        {
            pixels[i] = static_cast<uint8_t>((i * 37) ^ (i >> 5));
        }
        for (int y = h / 3; y < h / 2; ++y)
        {
            for (int x = w / 4; x < w / 2; ++x)
            {
                mask[static_cast<size_t>(y) * w + x] = 255;
            }
        }
    }
    rmnet::ImageView view(rmnet::PixelFormat f = rmnet::PixelFormat::kRGB)
    {
        return rmnet::ImageView{pixels.data(), h, w, 3, pitch, f};
    }
    rmnet::MaskView maskView() const
    {
        return rmnet::MaskView{mask.data(), h, w, 0};
    }
};

rmnet::Options opts(std::string const& path = gModel)
{
    rmnet::Options o;
    o.modelPath = path;
    return o;
}

} // namespace

TEST(missingModel)
{
    CHECK_THROWS_CODE(rmnet::Inpainter(opts("/nonexistent/model.onnx")), rmnet::Status::kMODEL_NOT_FOUND);
    CHECK_THROWS_CODE(rmnet::Inpainter(opts("")), rmnet::Status::kINVALID_ARGUMENT);
}

TEST(corruptModels)
{
    {
        std::ofstream("corrupt.onnx") << "this is not a protobuf";
        std::ofstream("corrupt.engine") << "neither is this an engine";
    }
#if RMNET_WITH_OPENCV
    CHECK_THROWS_CODE(rmnet::Inpainter(opts("corrupt.onnx")), rmnet::Status::kMODEL_INVALID);
#else
    CHECK_THROWS_CODE(rmnet::Inpainter(opts("corrupt.onnx")), rmnet::Status::kBACKEND_UNAVAILABLE);
#endif
    // An engine is refused before TensorRT sees it: no sidecar, no TensorRT or no GPU here.
    try
    {
        rmnet::Inpainter bad(opts("corrupt.engine"));
        CHECK(false);
    }
    catch (rmnet::Error const& e)
    {
        CHECK(e.code() == rmnet::Status::kBACKEND_UNAVAILABLE || e.code() == rmnet::Status::kENGINE_MISMATCH
            || e.code() == rmnet::Status::kMODEL_INVALID);
    }
}

TEST(badOptions)
{
    if (gModel.empty())
    {
        return;
    }
    rmnet::Options o = opts();
    o.modelSize = 250;
    CHECK_THROWS_CODE(rmnet::Inpainter{o}, rmnet::Status::kINVALID_ARGUMENT);
    o = opts();
    o.strategy = static_cast<rmnet::Strategy>(42);
    CHECK_THROWS_CODE(rmnet::Inpainter{o}, rmnet::Status::kINVALID_ARGUMENT);
    o = opts();
    o.precision = rmnet::Precision::kFP16; // OpenCV DNN is fp32 only
    CHECK_THROWS_CODE(rmnet::Inpainter{o}, rmnet::Status::kINVALID_ARGUMENT);
    o = opts();
    o.modelSize = 65536; // would allocate a 51 GB tensor at the first run
    CHECK_THROWS_CODE(rmnet::Inpainter{o}, rmnet::Status::kINVALID_ARGUMENT);
    o.modelSize = rmnet::kMAX_MODEL_SIZE;
    rmnet::Inpainter{o};
}

TEST(buffersAndRowArithmeticAreChecked)
{
    if (gModel.empty())
    {
        return;
    }
    rmnet::Inpainter inp(opts());
    Image a(40, 30, 5), out(40, 30);
    rmnet::ImageView v = a.view();
    v.size = a.pixels.size(); // exact: (h - 1) * pitch + 3 * w would also do
    inp.run(v, a.maskView(), out.view());
    v.size = (a.h - 1) * a.pitch + 3 * a.w - 1;
    CHECK_THROWS_CODE(inp.run(v, a.maskView(), out.view()), rmnet::Status::kINVALID_ARGUMENT);
    rmnet::MaskView m = a.maskView();
    m.size = a.mask.size() - 1; // a short mask buffer is refused, not read past its end
    CHECK_THROWS_CODE(inp.run(a.view(), m, out.view()), rmnet::Status::kINVALID_ARGUMENT);
    rmnet::ImageView o = out.view();
    o.size = 100;
    CHECK_THROWS_CODE(inp.run(a.view(), a.maskView(), o), rmnet::Status::kINVALID_ARGUMENT);
    // (h - 1) * pitch overflows: refused before any row is touched, with or without a size
    v = a.view();
    v.pitch = SIZE_MAX / 8;
    CHECK_THROWS_CODE(inp.run(v, a.maskView(), out.view()), rmnet::Status::kINVALID_ARGUMENT);
    m = a.maskView();
    m.pitch = SIZE_MAX / 2;
    CHECK_THROWS_CODE(inp.run(a.view(), m, out.view()), rmnet::Status::kINVALID_ARGUMENT);
    try
    {
        inp.run(a.view(), m, out.view());
    }
    catch (rmnet::Error const& e)
    {
        CHECK(std::string(e.what()).find("overflow") != std::string::npos);
    }
    // strategy 'original' refuses an image whose padded tensor would exceed kMAX_MODEL_SIZE
    rmnet::Options opt = opts();
    opt.strategy = rmnet::Strategy::kORIGINAL;
    rmnet::Inpainter original(opt);
    Image wide(1, rmnet::kMAX_MODEL_SIZE + 1);
    CHECK_THROWS_CODE(original.run(wide.view(), wide.maskView(), wide.view()), rmnet::Status::kINVALID_ARGUMENT);
}

TEST(badInputs)
{
    if (gModel.empty())
    {
        return;
    }
    rmnet::Inpainter inp(opts());
    Image a(40, 30), out(40, 30), small(20, 30);
    rmnet::ImageView v = a.view();
    v.data = nullptr;
    CHECK_THROWS_CODE(inp.run(v, a.maskView(), out.view()), rmnet::Status::kINVALID_ARGUMENT);
    rmnet::MaskView m = a.maskView();
    m.data = nullptr;
    CHECK_THROWS_CODE(inp.run(a.view(), m, out.view()), rmnet::Status::kINVALID_ARGUMENT);
    CHECK_THROWS_CODE(inp.run(a.view(), small.maskView(), out.view()), rmnet::Status::kINVALID_ARGUMENT);
    CHECK_THROWS_CODE(inp.run(a.view(), a.maskView(), small.view()), rmnet::Status::kINVALID_ARGUMENT);
    v = a.view();
    v.channels = 4;
    CHECK_THROWS_CODE(inp.run(v, a.maskView(), out.view()), rmnet::Status::kINVALID_ARGUMENT);
    v = a.view();
    v.pitch = 10; // < 3 * width
    CHECK_THROWS_CODE(inp.run(v, a.maskView(), out.view()), rmnet::Status::kINVALID_ARGUMENT);
    CHECK_THROWS_CODE(inp.run(a.view(), a.maskView(), out.view(rmnet::PixelFormat::kBGR)),
        rmnet::Status::kINVALID_ARGUMENT);
    CHECK_THROWS_CODE(inp.run({a.view()}, {}, {out.view()}), rmnet::Status::kINVALID_ARGUMENT);
}

TEST(knownPixelsUntouchedAndInPlace)
{
    if (gModel.empty())
    {
        return;
    }
    rmnet::Inpainter inp(opts());
    CHECK(std::string(inp.backendName()) == "opencv");
    Image a(101, 77, 5), out(101, 77, 9);
    inp.run(a.view(), a.maskView(), out.view());
    int changedHole = 0, changedKnown = 0;
    for (int y = 0; y < a.h; ++y)
    {
        for (int x = 0; x < a.w; ++x)
        {
            bool const hole = a.mask[static_cast<size_t>(y) * a.w + x] != 0;
            for (int c = 0; c < 3; ++c)
            {
                bool const diff = a.pixels[y * a.pitch + 3 * x + c] != out.pixels[y * out.pitch + 3 * x + c];
                (hole ? changedHole : changedKnown) += diff;
            }
        }
    }
    CHECK(changedKnown == 0);
    CHECK(changedHole > 0);
    rmnet::StageTimes const t = inp.lastTimes();
    CHECK(t.inferMs > 0.0);

    Image b(101, 77, 5);
    inp.run(b.view(), b.maskView(), b.view()); // in place
    bool same = true;
    for (int y = 0; y < a.h; ++y)
    {
        for (int x = 0; x < 3 * a.w; ++x)
        {
            same = same && b.pixels[y * b.pitch + x] == out.pixels[y * out.pitch + x];
        }
    }
    CHECK(same);
}

TEST(batchEqualsSingles)
{
    if (gModel.empty())
    {
        return;
    }
    for (rmnet::Strategy s : {rmnet::Strategy::kRESIZE, rmnet::Strategy::kORIGINAL})
    {
        rmnet::Options o = opts();
        o.strategy = s;
        rmnet::Inpainter inp(o);
        Image a(48, 40), b(50, 35), c(47, 38);  // original: a, c share a padded shape (48x48), b does not
        Image oa(48, 40), ob(50, 35), oc(47, 38), sa(48, 40), sb(50, 35), sc(47, 38);
        inp.run({a.view(), b.view(), c.view()}, {a.maskView(), b.maskView(), c.maskView()},
            {oa.view(), ob.view(), oc.view()});
        inp.run(a.view(), a.maskView(), sa.view());
        inp.run(b.view(), b.maskView(), sb.view());
        inp.run(c.view(), c.maskView(), sc.view());
        CHECK(oa.pixels == sa.pixels);
        CHECK(ob.pixels == sb.pixels);
        CHECK(oc.pixels == sc.pixels);
    }
}

TEST(bgrIsChannelSwappedRgb)
{
    if (gModel.empty())
    {
        return;
    }
    rmnet::Inpainter inp(opts());
    Image rgb(33, 45), bgr(33, 45), outRgb(33, 45), outBgr(33, 45);
    for (size_t i = 0; i < rgb.pixels.size(); i += 3)
    {
        bgr.pixels[i] = rgb.pixels[i + 2];
        bgr.pixels[i + 1] = rgb.pixels[i + 1];
        bgr.pixels[i + 2] = rgb.pixels[i];
    }
    inp.run(rgb.view(), rgb.maskView(), outRgb.view());
    inp.run(bgr.view(rmnet::PixelFormat::kBGR), bgr.maskView(), outBgr.view(rmnet::PixelFormat::kBGR));
    bool swapped = true;
    for (size_t i = 0; i < rgb.pixels.size(); i += 3)
    {
        swapped = swapped && outBgr.pixels[i] == outRgb.pixels[i + 2] && outBgr.pixels[i + 2] == outRgb.pixels[i];
    }
    CHECK(swapped);
}

TEST(noGpuMeansNoTensorRt)
{
    if (rmnet::cudaDeviceCount() > 0 || gModel.empty())
    {
        return;
    }
    rmnet::Options o = opts();
    o.backend = rmnet::Backend::kTENSORRT; // refused before any TensorRT object is created
    CHECK_THROWS_CODE(rmnet::Inpainter{o}, rmnet::Status::kBACKEND_UNAVAILABLE);
}

int main(int argc, char** argv)
{
    gModel = argc > 1 ? argv[1] : "";
    std::printf("rmnet %s (%s), model: %s\n", rmnet::version(), rmnet::buildInfo(),
        gModel.empty() ? "(none: model tests skipped)" : gModel.c_str());
    return rmnet_test::runAll();
}
