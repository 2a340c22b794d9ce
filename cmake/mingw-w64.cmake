# Cross-builds Weft for Windows (x86_64) with Debian's mingw-w64, posix thread model (std::thread
# and std::mutex need it), and runs what it builds under wine64 (tests, through ctest):
#   cmake -S . -B build/windows -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64.cmake
# `make test-windows` does this and runs the Windows suite. Executables are linked statically,
# so wine needs no mingw DLLs.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
find_program(WEFT_WINE64 wine64 PATHS /usr/lib/wine NO_DEFAULT_PATH)
if(WEFT_WINE64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${WEFT_WINE64})
endif()
