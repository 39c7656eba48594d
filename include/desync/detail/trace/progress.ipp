#pragma once
// Out-of-line definitions of <desync/detail/trace/progress.hpp>: included at its end when
// header-only, or once per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION,
// docs/compile-time.md).

#include <desync/detail/trace/progress.hpp>

#include <desync/detail/trace/record.hpp>
#include <desync/detail/trace/text.hpp>

#include <cstdint>
#include <cstdio>
#include <string>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace desync::detail {

DESYNC_DECL progress_line& progress_line::get() {
    static progress_line p;  // destroyed at exit, which stops and joins its thread
    return p;
}

DESYNC_DECL progress_line::~progress_line() { stop(); }

DESYNC_DECL bool progress_line::start() {
    std::lock_guard lock(m_);
    if (thread_.joinable()) return true;
    if (!stderr_is_terminal()) return false;
    auto& p = progress_counts::get();
    for (auto* n : {&p.started, &p.finished, &p.hits}) n->store(0, std::memory_order_relaxed);
    stopping_ = false;
    thread_ = std::thread([this] { run(); });
    return true;
}

DESYNC_DECL void progress_line::stop() {
    std::unique_lock lock(m_);
    if (!thread_.joinable()) return;
    stopping_ = true;
    cv_.notify_all();
    std::thread t = std::move(thread_);
    lock.unlock();
    t.join();
}

DESYNC_DECL void progress_line::run() {
    std::unique_lock lock(m_);
    while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping_; })) draw();
    if (shown_) std::fputs("\r\033[K", stderr);
    shown_ = false;
}

DESYNC_DECL void progress_line::draw() {
    auto& p = progress_counts::get();
    const auto finished = p.finished.load(std::memory_order_relaxed);
    const auto started = p.started.load(std::memory_order_relaxed);
    const auto hits = p.hits.load(std::memory_order_relaxed);
    if (finished >= started) {  // all done: clear the line until more calls start
        if (shown_) std::fputs("\r\033[K", stderr);
        shown_ = false;
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!shown_) since_ = now;
    shown_ = true;
    const std::string line =
        "\r\033[Kdesync: " + std::to_string(finished) + "/" + std::to_string(started) +
        " calls finished, " + std::to_string(hits) + " hits, " +
        human_duration(std::chrono::duration_cast<std::chrono::nanoseconds>(now - since_).count());
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
}

}  // namespace desync::detail

namespace desync::detail {

DESYNC_DECL bool stderr_is_terminal() noexcept {
#if __has_include(<unistd.h>)
    return ::isatty(STDERR_FILENO) == 1;
#else
    return false;
#endif
}

}  // namespace desync::detail
