# Precompiled headers. nlohmann/json costs about a second of parsing in every TU that
# includes it (gtest another 0.3 s) and nearly all of ours do; parsing it once per
# build instead saves minutes across the two CI builds. Two PCH owners, because test
# code also wants gtest and carries the test-only definitions:
#   linen_pch       <nlohmann/json.hpp>                 libraries, executables, fuzzers
#   linen_test_pch  <nlohmann/json.hpp> <gtest/gtest.h>  targets built by linen_test()
# Every other C++ target reuses one of them (REUSE_FROM: one PCH per build, not one
# per target), so all of them must share the PCH owner's compile flags, including the
# test code's optimisation level (linen_test_code_options). The headers must still compile alone; the PCH only makes the parse
# cheaper. Off with -DLINEN_PCH=OFF.

include(${CMAKE_CURRENT_LIST_DIR}/collect_targets.cmake)

function(linen_apply_pch)
  add_library(linen_pch STATIC ${CMAKE_SOURCE_DIR}/cmake/pch.cc)
  target_link_libraries(linen_pch PRIVATE nlohmann_json::nlohmann_json)
  target_precompile_headers(linen_pch PRIVATE <nlohmann/json.hpp>)
  if(LINEN_BUILD_TESTS)
    add_library(linen_test_pch STATIC ${CMAKE_SOURCE_DIR}/cmake/pch.cc)
    # No test definitions here: gcc refuses a PCH built with a macro the user of the
    # PCH lacks, while extra macros on the user's side are fine.
    target_link_libraries(linen_test_pch PRIVATE nlohmann_json::nlohmann_json GTest::gtest)
    target_precompile_headers(linen_test_pch PRIVATE <nlohmann/json.hpp> <gtest/gtest.h>)
    linen_test_code_options(linen_test_pch)
  endif()

  linen_collect_targets(${CMAKE_SOURCE_DIR} targets)
  foreach(t IN LISTS targets)
    # cni_sys: the bottom layer builds without the JSON library, PCH included.
    if(t STREQUAL "linen_pch" OR t STREQUAL "linen_test_pch" OR t STREQUAL "cni_sys")
      continue()
    endif()
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(EXECUTABLE|STATIC_LIBRARY|OBJECT_LIBRARY)$")
      continue()
    endif()
    get_target_property(libs ${t} LINK_LIBRARIES)
    if(LINEN_BUILD_TESTS AND "GTest::gtest" IN_LIST libs)
      # Same optimisation level as the PCH, or clang refuses it (__OPTIMIZE__ differs).
      linen_test_code_options(${t})
      target_precompile_headers(${t} REUSE_FROM linen_test_pch)
    else()
      target_precompile_headers(${t} REUSE_FROM linen_pch)
    endif()
  endforeach()
endfunction()
