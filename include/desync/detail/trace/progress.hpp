#pragma once
// The progress line: a small thread redraws "desync: 12/40 calls finished, 3 hits" on stderr
// four times a second while calls are unfinished, and clears it when they are all done. Its own
// thread, so the line moves on even while every call is busy for seconds; silent (not started)
// when stderr is not a terminal.

#include <desync/detail/trace/record.hpp>
#include <desync/detail/trace/text.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <thread>

#if __has_include(<unistd.h>)
#include <unistd.h>
#endif

namespace desync::detail {

/// Is stderr a terminal? (Never, where there is no isatty.)
inline bool stderr_is_terminal() noexcept {
#if __has_include(<unistd.h>)
    return ::isatty(STDERR_FILENO) == 1;
#else
    return false;
#endif
}

class progress_line {
public:
    static progress_line& get() {
        static progress_line p;  // destroyed at exit, which stops and joins its thread
        return p;
    }
    progress_line(const progress_line&) = delete;
    progress_line& operator=(const progress_line&) = delete;
    ~progress_line() { stop(); }

    /// Starts the line (counts from zero); false, and nothing started, off a terminal.
    bool start() {
        std::lock_guard lock(m_);
        if (thread_.joinable()) return true;
        if (!stderr_is_terminal()) return false;
        auto& p = progress_counts::get();
        for (auto* n : {&p.started, &p.finished, &p.hits}) n->store(0, std::memory_order_relaxed);
        stopping_ = false;
        thread_ = std::thread([this] { run(); });
        return true;
    }

    /// Stops the line and clears it.
    void stop() {
        std::unique_lock lock(m_);
        if (!thread_.joinable()) return;
        stopping_ = true;
        cv_.notify_all();
        std::thread t = std::move(thread_);
        lock.unlock();
        t.join();
    }

private:
    progress_line() = default;

    void run() {
        std::unique_lock lock(m_);
        while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stopping_; }))
            draw();
        if (shown_) std::fputs("\r\033[K", stderr);
        shown_ = false;
    }

    void draw() {
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
            human_duration(
                std::chrono::duration_cast<std::chrono::nanoseconds>(now - since_).count());
        std::fputs(line.c_str(), stderr);
        std::fflush(stderr);
    }

    std::mutex m_;
    std::condition_variable cv_;
    std::thread thread_;
    bool stopping_ = false;
    bool shown_ = false;
    std::chrono::steady_clock::time_point since_{};
};

}  // namespace desync::detail
