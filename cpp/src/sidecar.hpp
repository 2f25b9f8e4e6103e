//! \file sidecar.hpp
//! \brief Checks a TensorRT engine against its sidecar JSON (`<engine>.json`) before it is loaded.
//!
//! A serialized engine only runs on the TensorRT version and GPU it was built for, and a stale or
//! replaced one silently serves another model. rmnet_sdk (rmnet-export, or rmnet-sidecar for an
//! engine built with trtexec) writes a sidecar next to each engine; this refuses engines that do
//! not match it. This is the one C++ place for that rule; rmnet_sdk/contract/sidecar.py is the Python
//! one. Both validate against the same checked-in JSON Schema (rmnet_sdk/contract/
//! engine_sidecar.schema.json, embedded at build time; see json_schema.hpp) and are held to the shared
//! vectors in tests/data/sidecar_vectors/: same accept/refuse, same reason classes, same profile
//! chunks. Free of TensorRT and CUDA, so it is unit-tested on any machine.
#pragma once

#include "json.hpp"
#include "profiles.hpp"
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
//! The rule, shared with Python's engine_problems: a sidecar that is not a JSON object or breaks the
//! schema is "malformed" (one problem per violation) and only its engine's bytes are checked besides;
//! otherwise the bytes must match engine_bytes/engine_sha256, the flavour (default "tensorrt"), the
//! TensorRT major.minor.patch, the GPU (hardware_compatibility_level "none" or
//! "same_compute_capability": a listed capability; "ampere_plus": any GPU from sm80 except Jetson),
//! and the requested precision and ONNX hash must match, and every profile must have
//! min <= opt <= max per axis. Throws Error(kINTERNAL) only when the embedded schema uses a keyword
//! the C++ validator does not implement.
std::vector<SidecarProblem> sidecarProblems(
    std::string const& json, void const* engine, size_t engineBytes, SidecarExpectation const& expect);

//! The optimisation profiles of a parsed sidecar, in the engine's order: the twin of Python's
//! rmnet_sdk.contract.sidecar.sidecar_profiles, so that planChunks cuts batches as plan_batches does.
//! Throws Error(kINVALID_ARGUMENT) when "profiles" is missing, empty or not a list, or a profile is not
//! min/opt/max, each three positive integers, with min <= opt <= max per axis.
std::vector<ProfileRange> sidecarProfiles(JsonValue const& sidecar);

//! The sidecar next to \p enginePath: `<engine>.json`, else the engine path with its suffix
//! replaced by `.json`; empty when neither exists.
std::string findSidecar(std::string const& enginePath);

//! Throws Error(kENGINE_MISMATCH) listing all problems, if there are any (or no sidecar).
//! \p engine is the engine as read once: the bytes hashed here are the bytes deserialised.
void checkSidecar(std::string const& enginePath, std::vector<char> const& engine, SidecarExpectation const& expect);

} // namespace detail
} // namespace rmnet
