# FindTensorRT
# ------------
# Finds NVIDIA TensorRT's runtime library (libnvinfer) and public headers.
#
# Layouts searched, in order:
#   - tarball:        <root>/include/NvInfer.h, <root>/lib/libnvinfer.so   (TensorRT_ROOT hint)
#   - system:         /usr/include/<multiarch>/NvInfer.h, /usr/lib/<multiarch>/libnvinfer.so
#                     (NVIDIA's .deb packages, JetPack on Jetson)
#   - pip wheels:     <site-packages>/tensorrt_libs/libnvinfer.so.<major> (no unversioned link,
#                     no headers: pair with TensorRT_INCLUDE_DIR)
#
# Hints (CMake or environment variables):
#   TensorRT_ROOT          install prefix of a tarball/system/pip layout
#   TensorRT_INCLUDE_DIR   directory with NvInfer.h, e.g. the public headers of the NVIDIA/TensorRT
#                          repository, used with another library (the lean runtime)
#   TensorRT_LIBRARY       the library to link, e.g. .../libnvinfer.so.11 or libnvinfer_lean.so.11
#
# Result:
#   TensorRT_FOUND, TensorRT_VERSION (major.minor.patch), TensorRT_VERSION_MAJOR/MINOR/PATCH,
#   TensorRT_INCLUDE_DIRS, TensorRT_LIBRARIES, imported target TensorRT::nvinfer whose include
#   directories are SYSTEM (TensorRT's own deprecation warnings must not break -Werror builds).

set(_trt_hints)
foreach(_root IN ITEMS "${TensorRT_ROOT}" "$ENV{TensorRT_ROOT}" "$ENV{TENSORRT_ROOT}")
  if(_root)
    list(APPEND _trt_hints "${_root}")
  endif()
endforeach()
# pip: tensorrt-cu1x-libs puts the libraries into site-packages/tensorrt_libs.
foreach(_site IN ITEMS "${Python_SITEARCH}" "${Python3_SITEARCH}")
  if(_site)
    list(APPEND _trt_hints "${_site}/tensorrt_libs" "${_site}/tensorrt")
  endif()
endforeach()
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(_trt_multiarch "${CMAKE_LIBRARY_ARCHITECTURE}")
else()
  set(_trt_multiarch "${CMAKE_SYSTEM_PROCESSOR}-linux-gnu")
endif()

find_path(TensorRT_INCLUDE_DIR NvInfer.h
  HINTS ${_trt_hints} ENV TensorRT_INCLUDE_DIR
  PATH_SUFFIXES include "include/${_trt_multiarch}" "${_trt_multiarch}"
  DOC "Directory containing NvInfer.h")

# Versioned names cover pip wheels, which ship only libnvinfer.so.<major>.
find_library(TensorRT_LIBRARY
  NAMES nvinfer libnvinfer.so.11 libnvinfer.so.10
  HINTS ${_trt_hints} ENV TensorRT_LIBRARY
  PATH_SUFFIXES lib lib64 "lib/${_trt_multiarch}" targets/x86_64-linux/lib
  DOC "TensorRT runtime library (libnvinfer)")

# The version: NvInferVersion.h defines NV_TENSORRT_MAJOR as a number up to 10.x and as an alias of
# TRT_MAJOR_ENTERPRISE from 11.x; accept both spellings.
if(TensorRT_INCLUDE_DIR AND EXISTS "${TensorRT_INCLUDE_DIR}/NvInferVersion.h")
  file(STRINGS "${TensorRT_INCLUDE_DIR}/NvInferVersion.h" _trt_version_lines
    REGEX "#define[ \t]+(NV_TENSORRT|TRT)_(MAJOR|MINOR|PATCH)(_ENTERPRISE)?[ \t]+[0-9]+")
  foreach(_part MAJOR MINOR PATCH)
    set(TensorRT_VERSION_${_part} "")
    foreach(_line IN LISTS _trt_version_lines)
      if(_line MATCHES "#define[ \t]+(NV_TENSORRT_${_part}|TRT_${_part}_ENTERPRISE)[ \t]+([0-9]+)")
        set(TensorRT_VERSION_${_part} "${CMAKE_MATCH_2}")
      endif()
    endforeach()
  endforeach()
  if(NOT TensorRT_VERSION_MAJOR STREQUAL "")
    set(TensorRT_VERSION "${TensorRT_VERSION_MAJOR}.${TensorRT_VERSION_MINOR}.${TensorRT_VERSION_PATCH}")
  endif()
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(TensorRT
  REQUIRED_VARS TensorRT_LIBRARY TensorRT_INCLUDE_DIR
  VERSION_VAR TensorRT_VERSION)

if(TensorRT_FOUND)
  set(TensorRT_INCLUDE_DIRS "${TensorRT_INCLUDE_DIR}")
  set(TensorRT_LIBRARIES "${TensorRT_LIBRARY}")
  if(NOT TARGET TensorRT::nvinfer)
    add_library(TensorRT::nvinfer UNKNOWN IMPORTED)
    set_target_properties(TensorRT::nvinfer PROPERTIES
      IMPORTED_LOCATION "${TensorRT_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${TensorRT_INCLUDE_DIR}"
      INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${TensorRT_INCLUDE_DIR}")
  endif()
endif()
mark_as_advanced(TensorRT_INCLUDE_DIR TensorRT_LIBRARY)
