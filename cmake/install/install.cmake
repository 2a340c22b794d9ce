# `cmake --install <build> [--prefix <dir>]`: Weft as a library for other projects (Linux).
#
#   lib/libweft.so.1.0, .so.1, .so   the C ABI, shared (capi/CMakeLists.txt says what it exports)
#   lib/libweft_c.a                  the C ABI, static
#   lib/libweft_runtime.a            the C++ runtime, static (both position-dependent code: a
#                                    shared object of someone else's links libweft.so instead)
#   include/weft.h                   the C ABI's header (and capi/include's others: weft_cpp.h,
#                                    which hands a C++ weft::Runtime to C code, is for the
#                                    static libraries only; libweft.so exports no C++)
#   include/weft/...                 the runtime's and the variants' C++ headers
#   lib/cmake/weft/                  the CMake package: weftConfig.cmake, its version file, the
#                                    exported targets
#   lib/pkgconfig/weft.pc            pkg-config: libweft.so
#   lib/pkgconfig/weft-static.pc     pkg-config: the static libraries and what they need
#
# find_package(weft) defines
#   weft::weft          the C ABI and the runtime, static; for C and C++. A C-only project links
#                       it too: the runtime adds libstdc++ where the C compiler links
#                       (runtime/CMakeLists.txt).
#   weft::weft_shared   libweft.so: weft.h's functions alone (not in a sanitizer build)
#   weft::runtime       the C++ runtime alone (C++20)
#   weft::variants      the header-only queues and stealing policies
#
# tests/scripts/test_capi_install.py installs into a temporary prefix and builds tests/capi's C
# programs against it both ways: through find_package (tests/capi/consumer/) and pkg-config.
include(CMakePackageConfigHelpers)

set(WEFT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/weft)
set(WEFT_INSTALL_TEMPLATES ${CMAKE_CURRENT_LIST_DIR})

set_target_properties(weft_variants PROPERTIES EXPORT_NAME variants)
set_target_properties(weft_runtime PROPERTIES EXPORT_NAME runtime)
set_target_properties(weft_c PROPERTIES EXPORT_NAME weft)
set(WEFT_INSTALL_TARGETS weft_variants weft_runtime weft_c)
set(WEFT_PKG_CONFIG weft-static)
if(TARGET weft_c_shared)  # not in a sanitizer build (capi/CMakeLists.txt)
  set_target_properties(weft_c_shared PROPERTIES EXPORT_NAME weft_shared)
  list(APPEND WEFT_INSTALL_TARGETS weft_c_shared)
  list(APPEND WEFT_PKG_CONFIG weft)
endif()

install(TARGETS ${WEFT_INSTALL_TARGETS} EXPORT weftTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/runtime/include/weft
                  ${PROJECT_SOURCE_DIR}/variants/include/weft
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/capi/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

# The CMake package.
install(EXPORT weftTargets NAMESPACE weft:: DESTINATION ${WEFT_CMAKE_DIR})
configure_package_config_file(${WEFT_INSTALL_TEMPLATES}/weftConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/weftConfig.cmake
                              INSTALL_DESTINATION ${WEFT_CMAKE_DIR})
# Before 1.0 a minor version may break the API: 0.1.x asks for 0.1.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/weftConfig.cmake ${PROJECT_BINARY_DIR}/weftConfigVersion.cmake
        DESTINATION ${WEFT_CMAKE_DIR})

# pkg-config. The .pc files name their prefix relative to their own folder (${pcfiledir}), so they
# stay right under whatever --prefix the install is given.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" OR IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
  message(FATAL_ERROR "weft: the pkg-config files need CMAKE_INSTALL_LIBDIR and "
                      "CMAKE_INSTALL_INCLUDEDIR relative to the prefix")
endif()
file(RELATIVE_PATH WEFT_PC_UP /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" WEFT_PC_UP "${WEFT_PC_UP}")
set(WEFT_PC_PREFIX "\${pcfiledir}/${WEFT_PC_UP}")
foreach(pc ${WEFT_PKG_CONFIG})
  configure_file(${WEFT_INSTALL_TEMPLATES}/${pc}.pc.in ${PROJECT_BINARY_DIR}/${pc}.pc @ONLY)
  install(FILES ${PROJECT_BINARY_DIR}/${pc}.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endforeach()
