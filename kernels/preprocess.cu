//! \file preprocess.cu
//! \brief Preprocess kernel: uint8 HWC image + mask -> normalised, masked NCHW tensor + hole mask.
#include "launchers.h"

namespace rmnet {
namespace kernels {
namespace {

__global__ void preprocessKernel(PreprocessParams const p)
{
    int32_t const x = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x);
    int32_t const y = static_cast<int32_t>(blockIdx.y * blockDim.y + threadIdx.y);
    if (x < p.dstW && y < p.dstH)
    {
        preprocessPixel(p, y, x);
    }
}

} // namespace

cudaError_t launchPreprocess(PreprocessParams const& p, cudaStream_t stream)
{
    if (validatePreprocess(p) != nullptr)
    {
        return cudaErrorInvalidValue;
    }
    // 32 wide: a warp reads neighbouring source cells, which share cache lines.
    dim3 const block(32, 8);
    dim3 const grid((p.dstW + block.x - 1) / block.x, (p.dstH + block.y - 1) / block.y);
    preprocessKernel<<<grid, block, 0, stream>>>(p);
    // Returns (and clears) the launch error: the caller must report this value, since asking
    // cudaGetLastError again would answer "no error".
    return cudaGetLastError();
}

} // namespace kernels
} // namespace rmnet
