#pragma once
/// \file
/// `desync::call_counters`: what happened to the calls of one function, or of a whole run,
/// while counting was on (see desync/trace.hpp: tracing, `trace::count(true)` or the progress
/// line switch it on; off, nothing is counted and nothing is paid).

#include <desync/detail/core/fn_core.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

namespace desync {

/// Counts of calls, read as one value (each field is read separately: while calls run, the
/// fields may be a few calls apart).
struct call_counters {
    std::uint64_t calls = 0;            ///< calls made, memo hits included
    std::uint64_t hits = 0;             ///< calls skipped because the memo table held the result
    std::uint64_t misses = 0;           ///< memoizable calls that ran
    std::uint64_t failed = 0;           ///< calls that finished with an error
    std::chrono::nanoseconds saved{0};  ///< recorded run time of the calls that hits skipped
    /// Memoizable calls that ran but whose result was not recorded: their run called a desync
    /// function without a version, or an argument's meaning is beyond what the key sees (an
    /// enum value outside desync::enum_range).
    std::uint64_t not_recorded = 0;

    /// Adds another set of counts (totals over several functions).
    call_counters& operator+=(const call_counters& o) noexcept {
        calls += o.calls, hits += o.hits, misses += o.misses, failed += o.failed;
        saved += o.saved;
        not_recorded += o.not_recorded;
        return *this;
    }
    /// Field by field.
    friend bool operator==(const call_counters&, const call_counters&) = default;
};

namespace detail {

/// A snapshot of one function's counters.
inline call_counters read_counters(const fn_counters& c) noexcept {
    auto get = [](const std::atomic<std::uint64_t>& a) {
        return a.load(std::memory_order_relaxed);
    };
    return {get(c.calls),
            get(c.hits),
            get(c.misses),
            get(c.failed),
            std::chrono::nanoseconds(static_cast<std::int64_t>(get(c.saved_ns))),
            get(c.not_recorded)};
}

/// Sets one function's counters to zero.
inline void zero_counters(fn_counters& c) noexcept {
    for (auto* a : {&c.calls, &c.hits, &c.misses, &c.failed, &c.saved_ns, &c.not_recorded})
        a->store(0, std::memory_order_relaxed);
}

}  // namespace detail
}  // namespace desync
