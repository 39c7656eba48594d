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

// Separate compilation (docs/compile-time.md). By default desync is header-only: every function
// of its run time is inline, and each translation unit that makes a call compiles the run time
// again. A program that defines DESYNC_SEPARATE_COMPILATION (for every one of its translation
// units, as Boost.Asio's BOOST_ASIO_SEPARATE_COMPILATION) sees only the run time's declarations,
// and compiles its definitions once, in one source file that includes <desync/src.hpp>.
#if defined(DESYNC_SEPARATE_COMPILATION)
/// How the run time's out-of-line functions are declared: not inline, defined by <desync/src.hpp>.
#define DESYNC_DECL
/// 1 when the run time's definitions come with the headers (the default), 0 in separate mode.
#define DESYNC_HEADER_ONLY 0
#else
#define DESYNC_DECL inline
#define DESYNC_HEADER_ONLY 1
#endif
