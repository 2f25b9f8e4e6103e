//! \file gpu_backend.cpp
//! \brief GPU backend: H2D -> preprocess kernels -> network -> composite kernels -> D2H, all on one
//! stream, replayed as CUDA graphs per fixed shape and profile.
//!
//! The network is a GpuEngine: a TensorRT engine, or the CUDA-only stand-in (`*.standin` files), so
//! this whole pipeline also runs on CUDA machines without TensorRT. Host images are staged through
//! pinned buffers (packed rows), so copies are truly asynchronous and a graph's memcpy nodes always
//! see the same addresses. Device tensors are allocated once, sized from the largest profile.
#include "backend.hpp"

#include "cuda_graph.hpp"
#include "cuda_utils.hpp"
#include "graph_cache.hpp"
#include "launchers.h"
#include "sidecar.hpp"
#include "standin_engine.hpp"

#if RMNET_WITH_TENSORRT
#include "trt_engine.hpp"
#endif

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <iterator>
#include <tuple>
#include <vector>

namespace rmnet {
namespace detail {
namespace {

double msSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

std::string cudaText(cudaError_t err)
{
    return std::string(cudaGetErrorName(err)) + " (" + cudaGetErrorString(err) + ")";
}

#if RMNET_WITH_TENSORRT
int32_t computeCapability(int32_t device)
{
    int major = 0, minor = 0;
    cudaCheck(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "cudaDeviceGetAttribute");
    cudaCheck(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device), "cudaDeviceGetAttribute");
    return major * 10 + minor;
}

std::vector<char> readFile(std::string const& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
    {
        throw Error(Status::kMODEL_NOT_FOUND, "cannot open engine " + path);
    }
    return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
#endif

//! The network for \p options: the stand-in for `*.standin`, else a TensorRT engine whose bytes are
//! read once, checked against the sidecar and then deserialised (no window to swap the file).
std::unique_ptr<GpuEngine> createEngine(Options const& options)
{
    if (isStandinPath(options.modelPath))
    {
        return createStandinEngine(options.modelPath);
    }
#if RMNET_WITH_TENSORRT
    std::vector<char> const blob = readFile(options.modelPath);
    if (options.checkSidecar)
    {
        SidecarExpectation e;
        e.flavour = "tensorrt";
        e.trtVersion = trtLibraryVersion();
        e.computeCapability = computeCapability(options.device);
        e.precision = options.precision;
        e.onnxSha256 = options.onnxSha256;
        checkSidecar(options.modelPath, blob, e);
    }
    return std::make_unique<TrtEngine>(options.modelPath, blob);
#else
    throw Error(Status::kBACKEND_UNAVAILABLE,
        "rmnet was built without TensorRT: engines cannot be run (use an .onnx model for the CPU backend, or a "
        "*.standin model to exercise the GPU pipeline)");
#endif
}

//! Where one job's packed rows live inside the staging buffers.
struct Slot
{
    size_t image;
    size_t mask;
    size_t out;
};

class GpuBackend final : public Backend
{
public:
    explicit GpuBackend(Options const& options)
        : mDevice(options.device)
        , mUseGraph(options.cudaGraph)
    {
        // First: without a device, TensorRT's runtime is unusable and the next call segfaults.
        requireDevice(mDevice);
        DeviceGuard const guard(mDevice);
        mStream = std::make_unique<Stream>();
        mEngine = createEngine(options);
        size_t const perChannel = maxElementsPerChannel(mEngine->profiles());
        mImage.reserve(3 * perChannel * kernels::dtypeSize(mEngine->inputType()));
        mMask.reserve(perChannel * kernels::dtypeSize(mEngine->inputType()));
        mPrediction.reserve(3 * perChannel * kernels::dtypeSize(mEngine->outputType()));
        mEngine->setAddresses(mImage.get(), mMask.get(), mPrediction.get());
        for (cudaEvent_t& e : mEvents)
        {
            cudaCheck(cudaEventCreate(&e), "cudaEventCreate");
        }
    }

    ~GpuBackend() override
    {
        int previous = -1;
        bool const restore = cudaGetDevice(&previous) == cudaSuccess && previous != mDevice;
        (void) cudaSetDevice(mDevice);
        if (mStream)
        {
            (void) cudaStreamSynchronize(mStream->get()); // nothing in flight reads what is freed below
        }
        mGraphs.clear();
        for (cudaEvent_t e : mEvents)
        {
            if (e != nullptr)
            {
                cudaEventDestroy(e);
            }
        }
        mEngine.reset();
        if (restore)
        {
            (void) cudaSetDevice(previous);
        }
        // The buffers and the stream are freed by their members' destructors (device memory frees do
        // not depend on the current device).
    }

    void run(std::vector<Job> const& jobs, int32_t modelH, int32_t modelW, StageTimes& times) override
    {
        DeviceGuard const guard(mDevice);
        for (Chunk const& c : planChunks(mEngine->profiles(), static_cast<int32_t>(jobs.size()), modelH, modelW))
        {
            std::vector<Job> const chunk(jobs.begin() + c.begin, jobs.begin() + c.begin + c.count);
            StageTimes t;
            guarded([&] { runChunk(chunk, modelH, modelW, c.profile, t); });
            times.preprocessMs += t.preprocessMs;
            times.inferMs += t.inferMs;
            times.compositeMs += t.compositeMs;
        }
    }

    void infer(float const* image, float const* mask, int32_t n, int32_t h, int32_t w, float* prediction) override
    {
        DeviceGuard const guard(mDevice);
        for (Chunk const& c : planChunks(mEngine->profiles(), n, h, w))
        {
            size_t const plane = static_cast<size_t>(h) * w;
            guarded([&] {
                mEngine->setShape(c.count, h, w, c.profile, mStream->get());
                upload(mImage.get(), image + 3 * plane * c.begin, 3 * plane * c.count, mEngine->inputType());
                upload(mMask.get(), mask + plane * c.begin, plane * c.count, mEngine->inputType());
                if (!mEngine->enqueue(mStream->get()))
                {
                    throw Error(Status::kINFERENCE_FAILED, "network enqueue failed: " + mEngine->lastError());
                }
                cudaCheck(cudaStreamSynchronize(mStream->get()), "inference");
                download(prediction + 3 * plane * c.begin, mPrediction.get(), 3 * plane * c.count, mEngine->outputType());
            });
        }
    }

    char const* name() const override
    {
        return "tensorrt";
    }

private:
    //! Runs \p work; on any exception, ends a capture still open on the stream and waits for the
    //! copies in flight (they read the pinned buffers the next call rewrites) before rethrowing.
    template <typename F>
    void guarded(F const& work)
    {
        try
        {
            work();
        }
        catch (...)
        {
            cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
            if (cudaStreamIsCapturing(mStream->get(), &status) == cudaSuccess && status != cudaStreamCaptureStatusNone)
            {
                cudaGraph_t graph = nullptr;
                (void) cudaStreamEndCapture(mStream->get(), &graph);
                if (graph != nullptr)
                {
                    cudaGraphDestroy(graph);
                }
            }
            (void) cudaStreamSynchronize(mStream->get());
            (void) cudaGetLastError();
            throw;
        }
    }

    void runChunk(std::vector<Job> const& jobs, int32_t h, int32_t w, int32_t profile, StageTimes& times)
    {
        auto t0 = std::chrono::steady_clock::now();
        int32_t const n = static_cast<int32_t>(jobs.size());
        mEngine->setShape(n, h, w, profile, mStream->get());
        stageIn(jobs);
        double const stageInMs = msSince(t0);

        GraphKey const key = graphKey(jobs, h, w, profile);
        CudaGraph* graph = mUseGraph ? mGraphs.find(key) : nullptr;
        bool replayed = false;
        if (graph != nullptr)
        {
            cudaError_t const err = graph->launch(mStream->get());
            replayed = err == cudaSuccess;
            if (!replayed)
            {
                (void) cudaGetLastError();
                mGraphs.markFailed(key); // run this shape eagerly from now on
            }
        }
        if (!replayed)
        {
            std::string const failure = enqueueAll(jobs, h, w, mStream->get());
            if (!failure.empty())
            {
                throw Error(Status::kINFERENCE_FAILED, "GPU pipeline failed: " + failure);
            }
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
        if (mUseGraph && !replayed && !mGraphs.failed(key))
        {
            CudaGraph& slot = mGraphs.insert(key);
            if (!slot.capture(mStream->get(), [&](cudaStream_t s) { return enqueueAll(jobs, h, w, s).empty(); }))
            {
                mGraphs.markFailed(key); // e.g. weight streaming: this shape stays eager, others still try
            }
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
        // A buffer that moves invalidates every graph that copies from or to it.
        bool const moved = mPinnedIn.reserve(in) | mPinnedOut.reserve(out) | mDeviceIn.reserve(in)
            | mDeviceOut.reserve(out);
        if (moved)
        {
            mGraphs.clear();
        }
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

    //! Records a timing event. External: inside a capture it becomes an event-record node, so the
    //! replayed graph records it too (a plain record would make a "captured event", which cannot be
    //! queried or timed: cudaErrorCapturedEvent on the first replay).
    static cudaError_t record(cudaEvent_t e, cudaStream_t s)
    {
        return cudaEventRecordWithFlags(e, s, cudaEventRecordExternal);
    }

    //! The whole pipeline on \p s; returns what failed ("" when everything was enqueued, also during
    //! capture), with the CUDA error or the engine's own message.
    std::string enqueueAll(std::vector<Job> const& jobs, int32_t h, int32_t w, cudaStream_t s)
    {
        auto* in = static_cast<uint8_t*>(mDeviceIn.get());
        auto* out = static_cast<uint8_t*>(mDeviceOut.get());
        size_t const plane = static_cast<size_t>(h) * w;
        size_t const inElem = kernels::dtypeSize(mEngine->inputType());
        size_t const outElem = kernels::dtypeSize(mEngine->outputType());
        cudaError_t err = record(mEvents[0], s);
        if (err != cudaSuccess)
        {
            return "event record: " + cudaText(err);
        }
        err = cudaMemcpyAsync(in, mPinnedIn.get(), mInBytes, cudaMemcpyHostToDevice, s);
        if (err != cudaSuccess)
        {
            return "H2D copy: " + cudaText(err);
        }
        for (size_t i = 0; i < jobs.size(); ++i)
        {
            Job j = deviceJob(jobs[i], mSlots[i], in, out);
            kernels::PreprocessParams const p = preprocessParams(j, h, w, mEngine->inputType(),
                static_cast<uint8_t*>(mImage.get()) + i * 3 * plane * inElem,
                static_cast<uint8_t*>(mMask.get()) + i * plane * inElem);
            err = kernels::launchPreprocess(p, s);
            if (err != cudaSuccess)
            {
                return "preprocess kernel: " + cudaText(err);
            }
        }
        err = record(mEvents[1], s);
        if (err != cudaSuccess)
        {
            return "event record: " + cudaText(err);
        }
        if (!mEngine->enqueue(s))
        {
            std::string const why = mEngine->lastError();
            return "network enqueue: " + (why.empty() ? std::string("failed (no message from the engine)") : why);
        }
        err = record(mEvents[2], s);
        if (err != cudaSuccess)
        {
            return "event record: " + cudaText(err);
        }
        for (size_t i = 0; i < jobs.size(); ++i)
        {
            Job j = deviceJob(jobs[i], mSlots[i], in, out);
            kernels::CompositeParams const p = compositeParams(j, h, w, mEngine->outputType(),
                static_cast<uint8_t const*>(mPrediction.get()) + i * 3 * plane * outElem);
            err = kernels::launchComposite(p, s);
            if (err != cudaSuccess)
            {
                return "composite kernel: " + cudaText(err);
            }
        }
        err = cudaMemcpyAsync(mPinnedOut.get(), out, mOutBytes, cudaMemcpyDeviceToHost, s);
        if (err != cudaSuccess)
        {
            return "D2H copy: " + cudaText(err);
        }
        err = record(mEvents[3], s);
        return err == cudaSuccess ? std::string() : "event record: " + cudaText(err);
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

    GraphKey graphKey(std::vector<Job> const& jobs, int32_t h, int32_t w, int32_t profile) const
    {
        GraphKey k;
        k.n = static_cast<int32_t>(jobs.size());
        k.h = h;
        k.w = w;
        k.profile = profile;
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
    std::unique_ptr<Stream> mStream; // created after the device check, like everything CUDA
    DeviceBuffer mImage, mMask, mPrediction; // model tensors, sized from the largest profile
    DeviceBuffer mDeviceIn, mDeviceOut;      // packed uint8 images and masks
    PinnedBuffer mPinnedIn, mPinnedOut;
    std::unique_ptr<GpuEngine> mEngine; // after the buffers it binds: destroyed before them
    std::vector<Slot> mSlots;
    size_t mInBytes = 0, mOutBytes = 0;
    cudaEvent_t mEvents[4] = {};
    GraphCache<CudaGraph> mGraphs; // declared last: graphs refer to everything above, destroyed first
};

} // namespace

std::unique_ptr<Backend> createTensorRtBackend(Options const& options)
{
    return std::make_unique<GpuBackend>(options);
}

} // namespace detail
} // namespace rmnet
