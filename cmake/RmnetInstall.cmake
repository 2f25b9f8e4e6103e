# Installs librmnet, its public headers and a CMake package, so that an application can do
#   find_package(rmnet REQUIRED)
#   target_link_libraries(app PRIVATE rmnet::rmnet)
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(RMNET_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/rmnet")
install(TARGETS rmnet EXPORT rmnetTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY "${PROJECT_SOURCE_DIR}/cpp/include/rmnet" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT rmnetTargets NAMESPACE rmnet:: DESTINATION "${RMNET_CMAKE_DIR}")

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
  DESTINATION "${RMNET_CMAKE_DIR}")
