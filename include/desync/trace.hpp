#pragma once
/// \file
/// Seeing what ran. Tracing records every call (function, memo key, thread, times, hits,
/// joins, waits for inputs) into a `desync::trace_log`, written as a Chrome/Perfetto timeline
/// (JSON), a call graph (Graphviz DOT) or a timeline picture (SVG). Counters per function
/// (`f.counters()`) and per run (`trace::totals()`), and a progress line on the terminal.
/// All off by default; off, each hook point costs one relaxed load, and a program built with
/// DESYNC_NO_TRACE defined (in every translation unit) has none at all.
///
/// Without changing a program's code: see <desync/trace_env.hpp> (DESYNC_TRACE, DESYNC_PROGRESS).

#include <desync/counters.hpp>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/trace/dot.hpp>
#include <desync/detail/trace/hooks.hpp>
#include <desync/detail/trace/json.hpp>
#include <desync/detail/trace/model.hpp>
#include <desync/detail/trace/progress.hpp>
#include <desync/detail/trace/record.hpp>
#include <desync/detail/trace/svg.hpp>
#include <desync/error.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace desync {

/// A finished trace: the calls made while tracing was on, and the threads (lanes) that ran them.
class trace_log {
public:
    /// An empty log.
    trace_log() = default;
    /// Internal: a log of merged records.
    explicit trace_log(detail::trace_model m) noexcept : m_(std::move(m)) {}

    /// The calls, in the order they were made (ids 1, 2, ...).
    const std::vector<traced_call>& calls() const noexcept { return m_.calls; }
    /// A name per lane: the threads that ran a call or found a memo hit ("main", "compute 1", ...).
    const std::vector<std::string>& lanes() const noexcept { return m_.lanes; }
    /// From the start of the trace to its stop (or to the last call's end, if later).
    std::chrono::nanoseconds duration() const noexcept {
        return std::chrono::nanoseconds(m_.duration_ns);
    }
    /// Records lost for lack of memory (0 normally).
    std::uint64_t dropped() const noexcept { return m_.dropped; }

    /// Chrome Trace Event JSON: open it in ui.perfetto.dev or chrome://tracing.
    void write_json(std::ostream& out) const { detail::write_trace_json(m_, out); }
    /// The call graph as Graphviz DOT (`dot -Tsvg graph.dot -o graph.svg`).
    void write_dot(std::ostream& out) const { detail::write_trace_dot(m_, out); }
    /// A timeline picture as SVG.
    void write_svg(std::ostream& out) const { detail::write_trace_svg(m_, out); }
    /// Writes a file in the format its extension names: .json, .dot or .gv, .svg. Throws
    /// desync::error for another extension or when the file cannot be written.
    void write(const std::filesystem::path& path) const;

private:
    using writer = void (trace_log::*)(std::ostream&) const;
    static writer writer_for(std::string_view ext) noexcept;

    detail::trace_model m_;
};

namespace detail {

/// Which instrumentation the user asked for; the hooks' switch is on when any is.
struct trace_control {
    std::mutex m;
    bool recording = false, counting = false, progress = false;

    static trace_control& get();
    void apply() noexcept;
};

inline void require_compiled_in(const char* what) {
#ifdef DESYNC_NO_TRACE
    throw error(std::string(what) + ": tracing is compiled out (DESYNC_NO_TRACE is defined)");
#else
    (void)what;
#endif
}

}  // namespace detail

namespace trace {

/// False in a program built with DESYNC_NO_TRACE: nothing can be traced or counted.
#ifdef DESYNC_NO_TRACE
inline constexpr bool compiled_in = false;
#else
inline constexpr bool compiled_in = true;
#endif

/// Starts recording every call. Throws desync::error if a trace is already running (one at a
/// time; DESYNC_TRACE runs one for the whole program).
DESYNC_DECL void start();

/// Stops recording and returns the trace. Stop once the traced calls have finished: a call
/// still running is listed as unfinished. Throws desync::error if no trace is running.
DESYNC_DECL trace_log stop();

/// True while a trace is recording.
DESYNC_DECL bool running();

/// Counts calls without tracing them (off by default). Counters also count while a trace
/// runs or the progress line is on; they keep their values when counting stops.
DESYNC_DECL void count(bool on);

/// True while calls are counted (counting, tracing or the progress line is on).
inline bool counting() noexcept { return detail::trace_switch().load(std::memory_order_relaxed); }

/// Shows (true) or clears (false) the progress line on stderr: calls finished / started and
/// memo hits, redrawn four times a second while calls run. Returns whether the line is on:
/// false, and nothing happens, when stderr is not a terminal.
DESYNC_DECL bool progress(bool on);

/// The counters of the whole run: the sum over every function counted since the last reset.
inline call_counters totals() { return detail::counted_functions::get().totals(); }

/// Sets every counter to zero. Call it while no calls run (a running call may count on).
inline void reset_counters() { detail::counted_functions::get().reset(); }

}  // namespace trace

/// Traces while it lives: `desync::tracing t("run.json");` records until it goes out of scope,
/// then writes the file. Or take the log with stop().
class tracing {
public:
    /// Starts a trace (throws desync::error if one is running).
    tracing() { trace::start(); }
    /// Starts a trace that stop() or the destructor writes to `path` (see trace_log::write).
    explicit tracing(std::filesystem::path path) : path_(std::move(path)) { trace::start(); }
    tracing(const tracing&) = delete;
    tracing& operator=(const tracing&) = delete;
    /// Stops the trace if still running and writes the file; an error goes to stderr.
    ~tracing();
    /// Stops the trace, writes the file if a path was given, and returns the log.
    trace_log stop();

private:
    std::filesystem::path path_;
    bool running_ = true;
};

}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/trace.ipp>
#endif
