# What `cmake --install` puts where beyond the programs, and the Debian package (CPack).
# Included from the top-level CMakeLists after the targets exist.
#
# The systemd unit and the example config name installed paths, so they are written at
# install time from the prefix in effect then: `cmake --install build --prefix P` gets
# P/bin and P/etc, and the package (prefix /usr) gets /usr/bin and /etc, with the unit in
# /lib/systemd/system as Debian 12 packages ship it.
install(CODE "set(resyncwatch_source_dir \"${PROJECT_SOURCE_DIR}\")")
install(CODE [[
  if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(etc_dir "/etc")
    set(unit_dir "/lib/systemd/system")
  else()
    set(etc_dir "${CMAKE_INSTALL_PREFIX}/etc")
    set(unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  endif()
  file(READ "${resyncwatch_source_dir}/systemd/resyncwatchd.service" unit)
  string(REPLACE "/usr/local/bin/" "${CMAKE_INSTALL_PREFIX}/bin/" unit "${unit}")
  string(REPLACE "/etc/resyncwatch/" "${etc_dir}/resyncwatch/" unit "${unit}")
  set(staged "${CMAKE_CURRENT_BINARY_DIR}/resyncwatchd.service.staged/resyncwatchd.service")
  file(WRITE "${staged}" "${unit}")
  # file(INSTALL) puts $DESTDIR (the package's staging directory) in front by itself.
  file(INSTALL "${staged}" DESTINATION "${unit_dir}"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  # The config holds no secret (credentials live in the files it names): world-readable
  # like any /etc file, so that operators can read what the daemon was told.
  file(INSTALL "${resyncwatch_source_dir}/systemd/resyncwatch.json"
       DESTINATION "${etc_dir}/resyncwatch"
       FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
]])

# Manual pages made from each program's --help (the one description of its options):
# resyncwatch(1), resyncwatchd(1); resyncwatch-full, which resyncwatch runs, shares
# resyncwatch's page.
install(CODE "set(resyncwatch_programs \"$<TARGET_FILE:resyncwatchd>;$<TARGET_FILE:resyncwatch>\")
              set(resyncwatch_version \"${PROJECT_VERSION}\")")
install(CODE [[
  set(man_dir "${CMAKE_INSTALL_PREFIX}/share/man/man1")
  foreach(program IN LISTS resyncwatch_programs)
    get_filename_component(name "${program}" NAME)
    execute_process(COMMAND "${program}" --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "${name} --help failed (${rc}): no manual page")
    endif()
    if(name STREQUAL "resyncwatchd")
      set(summary "collects the syslog of Cisco MPP/SPA phones into the resyncwatch store")
    else()
      set(summary "queries the resyncwatch store: history, grep, fleet, schedule, import")
    endif()
    # In roff a backslash starts an escape and a leading dot or quote a request.
    string(REPLACE "\\" "\\e" help "${help}")
    string(REGEX REPLACE "(^|\n)([.'])" "\\1\\\\&\\2" help "${help}")
    string(TOUPPER "${name}" title)
    set(page ".TH ${title} 1 \"\" \"resyncwatch ${resyncwatch_version}\" \"User Commands\"\n")
    string(APPEND page ".SH NAME\n${name} \\- ${summary}\n.SH DESCRIPTION\n.nf\n${help}\n.fi\n")
    set(staged "${CMAKE_CURRENT_BINARY_DIR}/man/${name}.1")
    file(WRITE "${staged}" "${page}")
    execute_process(COMMAND gzip -9nf "${staged}")
    file(INSTALL "${staged}.gz" DESTINATION "${man_dir}"
         FILE_PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
  endforeach()
  file(CREATE_LINK resyncwatch.1.gz "$ENV{DESTDIR}${man_dir}/resyncwatch-full.1.gz" SYMBOLIC)
]])

# Debian's documentation files: the copyright and a changelog naming this version.
string(TIMESTAMP PKG_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(PKG_VERSION "${PROJECT_VERSION}-1")
set(PKG_MAINTAINER "resyncwatch maintainers <maintainers@users.noreply.b-seed-50c160f8.example>")
configure_file(${PROJECT_SOURCE_DIR}/packaging/deb/changelog.in
               ${PROJECT_BINARY_DIR}/packaging/changelog.Debian @ONLY)
install(CODE "execute_process(COMMAND gzip -9nf \"${PROJECT_BINARY_DIR}/packaging/changelog.Debian\"
                              -c OUTPUT_FILE \"${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz\")")
install(FILES ${PROJECT_BINARY_DIR}/packaging/changelog.Debian.gz
              ${PROJECT_SOURCE_DIR}/packaging/deb/copyright
        DESTINATION share/doc/resyncwatch)

# The Debian package: CPack packages this build tree's install, so the package holds
# exactly the programs already built and tested (no second build), and the install rules
# above stay the one list of what goes where. scripts/package runs it.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME resyncwatch)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${PKG_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "syslog and resync history collector for Cisco MPP/SPA phones")
set(CPACK_PACKAGE_DESCRIPTION
    "resyncwatch receives the syslog of Cisco MPP and SPA phones (UDP, TCP, TLS),\n\
keeps every resync, upgrade and provisioning event per phone in a local store,\n\
and judges whether each phone resyncs on the schedule its configuration gives.\n\
.\n\
This package holds the collector daemon resyncwatchd with its systemd unit,\n\
and the query command resyncwatch (history, grep, fleet, schedule, import).")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
# Shared libraries from dpkg-shlibdeps; the maintainer scripts need adduser where
# systemd-sysusers is missing.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_SOURCE_DIR}/packaging/deb/conffiles
    ${PROJECT_SOURCE_DIR}/packaging/deb/postinst
    ${PROJECT_SOURCE_DIR}/packaging/deb/prerm
    ${PROJECT_SOURCE_DIR}/packaging/deb/postrm)
set(CPACK_OUTPUT_FILE_PREFIX ${PROJECT_BINARY_DIR}/package)
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/package)
include(CPack)
