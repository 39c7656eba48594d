#pragma once
// Out-of-line definitions of <desync/trace.hpp>: included at its end when header-only, or once per
// program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/trace.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>

namespace desync {

DESYNC_DECL void trace_log::write(const std::filesystem::path& path) const {
    const auto writer = writer_for(path.extension().string());
    if (!writer)
        throw error("desync::trace_log::write: " + path.string() +
                    ": unknown extension (use .json, .dot, .gv or .svg)");
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    (this->*writer)(out);
    out.close();
    if (!out) throw error("desync::trace_log::write: cannot write " + path.string());
}

DESYNC_DECL trace_log::writer trace_log::writer_for(std::string_view ext) noexcept {
    if (ext == ".json") return &trace_log::write_json;
    if (ext == ".dot" || ext == ".gv") return &trace_log::write_dot;
    if (ext == ".svg") return &trace_log::write_svg;
    return nullptr;
}

}  // namespace desync

namespace desync::detail {

DESYNC_DECL trace_control& trace_control::get() {
    static auto* c = new trace_control;  // never destroyed: used by the exit handler
    return *c;
}

DESYNC_DECL void trace_control::apply() noexcept {
    install_tracer();
    const unsigned mode = (recording ? trace_record_bit : 0u) | (counting ? trace_count_bit : 0u) |
                          (progress ? trace_progress_bit : 0u);
    trace_mode().store(mode, std::memory_order_relaxed);
    trace_switch().store(mode != 0, std::memory_order_relaxed);
}

}  // namespace desync::detail

namespace desync::trace {

DESYNC_DECL void start() {
    detail::require_compiled_in("desync::trace::start");
    auto& c = detail::trace_control::get();
    std::lock_guard lock(c.m);
    if (c.recording) throw error("desync::trace::start: a trace is already running");
    detail::trace_session::get().open();
    c.recording = true;
    c.apply();
}

DESYNC_DECL trace_log stop() {
    auto& c = detail::trace_control::get();
    std::unique_lock lock(c.m);
    if (!c.recording) throw error("desync::trace::stop: no trace is running");
    c.recording = false;
    c.apply();
    auto session = detail::trace_session::get().close();
    lock.unlock();
    return trace_log(detail::trace_merger(std::move(session)).merge());
}

DESYNC_DECL bool running() {
    auto& c = detail::trace_control::get();
    std::lock_guard lock(c.m);
    return c.recording;
}

DESYNC_DECL void count(bool on) {
    if (on) detail::require_compiled_in("desync::trace::count");
    auto& c = detail::trace_control::get();
    std::lock_guard lock(c.m);
    c.counting = on;
    c.apply();
}

DESYNC_DECL bool progress(bool on) {
    if (on) detail::require_compiled_in("desync::trace::progress");
    auto& c = detail::trace_control::get();
    std::lock_guard lock(c.m);
    if (!on) detail::progress_line::get().stop();
    c.progress = on && detail::progress_line::get().start();
    c.apply();
    return c.progress;
}

}  // namespace desync::trace

namespace desync {

DESYNC_DECL tracing::~tracing() {
    if (!running_) return;
    try {
        stop();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "desync::tracing: %s\n", e.what());
    }
}

DESYNC_DECL trace_log tracing::stop() {
    if (!running_) throw error("desync::tracing::stop: already stopped");
    running_ = false;
    trace_log log = trace::stop();
    if (!path_.empty()) log.write(path_);
    return log;
}

}  // namespace desync
