//! \file module.cpp
//! \brief rmnet_sdk._native: module definition, error mapping, device query.
//!
//! rmnet::Error codes become the rmnet_sdk.errors classes (InvalidInputError, ModelNotFoundError,
//! ModelError, EngineMismatchError, BackendUnavailableError) or NativeRuntimeError (an RMNetError
//! and a RuntimeError) for failures while running.
#include "rmnet/inpainter.hpp"

#include <pybind11/pybind11.h>

namespace py = pybind11;

namespace rmnet {
namespace python {
void bindInpainter(py::module_& m);
void bindKernels(py::module_& m);
void bindFrames(py::module_& m);
} // namespace python
} // namespace rmnet

namespace {

//! rmnet_sdk.errors.<name>, or \p fallback when used outside the rmnet_sdk package.
py::object sdkError(char const* name, PyObject* fallback)
{
    try
    {
        return py::module_::import("rmnet_sdk.errors").attr(name);
    }
    catch (py::error_already_set&)
    {
        return py::reinterpret_borrow<py::object>(fallback);
    }
}

py::object errorClass(rmnet::Status code)
{
    switch (code)
    {
    case rmnet::Status::kINVALID_ARGUMENT: return sdkError("InvalidInputError", PyExc_ValueError);
    case rmnet::Status::kMODEL_NOT_FOUND: return sdkError("ModelNotFoundError", PyExc_FileNotFoundError);
    case rmnet::Status::kMODEL_INVALID: return sdkError("ModelError", PyExc_RuntimeError);
    case rmnet::Status::kENGINE_MISMATCH: return sdkError("EngineMismatchError", PyExc_RuntimeError);
    case rmnet::Status::kBACKEND_UNAVAILABLE: return sdkError("BackendUnavailableError", PyExc_RuntimeError);
    case rmnet::Status::kOK:
    case rmnet::Status::kINFERENCE_FAILED:
    case rmnet::Status::kCUDA_ERROR:
    case rmnet::Status::kINTERNAL: break;
    }
    return py::module_::import("rmnet_sdk._native").attr("NativeRuntimeError");
}

//! NativeRuntimeError(RMNetError, RuntimeError): failures while running (inference, CUDA, bugs),
//! still catchable with `except RMNetError`.
py::object makeRuntimeError()
{
    py::object const base = sdkError("RMNetError", PyExc_Exception);
    py::object const runtime = py::reinterpret_borrow<py::object>(PyExc_RuntimeError);
    py::tuple bases = py::make_tuple(base, runtime);
    if (base.ptr() == PyExc_Exception)
    {
        bases = py::make_tuple(runtime);
    }
    py::dict ns;
    ns["__module__"] = "rmnet_sdk._native";
    ns["__doc__"] = "The native runtime failed while running (inference, CUDA or an internal error).";
    return py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&PyType_Type))(
        "NativeRuntimeError", bases, ns);
}

} // namespace

PYBIND11_MODULE(_rmnet_native, m)
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
    m.attr("NativeRuntimeError") = makeRuntimeError();
    m.attr("__version__") = rmnet::version();
    m.attr("BUILD_INFO") = rmnet::buildInfo();
    m.attr("WITH_CUDA") = py::bool_(RMNET_WITH_CUDA != 0);
    m.attr("WITH_OPENCV") = py::bool_(RMNET_WITH_OPENCV != 0);
    m.attr("WITH_TENSORRT") = py::bool_(RMNET_WITH_TENSORRT != 0);
    m.attr("CUDA_ARCHITECTURES") = RMNET_CUDA_ARCHITECTURES; // e.g. "87,89,90"; "" without CUDA
    m.attr("BUILD_DIR") = RMNET_BINARY_DIR; // the CMake build tree (tests run ctest from it)
    m.def("cuda_device_count", &rmnet::cudaDeviceCount,
        "Number of usable CUDA devices (0 without CUDA support, a driver or a device).");
    rmnet::python::bindInpainter(m);
    rmnet::python::bindKernels(m);
    rmnet::python::bindFrames(m);
}
