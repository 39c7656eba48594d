// Tracing's cost on the empty-call benchmark of bench_calls.cpp (1000 empty calls per
// iteration): compiled in but off, and on, each against the same calls built with tracing
// compiled out (DESYNC_NO_TRACE). The two builds live in shared libraries (trace_variant.cpp;
// see CMakeLists.txt), so both run in this program and the shared main prints their ratio.
// Per call, tracing on costs (time on - time compiled out) / 1000.
#include <benchmark/benchmark.h>

#include <cstddef>
#include <stdexcept>

extern "C" {
void desync_bench_traced_empty_calls(int n);
void desync_bench_traced_trace_start();
std::size_t desync_bench_traced_trace_stop();
void desync_bench_untraced_empty_calls(int n);
}

namespace {

constexpr int calls_per_iteration = 1000;
constexpr int iterations_per_trace = 64;  // a trace of ~64,000 calls, then a fresh one

void trace_off(benchmark::State& state) {
    for (auto _ : state) desync_bench_traced_empty_calls(calls_per_iteration);
    state.SetItemsProcessed(state.iterations() * calls_per_iteration);
}

void trace_compiled_out(benchmark::State& state) {
    for (auto _ : state) desync_bench_untraced_empty_calls(calls_per_iteration);
    state.SetItemsProcessed(state.iterations() * calls_per_iteration);
}

// Recording: every call is traced. The trace is stopped and restarted, untimed, every 64
// iterations, so that memory stays bounded however long the benchmark runs.
void trace_on(benchmark::State& state) {
    desync_bench_traced_trace_start();
    int since_start = 0;
    for (auto _ : state) {
        desync_bench_traced_empty_calls(calls_per_iteration);
        if (++since_start == iterations_per_trace) {
            state.PauseTiming();
            const std::size_t recorded = desync_bench_traced_trace_stop();
            if (recorded != std::size_t{iterations_per_trace} * (calls_per_iteration + 1))
                state.SkipWithError("the trace did not record every call");
            desync_bench_traced_trace_start();
            since_start = 0;
            state.ResumeTiming();
        }
    }
    desync_bench_traced_trace_stop();
    state.SetItemsProcessed(state.iterations() * calls_per_iteration);
}

}  // namespace

BENCHMARK(trace_off)->Name("empty_call_x1000_trace_off/desync")->UseRealTime();
BENCHMARK(trace_compiled_out)
    ->Name("empty_call_x1000_trace_off/peer:trace_compiled_out")
    ->UseRealTime();
BENCHMARK(trace_on)->Name("empty_call_x1000_trace_on/desync")->UseRealTime();
BENCHMARK(trace_compiled_out)
    ->Name("empty_call_x1000_trace_on/peer:trace_compiled_out")
    ->UseRealTime();
