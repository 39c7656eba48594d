#pragma once
/// \file
/// The definitions of desync's run time, for a program built with DESYNC_SEPARATE_COMPILATION:
/// include this header in exactly one of its source files (docs/compile-time.md). CMake does it
/// for a build with the option DESYNC_SEPARATE_COMPILATION (the target desync_compiled).

#include <desync/detail/core/attributes.hpp>

#if DESYNC_HEADER_ONLY
#error \
    "<desync/src.hpp> is for a program built with DESYNC_SEPARATE_COMPILATION defined in every translation unit; header-only, the headers define everything themselves"
#endif

// Each header whose functions are defined out of line, in its .ipp beside it.
#include <desync/cache_file.ipp>
#include <desync/counters.ipp>
#include <desync/detail/cache/header.ipp>
#include <desync/detail/cache/io.ipp>
#include <desync/detail/core/call.ipp>
#include <desync/detail/core/fn_core.ipp>
#include <desync/detail/core/gather.ipp>
#include <desync/detail/core/hooks.ipp>
#include <desync/detail/core/run.ipp>
#include <desync/detail/core/task.ipp>
#include <desync/detail/memo/cache.ipp>
#include <desync/detail/memo/deps.ipp>
#include <desync/detail/memo/frame.ipp>
#include <desync/detail/memo/hooks.ipp>
#include <desync/detail/memo/quick.ipp>
#include <desync/detail/memo/record.ipp>
#include <desync/detail/memo/table.ipp>
#include <desync/detail/memo/value.ipp>
#include <desync/detail/trace/dot.ipp>
#include <desync/detail/trace/hooks.ipp>
#include <desync/detail/trace/json.ipp>
#include <desync/detail/trace/model.ipp>
#include <desync/detail/trace/progress.ipp>
#include <desync/detail/trace/record.ipp>
#include <desync/detail/trace/svg.ipp>
#include <desync/detail/trace/text.ipp>
#include <desync/detail/version/normalize.ipp>
#include <desync/detail/version/registry.ipp>
#include <desync/error.ipp>
#include <desync/function.ipp>
#include <desync/lazy.ipp>
#include <desync/memo.ipp>
#include <desync/options.ipp>
#include <desync/resources.ipp>
#include <desync/scheduler.ipp>
#include <desync/trace.ipp>
#include <desync/version.ipp>
