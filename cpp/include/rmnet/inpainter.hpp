//! \file inpainter.hpp
//! \brief rmnet C++ API: fill the holes of an image with R-MNet.
//!
//! \code
//!   rmnet::Options opt;
//!   opt.modelPath = "rmnet.onnx";             // .onnx -> OpenCV DNN (CPU), .engine/.plan -> TensorRT
//!   rmnet::Inpainter inpainter(opt);
//!   rmnet::ImageView out{outBuf, h, w, 3, pitch};
//!   inpainter.run(rmnet::ImageView{img, h, w, 3, pitch}, rmnet::MaskView{mask, h, w, w}, out);
//! \endcode
//!
//! Errors: every failure throws rmnet::Error, whose code() says what went wrong (bad input, model
//! missing, backend unavailable, ...). Nothing is ever signalled by a crash, an abort or a silent
//! fallback. The C ABI (rmnet_c.h) turns the same errors into status codes.
//!
//! Threads: an Inpainter owns one stream / one network; call it from one thread at a time (create
//! one per thread to run in parallel).
#pragma once

#include "rmnet/frame.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace rmnet {

//! What went wrong; the values are those of rmnet_status in rmnet_c.h.
enum class Status : int32_t
{
    kOK = 0,
    kINVALID_ARGUMENT = 1,     //!< null pointer, size mismatch, wrong channel count, bad option
    kMODEL_NOT_FOUND = 2,      //!< the model file does not exist
    kMODEL_INVALID = 3,        //!< the model cannot be parsed, or lacks the expected inputs/outputs
    kENGINE_MISMATCH = 4,      //!< a TensorRT engine's sidecar JSON does not match this machine/request
    kBACKEND_UNAVAILABLE = 5,  //!< the backend was not built in, or needs a GPU that is absent
    kINFERENCE_FAILED = 6,     //!< the backend failed while running
    kCUDA_ERROR = 7,           //!< a CUDA runtime call failed
    kINTERNAL = 8,             //!< a bug: please report
};

//! The one exception type of the library.
class Error : public std::runtime_error
{
public:
    Error(Status code, std::string const& message)
        : std::runtime_error(message)
        , mCode(code)
    {
    }
    Status code() const noexcept
    {
        return mCode;
    }

private:
    Status mCode;
};

//! Channel order of a uint8 image.
enum class PixelFormat : int32_t
{
    kRGB = 0,
    kBGR = 1, //!< OpenCV's order (cv::Mat from imread / VideoCapture)
};

//! Non-owning view of an HxWx3 uint8 image whose rows are `pitch` bytes apart. Input views are only
//! read; output views are written.
struct ImageView
{
    uint8_t* data = nullptr;
    int32_t height = 0;
    int32_t width = 0;
    int32_t channels = 3;           //!< must be 3
    size_t pitch = 0;               //!< bytes between rows; 0 means tightly packed (3 * width)
    PixelFormat format = PixelFormat::kRGB;
    size_t size = 0;                //!< bytes at data, checked against (height - 1) * pitch + 3 * width;
                                    //!< 0: not given (the caller vouches for the buffer)
};

//! Non-owning view of an HxW uint8 mask, nonzero = hole (the pixels to fill).
struct MaskView
{
    uint8_t const* data = nullptr;
    int32_t height = 0;
    int32_t width = 0;
    size_t pitch = 0;               //!< bytes between rows; 0 means tightly packed (width)
    size_t size = 0;                //!< bytes at data, checked against (height - 1) * pitch + width;
                                    //!< 0: not given (the caller vouches for the buffer)
};

//! Largest model tensor side: Options::modelSize, and the padded image under Strategy::kORIGINAL
//! (an 8192^2 fp32 input tensor alone is 805 MB). Larger requests are kINVALID_ARGUMENT.
constexpr int32_t kMAX_MODEL_SIZE = 8192;

//! Inference backend.
enum class Backend : int32_t
{
    kAUTO = 0,      //!< TensorRT for .engine/.plan files, OpenCV DNN for .onnx
    kTENSORRT = 1,  //!< serialized TensorRT engine (needs an NVIDIA GPU)
    kOPENCV = 2,    //!< fp32 ONNX through OpenCV DNN on the CPU
};

//! Model precision expected by the caller. TensorRT engines carry theirs (checked against the
//! sidecar); OpenCV DNN runs fp32 ONNX only.
enum class Precision : int32_t
{
    kAUTO = 0,
    kFP32 = 1,
    kFP16 = 2,
};

//! How a full-resolution image reaches the model.
enum class Strategy : int32_t
{
    kRESIZE = 0,    //!< whole image -> modelSize x modelSize -> infer -> composite at full resolution
    kORIGINAL = 1,  //!< pad (reflect-101) to a multiple of 16 and infer at full resolution
    kCROP = 2,      //!< one modelSize^2 input per hole cluster: a square box around it with cropMargin
                    //!< pixels of context, resized (rmnet_sdk's "crop"; see holeBoxes). Small holes
                    //!< in large frames (watermarks, logos) cost one small inference.
};

//! Inpainter configuration.
struct Options
{
    std::string modelPath;                  //!< .onnx (OpenCV DNN) or .engine/.plan (TensorRT)
    Backend backend = Backend::kAUTO;
    int32_t device = 0;                     //!< CUDA device ordinal (TensorRT)
    Precision precision = Precision::kAUTO;
    Strategy strategy = Strategy::kRESIZE;
    int32_t modelSize = 256;                //!< kRESIZE/kCROP: model resolution, a multiple of 16, <= kMAX_MODEL_SIZE
    int32_t cropMargin = 128;               //!< kCROP: context pixels around each hole cluster (>= 0)
    bool cudaGraph = true;                  //!< TensorRT: capture preprocess+infer+composite per shape
    bool checkSidecar = true;               //!< TensorRT: refuse engines whose <engine>.json mismatches
    std::string onnxSha256;                 //!< TensorRT: if set, the sidecar's onnx_sha256 must equal it
    int32_t numThreads = 0;                 //!< OpenCV DNN: 0 keeps OpenCV's default
};

//! Wall-clock milliseconds of the three stages of the last run() (GPU: CUDA event timings).
struct StageTimes
{
    double preprocessMs = 0.0;
    double inferMs = 0.0;
    double compositeMs = 0.0;
};

//! A rectangle of an image: columns [x0, x1), rows [y0, y1).
struct Box
{
    int32_t x0 = 0;
    int32_t y0 = 0;
    int32_t x1 = 0;
    int32_t y1 = 0;
    bool operator==(Box const& o) const
    {
        return x0 == o.x0 && y0 == o.y0 && x1 == o.x1 && y1 == o.y1;
    }
};

//! The crop boxes of Strategy::kCROP for \p mask, equal to rmnet_sdk.inpainter.hole_boxes: each
//! 8-connected hole cluster's bounding box grows by \p margin per side and to at least \p modelSize,
//! square where the image allows, shifted inside the image; overlapping boxes are merged. Clusters
//! are taken in the order of their boxes (top, left, bottom, right). Throws kINVALID_ARGUMENT.
std::vector<Box> holeBoxes(MaskView const& mask, int32_t modelSize, int32_t margin);

//! A hole mask prepared once for many frames of one size (Inpainter::prepareMask): a copy of the
//! mask and, under kCROP, its crop boxes. Cheap to copy (shared, immutable); usable from any thread.
class PreparedMask
{
public:
    PreparedMask() = default;
    int32_t height() const noexcept;
    int32_t width() const noexcept;
    //! The model inputs cut from each frame (kCROP: one per hole cluster; otherwise the frame).
    std::vector<Box> const& boxes() const;
    //! True when the mask has no hole pixels (frames are copied unchanged).
    bool empty() const noexcept;

private:
    friend class Inpainter;
    struct Data;
    std::shared_ptr<Data const> mData;
};

//! R-MNet inpainter: preprocess -> infer -> composite, on the CPU or the GPU.
class Inpainter
{
public:
    //! Loads the model. Throws Error (kMODEL_NOT_FOUND, kMODEL_INVALID, kENGINE_MISMATCH,
    //! kBACKEND_UNAVAILABLE, kINVALID_ARGUMENT).
    explicit Inpainter(Options const& options);
    ~Inpainter();
    Inpainter(Inpainter&&) noexcept;
    Inpainter& operator=(Inpainter&&) noexcept;
    Inpainter(Inpainter const&) = delete;
    Inpainter& operator=(Inpainter const&) = delete;

    //! Fills the holes of \p image marked by \p mask into \p out (same size; may be \p image itself
    //! for in-place use). Known pixels are copied unchanged.
    void run(ImageView const& image, MaskView const& mask, ImageView const& out);

    //! Batch overload: items may differ in size; items that share a model shape run as one batch.
    void run(std::vector<ImageView> const& images, std::vector<MaskView> const& masks,
        std::vector<ImageView> const& outs);

    //! Prepares \p mask (HxW, nonzero = hole) for frames of its size under this inpainter's options:
    //! the mask is copied and, under kCROP, its boxes are computed once (for runPrepared). Throws
    //! kINVALID_ARGUMENT.
    PreparedMask prepareMask(MaskView const& mask) const;

    //! Fills the holes of \p mask (prepared by an inpainter with the same strategy, modelSize and
    //! cropMargin) in \p image into \p out: the same pixels as run(image, mask view, out), without
    //! finding the boxes again. Under kCROP, only the crops run; the rest of \p out is a copy.
    void runPrepared(ImageView const& image, PreparedMask const& mask, ImageView const& out);

    //! Camera frames in any FrameFormat (host memory): \p frame is decoded to RGB (frame.hpp),
    //! inpainted and written to \p out in the caller's format (kRGB, kBGR, kRGBA, kBGRA; the alpha
    //! of a 4-channel input is kept). \p mask is \p frame's size. Throws Error.
    void runFrame(FrameView const& frame, MaskView const& mask, FrameView const& out);
    //! The same with a prepared mask (runPrepared).
    void runFrame(FrameView const& frame, PreparedMask const& mask, FrameView const& out);

    //! Runs the network alone on model tensors (no resizing, masking or compositing): \p image
    //! [n,3,h,w] in [-1,1], \p mask [n,1,h,w] in {0,1} -> \p prediction [n,3,h,w], all fp32 and
    //! C-contiguous. For Python backends and benchmarks; run() is the API for images.
    void infer(float const* image, float const* mask, int32_t n, int32_t h, int32_t w, float* prediction);

    //! Stage timings of the last run.
    StageTimes lastTimes() const;

    //! "tensorrt" or "opencv".
    char const* backendName() const;

    //! The options in effect (backend resolved).
    Options const& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> mImpl;
};

//! Library version string, e.g. "0.1.0".
char const* version() noexcept;

//! What this build contains, e.g. "cuda=ON tensorrt=OFF opencv=ON".
char const* buildInfo() noexcept;

//! Number of usable CUDA devices (0 without CUDA support, a driver or a device; never throws).
int32_t cudaDeviceCount() noexcept;

} // namespace rmnet
