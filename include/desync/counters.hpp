#pragma once
/// \file
/// `desync::call_counters`: what happened to the calls of one function, or of a whole run,
/// while counting was on (see desync/trace.hpp: tracing, `trace::count(true)` or the progress
/// line switch it on; off, nothing is counted and nothing is paid).

#include <desync/detail/core/attributes.hpp>
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
DESYNC_DECL call_counters read_counters(const fn_counters& c) noexcept;

/// Sets one function's counters to zero.
DESYNC_DECL void zero_counters(fn_counters& c) noexcept;

}  // namespace detail
}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/counters.ipp>
#endif
