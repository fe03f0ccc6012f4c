# Injected with -DCMAKE_PROJECT_INCLUDE=<this file> when building against the ROS 2 pip wheels.
#
# Why: the wheels' exported CMake targets (e.g. std_msgs::std_msgs__rosidl_generator_py) list the include
# directory of the machine that built them (/opt/python/cpXY-cpXY/include/pythonX.Y). That path does not
# exist here, and CMake refuses to generate with a missing INTERFACE_INCLUDE_DIRECTORIES entry. Once the
# project has been configured, drop every such non-existent /opt/python/ entry from imported targets.
# A full ROS 2 install never needs this file.

function(_salus_drop_missing_wheel_includes)
  get_property(_targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(_target IN LISTS _targets)
    get_target_property(_dirs ${_target} INTERFACE_INCLUDE_DIRECTORIES)
    if(NOT _dirs)
      continue()
    endif()
    set(_kept "")
    set(_changed FALSE)
    foreach(_dir IN LISTS _dirs)
      if(_dir MATCHES "^/opt/python/" AND NOT EXISTS "${_dir}")
        set(_changed TRUE)
      else()
        list(APPEND _kept "${_dir}")
      endif()
    endforeach()
    if(_changed)
      set_target_properties(${_target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${_kept}")
    endif()
  endforeach()
endfunction()

cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL _salus_drop_missing_wheel_includes)
