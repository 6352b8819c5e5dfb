# Where whisper.cpp's source comes from: WHISPER_CPP_DIR (environment or -D) when set, a user's own
# checkout; otherwise the pinned npm package nodejs-whisper@0.3.1, which ships whisper.cpp 1.9.1
# unmodified at cpp/whisper.cpp. Nothing of whisper.cpp is copied into this repository.
if(NOT WHISPER_CPP_DIR AND DEFINED ENV{WHISPER_CPP_DIR})
  set(WHISPER_CPP_DIR "$ENV{WHISPER_CPP_DIR}")
endif()
if(NOT WHISPER_CPP_DIR)
  execute_process(
    COMMAND node -p "require('path').join(require('path').dirname(require.resolve('nodejs-whisper/package.json')), 'cpp', 'whisper.cpp')"
    WORKING_DIRECTORY "${CMAKE_CURRENT_SOURCE_DIR}"
    OUTPUT_VARIABLE WHISPER_CPP_DIR
    OUTPUT_STRIP_TRAILING_WHITESPACE
    RESULT_VARIABLE _prism_resolve)
  if(NOT _prism_resolve EQUAL 0)
    message(FATAL_ERROR "prism-whisper: cannot find whisper.cpp. Install the pinned nodejs-whisper@0.3.1 (npm install) or set WHISPER_CPP_DIR to a whisper.cpp checkout.")
  endif()
endif()
if(NOT EXISTS "${WHISPER_CPP_DIR}/include/whisper.h" OR NOT EXISTS "${WHISPER_CPP_DIR}/ggml/CMakeLists.txt")
  message(FATAL_ERROR "prism-whisper: WHISPER_CPP_DIR=${WHISPER_CPP_DIR} is not a whisper.cpp source tree (no include/whisper.h or ggml/).")
endif()
message(STATUS "prism-whisper: whisper.cpp source at ${WHISPER_CPP_DIR}")

# Our patch set (deps/patches, see deps/patches/README.md) on a copy in the build folder;
# -DPRISM_PATCHES=OFF builds the pristine tree (the comparison builds use that).
option(PRISM_PATCHES "Apply deps/patches to a copy of whisper.cpp in the build folder" ON)
set(WHISPER_CPP_PRISTINE_DIR "${WHISPER_CPP_DIR}")
if(PRISM_PATCHES)
  include("${CMAKE_CURRENT_LIST_DIR}/patch.cmake")
  prism_patched_tree("${WHISPER_CPP_DIR}" "${CMAKE_BINARY_DIR}/whisper.cpp-src" WHISPER_CPP_DIR)
  message(STATUS "prism-whisper: building the patched copy ${WHISPER_CPP_DIR}")
endif()
