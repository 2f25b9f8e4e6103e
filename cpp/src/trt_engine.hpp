//! \file trt_engine.hpp
//! \brief One deserialized TensorRT engine with its runtime and execution context.
#pragma once

#include "gpu_engine.hpp"
#include "trt_compat.hpp"

#include "composite.cuh"

#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace rmnet {
namespace detail {

//! Collects TensorRT's messages: errors go to stderr and the last one into exception messages.
class TrtLogger final : public nvinfer1::ILogger
{
public:
    void log(Severity severity, char const* msg) noexcept override;
    std::string lastError() const;

private:
    mutable std::mutex mMutex;
    std::string mLastError;
};

//! Owns runtime -> engine -> context, declared in that order so that they are destroyed in reverse:
//! TensorRT documents destroying a runtime before its engines as undefined behaviour. The logger
//! comes first because everything created through the runtime keeps using it.
//! The caller must have checked for a CUDA device (requireDevice) before constructing one.
class TrtEngine final : public GpuEngine
{
public:
    //! Deserializes \p blob (the file \p path, read once and already checked against its sidecar) and
    //! checks the I/O contract (image, mask -> prediction; fp32/fp16).
    TrtEngine(std::string const& path, std::vector<char> const& blob);

    kernels::DType inputType() const override
    {
        return mInputType;
    }
    kernels::DType outputType() const override
    {
        return mOutputType;
    }
    std::vector<ProfileRange> const& profiles() const override
    {
        return mProfiles;
    }
    void setShape(int32_t n, int32_t h, int32_t w, int32_t profile, cudaStream_t stream) override;
    void setAddresses(void* image, void* mask, void* prediction) override;
    bool enqueue(cudaStream_t stream) override;
    std::string lastError() const override
    {
        return mLogger.lastError();
    }

private:
    TrtLogger mLogger;
    std::unique_ptr<nvinfer1::IRuntime> mRuntime;
    std::unique_ptr<nvinfer1::ICudaEngine> mEngine;
    std::unique_ptr<nvinfer1::IExecutionContext> mContext;
    kernels::DType mInputType = kernels::DType::kFLOAT;
    kernels::DType mOutputType = kernels::DType::kFLOAT;
    std::vector<ProfileRange> mProfiles;
    int32_t mProfile = 0;
    void* mAddresses[3] = {nullptr, nullptr, nullptr};
};

} // namespace detail
} // namespace rmnet
