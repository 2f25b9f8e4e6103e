//! \file tensorrt_backend.cpp
//! \brief GPU backend: H2D -> preprocess kernels -> enqueueV3 -> composite kernels -> D2H, all on
//! one stream, optionally replayed as one CUDA graph per fixed shape.
//!
//! Host images are staged through pinned buffers (packed rows), so copies are truly asynchronous
//! and the graph's memcpy nodes always see the same addresses. Device tensors are allocated once,
//! sized from the engine's largest optimisation profile.
#include "backend.hpp"

#include "cuda_graph.hpp"
#include "cuda_utils.hpp"
#include "launchers.h"
#include "sidecar.hpp"
#include "trt_engine.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <tuple>
#include <vector>

namespace rmnet {
namespace detail {
namespace {

int32_t computeCapability(int32_t device)
{
    int major = 0, minor = 0;
    cudaCheck(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
    cudaCheck(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
    return major * 10 + minor;
}

double msSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

//! Where one job's packed rows live inside the staging buffers.
struct Slot
{
    size_t image;
    size_t mask;
    size_t out;
};

//! Everything a captured graph depends on: replay only while all of it is unchanged.
struct GraphKey
{
    int32_t n = 0, h = 0, w = 0;
    std::vector<std::tuple<int32_t, int32_t, int32_t, int32_t, int32_t>> jobs; // h, w, regionH, regionW, bgr
    std::vector<void const*> buffers;
    bool operator==(GraphKey const& o) const
    {
        return n == o.n && h == o.h && w == o.w && jobs == o.jobs && buffers == o.buffers;
    }
};

class TensorRtBackend final : public Backend
{
public:
    explicit TensorRtBackend(Options const& options)
        : mDevice(options.device)
        , mUseGraph(options.cudaGraph)
    {
        // First: without a device, TensorRT's runtime is unusable and the next call segfaults.
        requireDevice(mDevice);
        if (options.checkSidecar)
        {
            SidecarExpectation e;
            e.trtVersion = trtLibraryVersion();
            e.computeCapability = computeCapability(mDevice);
            e.precision = options.precision;
            e.onnxSha256 = options.onnxSha256;
            checkSidecar(options.modelPath, e);
        }
        mStream = std::make_unique<Stream>();
        mEngine = std::make_unique<TrtEngine>(options.modelPath);
        size_t const perChannel = mEngine->maxElementsPerChannel();
        mImage.reserve(3 * perChannel * kernels::dtypeSize(mEngine->inputType()));
        mMask.reserve(perChannel * kernels::dtypeSize(mEngine->inputType()));
        mPrediction.reserve(3 * perChannel * kernels::dtypeSize(mEngine->outputType()));
        mEngine->setAddresses(mImage.get(), mMask.get(), mPrediction.get());
        for (cudaEvent_t& e : mEvents)
        {
            cudaCheck(cudaEventCreate(&e), "cudaEventCreate");
        }
    }

    ~TensorRtBackend() override
    {
        mGraph.reset();
        for (cudaEvent_t e : mEvents)
        {
            cudaEventDestroy(e);
        }
    }

    void run(std::vector<Job> const& jobs, int32_t modelH, int32_t modelW, StageTimes& times) override
    {
        cudaCheck(cudaSetDevice(mDevice), "cudaSetDevice");
        int32_t const maxBatch = mEngine->maxBatch(modelH, modelW);
        if (maxBatch <= 0)
        {
            mEngine->setShape(1, modelH, modelW, mStream->get()); // throws with the profile ranges
        }
        for (size_t begin = 0; begin < jobs.size(); begin += static_cast<size_t>(maxBatch))
        {
            size_t const end = std::min(jobs.size(), begin + static_cast<size_t>(maxBatch));
            std::vector<Job> const chunk(jobs.begin() + static_cast<std::ptrdiff_t>(begin),
                jobs.begin() + static_cast<std::ptrdiff_t>(end));
            StageTimes t;
            runChunk(chunk, modelH, modelW, t);
            times.preprocessMs += t.preprocessMs;
            times.inferMs += t.inferMs;
            times.compositeMs += t.compositeMs;
        }
    }

    void infer(float const* image, float const* mask, int32_t n, int32_t h, int32_t w, float* prediction) override
    {
        cudaCheck(cudaSetDevice(mDevice), "cudaSetDevice");
        mEngine->setShape(n, h, w, mStream->get());
        size_t const plane = static_cast<size_t>(n) * h * w;
        upload(mImage.get(), image, 3 * plane, mEngine->inputType());
        upload(mMask.get(), mask, plane, mEngine->inputType());
        if (!mEngine->enqueue(mStream->get()))
        {
            throw Error(Status::kINFERENCE_FAILED, "TensorRT enqueueV3 failed");
        }
        cudaCheck(cudaStreamSynchronize(mStream->get()), "inference");
        download(prediction, mPrediction.get(), 3 * plane, mEngine->outputType());
    }

    char const* name() const override
    {
        return "tensorrt";
    }

private:
    void runChunk(std::vector<Job> const& jobs, int32_t h, int32_t w, StageTimes& times)
    {
        auto t0 = std::chrono::steady_clock::now();
        int32_t const n = static_cast<int32_t>(jobs.size());
        mEngine->setShape(n, h, w, mStream->get());
        stageIn(jobs);
        double const stageInMs = msSince(t0);

        GraphKey const key = graphKey(jobs, h, w);
        if (mUseGraph && mGraph.valid() && key == mGraphKey)
        {
            cudaCheck(mGraph.launch(mStream->get()), "cudaGraphLaunch");
        }
        else if (!enqueueAll(jobs, h, w, mStream->get()))
        {
            throw Error(Status::kINFERENCE_FAILED, "enqueue failed: " + std::string(cudaGetErrorString(cudaGetLastError())));
        }
        cudaCheck(cudaStreamSynchronize(mStream->get()), "inference");

        t0 = std::chrono::steady_clock::now();
        stageOut(jobs);
        double const stageOutMs = msSince(t0);
        float pre = 0.0f, infer = 0.0f, comp = 0.0f;
        cudaCheck(cudaEventElapsedTime(&pre, mEvents[0], mEvents[1]), "cudaEventElapsedTime");
        cudaCheck(cudaEventElapsedTime(&infer, mEvents[1], mEvents[2]), "cudaEventElapsedTime");
        cudaCheck(cudaEventElapsedTime(&comp, mEvents[2], mEvents[3]), "cudaEventElapsedTime");
        times.preprocessMs = stageInMs + pre;
        times.inferMs = infer;
        times.compositeMs = comp + stageOutMs;

        // Capture after an eager run (TensorRT initialises lazily on the first enqueue of a shape).
        if (mUseGraph && !(mGraph.valid() && key == mGraphKey))
        {
            bool const captured
                = mGraph.capture(mStream->get(), [&](cudaStream_t s) { return enqueueAll(jobs, h, w, s); });
            mGraphKey = captured ? key : GraphKey{};
            // Some engines cannot be captured (e.g. weight streaming): stay eager, do not retry.
            mUseGraph = captured;
        }
    }

    //! fp32 host tensor -> device tensor of the engine's type (fp16 converted on the host).
    void upload(void* dst, float const* src, size_t count, kernels::DType t)
    {
        if (t == kernels::DType::kFLOAT)
        {
            cudaCheck(cudaMemcpyAsync(dst, src, count * sizeof(float), cudaMemcpyHostToDevice, mStream->get()), "H2D");
        }
        else
        {
            std::vector<uint16_t> half(count);
            for (size_t i = 0; i < count; ++i)
            {
                half[i] = kernels::floatToHalfBits(src[i]);
            }
            cudaCheck(cudaMemcpyAsync(dst, half.data(), count * 2, cudaMemcpyHostToDevice, mStream->get()), "H2D");
            cudaCheck(cudaStreamSynchronize(mStream->get()), "H2D"); // `half` dies here
        }
    }

    void download(float* dst, void const* src, size_t count, kernels::DType t)
    {
        if (t == kernels::DType::kFLOAT)
        {
            cudaCheck(cudaMemcpy(dst, src, count * sizeof(float), cudaMemcpyDeviceToHost), "D2H");
            return;
        }
        std::vector<uint16_t> half(count);
        cudaCheck(cudaMemcpy(half.data(), src, count * 2, cudaMemcpyDeviceToHost), "D2H");
        for (size_t i = 0; i < count; ++i)
        {
            dst[i] = kernels::halfBitsToFloat(half[i]);
        }
    }

    //! Packs every job's rows into the pinned input buffer (the user's views may have any pitch).
    void stageIn(std::vector<Job> const& jobs)
    {
        mSlots.clear();
        size_t in = 0, out = 0;
        for (Job const& j : jobs)
        {
            size_t const rgb = 3 * static_cast<size_t>(j.image.width) * j.image.height;
            size_t const gray = static_cast<size_t>(j.image.width) * j.image.height;
            mSlots.push_back(Slot{in, in + rgb, out});
            in += rgb + gray;
            out += rgb;
        }
        mInBytes = in;
        mOutBytes = out;
        mPinnedIn.reserve(in);
        mPinnedOut.reserve(out);
        mDeviceIn.reserve(in);
        mDeviceOut.reserve(out);
        auto* base = static_cast<uint8_t*>(mPinnedIn.get());
        for (size_t i = 0; i < jobs.size(); ++i)
        {
            Job const& j = jobs[i];
            size_t const row = 3 * static_cast<size_t>(j.image.width);
            for (int32_t y = 0; y < j.image.height; ++y)
            {
                std::memcpy(base + mSlots[i].image + y * row, j.image.data + y * j.image.pitch, row);
                std::memcpy(base + mSlots[i].mask + y * static_cast<size_t>(j.mask.width),
                    j.mask.data + y * j.mask.pitch, static_cast<size_t>(j.mask.width));
            }
        }
    }

    void stageOut(std::vector<Job> const& jobs)
    {
        auto const* base = static_cast<uint8_t const*>(mPinnedOut.get());
        for (size_t i = 0; i < jobs.size(); ++i)
        {
            Job const& j = jobs[i];
            size_t const row = 3 * static_cast<size_t>(j.image.width);
            for (int32_t y = 0; y < j.image.height; ++y)
            {
                std::memcpy(j.out.data + y * j.out.pitch, base + mSlots[i].out + y * row, row);
            }
        }
    }

    //! The whole pipeline on \p s; returns false on any launch error (also during capture).
    bool enqueueAll(std::vector<Job> const& jobs, int32_t h, int32_t w, cudaStream_t s)
    {
        auto* in = static_cast<uint8_t*>(mDeviceIn.get());
        auto* out = static_cast<uint8_t*>(mDeviceOut.get());
        size_t const plane = static_cast<size_t>(h) * w;
        size_t const inElem = kernels::dtypeSize(mEngine->inputType());
        size_t const outElem = kernels::dtypeSize(mEngine->outputType());
        bool ok = cudaEventRecord(mEvents[0], s) == cudaSuccess
            && cudaMemcpyAsync(in, mPinnedIn.get(), mInBytes, cudaMemcpyHostToDevice, s) == cudaSuccess;
        for (size_t i = 0; ok && i < jobs.size(); ++i)
        {
            Job j = deviceJob(jobs[i], mSlots[i], in, out);
            kernels::PreprocessParams const p = preprocessParams(j, h, w, mEngine->inputType(),
                static_cast<uint8_t*>(mImage.get()) + i * 3 * plane * inElem,
                static_cast<uint8_t*>(mMask.get()) + i * plane * inElem);
            ok = kernels::launchPreprocess(p, s) == cudaSuccess;
        }
        ok = ok && cudaEventRecord(mEvents[1], s) == cudaSuccess && mEngine->enqueue(s)
            && cudaEventRecord(mEvents[2], s) == cudaSuccess;
        for (size_t i = 0; ok && i < jobs.size(); ++i)
        {
            Job j = deviceJob(jobs[i], mSlots[i], in, out);
            kernels::CompositeParams const p = compositeParams(j, h, w, mEngine->outputType(),
                static_cast<uint8_t const*>(mPrediction.get()) + i * 3 * plane * outElem);
            ok = kernels::launchComposite(p, s) == cudaSuccess;
        }
        return ok && cudaMemcpyAsync(mPinnedOut.get(), out, mOutBytes, cudaMemcpyDeviceToHost, s) == cudaSuccess
            && cudaEventRecord(mEvents[3], s) == cudaSuccess;
    }

    //! \p job with its image, mask and output pointing at the packed device copies.
    static Job deviceJob(Job job, Slot const& slot, uint8_t* in, uint8_t* out)
    {
        job.image.data = in + slot.image;
        job.image.pitch = 3 * static_cast<size_t>(job.image.width);
        job.mask.data = in + slot.mask;
        job.mask.pitch = static_cast<size_t>(job.mask.width);
        job.out.data = out + slot.out;
        job.out.pitch = job.image.pitch;
        return job;
    }

    GraphKey graphKey(std::vector<Job> const& jobs, int32_t h, int32_t w) const
    {
        GraphKey k;
        k.n = static_cast<int32_t>(jobs.size());
        k.h = h;
        k.w = w;
        for (Job const& j : jobs)
        {
            k.jobs.emplace_back(j.image.height, j.image.width, j.regionH, j.regionW,
                j.image.format == PixelFormat::kBGR ? 1 : 0);
        }
        k.buffers = {mPinnedIn.get(), mPinnedOut.get(), mDeviceIn.get(), mDeviceOut.get()};
        return k;
    }

    int32_t mDevice;
    bool mUseGraph;
    std::unique_ptr<TrtEngine> mEngine;
    std::unique_ptr<Stream> mStream; // created after the device check, like everything CUDA
    DeviceBuffer mImage, mMask, mPrediction; // model tensors, sized from the largest profile
    DeviceBuffer mDeviceIn, mDeviceOut;      // packed uint8 images and masks
    PinnedBuffer mPinnedIn, mPinnedOut;
    std::vector<Slot> mSlots;
    size_t mInBytes = 0, mOutBytes = 0;
    cudaEvent_t mEvents[4] = {};
    CudaGraph mGraph; // declared after the stream and buffers it refers to: destroyed first
    GraphKey mGraphKey;
};

} // namespace

std::unique_ptr<Backend> createTensorRtBackend(Options const& options)
{
    return std::make_unique<TensorRtBackend>(options);
}

} // namespace detail
} // namespace rmnet
