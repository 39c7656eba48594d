// Hashing argument values against raw XXH3 over the same bytes (docs/benchmarks.md).
#include <desync/hash.hpp>
#include <desync/xxhash.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

std::vector<double> mebibyte_of_doubles() {
    std::vector<double> v((1 << 20) / sizeof(double));
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>(i) * 0.5 - 1000.0;
    return v;
}

// (a) A 1 MiB std::vector<double> argument: desync hashes its length, then its bytes in one write.
void vector_desync(benchmark::State& state) {
    auto const v = mebibyte_of_doubles();
    for (auto _ : state) benchmark::DoNotOptimize(desync::hash_value(v));
    state.SetBytesProcessed(
        static_cast<std::int64_t>(state.iterations() * v.size() * sizeof(double)));
}

void vector_xxh3(benchmark::State& state) {
    auto const v = mebibyte_of_doubles();
    for (auto _ : state)
        benchmark::DoNotOptimize(XXH3_128bits(v.data(), v.size() * sizeof(double)));
    state.SetBytesProcessed(
        static_cast<std::int64_t>(state.iterations() * v.size() * sizeof(double)));
}

// (b) A small aggregate, field by field through Boost.PFR, against a hand-written serialization
// of the same fields into a buffer and one XXH3-128 over it.
struct sample {
    int a;
    double b;
    std::string c;
};

sample make_sample() { return {42, 3.25, "a label of some length"}; }

void struct_desync(benchmark::State& state) {
    sample const s = make_sample();
    for (auto _ : state) {
        benchmark::DoNotOptimize(&s);
        benchmark::DoNotOptimize(desync::hash_value(s));
    }
}

void struct_handwritten(benchmark::State& state) {
    sample const s = make_sample();
    for (auto _ : state) {
        benchmark::DoNotOptimize(&s);
        unsigned char buffer[256];
        std::size_t n = 0;
        auto put = [&](const void* p, std::size_t size) {
            std::memcpy(buffer + n, p, size);
            n += size;
        };
        std::uint64_t const length = s.c.size();
        put(&s.a, sizeof s.a);
        put(&s.b, sizeof s.b);
        put(&length, sizeof length);
        put(s.c.data(), s.c.size());
        benchmark::DoNotOptimize(XXH3_128bits(buffer, n));
    }
}

// (c) The constexpr twin forced to run at run time, against libxxhash, on 64-byte inputs.
std::array<char, 64> input_64() {
    std::array<char, 64> a{};
    for (std::size_t i = 0; i < a.size(); ++i) a[i] = static_cast<char>(i * 37 + 11);
    return a;
}

void xxh3_twin(benchmark::State& state) {
    auto const in = input_64();
    for (auto _ : state) {
        benchmark::DoNotOptimize(in.data());
        benchmark::DoNotOptimize(
            desync::detail::constexpr_xxh3_64(std::string_view(in.data(), in.size())));
    }
}

void xxh3_lib(benchmark::State& state) {
    auto const in = input_64();
    for (auto _ : state) {
        benchmark::DoNotOptimize(in.data());
        benchmark::DoNotOptimize(XXH3_64bits(in.data(), in.size()));
    }
}

}  // namespace

BENCHMARK(vector_desync)->Name("vector1MiB/desync");
BENCHMARK(vector_xxh3)->Name("vector1MiB/peer:XXH3_128");
BENCHMARK(struct_desync)->Name("struct/desync");
BENCHMARK(struct_handwritten)->Name("struct/peer:handwritten");
BENCHMARK(xxh3_twin)->Name("xxh3_64B/desync");
BENCHMARK(xxh3_lib)->Name("xxh3_64B/peer:libxxhash");
