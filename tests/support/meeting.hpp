#pragma once
// Synchronisation helpers for structural tests. Waits have a generous limit so that a broken
// scheduler fails a test instead of hanging it; no test passes because of timing.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace desync::test {

inline constexpr auto hang_limit = std::chrono::seconds(60);

/// N parties meet: arrive_and_wait() returns true once all N have arrived (false if they
/// never all arrive), so N calls that all return true ran at the same time.
class meeting {
public:
    explicit meeting(int parties) : parties_(parties) {}
    void reset(int parties) {
        std::lock_guard lock(m_);
        parties_ = parties;
        arrived_ = 0;
    }
    bool arrive_and_wait() {
        std::unique_lock lock(m_);
        ++arrived_;
        cv_.notify_all();
        return cv_.wait_for(lock, hang_limit, [&] { return arrived_ >= parties_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    int parties_;
    int arrived_ = 0;
};

/// A gate that calls wait at until the test opens it.
class gate {
public:
    void reset() {
        std::lock_guard lock(m_);
        open_ = false;
    }
    void open() {
        std::lock_guard lock(m_);
        open_ = true;
        cv_.notify_all();
    }
    bool wait() {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, hang_limit, [&] { return open_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool open_ = false;
};

/// Looks at `done()` every millisecond until it holds or the hang limit passes; returns it.
/// For what no one can signal: another process, or a thread of the library's own.
template <class Done>
bool poll_until(Done done) {
    auto const give_up = std::chrono::steady_clock::now() + hang_limit;
    while (!done() && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return done();
}

}  // namespace desync::test
