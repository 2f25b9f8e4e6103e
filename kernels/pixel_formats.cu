//! \file pixel_formats.cu
//! \brief Frame conversion kernel: NV12 / I420 / RGBA / BGRA / RGB / BGR -> packed RGB(A)/BGR(A).
#include "pixel_formats_launch.h"

namespace rmnet {
namespace kernels {
namespace {

__global__ void convertKernel(ConvertParams const p)
{
    int32_t const x = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x);
    int32_t const y = static_cast<int32_t>(blockIdx.y * blockDim.y + threadIdx.y);
    if (x < p.width && y < p.height)
    {
        convertPixel(p, y, x);
    }
}

} // namespace

cudaError_t launchConvert(ConvertParams const& p, cudaStream_t stream)
{
    if (validateConvert(p) != nullptr)
    {
        return cudaErrorInvalidValue;
    }
    dim3 const block(32, 8);
    dim3 const grid((p.width + block.x - 1) / block.x, (p.height + block.y - 1) / block.y);
    convertKernel<<<grid, block, 0, stream>>>(p);
    return cudaGetLastError();
}

} // namespace kernels
} // namespace rmnet
