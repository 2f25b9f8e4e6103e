//! \file camera_inpaint.cpp
//! \brief Live inpainting: OpenCV VideoCapture (camera or file) -> rmnet::Inpainter -> VideoWriter
//! or a window, printing per-stage latency every N frames.
//!
//!   camera_inpaint --model rmnet.onnx --input 0 --mask mask.png --show
//!   camera_inpaint --model rmnet.engine --input clip.avi --demo-mask --output out.avi --every 30
//!
//! The mask comes from a hook called once per frame: a static mask file (white = hole) or a moving
//! demo box. Replace makeMaskHook() with your own (e.g. a segmentation model's output).
#include "rmnet/inpainter.hpp"

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
    std::string strategy = "resize";
    std::string fourcc = "MJPG";
    int size = 256;
    int every = 30;
    int maxFrames = 0;
    bool demoMask = false;
    bool show = false;
};

//! Returns the hole mask (CV_8UC1, nonzero = hole, frame-sized) for frame number \p index.
using MaskHook = std::function<cv::Mat(cv::Mat const& frame, int index)>;

void usage()
{
    std::fprintf(stderr,
        "usage: camera_inpaint --model FILE [--input CAMERA_INDEX|VIDEO] (--mask PNG | --demo-mask)\n"
        "                      [--output VIDEO] [--show] [--backend auto|opencv|tensorrt]\n"
        "                      [--strategy resize|original] [--size 256] [--every 30] [--max-frames N]\n"
        "                      [--fourcc MJPG]\n");
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

MaskHook makeMaskHook(Args const& a)
{
    if (a.demoMask)
    {
        return [](cv::Mat const& frame, int index) {
            cv::Mat m = cv::Mat::zeros(frame.size(), CV_8UC1);
            int const w = std::max(8, frame.cols / 5), h = std::max(8, frame.rows / 5);
            int const x = (index * 4) % std::max(1, frame.cols - w);
            cv::rectangle(m, cv::Rect(x, frame.rows / 2 - h / 2, w, h), cv::Scalar(255), cv::FILLED);
            return m;
        };
    }
    cv::Mat const file = cv::imread(a.mask, cv::IMREAD_GRAYSCALE);
    if (file.empty())
    {
        throw rmnet::Error(rmnet::Status::kINVALID_ARGUMENT, "cannot read mask image " + a.mask);
    }
    cv::Mat resized; // cached for the frame size of the stream
    return [file, resized](cv::Mat const& frame, int) mutable {
        if (resized.size() != frame.size())
        {
            cv::resize(file, resized, frame.size(), 0, 0, cv::INTER_NEAREST);
            resized = resized > 127; // white = hole
        }
        return resized;
    };
}

rmnet::Options options(Args const& a)
{
    rmnet::Options o;
    o.modelPath = a.model;
    o.backend = a.backend == "opencv" ? rmnet::Backend::kOPENCV
        : a.backend == "tensorrt"     ? rmnet::Backend::kTENSORRT
                                      : rmnet::Backend::kAUTO;
    o.strategy = a.strategy == "original" ? rmnet::Strategy::kORIGINAL : rmnet::Strategy::kRESIZE;
    o.modelSize = a.size;
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
    MaskHook maskFor = makeMaskHook(a);
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
        cv::Mat const mask = maskFor(frame, index);
        out.create(frame.size(), CV_8UC3);

        auto const t1 = std::chrono::steady_clock::now();
        rmnet::ImageView const in{frame.data, frame.rows, frame.cols, 3, frame.step[0], rmnet::PixelFormat::kBGR};
        rmnet::ImageView const dst{out.data, out.rows, out.cols, 3, out.step[0], rmnet::PixelFormat::kBGR};
        inpainter.run(in, rmnet::MaskView{mask.data, mask.rows, mask.cols, mask.step[0]}, dst);
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
    std::printf("done: %d frames\n", index);
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
