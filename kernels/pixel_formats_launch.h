//! \file pixel_formats_launch.h
//! \brief Frame conversion (pixel_formats.cuh): the CPU twin, and the CUDA launcher when built
//! with CUDA (enqueued on the caller's stream, no synchronisation).
#pragma once

#include "pixel_formats.cuh"

#if defined(__CUDACC__) || (defined(RMNET_WITH_CUDA) && RMNET_WITH_CUDA)
#define RMNET_PIXEL_FORMATS_CUDA 1
#include <cuda_runtime_api.h>
#endif

namespace rmnet {
namespace kernels {

//! Converts one frame on the CPU. Throws std::invalid_argument on invalid params.
void convertCpu(ConvertParams const& p);

#if defined(RMNET_PIXEL_FORMATS_CUDA)
//! One thread per pixel. Pointers in \p p are device pointers; cudaErrorInvalidValue when invalid.
cudaError_t launchConvert(ConvertParams const& p, cudaStream_t stream);
#endif

} // namespace kernels
} // namespace rmnet
