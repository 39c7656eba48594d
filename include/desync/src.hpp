#pragma once
/// \file
/// The definitions of desync's run time, for a program built with DESYNC_SEPARATE_COMPILATION:
/// include this header in exactly one of its source files (docs/compile-time.md). CMake does it
/// for a build with the option DESYNC_SEPARATE_COMPILATION (the target desync_compiled).

#include <desync/config.hpp>

#if DESYNC_HEADER_ONLY
#error \
    "<desync/src.hpp> is for a program built with DESYNC_SEPARATE_COMPILATION defined in every translation unit; header-only, the headers define everything themselves"
#endif

// Each header whose functions are defined out of line, in its .ipp beside it.
#include <desync/cache_file.ipp>
#include <desync/detail/cache/header.ipp>
#include <desync/detail/cache/io.ipp>
#include <desync/detail/trace/text.ipp>
