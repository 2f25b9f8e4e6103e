//! \file gpu_ops.hpp
//! \brief Run one CUDA kernel on host data (copy in, launch, copy out): for tests and benchmarks.
//!
//! The parameters hold *host* pointers; these functions stage them on the device. They throw
//! kBACKEND_UNAVAILABLE when the build has no CUDA or the machine no device.
#pragma once

#include "composite.cuh"
#include "preprocess.cuh"

#include <cstdint>

namespace rmnet {
namespace detail {

void preprocessGpu(kernels::PreprocessParams const& hostParams, int32_t device);
void compositeGpu(kernels::CompositeParams const& hostParams, int32_t device);

} // namespace detail
} // namespace rmnet
