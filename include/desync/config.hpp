#pragma once
/// \file
/// Library version and build switches. The one source of truth for the version: CMake reads
/// DESYNC_VERSION_MAJOR/MINOR/PATCH from this file.

#define DESYNC_VERSION_MAJOR 0
#define DESYNC_VERSION_MINOR 1
#define DESYNC_VERSION_PATCH 0

/// The version as one number, major * 10000 + minor * 100 + patch.
#define DESYNC_VERSION \
    (DESYNC_VERSION_MAJOR * 10000 + DESYNC_VERSION_MINOR * 100 + DESYNC_VERSION_PATCH)

// DESYNC_SEPARATE_COMPILATION, defined by a program for all of its units, compiles desync's run
// time once, in the unit that includes <desync/src.hpp> (docs/compile-time.md); its switches,
// DESYNC_DECL and DESYNC_HEADER_ONLY, are in <desync/detail/core/attributes.hpp>.
