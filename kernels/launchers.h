//! \file launchers.h
//! \brief Host launchers of the CUDA kernels: the only thing the kernel files expose.
//!
//! Each launcher owns its grid maths, validates its parameters (cudaErrorInvalidValue) and
//! enqueues on \p stream without synchronising, so the caller can chain it with TensorRT's
//! enqueueV3 on the same stream or capture it into a CUDA graph.
#pragma once

#include <cuda_runtime_api.h>

#include "composite.cuh"
#include "preprocess.cuh"
#include "standin.cuh"

namespace rmnet {
namespace kernels {

//! One thread per model-resolution tensor pixel. Pointers in \p p are device pointers.
cudaError_t launchPreprocess(PreprocessParams const& p, cudaStream_t stream);

//! One thread per full-resolution output pixel. Pointers in \p p are device pointers.
cudaError_t launchComposite(CompositeParams const& p, cudaStream_t stream);

//! The stand-in network: one thread per tensor pixel, batch items on grid z. Device pointers.
cudaError_t launchStandin(StandinParams const& p, cudaStream_t stream);

} // namespace kernels
} // namespace rmnet
