//! \file sidecar.hpp
//! \brief Checks a TensorRT engine's sidecar JSON (`<engine>.json`) before the engine is loaded.
//!
//! A serialized engine only runs on the TensorRT version and GPU it was built for, and a stale one
//! silently serves an old model. The Python exporter therefore writes a sidecar next to each
//! engine; this refuses engines whose sidecar does not match. Kept free of TensorRT and CUDA so
//! it is unit-tested on any machine.
#pragma once

#include "rmnet/inpainter.hpp"

#include <string>
#include <vector>

namespace rmnet {
namespace detail {

//! What the running process expects of an engine.
struct SidecarExpectation
{
    int32_t trtVersion = 0;          //!< major*10000 + minor*100 + patch (getInferLibVersion)
    int32_t computeCapability = 0;   //!< major*10 + minor of the device, e.g. 87
    Precision precision = Precision::kAUTO; //!< kAUTO accepts any
    std::string onnxSha256;          //!< empty accepts any
};

//! Every mismatch between sidecar \p json and \p expect, one readable line each (empty = match).
//! Required keys: onnx_sha256, trt_version, compute_capability, precision, profiles; an optional
//! "flavour" must be "tensorrt" (rmnet_sdk.export.tensorrt.make_sidecar writes one).
std::vector<std::string> sidecarProblems(std::string const& json, SidecarExpectation const& expect);

//! The sidecar next to \p enginePath: `<engine>.json`, else the engine path with its suffix
//! replaced by `.json`; empty when neither exists.
std::string findSidecar(std::string const& enginePath);

//! Throws Error(kENGINE_MISMATCH) listing all problems, if there are any (or no sidecar).
void checkSidecar(std::string const& enginePath, SidecarExpectation const& expect);

} // namespace detail
} // namespace rmnet
