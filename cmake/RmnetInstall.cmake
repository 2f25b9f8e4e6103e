# Installs librmnet, its public headers and a CMake package, so that an application can do
#   find_package(rmnet REQUIRED)
#   target_link_libraries(app PRIVATE rmnet::rmnet)
# Component "sdk". In a pip build (SKBUILD) it is EXCLUDE_FROM_ALL: the wheel carries only the
# Python extension, yet `cmake --install <build> --component sdk --prefix <dir>` still works.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(_rmnet_component COMPONENT sdk)
if(SKBUILD)
  list(APPEND _rmnet_component EXCLUDE_FROM_ALL)
endif()
set(RMNET_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/rmnet")
install(TARGETS rmnet EXPORT rmnetTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR} ${_rmnet_component}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} ${_rmnet_component}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} ${_rmnet_component}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/cpp/include/rmnet" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  ${_rmnet_component})
install(EXPORT rmnetTargets NAMESPACE rmnet:: DESTINATION "${RMNET_CMAKE_DIR}" ${_rmnet_component})

# A static librmnet carries its private dependencies as link-only items: the package config finds
# them again (FindTensorRT ships with it for that reason).
configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/rmnetConfig.cmake.in"
  "${CMAKE_CURRENT_BINARY_DIR}/rmnetConfig.cmake" INSTALL_DESTINATION "${RMNET_CMAKE_DIR}")
write_basic_package_version_file("${CMAKE_CURRENT_BINARY_DIR}/rmnetConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${CMAKE_CURRENT_BINARY_DIR}/rmnetConfig.cmake"
  "${CMAKE_CURRENT_BINARY_DIR}/rmnetConfigVersion.cmake"
  "${PROJECT_SOURCE_DIR}/cmake/FindTensorRT.cmake"
  DESTINATION "${RMNET_CMAKE_DIR}" ${_rmnet_component})
