//! \file frame.cpp
//! \brief Camera frames (frame.hpp): conversion on the CPU / CUDA, and Inpainter::runFrame.
//!
//! runFrame decodes a frame into a packed RGB staging image when its layout is not RGB/BGR,
//! runs the ordinary pipeline on it, and encodes the result into the caller's layout. Known pixels
//! therefore go through integer-only steps: copies, and OpenCV's YUV decoding.
#include "rmnet/inpainter.hpp"

#include "pixel_formats_launch.h"

#if RMNET_WITH_CUDA
#include "cuda_utils.hpp"
#endif

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmnet {
namespace {

kernels::ConvertParams convertParams(FrameView const& src, FrameView const& dst)
{
    if (src.height != dst.height || src.width != dst.width)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "frame conversion: source is " + std::to_string(src.height) + "x" + std::to_string(src.width)
                + " but the output is " + std::to_string(dst.height) + "x" + std::to_string(dst.width));
    }
    kernels::ConvertParams p{};
    auto const sf = static_cast<kernels::FrameLayout>(src.format);
    auto const df = static_cast<kernels::FrameLayout>(dst.format);
    size_t const w = src.width > 0 ? static_cast<size_t>(src.width) : 0;
    bool const nv12 = sf == kernels::FrameLayout::kNV12;
    size_t const defaults[3] = {kernels::isYuv420(sf) ? w : static_cast<size_t>(kernels::packedChannels(sf)) * w,
        nv12 ? w : w / 2, w / 2};
    for (int i = 0; i < 3; ++i)
    {
        p.src[i] = src.planes[i];
        p.srcPitch[i] = src.pitches[i] != 0 ? src.pitches[i] : defaults[i];
    }
    p.srcFormat = sf;
    p.dst = dst.planes[0];
    p.dstPitch = dst.pitches[0] != 0 ? dst.pitches[0] : static_cast<size_t>(kernels::packedChannels(df)) * w;
    p.dstFormat = df;
    p.height = src.height;
    p.width = src.width;
    if (char const* err = kernels::validateConvert(p))
    {
        throw Error(Status::kINVALID_ARGUMENT, err);
    }
    return p;
}

bool isPacked3(FrameFormat f)
{
    return f == FrameFormat::kRGB || f == FrameFormat::kBGR;
}

ImageView imageOf(FrameView const& f)
{
    ImageView v;
    v.data = f.planes[0];
    v.height = f.height;
    v.width = f.width;
    v.pitch = f.pitches[0];
    v.format = f.format == FrameFormat::kBGR ? PixelFormat::kBGR : PixelFormat::kRGB;
    return v;
}

void requireHost(FrameView const& f, char const* what)
{
    if (f.memory != Memory::kHOST)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            std::string(what)
                + " is in CUDA memory: runFrame takes host frames (convert device frames with convertFrameAsync)");
    }
}

//! Runs \p body (which inpaints a packed RGB/BGR image into a packed image of the same layout) for
//! a frame of any layout, converting in and out as needed.
template <typename Body>
void withPackedFrames(FrameView const& frame, FrameView const& out, Body&& body)
{
    requireHost(frame, "the frame");
    requireHost(out, "the output");
    if (frame.height != out.height || frame.width != out.width)
    {
        throw Error(Status::kINVALID_ARGUMENT, "runFrame: the output differs in size from the frame");
    }
    if (out.format != FrameFormat::kRGB && out.format != FrameFormat::kBGR && out.format != FrameFormat::kRGBA
        && out.format != FrameFormat::kBGRA)
    {
        throw Error(Status::kINVALID_ARGUMENT, "runFrame: the output format must be RGB, BGR, RGBA or BGRA");
    }
    size_t const pixels = static_cast<size_t>(frame.height > 0 ? frame.height : 0) * (frame.width > 0 ? frame.width : 0);
    std::vector<uint8_t> inStage, outStage;
    FrameView input = frame;
    if (!isPacked3(frame.format))
    {
        inStage.resize(3 * pixels);
        input = FrameView::packed(inStage.data(), frame.height, frame.width, FrameFormat::kRGB);
        convertFrame(frame, input);
    }
    if (out.format == input.format)
    {
        body(imageOf(input), imageOf(out));
        return;
    }
    outStage.resize(3 * pixels);
    FrameView const staged = FrameView::packed(outStage.data(), frame.height, frame.width, input.format);
    body(imageOf(input), imageOf(staged));
    convertFrame(staged, out);
    bool const inAlpha = frame.format == FrameFormat::kRGBA || frame.format == FrameFormat::kBGRA;
    bool const outAlpha = out.format == FrameFormat::kRGBA || out.format == FrameFormat::kBGRA;
    if (inAlpha && outAlpha) // the input's alpha, byte for byte (convertFrame wrote 255)
    {
        size_t const inPitch = frame.pitches[0] != 0 ? frame.pitches[0] : 4 * static_cast<size_t>(frame.width);
        size_t const outPitch = out.pitches[0] != 0 ? out.pitches[0] : 4 * static_cast<size_t>(out.width);
        for (int32_t y = 0; y < frame.height; ++y)
        {
            uint8_t const* src = frame.planes[0] + static_cast<size_t>(y) * inPitch;
            uint8_t* dst = out.planes[0] + static_cast<size_t>(y) * outPitch;
            for (int32_t x = 0; x < frame.width; ++x)
            {
                dst[4 * x + 3] = src[4 * x + 3];
            }
        }
    }
}

} // namespace

FrameView FrameView::packed(uint8_t* data, int32_t height, int32_t width, FrameFormat format, size_t pitch, Memory memory)
{
    FrameView f;
    f.planes[0] = data;
    f.pitches[0] = pitch;
    f.height = height;
    f.width = width;
    f.format = format;
    f.memory = memory;
    return f;
}

FrameView FrameView::nv12(uint8_t* y, size_t yPitch, uint8_t* uv, size_t uvPitch, int32_t height, int32_t width, Memory memory)
{
    FrameView f = packed(y, height, width, FrameFormat::kNV12, yPitch, memory);
    f.planes[1] = uv;
    f.pitches[1] = uvPitch;
    return f;
}

FrameView FrameView::i420(
    uint8_t* y, size_t yPitch, uint8_t* u, uint8_t* v, size_t uvPitch, int32_t height, int32_t width, Memory memory)
{
    FrameView f = packed(y, height, width, FrameFormat::kI420, yPitch, memory);
    f.planes[1] = u;
    f.planes[2] = v;
    f.pitches[1] = f.pitches[2] = uvPitch;
    return f;
}

void convertFrame(FrameView const& src, FrameView const& dst)
{
    requireHost(src, "the source frame");
    requireHost(dst, "the output frame");
    kernels::convertCpu(convertParams(src, dst));
}

void convertFrameAsync(FrameView const& src, FrameView const& dst, void* cudaStream)
{
    if (src.memory != Memory::kCUDA || dst.memory != Memory::kCUDA)
    {
        throw Error(Status::kINVALID_ARGUMENT, "convertFrameAsync: both frames must be in CUDA memory");
    }
    kernels::ConvertParams const p = convertParams(src, dst);
#if RMNET_WITH_CUDA
    detail::cudaCheck(kernels::launchConvert(p, static_cast<cudaStream_t>(cudaStream)), "frame conversion kernel");
#else
    (void) p;
    (void) cudaStream;
    throw Error(Status::kBACKEND_UNAVAILABLE, "convertFrameAsync: this build has no CUDA support");
#endif
}

void Inpainter::runFrame(FrameView const& frame, MaskView const& mask, FrameView const& out)
{
    withPackedFrames(frame, out, [&](ImageView const& in, ImageView const& dst) { run(in, mask, dst); });
}

void Inpainter::runFrame(FrameView const& frame, PreparedMask const& mask, FrameView const& out)
{
    withPackedFrames(frame, out, [&](ImageView const& in, ImageView const& dst) { runPrepared(in, mask, dst); });
}

} // namespace rmnet
