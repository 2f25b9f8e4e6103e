//! \file standin_engine.hpp
//! \brief A CUDA-only stand-in for a TensorRT engine: a small deterministic network (kernels/standin.cuh)
//! behind the GpuEngine interface.
//!
//! GPU machines without TensorRT can then run the whole C++ GPU pipeline -- pinned staging, streams,
//! preprocess and composite kernels, CUDA graphs across shapes and profiles, events, threads -- and
//! compare it bit for bit with the CPU twins. It is selected by a model file named `*.standin`:
//!
//!   {"rmnet_standin": 1, "precision": "fp32" | "fp16",
//!    "profiles": [{"min": [1, 64, 64], "opt": [1, 256, 256], "max": [4, 512, 512]}, ...],
//!    "fail_enqueue": false}
//!
//! `fail_enqueue` makes every enqueue fail with a known message (checks that errors reach the user).
#pragma once

#include "profiles.hpp"

#include "pixel_math.cuh"

#if RMNET_WITH_CUDA
#include "gpu_engine.hpp"
#endif

#include <memory>
#include <string>
#include <vector>

namespace rmnet {
namespace detail {

//! True for a `*.standin` model path.
bool isStandinPath(std::string const& path);

//! The stand-in description in \p json (\p path names it in messages). Throws Error(kMODEL_INVALID).
struct StandinSpec
{
    kernels::DType dtype = kernels::DType::kFLOAT;
    std::vector<ProfileRange> profiles;
    bool failEnqueue = false;
};
StandinSpec parseStandinSpec(std::string const& json, std::string const& path);

#if RMNET_WITH_CUDA
//! The stand-in engine for the description at \p path.
std::unique_ptr<GpuEngine> createStandinEngine(std::string const& path);
#endif

} // namespace detail
} // namespace rmnet
