// One side of bench_trace: the empty-call benchmark of bench_calls.cpp (a body making 1000 empty
// uncached calls), built into a shared library twice: with tracing compiled in
// (DESYNC_BENCH_VARIANT=traced) and compiled out (=untraced, with DESYNC_NO_TRACE). One program
// cannot hold both builds of a header-only library (the inline functions would clash), so each
// build hides its symbols and exports only these C functions, named after the variant.
#include <desync/desync.hpp>

#include <cstddef>

#define DESYNC_BENCH_JOIN2(a, b) desync_bench_##a##_##b
#define DESYNC_BENCH_JOIN(a, b) DESYNC_BENCH_JOIN2(a, b)
#define DESYNC_BENCH_EXPORT(type, name)                                                            \
    extern "C" __attribute__((visibility("default"))) type DESYNC_BENCH_JOIN(DESYNC_BENCH_VARIANT, \
                                                                             name)

namespace {

DESYNC_FN(
    nothing, [] {}, desync::uncached);
DESYNC_FN(
    make_empty_calls,
    [](int n) {
        for (int i = 0; i < n; ++i) nothing();
    },
    desync::uncached);

}  // namespace

/// A body that makes `n` empty calls, waited for.
DESYNC_BENCH_EXPORT(void, empty_calls)(int n) { make_empty_calls(n).get(); }

/// Starts a trace (the traced variant only: the other throws).
DESYNC_BENCH_EXPORT(void, trace_start)() { desync::trace::start(); }

/// Stops the trace and returns how many calls it recorded.
DESYNC_BENCH_EXPORT(std::size_t, trace_stop)() { return desync::trace::stop().calls().size(); }
