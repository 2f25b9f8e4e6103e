//! \file gpu_ops.cpp
#include "gpu_ops.hpp"

#include "rmnet/inpainter.hpp"

#if RMNET_WITH_CUDA
#include "cuda_utils.hpp"
#include "launchers.h"
#endif

namespace rmnet {

#if RMNET_WITH_CUDA
int32_t cudaDeviceCount() noexcept
{
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess)
    {
        (void) cudaGetLastError();
        return 0;
    }
    return count;
}
#else
int32_t cudaDeviceCount() noexcept
{
    return 0;
}
#endif

namespace detail {

#if RMNET_WITH_CUDA
namespace {

//! Copies \p rows rows of \p rowBytes each from a pitched host image into a device buffer of the
//! same pitch. Row by row: the bytes past a row of a view (numpy slice) may not be ours to read.
void upload(DeviceBuffer& buf, uint8_t const* src, size_t pitch, size_t rowBytes, size_t rows)
{
    buf.reserve(pitch * rows);
    cudaCheck(cudaMemcpy2D(buf.get(), pitch, src, pitch, rowBytes, rows, cudaMemcpyHostToDevice), "cudaMemcpy2D H2D");
}

} // namespace

void preprocessGpu(kernels::PreprocessParams const& h, int32_t device)
{
    if (char const* err = kernels::validatePreprocess(h))
    {
        throw Error(Status::kINVALID_ARGUMENT, err);
    }
    requireDevice(device);
    DeviceGuard const guard(device);
    DeviceBuffer image, mask, outImage, outMask;
    upload(image, h.image, h.imagePitch, 3 * static_cast<size_t>(h.srcW), static_cast<size_t>(h.srcH));
    upload(mask, h.mask, h.maskPitch, static_cast<size_t>(h.srcW), static_cast<size_t>(h.srcH));
    size_t const plane = static_cast<size_t>(h.dstH) * h.dstW * kernels::dtypeSize(h.dtype);
    outImage.reserve(3 * plane);
    outMask.reserve(plane);
    kernels::PreprocessParams d = h;
    d.image = static_cast<uint8_t const*>(image.get());
    d.mask = static_cast<uint8_t const*>(mask.get());
    d.outImage = outImage.get();
    d.outMask = outMask.get();
    cudaCheck(kernels::launchPreprocess(d, nullptr), "launchPreprocess");
    cudaCheck(cudaMemcpy(h.outImage, outImage.get(), 3 * plane, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
    cudaCheck(cudaMemcpy(h.outMask, outMask.get(), plane, cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
}

void compositeGpu(kernels::CompositeParams const& h, int32_t device)
{
    if (char const* err = kernels::validateComposite(h))
    {
        throw Error(Status::kINVALID_ARGUMENT, err);
    }
    requireDevice(device);
    DeviceGuard const guard(device);
    DeviceBuffer image, mask, pred, out;
    size_t const rows = static_cast<size_t>(h.height);
    upload(image, h.image, h.imagePitch, 3 * static_cast<size_t>(h.width), rows);
    upload(mask, h.mask, h.maskPitch, static_cast<size_t>(h.width), rows);
    size_t const predBytes = 3 * static_cast<size_t>(h.predH) * h.predW * kernels::dtypeSize(h.predType);
    pred.reserve(predBytes);
    cudaCheck(cudaMemcpy(pred.get(), h.prediction, predBytes, cudaMemcpyHostToDevice), "cudaMemcpy H2D");
    out.reserve(h.outPitch * rows);
    kernels::CompositeParams d = h;
    d.image = static_cast<uint8_t const*>(image.get());
    d.mask = static_cast<uint8_t const*>(mask.get());
    d.prediction = pred.get();
    d.out = static_cast<uint8_t*>(out.get());
    cudaCheck(kernels::launchComposite(d, nullptr), "launchComposite");
    // Row by row: the host output may be a view whose pitch bytes beyond 3*width belong to others.
    cudaCheck(cudaMemcpy2D(h.out, h.outPitch, out.get(), h.outPitch, 3 * static_cast<size_t>(h.width), rows,
                  cudaMemcpyDeviceToHost),
        "cudaMemcpy2D D2H");
}

#else

void preprocessGpu(kernels::PreprocessParams const&, int32_t)
{
    throw Error(Status::kBACKEND_UNAVAILABLE, "rmnet was built without CUDA");
}

void compositeGpu(kernels::CompositeParams const&, int32_t)
{
    throw Error(Status::kBACKEND_UNAVAILABLE, "rmnet was built without CUDA");
}

#endif

} // namespace detail
} // namespace rmnet
