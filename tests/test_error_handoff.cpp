// An error read on one thread and let go of last on another, as a call's error is when its
// caller reads it and the pool thread that ran the call drops the call afterwards. The count
// inside std::exception_ptr orders the two, but it lives in libstdc++, which ThreadSanitizer
// does not see: under the tsan preset these cases pass only because tests/tsan.supp applies
// (its race: line matches a function name, so it needs the symbolizer the preset names). In
// the other presets they simply pass. Each round really hands the error over: the reader
// reports that it is done with a relaxed store, which orders the two threads' steps without
// giving the sanitizer an edge of its own.

#include <atomic>
#include <condition_variable>
#include <desync/error.hpp>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "support/catch.hpp"

namespace {

constexpr int rounds = 2000;

// A user's exception type: compiled with the program, so the sanitizer sees its members read.
struct job_error : std::exception {
    job_error(int c, std::string d) : code(c), detail(std::move(d)) {}
    const char* what() const noexcept override { return detail.c_str(); }
    int code;
    std::string detail;
};

// Longer than std::string's inline buffer: the message is a heap block of its own.
std::string long_detail(int i) { return "job " + std::to_string(i) + " failed, in detail"; }

// `rounds` hand-offs. An owner thread makes the error of round i with make(i), keeps a
// reference and publishes another; this thread rethrows it and reads it in the catch with
// read(e), lets go of it, and only then lets the owner drop the last reference, which destroys
// and frees the error on the owner's thread. Returns the sum of read()'s results.
template <class E, class Make, class Read>
long hand_off(Make make, Read read) {
    std::mutex m;
    std::condition_variable published_cv;
    std::exception_ptr slot;
    int published = 0;
    std::atomic<int> read_rounds{0};
    std::thread owner([&] {
        for (int i = 1; i <= rounds; ++i) {
            std::exception_ptr mine = std::make_exception_ptr(make(i));
            {
                std::lock_guard lock(m);
                slot = mine;
                published = i;
            }
            published_cv.notify_one();
            // Relaxed: an acquire would show the sanitizer the order the hidden count keeps.
            while (read_rounds.load(std::memory_order_relaxed) != i) std::this_thread::yield();
            mine = nullptr;  // the last reference
        }
    });
    long sum = 0;
    for (int i = 1; i <= rounds; ++i) {
        std::exception_ptr taken;
        {
            std::unique_lock lock(m);
            published_cv.wait(lock, [&] { return published == i; });
            taken = std::exchange(slot, nullptr);
        }
        try {
            std::rethrow_exception(std::exchange(taken, nullptr));
        } catch (const E& e) {
            sum += read(e);
        }
        read_rounds.store(i, std::memory_order_relaxed);
    }
    owner.join();
    return sum;
}

long expected_sum() { return static_cast<long>(rounds) * (rounds + 1) / 2; }

}  // namespace

TEST_CASE("a user's error read on one thread is freed on another without a report",
          "[errors][sanitizer]") {
    auto make = [](int i) { return job_error(i, long_detail(i)); };
    auto read = [](const job_error& e) {
        REQUIRE(e.detail == long_detail(e.code));
        return static_cast<long>(e.code);
    };
    REQUIRE(hand_off<job_error>(make, read) == expected_sum());
}

TEST_CASE("a desync::exception_list read on one thread is freed on another without a report",
          "[errors][sanitizer]") {
    auto make = [](int i) {
        return desync::exception_list({std::make_exception_ptr(job_error(i, long_detail(i))),
                                       std::make_exception_ptr(std::runtime_error("second"))});
    };
    auto read = [](const desync::exception_list& list) {
        REQUIRE(list.size() == 2);
        int code = 0;
        try {
            std::rethrow_exception(list.errors()[0]);
        } catch (const job_error& e) {
            code = e.code;
        }
        REQUIRE(std::string(list.what()) ==
                "desync: 2 calls failed; " + long_detail(code) + "; second");
        return static_cast<long>(code);
    };
    REQUIRE(hand_off<desync::exception_list>(make, read) == expected_sum());
}
