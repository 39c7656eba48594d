#pragma once
// Out-of-line definitions of <desync/counters.hpp>: included at its end when header-only, or once
// per program by <desync/src.hpp> (DESYNC_SEPARATE_COMPILATION, docs/compile-time.md).

#include <desync/counters.hpp>

namespace desync::detail {

DESYNC_DECL call_counters read_counters(const fn_counters& c) noexcept {
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

DESYNC_DECL void zero_counters(fn_counters& c) noexcept {
    for (auto* a : {&c.calls, &c.hits, &c.misses, &c.failed, &c.saved_ns, &c.not_recorded})
        a->store(0, std::memory_order_relaxed);
}

}  // namespace desync::detail
