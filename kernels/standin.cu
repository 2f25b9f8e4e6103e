//! \file standin.cu
//! \brief The stand-in network's kernel (standin.cuh).
#include "launchers.h"

namespace rmnet {
namespace kernels {
namespace {

__global__ void standinKernel(StandinParams const p)
{
    int32_t const x = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x);
    int32_t const y = static_cast<int32_t>(blockIdx.y * blockDim.y + threadIdx.y);
    int32_t const b = static_cast<int32_t>(blockIdx.z);
    if (x < p.w && y < p.h)
    {
        standinPixel(p, b, y, x);
    }
}

} // namespace

cudaError_t launchStandin(StandinParams const& p, cudaStream_t stream)
{
    if (validateStandin(p) != nullptr)
    {
        return cudaErrorInvalidValue;
    }
    dim3 const block(32, 8);
    dim3 const grid((p.w + block.x - 1) / block.x, (p.h + block.y - 1) / block.y, static_cast<unsigned>(p.n));
    standinKernel<<<grid, block, 0, stream>>>(p);
    // Returns (and clears) the launch error: the caller must report this value, since asking
    // cudaGetLastError again would answer "no error".
    return cudaGetLastError();
}

} // namespace kernels
} // namespace rmnet
