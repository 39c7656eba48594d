#pragma once
// The progress line: a small thread redraws "desync: 12/40 calls finished, 3 hits" on stderr
// four times a second while calls are unfinished, and clears it when they are all done. Its own
// thread, so the line moves on even while every call is busy for seconds; silent (not started)
// when stderr is not a terminal.

#include <desync/detail/core/attributes.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace desync::detail {

/// Is stderr a terminal? (Never, where there is no isatty.)
DESYNC_DECL bool stderr_is_terminal() noexcept;

class progress_line {
public:
    static progress_line& get();
    progress_line(const progress_line&) = delete;
    progress_line& operator=(const progress_line&) = delete;
    ~progress_line();

    /// Starts the line (counts from zero); false, and nothing started, off a terminal.
    bool start();

    /// Stops the line and clears it.
    void stop();

private:
    progress_line() = default;

    void run();

    void draw();

    std::mutex m_;
    std::condition_variable cv_;
    std::thread thread_;
    bool stopping_ = false;
    bool shown_ = false;
    std::chrono::steady_clock::time_point since_{};
};

}  // namespace desync::detail

#if DESYNC_HEADER_ONLY
#include <desync/detail/trace/progress.ipp>
#endif
