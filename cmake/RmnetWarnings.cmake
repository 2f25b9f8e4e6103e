# rmnet_warnings(<target>): -Wall -Wextra on rmnet's own sources (plus -Werror with RMNET_WERROR).
# Third-party headers (TensorRT, CUDA, OpenCV) come in as SYSTEM include dirs, so they never trip it.
function(rmnet_warnings target)
  set(_cxx -Wall -Wextra)
  set(_cuda -Xcompiler=-Wall,-Wextra)
  if(RMNET_WERROR)
    list(APPEND _cxx -Werror)
    list(APPEND _cuda -Werror=all-warnings -Xcompiler=-Werror)
  endif()
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX,C>:${_cxx}>
    $<$<COMPILE_LANGUAGE:CUDA>:${_cuda}>)
endfunction()
