//! \file sidecar.hpp
//! \brief Checks a TensorRT engine against its sidecar JSON (`<engine>.json`) before it is loaded.
//!
//! A serialized engine only runs on the TensorRT version and GPU it was built for, and a stale or
//! replaced one silently serves another model. rmnet_sdk (rmnet-export, or rmnet-sidecar for an
//! engine built with trtexec) writes a sidecar next to each engine; this refuses engines that do
//! not match it. This is the one C++ place for that rule; rmnet_sdk/sidecar.py is the Python one,
//! and both are held to the shared vectors in tests/data/sidecar_vectors/. Free of TensorRT and
//! CUDA, so it is unit-tested on any machine.
#pragma once

#include "rmnet/inpainter.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace rmnet {
namespace detail {

//! What the running process expects of an engine.
struct SidecarExpectation
{
    std::string flavour = "tensorrt";      //!< the runtime's product: "tensorrt" or "tensorrt-rtx"
    int32_t trtVersion = 0;                //!< major*10000 + minor*100 + patch (getInferLibVersion)
    int32_t computeCapability = 0;         //!< major*10 + minor of the device, e.g. 87
    Precision precision = Precision::kAUTO; //!< kAUTO accepts any
    std::string onnxSha256;                //!< empty accepts any
};

//! One reason to refuse an engine. \c reason is a class shared with the Python check and the test
//! vectors: "malformed", "integrity", "flavour", "trt_version", "compute_capability", "precision",
//! "onnx_sha256".
struct SidecarProblem
{
    std::string reason;
    std::string message;
};

//! Every mismatch between sidecar \p json, the engine's bytes and \p expect (empty = accept).
//! Required keys: onnx_sha256, trt_version, compute_capability, precision, profiles, engine_sha256,
//! engine_bytes. Optional: flavour (default "tensorrt"), hardware_compatibility_level ("none",
//! "ampere_plus": any GPU from sm80 except Jetson, "same_compute_capability").
std::vector<SidecarProblem> sidecarProblems(
    std::string const& json, void const* engine, size_t engineBytes, SidecarExpectation const& expect);

//! The sidecar next to \p enginePath: `<engine>.json`, else the engine path with its suffix
//! replaced by `.json`; empty when neither exists.
std::string findSidecar(std::string const& enginePath);

//! Throws Error(kENGINE_MISMATCH) listing all problems, if there are any (or no sidecar).
//! \p engine is the engine as read once: the bytes hashed here are the bytes deserialised.
void checkSidecar(std::string const& enginePath, std::vector<char> const& engine, SidecarExpectation const& expect);

} // namespace detail
} // namespace rmnet
