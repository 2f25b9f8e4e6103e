//! \file cuda_utils.cpp
#include "cuda_utils.hpp"

namespace rmnet {
namespace detail {

void requireDevice(int32_t device)
{
    int count = 0;
    cudaError_t const err = cudaGetDeviceCount(&count);
    if (err != cudaSuccess || count == 0)
    {
        (void) cudaGetLastError(); // clear the sticky "no driver" error
        throw Error(Status::kBACKEND_UNAVAILABLE,
            std::string("no CUDA device available (") + (err != cudaSuccess ? cudaGetErrorName(err) : "0 devices") + ")");
    }
    if (device < 0 || device >= count)
    {
        throw Error(Status::kINVALID_ARGUMENT,
            "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " found)");
    }
}

DeviceGuard::DeviceGuard(int32_t device)
{
    if (cudaGetDevice(&mPrevious) != cudaSuccess)
    {
        (void) cudaGetLastError();
        mPrevious = -1;
    }
    if (mPrevious != device)
    {
        cudaCheck(cudaSetDevice(device), "cudaSetDevice");
    }
}

DeviceGuard::~DeviceGuard()
{
    int current = -1;
    if (mPrevious >= 0 && cudaGetDevice(&current) == cudaSuccess && current != mPrevious)
    {
        (void) cudaSetDevice(mPrevious);
    }
}

DeviceBuffer::~DeviceBuffer()
{
    cudaFree(mPtr);
}

bool DeviceBuffer::reserve(size_t bytes)
{
    if (bytes <= mSize)
    {
        return false;
    }
    cudaFree(mPtr);
    mPtr = nullptr;
    mSize = 0;
    cudaCheck(cudaMalloc(&mPtr, bytes), "cudaMalloc");
    mSize = bytes;
    return true;
}

PinnedBuffer::~PinnedBuffer()
{
    cudaFreeHost(mPtr);
}

bool PinnedBuffer::reserve(size_t bytes)
{
    if (bytes <= mSize)
    {
        return false;
    }
    cudaFreeHost(mPtr);
    mPtr = nullptr;
    mSize = 0;
    cudaCheck(cudaMallocHost(&mPtr, bytes), "cudaMallocHost");
    mSize = bytes;
    return true;
}

Stream::Stream()
{
    cudaCheck(cudaStreamCreateWithFlags(&mStream, cudaStreamNonBlocking), "cudaStreamCreate");
}

Stream::~Stream()
{
    cudaStreamDestroy(mStream);
}

} // namespace detail
} // namespace rmnet
