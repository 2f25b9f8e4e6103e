//! \file cpu_twins.h
//! \brief CPU twins of the CUDA kernels: the same per-pixel functions, run by host loops.
//!
//! They serve the CPU inference path (OpenCV DNN backend) and are what the NumPy parity tests
//! check; the `gpu` tests then compare the kernels against them.
#pragma once

#include "composite.cuh"
#include "preprocess.cuh"
#include "standin.cuh"

namespace rmnet {
namespace kernels {

//! Preprocesses one batch item on the CPU. Throws std::invalid_argument on invalid params.
void preprocessCpu(PreprocessParams const& p);

//! Composites one batch item on the CPU. Throws std::invalid_argument on invalid params.
void compositeCpu(CompositeParams const& p);

//! The stand-in network on the CPU (all batch items). Throws std::invalid_argument on invalid params.
void standinCpu(StandinParams const& p);

} // namespace kernels
} // namespace rmnet
