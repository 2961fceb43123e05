# sy_add_test(NAME <name> SOURCES <files...> LIBS <targets...> [LABELS <labels...>])
# One CTest entry per CAF test suite; each test binary has its own main from
# caf/test/unit_test_impl.hpp.
function(sy_add_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} caf::core)
  target_compile_definitions(${T_NAME} PRIVATE
    SY_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    SY_SHARED_DIR="${PROJECT_SOURCE_DIR}/../shared")
  # -r: the CAF test watchdog (default 30 s) aborts slower suites; CTest has its own timeout.
  add_test(NAME ${T_NAME} COMMAND ${T_NAME} -r 900)
  if(T_LABELS)
    set_tests_properties(${T_NAME} PROPERTIES LABELS "${T_LABELS}")
  endif()
endfunction()
