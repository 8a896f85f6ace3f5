#===- TesaHelpers.cmake - Functions for tesa's own targets ----------------===#

# add_tesa_library(name sources... [DEPENDS targets...] [LINK_LIBS libs...])
#
# A static, position-independent library exported as Tesa::<name>. Its
# include directories travel with it, so that consumers of the installed
# package need only link it.
function(add_tesa_library name)
  cmake_parse_arguments(ARG "" "" "DEPENDS;LINK_LIBS" ${ARGN})
  add_library(${name} STATIC ${ARG_UNPARSED_ARGUMENTS})
  add_library(Tesa::${name} ALIAS ${name})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<BUILD_INTERFACE:${PROJECT_BINARY_DIR}/include>
    $<INSTALL_INTERFACE:include>
    ${LLVM_INCLUDE_DIRS} ${MLIR_INCLUDE_DIRS})
  if(ARG_DEPENDS)
    add_dependencies(${name} ${ARG_DEPENDS})
  endif()
  target_link_libraries(${name} PUBLIC ${ARG_LINK_LIBS})
  install(TARGETS ${name} EXPORT TesaTargets ARCHIVE DESTINATION lib)
endfunction()

# tesa_add_doc(td_file name tablegen-args...)
#
# Generates <name>.md from a .td file into ${PROJECT_BINARY_DIR}/docs as part
# of the `tesa-doc` target.
function(tesa_add_doc td_file name)
  set(LLVM_TARGET_DEFINITIONS ${td_file})
  mlir_tablegen(${name}.md ${ARGN})
  set(out ${PROJECT_BINARY_DIR}/docs/reference/${name}.md)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E copy ${CMAKE_CURRENT_BINARY_DIR}/${name}.md ${out}
    DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/${name}.md)
  add_custom_target(${name}DocGen DEPENDS ${out})
  add_dependencies(tesa-doc ${name}DocGen)
endfunction()
