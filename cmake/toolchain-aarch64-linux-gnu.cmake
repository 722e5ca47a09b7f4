# Cross-compiles for AArch64 Linux with Debian's g++-aarch64-linux-gnu and runs target executables
# (ctest, try_run) under qemu-aarch64 (Debian package qemu-user). Used by the `aarch64` presets.
#
# Find-root policy: libraries and programs of the target come from the aarch64 sysroot / multiarch
# directories only, while headers and CMake package configs may also come from the host's /usr, so that
# header-only, architecture-independent packages installed for the host (doctest, stb) are found.
# Architecture-specific package configs of the host (e.g. /usr/lib/x86_64-linux-gnu/cmake/benchmark) are
# not searched: CMAKE_LIBRARY_ARCHITECTURE is aarch64-linux-gnu, detected from the compiler.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(MOBILEONE_AARCH64_TRIPLE aarch64-linux-gnu)
set(MOBILEONE_AARCH64_SYSROOT /usr/${MOBILEONE_AARCH64_TRIPLE} CACHE PATH "Target runtime (libc, libstdc++) for qemu-aarch64 -L")

find_program(MOBILEONE_AARCH64_CXX NAMES ${MOBILEONE_AARCH64_TRIPLE}-g++ ${MOBILEONE_AARCH64_TRIPLE}-g++-12)
find_program(MOBILEONE_AARCH64_CC NAMES ${MOBILEONE_AARCH64_TRIPLE}-gcc ${MOBILEONE_AARCH64_TRIPLE}-gcc-12)
if(NOT MOBILEONE_AARCH64_CXX)
  message(FATAL_ERROR "${MOBILEONE_AARCH64_TRIPLE}-g++ not found (Debian: apt-get install g++-aarch64-linux-gnu qemu-user)")
endif()
set(CMAKE_CXX_COMPILER ${MOBILEONE_AARCH64_CXX})
if(MOBILEONE_AARCH64_CC)
  set(CMAKE_C_COMPILER ${MOBILEONE_AARCH64_CC})
endif()

find_program(MOBILEONE_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
if(MOBILEONE_QEMU_AARCH64)
  # How a target executable runs: -L takes the dynamic loader from the cross toolchain's sysroot, and
  # LD_LIBRARY_PATH makes that loader take libc from the same sysroot. Without it, once Debian's own arm64
  # libc is installed through multiarch (the arm64 JDK pulls it in), the loader searches
  # /usr/lib/aarch64-linux-gnu first and pairs the sysroot's ld.so with a libc of another build: creating
  # a thread then spins forever (seen with libc6-arm64-cross 2.36-8cross1 beside libc6:arm64 2.36-9+deb12u14).
  # Libraries only multiarch has (libjpeg for the tools) are still found there, after the sysroot.
  set(MOBILEONE_QEMU_RUNTIME_ARGS -L ${MOBILEONE_AARCH64_SYSROOT} -E LD_LIBRARY_PATH=${MOBILEONE_AARCH64_SYSROOT}/lib)
  # ctest runs every add_test(COMMAND <target>) through this.
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MOBILEONE_QEMU_AARCH64} ${MOBILEONE_QEMU_RUNTIME_ARGS})
else()
  message(WARNING "qemu-aarch64 not found: the AArch64 build works, its tests cannot run (Debian: apt-get install qemu-user)")
endif()

# The target's JVM for the JNI test (tests/embedding): Debian's arm64 JDK through multiarch
# (`dpkg --add-architecture arm64; apt-get install openjdk-17-jdk-headless:arm64`, as .ci/run does). Its java
# runs under plain qemu-aarch64, without -L: multiarch installs the arm64 loader and libraries where an
# AArch64 Debian has them (/lib/ld-linux-aarch64.so.1, /usr/lib/aarch64-linux-gnu), which is where the
# JDK's own libraries are found, rather than in the cross toolchain's sysroot.
file(GLOB MOBILEONE_ARM64_JDKS LIST_DIRECTORIES true /usr/lib/jvm/java-*-openjdk-arm64)
list(SORT MOBILEONE_ARM64_JDKS COMPARE NATURAL ORDER DESCENDING)
list(POP_FRONT MOBILEONE_ARM64_JDKS MOBILEONE_ARM64_JDK)
set(MOBILEONE_TARGET_JAVA_HOME "${MOBILEONE_ARM64_JDK}" CACHE PATH "JDK of the target (its headers and java), for the JNI test")
if(MOBILEONE_QEMU_AARCH64 AND EXISTS "${MOBILEONE_TARGET_JAVA_HOME}/bin/java")
  set(MOBILEONE_TARGET_JAVA ${MOBILEONE_QEMU_AARCH64} ${MOBILEONE_TARGET_JAVA_HOME}/bin/java)
endif()

# Target libraries from Debian's multiarch packages (libjpeg62-turbo-dev:arm64 for the tools, as .ci/run
# installs it) are in /usr/lib/aarch64-linux-gnu, outside the sysroot. As a second root it is searched as is
# and nothing else is added (CMake does not re-root a path already inside a root; other host paths become
# <root>/usr/lib..., which do not exist). At run time qemu -L finds them too: a path missing under the
# prefix falls back to the host's, and the target's loader searches /usr/lib/aarch64-linux-gnu.
set(CMAKE_FIND_ROOT_PATH ${MOBILEONE_AARCH64_SYSROOT} /usr/lib/${MOBILEONE_AARCH64_TRIPLE})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)  # host tools (python3, git)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)   # never link a host library
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)   # header-only deps in the host's /usr/include
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)   # their arch-independent configs in /usr/lib/cmake, /usr/share
