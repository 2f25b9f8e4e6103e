//! \file opencv_backend.cpp
//! \brief CPU backend: CPU twins of the kernels around an fp32 ONNX run by OpenCV DNN.
//!
//! This is what makes the whole C++ pipeline testable without a GPU. OpenCV cannot read fp16 ONNX
//! (every version tried fails on FLOAT16 tensors), so fp32 is the only precision accepted here.
#include "backend.hpp"

#include "contract.hpp"

#include "cpu_twins.h"

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>

namespace rmnet {
namespace detail {
namespace {

double msSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

class OpenCvBackend final : public Backend
{
public:
    explicit OpenCvBackend(Options const& options)
    {
        if (options.precision == Precision::kFP16)
        {
            throw Error(Status::kINVALID_ARGUMENT, "the OpenCV DNN backend runs fp32 ONNX only (fp16 requested)");
        }
        try
        {
            mNet = cv::dnn::readNetFromONNX(options.modelPath);
        }
        catch (cv::Exception const& e)
        {
            throw Error(Status::kMODEL_INVALID, "OpenCV DNN cannot read " + options.modelPath + ": " + e.what());
        }
        if (mNet.empty())
        {
            throw Error(Status::kMODEL_INVALID, "OpenCV DNN read an empty network from " + options.modelPath);
        }
        if (mNet.getLayerId(contract::kPREDICTION_TENSOR) < 0)
        {
            std::string outputs;
            for (auto const& name : mNet.getUnconnectedOutLayersNames())
            {
                outputs += (outputs.empty() ? "'" : ", '") + name + "'";
            }
            throw Error(Status::kMODEL_INVALID,
                "the model has no output named 'prediction' (its outputs: " + outputs + ") in " + options.modelPath);
        }
        mNet.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
        mNet.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
        if (options.numThreads > 0)
        {
            cv::setNumThreads(options.numThreads); // process-wide in OpenCV
        }
    }

    void run(std::vector<Job> const& jobs, int32_t modelH, int32_t modelW, StageTimes& times) override
    {
        try
        {
            runBatch(jobs, modelH, modelW, times);
        }
        catch (cv::Exception const& e) // e.g. a tensor allocation that does not fit in memory
        {
            throw Error(Status::kINFERENCE_FAILED,
                "OpenCV failed on a " + std::to_string(jobs.size()) + "x3x" + std::to_string(modelH) + "x"
                    + std::to_string(modelW) + " batch: " + e.what());
        }
    }

    void runBatch(std::vector<Job> const& jobs, int32_t modelH, int32_t modelW, StageTimes& times)
    {
        int const n = static_cast<int>(jobs.size());
        int const imageShape[] = {n, 3, modelH, modelW};
        int const maskShape[] = {n, 1, modelH, modelW};
        cv::Mat image(4, imageShape, CV_32F);
        cv::Mat mask(4, maskShape, CV_32F);
        size_t const plane = static_cast<size_t>(modelH) * modelW;

        auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i)
        {
            float* img = image.ptr<float>() + 3 * plane * i;
            float* msk = mask.ptr<float>() + plane * i;
            kernels::preprocessCpu(preprocessParams(jobs[i], modelH, modelW, kernels::DType::kFLOAT, img, msk));
        }
        times.preprocessMs = msSince(t0);

        t0 = std::chrono::steady_clock::now();
        cv::Mat pred = infer(image, mask);
        times.inferMs = msSince(t0);
        if (pred.dims != 4 || pred.size[0] != n || pred.size[1] != 3 || pred.size[2] != modelH
            || pred.size[3] != modelW || pred.type() != CV_32F)
        {
            throw Error(Status::kMODEL_INVALID,
                "the model's output 'prediction' is " + describe(pred) + ", expected " + std::to_string(n) + "x3x"
                    + std::to_string(modelH) + "x" + std::to_string(modelW) + " fp32");
        }
        pred = pred.isContinuous() ? pred : pred.clone();

        t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < n; ++i)
        {
            float const* p = pred.ptr<float>() + 3 * plane * i;
            kernels::compositeCpu(compositeParams(jobs[i], modelH, modelW, kernels::DType::kFLOAT, p));
        }
        times.compositeMs = msSince(t0);
    }

    void infer(float const* image, float const* mask, int32_t n, int32_t h, int32_t w, float* prediction) override
    {
        int const imageShape[] = {n, 3, h, w};
        int const maskShape[] = {n, 1, h, w};
        // Views of the caller's memory: setInput copies what it needs.
        cv::Mat const img(4, imageShape, CV_32F, const_cast<float*>(image));
        cv::Mat const msk(4, maskShape, CV_32F, const_cast<float*>(mask));
        cv::Mat const pred = infer(img, msk);
        size_t const count = static_cast<size_t>(n) * 3 * h * w;
        if (pred.type() != CV_32F || pred.total() != count)
        {
            throw Error(Status::kMODEL_INVALID,
                "the model's output 'prediction' is " + describe(pred) + ", expected " + std::to_string(n) + "x3x"
                    + std::to_string(h) + "x" + std::to_string(w) + " fp32");
        }
        std::memcpy(prediction, pred.ptr<float>(), count * sizeof(float));
    }

    char const* name() const override
    {
        return "opencv";
    }

private:
    //! OpenCV DNN (4.6, Debian/Ubuntu's) mis-handles this graph for N > 1, so a batch runs one
    //! image at a time through the same network; the results are those of N single calls.
    cv::Mat infer(cv::Mat const& image, cv::Mat const& mask)
    {
        int const n = image.size[0];
        if (n == 1)
        {
            return inferOne(image, mask);
        }
        int const h = image.size[2];
        int const w = image.size[3];
        size_t const plane = static_cast<size_t>(h) * w;
        int const outShape[] = {n, 3, h, w};
        int const imageShape[] = {1, 3, h, w};
        int const maskShape[] = {1, 1, h, w};
        cv::Mat out(4, outShape, CV_32F);
        for (int i = 0; i < n; ++i)
        {
            cv::Mat const img(4, imageShape, CV_32F, const_cast<float*>(image.ptr<float>()) + 3 * plane * i);
            cv::Mat const msk(4, maskShape, CV_32F, const_cast<float*>(mask.ptr<float>()) + plane * i);
            cv::Mat const pred = inferOne(img, msk);
            if (pred.type() != CV_32F || pred.total() != 3 * plane)
            {
                throw Error(Status::kMODEL_INVALID,
                    "the model's output 'prediction' is " + describe(pred) + ", expected 1x3x" + std::to_string(h) + "x"
                        + std::to_string(w) + " fp32");
            }
            std::memcpy(out.ptr<float>() + 3 * plane * i, pred.ptr<float>(), 3 * plane * sizeof(float));
        }
        return out;
    }

    cv::Mat inferOne(cv::Mat const& image, cv::Mat const& mask)
    {
        try
        {
            mNet.setInput(image, contract::kIMAGE_TENSOR);
            mNet.setInput(mask, contract::kMASK_TENSOR);
        }
        catch (cv::Exception const& e)
        {
            throw Error(Status::kMODEL_INVALID,
                std::string("the model needs fp32 inputs named 'image' [N,3,H,W] and 'mask' [N,1,H,W]: ") + e.what());
        }
        try
        {
            return mNet.forward(contract::kPREDICTION_TENSOR).clone(); // clone: forward() returns a net-owned buffer
        }
        catch (cv::Exception const& e)
        {
            // The output's name was checked at load: what fails here is the graph on this input
            // (a layer's shape arithmetic, a size the network cannot take, memory).
            throw Error(Status::kINFERENCE_FAILED,
                "OpenCV DNN cannot run the model on a " + describe(image) + " input: " + e.what());
        }
    }

    //! "1x3x64x64 fp32"-style description of a tensor, for messages.
    static std::string describe(cv::Mat const& m)
    {
        std::string s;
        for (int i = 0; i < m.dims; ++i)
        {
            s += (i ? "x" : "") + std::to_string(m.size[i]);
        }
        return s + (m.type() == CV_32F ? " fp32" : " (type " + std::to_string(m.type()) + ")");
    }

    cv::dnn::Net mNet;
};

} // namespace

std::unique_ptr<Backend> createOpenCvBackend(Options const& options)
{
    return std::make_unique<OpenCvBackend>(options);
}

} // namespace detail
} // namespace rmnet
