//! \file trt_engine.cpp
#include "trt_engine.hpp"

#include "contract.hpp"

#include "rmnet/inpainter.hpp"

#include <cstdio>
#include <vector>

namespace rmnet {
namespace detail {
namespace {

using contract::kIMAGE_TENSOR;
using contract::kMASK_TENSOR;
using contract::kPREDICTION_TENSOR;

bool toDType(nvinfer1::DataType t, kernels::DType& out)
{
    switch (t)
    {
    case nvinfer1::DataType::kFLOAT: out = kernels::DType::kFLOAT; return true;
    case nvinfer1::DataType::kHALF: out = kernels::DType::kHALF; return true;
    default: return false;
    }
}

std::string dimsString(nvinfer1::Dims const& d)
{
    std::string s = "[";
    for (int32_t i = 0; i < d.nbDims; ++i)
    {
        s += (i ? "," : "") + std::to_string(d.d[i]);
    }
    return s + "]";
}

} // namespace

void TrtLogger::log(Severity severity, char const* msg) noexcept
{
    if (severity > Severity::kWARNING)
    {
        return;
    }
    std::fprintf(stderr, "[TensorRT] %s: %s\n", severity == Severity::kWARNING ? "warning" : "error", msg);
    if (severity != Severity::kWARNING)
    {
        std::lock_guard<std::mutex> lock(mMutex);
        mLastError = msg;
    }
}

std::string TrtLogger::lastError() const
{
    std::lock_guard<std::mutex> lock(mMutex);
    return mLastError;
}

TrtEngine::TrtEngine(std::string const& path, std::vector<char> const& blob)
{
    mRuntime.reset(nvinfer1::createInferRuntime(mLogger));
    if (!mRuntime)
    {
        throw Error(Status::kBACKEND_UNAVAILABLE, "TensorRT: createInferRuntime failed: " + mLogger.lastError());
    }
    mEngine.reset(mRuntime->deserializeCudaEngine(blob.data(), blob.size()));
    if (!mEngine)
    {
        throw Error(Status::kMODEL_INVALID, "TensorRT cannot deserialize " + path + ": " + mLogger.lastError());
    }
    std::string io;
    for (int32_t i = 0; i < mEngine->getNbIOTensors(); ++i)
    {
        char const* name = mEngine->getIOTensorName(i);
        io += std::string(io.empty() ? "" : ", ") + name + dimsString(mEngine->getTensorShape(name));
    }
    auto const isIO = [&](char const* name, nvinfer1::TensorIOMode mode) {
        return mEngine->getTensorIOMode(name) == mode && mEngine->getTensorShape(name).nbDims == 4;
    };
    kernels::DType maskType{};
    bool const ok = isIO(kIMAGE_TENSOR, nvinfer1::TensorIOMode::kINPUT) && isIO(kMASK_TENSOR, nvinfer1::TensorIOMode::kINPUT)
        && isIO(kPREDICTION_TENSOR, nvinfer1::TensorIOMode::kOUTPUT)
        && toDType(mEngine->getTensorDataType(kIMAGE_TENSOR), mInputType)
        && toDType(mEngine->getTensorDataType(kMASK_TENSOR), maskType) && maskType == mInputType
        && toDType(mEngine->getTensorDataType(kPREDICTION_TENSOR), mOutputType);
    if (!ok)
    {
        throw Error(Status::kMODEL_INVALID,
            "engine " + path + " must have fp32/fp16 4-D inputs 'image', 'mask' (same type) and output "
                "'prediction'; it has: " + io);
    }
    mContext.reset(mEngine->createExecutionContext());
    if (!mContext)
    {
        throw Error(Status::kCUDA_ERROR, "TensorRT: createExecutionContext failed: " + mLogger.lastError());
    }
    for (int32_t p = 0; p < mEngine->getNbOptimizationProfiles(); ++p)
    {
        nvinfer1::Dims const d[3] = {mEngine->getProfileShape(kIMAGE_TENSOR, p, nvinfer1::OptProfileSelector::kMIN),
            mEngine->getProfileShape(kIMAGE_TENSOR, p, nvinfer1::OptProfileSelector::kOPT),
            mEngine->getProfileShape(kIMAGE_TENSOR, p, nvinfer1::OptProfileSelector::kMAX)};
        ProfileRange r;
        int32_t* const out[3] = {r.min, r.opt, r.max};
        for (int32_t k = 0; k < 3; ++k)
        {
            if (d[k].nbDims != 4)
            {
                throw Error(Status::kMODEL_INVALID, "engine " + path + ": profile " + std::to_string(p) + " is not 4-D");
            }
            out[k][0] = static_cast<int32_t>(d[k].d[0]);
            out[k][1] = static_cast<int32_t>(d[k].d[2]);
            out[k][2] = static_cast<int32_t>(d[k].d[3]);
        }
        mProfiles.push_back(r);
    }
    if (mProfiles.empty())
    {
        throw Error(Status::kMODEL_INVALID, "engine " + path + " has no optimisation profile");
    }
}

void TrtEngine::setShape(int32_t n, int32_t h, int32_t w, int32_t profile, cudaStream_t stream)
{
    if (profile != mProfile)
    {
        if (!mContext->setOptimizationProfileAsync(profile, stream))
        {
            throw Error(Status::kINFERENCE_FAILED, "TensorRT: cannot select profile " + std::to_string(profile) + ": "
                    + mLogger.lastError());
        }
        mProfile = profile;
        setAddresses(mAddresses[0], mAddresses[1], mAddresses[2]);
    }
    bool const ok = mContext->setInputShape(kIMAGE_TENSOR, nvinfer1::Dims4{n, contract::kIMAGE_CHANNELS, h, w})
        && mContext->setInputShape(kMASK_TENSOR, nvinfer1::Dims4{n, contract::kMASK_CHANNELS, h, w});
    nvinfer1::Dims const out = mContext->getTensorShape(kPREDICTION_TENSOR);
    if (!ok || out.nbDims != 4 || out.d[0] != n || out.d[1] != 3 || out.d[2] != h || out.d[3] != w)
    {
        throw Error(Status::kMODEL_INVALID,
            "TensorRT: prediction shape " + dimsString(out) + " for input " + std::to_string(n) + "x3x"
                + std::to_string(h) + "x" + std::to_string(w) + " (profile " + std::to_string(profile)
                + "): " + mLogger.lastError());
    }
}

void TrtEngine::setAddresses(void* image, void* mask, void* prediction)
{
    mAddresses[0] = image;
    mAddresses[1] = mask;
    mAddresses[2] = prediction;
    if (!mContext->setTensorAddress(kIMAGE_TENSOR, image) || !mContext->setTensorAddress(kMASK_TENSOR, mask)
        || !mContext->setTensorAddress(kPREDICTION_TENSOR, prediction))
    {
        throw Error(Status::kINFERENCE_FAILED, "TensorRT: setTensorAddress failed: " + mLogger.lastError());
    }
}

bool TrtEngine::enqueue(cudaStream_t stream)
{
    return mContext->enqueueV3(stream);
}

} // namespace detail
} // namespace rmnet
