# Our whisper.cpp changes (deps/patches/*.patch, applied in name order) go onto a copy of the pinned
# tree inside the build folder; the tree itself (node_modules, or WHISPER_CPP_DIR) is never touched.
# The copy is redone when the source folder or any patch changes. A patch that does not apply stops
# the build and names itself.
#
#   prism_patched_tree(<source> <destination> <out-var>)   from CMakeLists.txt (via deps/whisper.cmake)
#   cmake -DSRC=<source> -DDST=<destination> -P deps/patch.cmake   from scripts (prints the tree's path)

set(PRISM_PATCH_DIR "${CMAKE_CURRENT_LIST_DIR}/patches")

function(prism_patched_tree source destination out_var)
  file(GLOB patches "${PRISM_PATCH_DIR}/*.patch")
  list(SORT patches)
  if(NOT patches)
    set(${out_var} "${source}" PARENT_SCOPE)
    return()
  endif()
  set(signature "${source}")
  foreach(p IN LISTS patches)
    file(SHA256 "${p}" h)
    string(APPEND signature ";${h}")
  endforeach()
  string(SHA256 signature "${signature}")
  set(stamp "${destination}/.prism-patches")
  if(EXISTS "${stamp}")
    file(READ "${stamp}" done)
    if(done STREQUAL signature)
      set(${out_var} "${destination}" PARENT_SCOPE)
      return()
    endif()
  endif()

  find_program(PRISM_PATCH_TOOL patch)
  find_program(PRISM_GIT_TOOL git)
  if(NOT PRISM_PATCH_TOOL AND NOT PRISM_GIT_TOOL)
    message(FATAL_ERROR "prism-whisper: applying deps/patches needs `patch` (apt install patch) or git")
  endif()
  get_filename_component(parent "${destination}" DIRECTORY)
  file(REMOVE_RECURSE "${destination}")
  file(MAKE_DIRECTORY "${destination}")
  file(GLOB entries "${source}/*")
  file(COPY ${entries} DESTINATION "${destination}")
  foreach(p IN LISTS patches)
    get_filename_component(name "${p}" NAME)
    if(PRISM_PATCH_TOOL)
      set(apply "${PRISM_PATCH_TOOL}" -p1 --fuzz=0 --forward --batch --no-backup-if-mismatch -r - -d "${destination}" -i "${p}")
    else()
      # git apply outside any repository (the ceiling keeps it from finding one above the build folder)
      set(apply "${CMAKE_COMMAND}" -E env "GIT_CEILING_DIRECTORIES=${parent}" "${PRISM_GIT_TOOL}" apply -p1 --whitespace=nowarn "${p}")
    endif()
    execute_process(
      COMMAND ${apply}
      WORKING_DIRECTORY "${destination}"
      RESULT_VARIABLE rc
      OUTPUT_VARIABLE out
      ERROR_VARIABLE err)
    if(NOT rc EQUAL 0)
      file(REMOVE_RECURSE "${destination}")
      message(FATAL_ERROR "prism-whisper: deps/patches/${name} does not apply to the whisper.cpp at ${source}:\n${out}${err}\nThe pinned tree changed (or WHISPER_CPP_DIR is another version): update the patch.")
    endif()
    message(STATUS "prism-whisper: applied deps/patches/${name}")
  endforeach()
  file(WRITE "${stamp}" "${signature}")
  set(${out_var} "${destination}" PARENT_SCOPE)
endfunction()

if(CMAKE_SCRIPT_MODE_FILE STREQUAL CMAKE_CURRENT_LIST_FILE)
  if(NOT SRC OR NOT DST)
    message(FATAL_ERROR "usage: cmake -DSRC=<whisper.cpp tree> -DDST=<patched copy> -P deps/patch.cmake")
  endif()
  prism_patched_tree("${SRC}" "${DST}" tree)
  message("${tree}")
endif()
