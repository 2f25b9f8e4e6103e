//! \file frame.hpp
//! \brief Camera frames: NV12, I420, RGBA, BGRA, RGB, BGR in host or CUDA memory.
//!
//! \code
//!   rmnet::FrameView nv12 = rmnet::FrameView::nv12(y, yPitch, uv, uvPitch, h, w);
//!   rmnet::FrameView rgba = rmnet::FrameView::packed(outBuf, h, w, rmnet::FrameFormat::kRGBA);
//!   inpainter.runFrame(nv12, preparedMask, rgba);   // known pixels: OpenCV's NV12 -> RGB, exactly
//! \endcode
//!
//! Exactness: packed input and output of one layout (RGBA -> RGBA, ...) keep known pixels and the
//! alpha channel bit-exact. YUV 4:2:0 input is decoded like cv::cvtColor(COLOR_YUV2RGB_NV12 /
//! _I420) (BT.601 video range, 20-bit fixed point, no chroma interpolation), and its known pixels
//! are exactly that decoding; a YUV output is not offered, because re-subsampling the chroma of a
//! 2x2 block that straddles a hole edge would change known pixels.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rmnet {

//! Layout of a frame; the values match kernels::FrameLayout.
enum class FrameFormat : int32_t
{
    kRGB = 0,
    kBGR = 1,
    kRGBA = 2,  //!< alpha passed through
    kBGRA = 3,  //!< alpha passed through (e.g. Windows/Android camera surfaces, CoreVideo 32BGRA)
    kNV12 = 4,  //!< Y plane + interleaved U,V plane at half resolution (most hardware decoders)
    kI420 = 5,  //!< Y, U, V planes, U and V at half resolution (YUV420p, libvpx, many webcams)
};

//! Where a frame's pixels live.
enum class Memory : int32_t
{
    kHOST = 0,
    kCUDA = 1, //!< device pointers (convertFrameAsync on the caller's stream)
};

//! Non-owning view of a frame: up to three planes, each with its own row pitch.
struct FrameView
{
    uint8_t* planes[3] = {nullptr, nullptr, nullptr}; //!< packed: [0]; NV12: Y, UV; I420: Y, U, V
    size_t pitches[3] = {0, 0, 0};                    //!< bytes between rows of each plane (0: packed)
    int32_t height = 0;
    int32_t width = 0;
    FrameFormat format = FrameFormat::kRGB;
    Memory memory = Memory::kHOST;

    static FrameView packed(uint8_t* data, int32_t height, int32_t width, FrameFormat format, size_t pitch = 0,
        Memory memory = Memory::kHOST);
    static FrameView nv12(uint8_t* y, size_t yPitch, uint8_t* uv, size_t uvPitch, int32_t height, int32_t width,
        Memory memory = Memory::kHOST);
    static FrameView i420(uint8_t* y, size_t yPitch, uint8_t* u, uint8_t* v, size_t uvPitch, int32_t height,
        int32_t width, Memory memory = Memory::kHOST);
};

//! Converts \p src (any format) into \p dst (kRGB, kBGR, kRGBA or kBGRA, same size) on the CPU; both
//! in host memory. Alpha: copied from a 4-channel source, else 255. Throws Error (kINVALID_ARGUMENT).
void convertFrame(FrameView const& src, FrameView const& dst);

//! The same conversion by the CUDA kernel for frames in device memory, enqueued on \p cudaStream (a
//! cudaStream_t; nullptr: the default stream) without synchronising. Throws Error
//! (kBACKEND_UNAVAILABLE without CUDA support, kCUDA_ERROR, kINVALID_ARGUMENT).
void convertFrameAsync(FrameView const& src, FrameView const& dst, void* cudaStream);

} // namespace rmnet
