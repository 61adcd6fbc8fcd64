# The layer check (scripts/check-layers.sh) as ctest tests. Configure writes every
# linen library's link edges to <build>/linen_link_graph.txt ("target<TAB>a;b;c"),
# so the check sees the CMake graph as well as the #include lines.
include(${CMAKE_CURRENT_LIST_DIR}/collect_targets.cmake)

function(linen_layer_tests)
  linen_collect_targets(${CMAKE_SOURCE_DIR} targets)
  set(graph "")
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "LIBRARY$")
      continue()
    endif()
    get_target_property(deps ${t} LINK_LIBRARIES)
    if(NOT deps)
      set(deps "")
    endif()
    string(REGEX REPLACE "\\$<LINK_ONLY:([^>]*)>" "\\1" deps "${deps}")
    string(APPEND graph "${t}\t${deps}\n")
  endforeach()
  file(WRITE ${CMAKE_BINARY_DIR}/linen_link_graph.txt "${graph}")
  add_test(NAME layer_dependencies
           COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-layers.sh ${CMAKE_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/linen_link_graph.txt)
  add_test(NAME layer_dependencies_self_test
           COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/check-layers.sh --self-test)
endfunction()
