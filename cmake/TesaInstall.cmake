#===- TesaInstall.cmake - The installed Tesa CMake package ----------------===#
#
# `cmake --install <build> --prefix <dir>` installs the headers (generated
# .h.inc included), the static libraries, tesa-opt, and
# <dir>/lib/cmake/tesa/TesaConfig.cmake for find_package(Tesa).
#
#===----------------------------------------------------------------------===#

include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/tesa DESTINATION include
  FILES_MATCHING PATTERN "*.h" PATTERN "*.td")
install(DIRECTORY ${PROJECT_BINARY_DIR}/include/tesa DESTINATION include
  FILES_MATCHING PATTERN "*.inc")

set(TESA_INSTALL_CMAKE_DIR lib/cmake/tesa)
install(EXPORT TesaTargets NAMESPACE Tesa:: DESTINATION ${TESA_INSTALL_CMAKE_DIR})
configure_package_config_file(
  ${PROJECT_SOURCE_DIR}/cmake/TesaConfig.cmake.in
  ${PROJECT_BINARY_DIR}/TesaConfig.cmake
  INSTALL_DESTINATION ${TESA_INSTALL_CMAKE_DIR})
write_basic_package_version_file(
  ${PROJECT_BINARY_DIR}/TesaConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/TesaConfig.cmake
  ${PROJECT_BINARY_DIR}/TesaConfigVersion.cmake
  DESTINATION ${TESA_INSTALL_CMAKE_DIR})
