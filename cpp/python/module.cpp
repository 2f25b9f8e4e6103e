//! \file module.cpp
//! \brief rmnet_sdk._native: module definition, error mapping, device query.
//!
//! rmnet::Error codes become the rmnet_sdk.errors classes (InvalidInputError, ModelNotFoundError,
//! ModelError, EngineMismatchError, BackendUnavailableError; RuntimeError for the rest).
#include "rmnet/inpainter.hpp"

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace rmnet {
namespace python {
void bindInpainter(py::module_& m);
void bindKernels(py::module_& m);
} // namespace python
} // namespace rmnet

namespace {

py::object errorClass(rmnet::Status code)
{
    char const* name = nullptr;
    switch (code)
    {
    case rmnet::Status::kINVALID_ARGUMENT: name = "InvalidInputError"; break;
    case rmnet::Status::kMODEL_NOT_FOUND: name = "ModelNotFoundError"; break;
    case rmnet::Status::kMODEL_INVALID: name = "ModelError"; break;
    case rmnet::Status::kENGINE_MISMATCH: name = "EngineMismatchError"; break;
    case rmnet::Status::kBACKEND_UNAVAILABLE: name = "BackendUnavailableError"; break;
    case rmnet::Status::kOK:
    case rmnet::Status::kINFERENCE_FAILED:
    case rmnet::Status::kCUDA_ERROR:
    case rmnet::Status::kINTERNAL: break;
    }
    if (name != nullptr)
    {
        try
        {
            return py::module_::import("rmnet_sdk.errors").attr(name);
        }
        catch (py::error_already_set&)
        {
            // Used outside the rmnet_sdk package: fall back to the matching built-in below.
        }
    }
    switch (code)
    {
    case rmnet::Status::kINVALID_ARGUMENT: return py::reinterpret_borrow<py::object>(PyExc_ValueError);
    case rmnet::Status::kMODEL_NOT_FOUND: return py::reinterpret_borrow<py::object>(PyExc_FileNotFoundError);
    default: return py::reinterpret_borrow<py::object>(PyExc_RuntimeError);
    }
}

} // namespace

PYBIND11_MODULE(_native, m)
{
    m.doc() = "rmnet native runtime: C++ Inpainter (OpenCV DNN / TensorRT) and the preprocess/composite "
              "kernels (CPU twins; CUDA when built with it).";
    py::register_exception_translator([](std::exception_ptr p) {
        try
        {
            if (p)
            {
                std::rethrow_exception(p);
            }
        }
        catch (rmnet::Error const& e)
        {
            py::object const cls = errorClass(e.code());
            PyErr_SetString(cls.ptr(), e.what());
        }
    });
    m.attr("__version__") = rmnet::version();
    m.attr("BUILD_INFO") = rmnet::buildInfo();
    m.attr("WITH_CUDA") = py::bool_(RMNET_WITH_CUDA != 0);
    m.attr("WITH_OPENCV") = py::bool_(RMNET_WITH_OPENCV != 0);
    m.attr("WITH_TENSORRT") = py::bool_(RMNET_WITH_TENSORRT != 0);
    m.attr("BUILD_DIR") = RMNET_BINARY_DIR; // the CMake build tree (tests run ctest from it)
    m.def("cuda_device_count", &rmnet::cudaDeviceCount,
        "Number of usable CUDA devices (0 without CUDA support, a driver or a device).");
    rmnet::python::bindInpainter(m);
    rmnet::python::bindKernels(m);
}
