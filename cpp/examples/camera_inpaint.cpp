//! \file camera_inpaint.cpp
//! \brief Live inpainting: OpenCV VideoCapture (camera or file) -> rmnet::Inpainter -> VideoWriter
//! or a window, printing per-stage latency every N frames.
//!
//!   camera_inpaint --model rmnet.onnx --input 0 --mask mask.png --show
//!   camera_inpaint --model rmnet.engine --input clip.avi --demo-mask --output out.avi --every 30
//!   camera_inpaint --model rmnet.onnx --input clip.mp4 --mask logo.png --output out.avi --stability
//!
//! The mask comes from a hook called once per frame: a static mask file (white = hole) or a moving
//! demo box. Replace makeMaskHook() with your own (e.g. a segmentation model's output). A static
//! mask is prepared once (Inpainter::prepareMask: its crop boxes), as `rmnet video` does. Mask
//! rules are the Python CLI's: a mask of another size than the frames is refused unless
//! --resize-mask, which resizes it so that a hole never shrinks.
#include "rmnet/inpainter.hpp"
#include "temporal_stability.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>
#if RMNET_HAVE_HIGHGUI
#include <opencv2/highgui.hpp>
#endif

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

namespace {

struct Args
{
    std::string model;
    std::string input = "0";
    std::string mask;
    std::string output;
    std::string backend = "auto";
    std::string strategy = "crop";
    std::string fourcc = "MJPG";
    int size = 256;
    int cropMargin = 128;
    int every = 30;
    int maxFrames = 0;
    bool demoMask = false;
    bool show = false;
    bool resizeMask = false;
    bool stability = false;
};

//! Returns the hole mask (CV_8UC1, nonzero = hole, frame-sized) for frame number \p index.
using MaskHook = std::function<cv::Mat(cv::Mat const& frame, int index)>;

//! A mask hook, and whether its mask is the same for every frame (then it is prepared once).
struct MaskSource
{
    MaskHook hook;
    bool isStatic;
};

void usage()
{
    std::fprintf(stderr,
        "usage: camera_inpaint --model FILE [--input CAMERA_INDEX|VIDEO] (--mask PNG | --demo-mask)\n"
        "                      [--output VIDEO] [--show] [--backend auto|opencv|tensorrt]\n"
        "                      [--strategy crop|resize|original] [--size 256] [--crop-margin 128]\n"
        "                      [--resize-mask] [--stability] [--every 30] [--max-frames N] [--fourcc MJPG]\n");
}

bool parse(int argc, char** argv, Args& a)
{
    for (int i = 1; i < argc; ++i)
    {
        std::string const k = argv[i];
        auto next = [&](std::string& v) {
            if (i + 1 >= argc)
            {
                return false;
            }
            v = argv[++i];
            return true;
        };
        std::string v;
        if (k == "--show")
            a.show = true;
        else if (k == "--demo-mask")
            a.demoMask = true;
        else if (k == "--resize-mask")
            a.resizeMask = true;
        else if (k == "--stability")
            a.stability = true;
        else if (k == "--crop-margin" && next(v))
            a.cropMargin = std::atoi(v.c_str());
        else if (k == "--model" && next(v))
            a.model = v;
        else if (k == "--input" && next(v))
            a.input = v;
        else if (k == "--mask" && next(v))
            a.mask = v;
        else if (k == "--output" && next(v))
            a.output = v;
        else if (k == "--backend" && next(v))
            a.backend = v;
        else if (k == "--strategy" && next(v))
            a.strategy = v;
        else if (k == "--fourcc" && next(v) && v.size() == 4)
            a.fourcc = v;
        else if (k == "--size" && next(v))
            a.size = std::atoi(v.c_str());
        else if (k == "--every" && next(v))
            a.every = std::max(1, std::atoi(v.c_str()));
        else if (k == "--max-frames" && next(v))
            a.maxFrames = std::atoi(v.c_str());
        else
            return false;
    }
    return !a.model.empty() && (a.demoMask || !a.mask.empty()) && (a.show || !a.output.empty());
}

//! rmnet_sdk.masks.resize_hole_mask: output pixel (i, j) is a hole iff any source pixel of rows
//! [i*H/h, ceil((i+1)*H/h)) x columns [j*W/w, ceil((j+1)*W/w)) is, so a hole never shrinks
//! (nearest-neighbour resizing drops thin strokes when it downscales).
cv::Mat resizeHoleMask(cv::Mat const& hole, cv::Size size)
{
    cv::Mat out = cv::Mat::zeros(size, CV_8UC1);
    int64_t const H = hole.rows, W = hole.cols, h = size.height, w = size.width;
    for (int64_t i = 0; i < h; ++i)
    {
        int64_t const y0 = i * H / h, y1 = ((i + 1) * H + h - 1) / h;
        for (int64_t j = 0; j < w; ++j)
        {
            int64_t const x0 = j * W / w, x1 = ((j + 1) * W + w - 1) / w;
            cv::Mat const cell = hole(cv::Range(static_cast<int>(y0), static_cast<int>(y1)),
                cv::Range(static_cast<int>(x0), static_cast<int>(x1)));
            out.at<uint8_t>(static_cast<int>(i), static_cast<int>(j)) = cv::countNonZero(cell) > 0 ? 255 : 0;
        }
    }
    return out;
}

MaskSource makeMaskSource(Args const& a)
{
    if (a.demoMask)
    {
        return {[](cv::Mat const& frame, int index) {
            cv::Mat m = cv::Mat::zeros(frame.size(), CV_8UC1);
            int const w = std::max(8, frame.cols / 5), h = std::max(8, frame.rows / 5);
            int const x = (index * 4) % std::max(1, frame.cols - w);
            cv::rectangle(m, cv::Rect(x, frame.rows / 2 - h / 2, w, h), cv::Scalar(255), cv::FILLED);
            return m;
        },
            false};
    }
    cv::Mat const file = cv::imread(a.mask, cv::IMREAD_GRAYSCALE);
    if (file.empty())
    {
        throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT, "cannot read mask image " + a.mask);
    }
    cv::Mat const hole = file > 127; // white = hole
    bool const resize = a.resizeMask;
    std::string const path = a.mask;
    cv::Mat sized; // cached for the frame size of the stream
    return {[hole, resize, path, sized](cv::Mat const& frame, int) mutable {
                if (sized.size() != frame.size())
                {
                    if (hole.size() != frame.size() && !resize)
                    {
                        throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT,
                            "mask " + path + " is " + std::to_string(hole.cols) + "x" + std::to_string(hole.rows)
                                + " but the frames are " + std::to_string(frame.cols) + "x"
                                + std::to_string(frame.rows) + " (use --resize-mask)");
                    }
                    sized = hole.size() == frame.size() ? hole : resizeHoleMask(hole, frame.size());
                }
                return sized;
            },
        true};
}

rmnet::Options options(Args const& a)
{
    rmnet::Options o;
    o.modelPath = a.model;
    o.backend = a.backend == "opencv" ? rmnet::Backend::kOPENCV
        : a.backend == "tensorrt"     ? rmnet::Backend::kTENSORRT
                                      : rmnet::Backend::kAUTO;
    if (a.strategy != "crop" && a.strategy != "resize" && a.strategy != "original")
    {
        throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT, "--strategy must be crop, resize or original");
    }
    o.strategy = a.strategy == "original" ? rmnet::Strategy::kORIGINAL
        : a.strategy == "resize"          ? rmnet::Strategy::kRESIZE
                                          : rmnet::Strategy::kCROP;
    o.modelSize = a.size;
    o.cropMargin = a.cropMargin;
    return o;
}

cv::VideoCapture openInput(std::string const& input)
{
    bool const isIndex = !input.empty() && input.find_first_not_of("0123456789") == std::string::npos;
    cv::VideoCapture cap;
    if (isIndex)
    {
        cap.open(std::atoi(input.c_str()));
    }
    else
    {
        cap.open(input);
    }
    if (!cap.isOpened())
    {
        throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT, "cannot open input " + input);
    }
    return cap;
}

double msSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

//! Stage sums over the current reporting window.
struct Window
{
    int frames = 0;
    double capture = 0, pre = 0, infer = 0, comp = 0, total = 0;
    void report(int frameIndex)
    {
        double const n = frames;
        std::printf("frames %5d  capture %.2f ms  preprocess %.2f ms  infer %.2f ms  composite %.2f ms  "
                    "end-to-end %.2f ms (%.1f fps)\n",
            frameIndex, capture / n, pre / n, infer / n, comp / n, total / n, 1000.0 * n / total);
        std::fflush(stdout);
        *this = Window{};
    }
};

int run(Args const& a)
{
    rmnet::Inpainter inpainter(options(a));
    MaskSource const masks = makeMaskSource(a);
    rmnet::PreparedMask prepared; // a static mask, prepared at the first frame
    camera::TemporalStabilizer stabilizer;
    cv::VideoCapture cap = openInput(a.input);
    std::printf("rmnet %s (%s), backend %s, input %s\n", rmnet::version(), rmnet::buildInfo(), inpainter.backendName(),
        a.input.c_str());

    cv::VideoWriter writer;
    cv::Mat frame, out;
    Window win;
    int index = 0;
    for (; a.maxFrames <= 0 || index < a.maxFrames; ++index)
    {
        auto const t0 = std::chrono::steady_clock::now();
        if (!cap.read(frame) || frame.empty())
        {
            break;
        }
        double const captureMs = msSince(t0);
        if (frame.type() != CV_8UC3)
        {
            cv::cvtColor(frame, frame, frame.channels() == 1 ? cv::COLOR_GRAY2BGR : cv::COLOR_BGRA2BGR);
        }
        cv::Mat const mask = masks.hook(frame, index);
        out.create(frame.size(), CV_8UC3);

        auto const t1 = std::chrono::steady_clock::now();
        rmnet::ImageView const in{frame.data, frame.rows, frame.cols, 3, frame.step[0], rmnet::PixelFormat::kBGR};
        rmnet::ImageView const dst{out.data, out.rows, out.cols, 3, out.step[0], rmnet::PixelFormat::kBGR};
        rmnet::MaskView const maskView{mask.data, mask.rows, mask.cols, mask.step[0]};
        if (masks.isStatic)
        {
            if (prepared.height() != frame.rows || prepared.width() != frame.cols)
            {
                prepared = inpainter.prepareMask(maskView);
            }
            inpainter.runPrepared(in, prepared, dst);
        }
        else
        {
            inpainter.run(in, maskView, dst);
        }
        if (a.stability)
        {
            stabilizer.apply(frame, mask, out);
        }
        double const runMs = msSince(t1);

        if (!a.output.empty())
        {
            if (!writer.isOpened())
            {
                double const fps = cap.get(cv::CAP_PROP_FPS) > 0 ? cap.get(cv::CAP_PROP_FPS) : 25.0;
                int const fourcc = cv::VideoWriter::fourcc(a.fourcc[0], a.fourcc[1], a.fourcc[2], a.fourcc[3]);
                if (!writer.open(a.output, fourcc, fps, out.size()))
                {
                    throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT, "cannot write " + a.output);
                }
            }
            writer.write(out);
        }
#if RMNET_HAVE_HIGHGUI
        if (a.show)
        {
            cv::imshow("rmnet", out);
            if ((cv::waitKey(1) & 0xff) == 27)
            {
                break;
            }
        }
#endif
        rmnet::StageTimes const t = inpainter.lastTimes();
        win.frames += 1;
        win.capture += captureMs;
        win.pre += t.preprocessMs;
        win.infer += t.inferMs;
        win.comp += t.compositeMs;
        win.total += captureMs + runMs;
        if (win.frames == a.every)
        {
            win.report(index + 1);
        }
    }
    if (win.frames > 0)
    {
        win.report(index);
    }
    std::printf("done: %d frames%s\n", index,
        a.stability ? (", " + std::to_string(stabilizer.resets) + " scene cut(s)").c_str() : "");
    return index > 0 ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    Args a;
    if (!parse(argc, argv, a))
    {
        usage();
        return 2;
    }
#if !RMNET_HAVE_HIGHGUI
    if (a.show)
    {
        std::fprintf(stderr, "this build has no OpenCV highgui: use --output\n");
        return 2;
    }
#endif
    try
    {
        return run(a);
    }
    catch (rmnet::Error const& e)
    {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    catch (cv::Exception const& e)
    {
        std::fprintf(stderr, "OpenCV error: %s\n", e.what());
        return 1;
    }
}
