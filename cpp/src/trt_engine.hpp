//! \file trt_engine.hpp
//! \brief One deserialized TensorRT engine with its runtime and execution context.
#pragma once

#include "trt_compat.hpp"

#include "composite.cuh"

#include <cuda_runtime.h>

#include <memory>
#include <mutex>
#include <string>

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
class TrtEngine
{
public:
    //! Deserializes \p path and checks the I/O contract (image, mask -> prediction; fp32/fp16).
    explicit TrtEngine(std::string const& path);

    kernels::DType inputType() const
    {
        return mInputType;
    }
    kernels::DType outputType() const
    {
        return mOutputType;
    }

    //! Largest batch any profile accepts at model size h x w (0: the size fits no profile).
    int32_t maxBatch(int32_t h, int32_t w) const;

    //! Largest N*H*W over all profiles: sizes the device tensors once.
    size_t maxElementsPerChannel() const;

    //! The profiles' [min, max] shapes, for error messages.
    std::string describeProfiles() const;

    //! Selects a profile containing (n, h, w) and sets the input shapes. Throws kINVALID_ARGUMENT
    //! when no profile fits.
    void setShape(int32_t n, int32_t h, int32_t w, cudaStream_t stream);

    //! Binds the three tensors' device addresses (re-bound on every profile switch).
    void setAddresses(void* image, void* mask, void* prediction);

    //! enqueueV3 on \p stream (asynchronous; capturable into a CUDA graph).
    bool enqueue(cudaStream_t stream);

private:
    bool fits(int32_t profile, int32_t n, int32_t h, int32_t w) const;

    TrtLogger mLogger;
    std::unique_ptr<nvinfer1::IRuntime> mRuntime;
    std::unique_ptr<nvinfer1::ICudaEngine> mEngine;
    std::unique_ptr<nvinfer1::IExecutionContext> mContext;
    kernels::DType mInputType = kernels::DType::kFLOAT;
    kernels::DType mOutputType = kernels::DType::kFLOAT;
    int32_t mProfile = 0;
    void* mAddresses[3] = {nullptr, nullptr, nullptr};
};

} // namespace detail
} // namespace rmnet
