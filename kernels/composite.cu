//! \file composite.cu
//! \brief Composite kernel: bilinear-upsampled prediction written into the holes only.
#include "launchers.h"

namespace rmnet {
namespace kernels {
namespace {

__global__ void compositeKernel(CompositeParams const p)
{
    int32_t const x = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x);
    int32_t const y = static_cast<int32_t>(blockIdx.y * blockDim.y + threadIdx.y);
    if (x < p.width && y < p.height)
    {
        compositePixel(p, y, x);
    }
}

} // namespace

cudaError_t launchComposite(CompositeParams const& p, cudaStream_t stream)
{
    if (validateComposite(p) != nullptr)
    {
        return cudaErrorInvalidValue;
    }
    dim3 const block(32, 8);
    dim3 const grid((p.width + block.x - 1) / block.x, (p.height + block.y - 1) / block.y);
    compositeKernel<<<grid, block, 0, stream>>>(p);
    // Returns (and clears) the launch error: the caller must report this value, since asking
    // cudaGetLastError again would answer "no error".
    return cudaGetLastError();
}

} // namespace kernels
} // namespace rmnet
