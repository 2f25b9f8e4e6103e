//! \file gpu_engine.hpp
//! \brief The network step of the GPU pipeline: a TensorRT engine, or the CUDA-only stand-in.
//!
//! The GPU backend (gpu_backend.cpp) owns staging, streams, kernels, graphs and timings and talks to
//! the network only through this interface, so the whole pipeline runs on a CUDA machine without
//! TensorRT when the network is the stand-in (standin_engine.hpp).
#pragma once

#include "profiles.hpp"

#include "composite.cuh"

#include <cuda_runtime.h>

#include <cstddef>
#include <string>
#include <vector>

namespace rmnet {
namespace detail {

class GpuEngine
{
public:
    virtual ~GpuEngine() = default;
    virtual kernels::DType inputType() const = 0;
    virtual kernels::DType outputType() const = 0;
    virtual std::vector<ProfileRange> const& profiles() const = 0;
    //! Selects \p profile (which accepts the shape: see planChunks) and sets the input shapes.
    //! Throws rmnet::Error when the engine refuses.
    virtual void setShape(int32_t n, int32_t h, int32_t w, int32_t profile, cudaStream_t stream) = 0;
    //! Binds the image, mask and prediction device tensors.
    virtual void setAddresses(void* image, void* mask, void* prediction) = 0;
    //! Enqueues the network on \p stream (asynchronous, capturable into a CUDA graph); false on failure,
    //! with the reason in lastError().
    virtual bool enqueue(cudaStream_t stream) = 0;
    virtual std::string lastError() const = 0;
};

//! Largest N*H*W over \p profiles: sizes the device tensors once.
inline size_t maxElementsPerChannel(std::vector<ProfileRange> const& profiles)
{
    size_t best = 0;
    for (ProfileRange const& p : profiles)
    {
        size_t const e = static_cast<size_t>(p.max[0]) * static_cast<size_t>(p.max[1]) * static_cast<size_t>(p.max[2]);
        best = e > best ? e : best;
    }
    return best;
}

} // namespace detail
} // namespace rmnet
