//! \file cuda_utils.hpp
//! \brief CUDA error checks and RAII owners for device and pinned host memory.
#pragma once

#include "rmnet/inpainter.hpp"

#include <cuda_runtime.h>

#include <cstddef>
#include <string>

namespace rmnet {
namespace detail {

//! Throws rmnet::Error(kCUDA_ERROR) naming \p what when \p err is not cudaSuccess.
inline void cudaCheck(cudaError_t err, char const* what)
{
    if (err != cudaSuccess)
    {
        throw Error(Status::kCUDA_ERROR, std::string(what) + ": " + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")");
    }
}

//! Throws kBACKEND_UNAVAILABLE unless \p device is a usable CUDA device (DeviceGuard then selects it).
//! Must run before anything that touches the driver (TensorRT's runtime segfaults without one).
void requireDevice(int32_t device);

//! Makes \p device current for one scope and restores the caller's device afterwards: a library must
//! not leave the application's thread on another GPU.
class DeviceGuard
{
public:
    explicit DeviceGuard(int32_t device);
    ~DeviceGuard();
    DeviceGuard(DeviceGuard const&) = delete;
    DeviceGuard& operator=(DeviceGuard const&) = delete;

private:
    int mPrevious = -1;
};

//! Device memory that grows on demand (contents are not preserved when it grows).
class DeviceBuffer
{
public:
    DeviceBuffer() = default;
    ~DeviceBuffer();
    DeviceBuffer(DeviceBuffer const&) = delete;
    DeviceBuffer& operator=(DeviceBuffer const&) = delete;
    //! Ensures at least \p bytes; returns true when the address changed.
    bool reserve(size_t bytes);
    void* get() const
    {
        return mPtr;
    }
    size_t size() const
    {
        return mSize;
    }

private:
    void* mPtr = nullptr;
    size_t mSize = 0;
};

//! Page-locked host memory (fast, truly asynchronous copies), grows on demand.
class PinnedBuffer
{
public:
    PinnedBuffer() = default;
    ~PinnedBuffer();
    PinnedBuffer(PinnedBuffer const&) = delete;
    PinnedBuffer& operator=(PinnedBuffer const&) = delete;
    bool reserve(size_t bytes);
    void* get() const
    {
        return mPtr;
    }

private:
    void* mPtr = nullptr;
    size_t mSize = 0;
};

//! A stream owned for the lifetime of a backend.
class Stream
{
public:
    Stream();
    ~Stream();
    Stream(Stream const&) = delete;
    Stream& operator=(Stream const&) = delete;
    cudaStream_t get() const
    {
        return mStream;
    }

private:
    cudaStream_t mStream = nullptr;
};

} // namespace detail
} // namespace rmnet
