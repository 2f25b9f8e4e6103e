//! \file trt_compat.hpp
//! \brief One source for TensorRT 10.x and 11.x.
//!
//! The runtime API used here (deserializeCudaEngine(blob, size), named I/O tensors,
//! setInputShape/setTensorAddress/enqueueV3, getProfileShape) is identical in 10.x and 11.x. What
//! differs is builder-side (BuilderFlag values renumbered, kFP16 removed in 11) and never used by
//! the runtime. Versions are compared as NV_TENSORRT_VERSION-style integers
//! (major*10000 + minor*100 + patch), never with the old major*1000 formula, which breaks at 10.10.
#pragma once

#include <NvInferRuntime.h>
#include <NvInferVersion.h>

#include <cstdint>

#if NV_TENSORRT_MAJOR < 10
#error "rmnet's TensorRT backend needs TensorRT 10 or newer (enqueueV3, named I/O tensors)"
#endif

namespace rmnet {
namespace detail {

//! Version of the TensorRT headers this was compiled with.
constexpr int32_t kTRT_HEADER_VERSION = NV_TENSORRT_MAJOR * 10000 + NV_TENSORRT_MINOR * 100 + NV_TENSORRT_PATCH;

//! Version of the TensorRT library loaded at run time (same encoding since TensorRT 10).
inline int32_t trtLibraryVersion()
{
    return static_cast<int32_t>(getInferLibVersion());
}

} // namespace detail
} // namespace rmnet
