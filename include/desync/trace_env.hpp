#pragma once
/// \file
/// Tracing a program without changing its code: include this header in ONE source file of a
/// program (say, the one with main) and `DESYNC_TRACE=run.json,run.svg ./program` traces the
/// whole run and writes the files at exit; `DESYNC_PROGRESS=1` shows the progress line.
/// It is a header of its own because its start-up hook compiles every trace writer into each
/// file that includes it: the umbrella <desync/desync.hpp> does not include it.

#include <desync/trace.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace desync {
namespace detail {

inline std::vector<std::string>& environment_paths() {
    static auto* paths = new std::vector<std::string>;  // read by the exit handler
    return *paths;
}

inline void write_environment_trace() noexcept {
    try {
        trace_log log = trace::stop();
        for (const std::string& path : environment_paths()) {
            log.write(path);
            std::fprintf(stderr, "desync: DESYNC_TRACE: wrote %s (%zu calls)\n", path.c_str(),
                         log.calls().size());
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "desync: DESYNC_TRACE: %s\n", e.what());
    }
}

inline void trace_environment(std::string_view paths) {
    for (std::size_t from = 0; from <= paths.size();) {
        std::size_t to = std::min(paths.find(',', from), paths.size());
        if (to > from) environment_paths().emplace_back(paths.substr(from, to - from));
        from = to + 1;
    }
    trace::start();
    std::atexit(write_environment_trace);  // after the default pools stopped: they start later
}

/// DESYNC_TRACE and DESYNC_PROGRESS, read once at start-up.
inline bool read_environment() noexcept {
    try {
        const char* paths = std::getenv("DESYNC_TRACE");
        if (paths && *paths) trace_environment(paths);
        const char* progress = std::getenv("DESYNC_PROGRESS");
        if (progress && *progress && std::string_view(progress) != "0") trace::progress(true);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "desync: %s\n", e.what());
    }
    return true;
}

inline const bool environment_read = read_environment();

}  // namespace detail
}  // namespace desync
