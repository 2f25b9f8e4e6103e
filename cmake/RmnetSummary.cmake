# Prints what this configuration builds, and why a part is missing.
function(rmnet_summary_line label have detail why)
  if(have)
    message(STATUS "  ${label} ON   ${detail}")
  else()
    message(STATUS "  ${label} OFF  ${why}")
  endif()
endfunction()

message(STATUS "")
message(STATUS "rmnet ${PROJECT_VERSION} build summary")
rmnet_summary_line("CUDA kernels     " "${RMNET_HAVE_CUDA}"
  "nvcc ${CMAKE_CUDA_COMPILER_VERSION}, sm ${CMAKE_CUDA_ARCHITECTURES}" "${RMNET_WHY_CUDA}")
rmnet_summary_line("TensorRT backend " "${RMNET_HAVE_TENSORRT}"
  "TensorRT ${TensorRT_VERSION} headers, ${TensorRT_LIBRARY}" "${RMNET_WHY_TENSORRT}")
rmnet_summary_line("OpenCV backend   " "${RMNET_HAVE_OPENCV}" "OpenCV ${OpenCV_VERSION} DNN (CPU)" "${RMNET_WHY_OPENCV}")
rmnet_summary_line("Python module    " "${RMNET_HAVE_PYTHON}"
  "rmnet_sdk._native for Python ${Python_VERSION}, pybind11 ${pybind11_VERSION}" "${RMNET_WHY_PYTHON}")
rmnet_summary_line("camera example   " "${RMNET_HAVE_EXAMPLES}" "cpp/examples/camera_inpaint" "${RMNET_WHY_EXAMPLES}")
rmnet_summary_line("tests (ctest)    " "${RMNET_BUILD_TESTS}" "tests/cpp (${RMNET_TEST_SCOPE})" "RMNET_BUILD_TESTS=OFF")
message(STATUS "  warnings as errors: ${RMNET_WERROR}")
message(STATUS "")
