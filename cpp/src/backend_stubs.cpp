//! \file backend_stubs.cpp
//! \brief Factories of the backends this build does not contain: they fail with a clear message.
#include "backend.hpp"

namespace rmnet {
namespace detail {

#if !RMNET_WITH_OPENCV
std::unique_ptr<Backend> createOpenCvBackend(Options const&)
{
    throw Error(Status::kBACKEND_UNAVAILABLE, "rmnet was built without OpenCV: the CPU backend is unavailable");
}
#endif

#if !RMNET_WITH_CUDA
std::unique_ptr<Backend> createTensorRtBackend(Options const&)
{
    throw Error(Status::kBACKEND_UNAVAILABLE,
        "rmnet was built without CUDA: engines cannot be run (use an .onnx model for the CPU backend)");
}
#endif

} // namespace detail
} // namespace rmnet
