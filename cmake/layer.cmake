# sd_layer(name DEPS ...): a static library from every .cc under the calling folder (recursively),
# so a module adds files without editing CMake. Skipped while the folder has no sources yet.
function(sd_layer name)
  cmake_parse_arguments(L "" "" "DEPS;EXCLUDE" ${ARGN})
  file(GLOB_RECURSE _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cc)
  foreach(_x IN LISTS L_EXCLUDE)
    list(FILTER _srcs EXCLUDE REGEX "${_x}")
  endforeach()
  if(NOT _srcs)
    return()
  endif()
  add_library(${name} STATIC ${_srcs})
  target_link_libraries(${name} PUBLIC ${L_DEPS})
endfunction()

# sd_glob_test(name LIBS ...): one gtest binary from every *_test.cc in the calling folder.
function(sd_glob_test name)
  cmake_parse_arguments(T "" "" "LIBS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*_test.cc)
  if(NOT _srcs)
    return()
  endif()
  sd_unit_test(${name} SOURCES ${_srcs} LIBS ${T_LIBS})
endfunction()
