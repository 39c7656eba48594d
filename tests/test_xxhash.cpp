// The constexpr xxHash twin against libxxhash 0.8, bit for bit.
// <xxhash.h> is included plainly before desync on purpose: desync's inline copy must coexist.
#include <xxhash.h>

#include <desync/xxhash.hpp>

#include "support/catch.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace {

using desync::hash128;

constexpr std::uint64_t splitmix(std::uint64_t& s) {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed) {
    std::vector<std::byte> v(n);
    for (auto& b : v) b = static_cast<std::byte>(splitmix(seed) >> 56);
    return v;
}

hash128 lib128(const void* p, std::size_t n, std::uint64_t seed) {
    XXH128_hash_t const h = XXH3_128bits_withSeed(p, n, seed);
    return {h.low64, h.high64};
}

constexpr std::uint64_t seeds[] = {0, 1, 0x9E3779B185EBCA87ULL, 0xFFFFFFFFFFFFFFFFULL,
                                   0x0123456789ABCDEFULL};

// Published vectors (xxHash README / xxhsum), checked at compile time.
static_assert(desync::xxh64("") == 0xEF46DB3751D8E999ULL);
static_assert(desync::xxh3_64("") == 0x2D06800538D394C2ULL);
static_assert(desync::xxh3_64("abc") == 0x78AF5F94892F3950ULL);
// Further vectors, taken from libxxhash 0.8.1 and rechecked against it below at run time.
static_assert(desync::xxh64("abc") == 0x44BC2CF5AD770999ULL);
static_assert(desync::xxh64("abc", 1) == 0xBEA9CA8199328908ULL);
static_assert(desync::xxh3_128("") == hash128{0x6001C324468D497FULL, 0x99AA06D3014798D8ULL});
static_assert(desync::xxh3_128("abc") == hash128{0x78AF5F94892F3950ULL, 0x06B05AB6733A6185ULL});
static_assert(desync::xxh3_64("abc", 7) == 0x48FF56F569E39912ULL);

// The portable 128-bit product (for compilers without __int128) agrees with the native one.
constexpr bool same_product(std::uint64_t a, std::uint64_t b) {
    auto const x = desync::detail::mul128(a, b), y = desync::detail::mul128_portable(a, b);
    return x.lo == y.lo && x.hi == y.hi;
}
static_assert(same_product(~0ULL, ~0ULL) &&
              same_product(0x9E3779B185EBCA87ULL, 0xC2B2AE3D27D4EB4FULL));
static_assert(same_product(0, 5) && same_product(0xFFFFFFFFULL, 0x100000001ULL) &&
              same_product(1ULL << 63, 2));

// A compile-time input long enough for the striped (> 240 bytes, several 1 KiB blocks) path.
constexpr std::array<char, 3000> long_input = [] {
    std::array<char, 3000> a{};
    std::uint64_t s = 42;
    for (auto& c : a) c = static_cast<char>(splitmix(s) >> 56);
    return a;
}();
constexpr std::string_view long_view{long_input.data(), long_input.size()};
using long64 = std::integral_constant<std::uint64_t, desync::xxh3_64(long_view)>;
using long64s = std::integral_constant<std::uint64_t, desync::xxh3_64(long_view, 99)>;
using longxxh64 = std::integral_constant<std::uint64_t, desync::xxh64(long_view, 5)>;
constexpr hash128 long128 = desync::xxh3_128(long_view, 99);

// Every code path of the byte-by-byte reader (used in constant evaluation; run time reads words).
constexpr std::size_t path_lengths[] = {0,   1,   2,   3,   4,   7,   8,    9,    15,   16,
                                        17,  31,  32,  33,  63,  64,  65,   96,   97,   127,
                                        128, 129, 160, 239, 240, 241, 1023, 1024, 1025, 2049};
struct path_hashes {
    std::uint64_t x64[std::size(path_lengths)];
    std::uint64_t x3[std::size(path_lengths)];
    hash128 x128[std::size(path_lengths)];
};
constexpr path_hashes compile_time_paths = [] {
    path_hashes r{};
    for (std::size_t i = 0; i < std::size(path_lengths); ++i) {
        std::string_view const in = long_view.substr(0, path_lengths[i]);
        std::uint64_t const seed = i % 2 ? 0 : 0x9E3779B185EBCA87ULL;
        r.x64[i] = desync::xxh64(in, seed);
        r.x3[i] = desync::xxh3_64(in, seed);
        r.x128[i] = desync::xxh3_128(in, seed);
    }
    return r;
}();

}  // namespace

TEST_CASE("published and recorded vectors agree with libxxhash at run time", "[xxhash]") {
    CHECK(XXH64("", 0, 0) == 0xEF46DB3751D8E999ULL);
    CHECK(XXH3_64bits("", 0) == 0x2D06800538D394C2ULL);
    CHECK(XXH3_64bits("abc", 3) == 0x78AF5F94892F3950ULL);
    CHECK(XXH64("abc", 3, 0) == 0x44BC2CF5AD770999ULL);
    CHECK(XXH64("abc", 3, 1) == 0xBEA9CA8199328908ULL);
    CHECK(lib128("", 0, 0) == hash128{0x6001C324468D497FULL, 0x99AA06D3014798D8ULL});
    CHECK(lib128("abc", 3, 0) == hash128{0x78AF5F94892F3950ULL, 0x06B05AB6733A6185ULL});
    CHECK(XXH3_64bits_withSeed("abc", 3, 7) == 0x48FF56F569E39912ULL);
}

TEST_CASE("compile-time results on a 3000-byte input equal libxxhash", "[xxhash]") {
    CHECK(long64::value == XXH3_64bits(long_input.data(), long_input.size()));
    CHECK(long64s::value == XXH3_64bits_withSeed(long_input.data(), long_input.size(), 99));
    CHECK(longxxh64::value == XXH64(long_input.data(), long_input.size(), 5));
    CHECK(long128 == lib128(long_input.data(), long_input.size(), 99));
}

TEST_CASE("compile-time results on every code path equal libxxhash", "[xxhash]") {
    for (std::size_t i = 0; i < std::size(path_lengths); ++i) {
        std::size_t const n = path_lengths[i];
        std::uint64_t const seed = i % 2 ? 0 : 0x9E3779B185EBCA87ULL;
        CHECK(compile_time_paths.x64[i] == XXH64(long_input.data(), n, seed));
        CHECK(compile_time_paths.x3[i] == XXH3_64bits_withSeed(long_input.data(), n, seed));
        CHECK(compile_time_paths.x128[i] == lib128(long_input.data(), n, seed));
    }
}

TEST_CASE("constexpr twin equals libxxhash for every length 0..4096 and several seeds",
          "[xxhash]") {
    auto const data = random_bytes(4096 + 64, 7);
    std::size_t mismatches = 0;
    for (std::size_t offset : {std::size_t{0}, std::size_t{3}}) {  // aligned and unaligned starts
        for (std::size_t len = 0; len <= 4096; ++len) {
            std::span<const std::byte> const bytes{data.data() + offset, len};
            std::string_view const chars{reinterpret_cast<const char*>(bytes.data()), len};
            for (std::uint64_t seed : seeds) {
                mismatches +=
                    desync::detail::constexpr_xxh64(bytes, seed) != XXH64(bytes.data(), len, seed);
                mismatches +=
                    desync::detail::constexpr_xxh64(chars, seed) != XXH64(chars.data(), len, seed);
                mismatches += desync::detail::constexpr_xxh3_64(bytes, seed) !=
                              XXH3_64bits_withSeed(bytes.data(), len, seed);
                mismatches += desync::detail::constexpr_xxh3_64(chars, seed) !=
                              XXH3_64bits_withSeed(chars.data(), len, seed);
                mismatches += desync::detail::constexpr_xxh3_128(bytes, seed) !=
                              lib128(bytes.data(), len, seed);
                mismatches += desync::detail::constexpr_xxh3_128(chars, seed) !=
                              lib128(chars.data(), len, seed);
            }
            if (offset == 0) {
                mismatches +=
                    desync::detail::constexpr_xxh3_64(bytes) != XXH3_64bits(bytes.data(), len);
                XXH128_hash_t const h = XXH3_128bits(bytes.data(), len);
                mismatches +=
                    desync::detail::constexpr_xxh3_128(bytes) != hash128{h.low64, h.high64};
            }
        }
    }
    CHECK(mismatches == 0);
}

namespace {
// xxh3_128_words<Len> over words from `seed`, against libxxhash over the same bytes.
template <std::size_t Len>
std::size_t words_mismatches(std::uint64_t seed) {
    std::array<std::uint64_t, (Len + 7) / 8> w{};
    for (auto& x : w) x = splitmix(seed);
    return desync::detail::xxh3_128_words<Len>(w) != lib128(w.data(), Len, 0) ? 1 : 0;
}
}  // namespace

TEST_CASE("XXH3-128 of words in registers equals libxxhash for every length 17..128", "[xxhash]") {
    std::size_t mismatches = 0;
    for (std::uint64_t seed = 0; seed < 50; ++seed)
        [&]<std::size_t... I>(std::index_sequence<I...>) {
            ((mismatches += words_mismatches<17 + I>(seed)), ...);
        }
    (std::make_index_sequence<128 - 16>{});
    CHECK(mismatches == 0);
}

TEST_CASE("the public functions at run time equal the constexpr twin", "[xxhash]") {
    auto const data = random_bytes(2000, 11);
    for (std::size_t len : {0, 1, 3, 4, 8, 9, 16, 17, 128, 129, 240, 241, 1024, 1025, 2000}) {
        std::span<const std::byte> const b{data.data(), len};
        std::string_view const c{reinterpret_cast<const char*>(data.data()), len};
        CHECK(desync::xxh64(b, 3) == desync::detail::constexpr_xxh64(b, 3));
        CHECK(desync::xxh64(c) == desync::detail::constexpr_xxh64(c));
        CHECK(desync::xxh3_64(b) == desync::detail::constexpr_xxh3_64(b));
        CHECK(desync::xxh3_64(c, 5) == desync::detail::constexpr_xxh3_64(c, 5));
        CHECK(desync::xxh3_128(b, 5) == desync::detail::constexpr_xxh3_128(b, 5));
        CHECK(desync::xxh3_128(c) == desync::detail::constexpr_xxh3_128(c));
        CHECK(desync::detail::xxh3_128_runtime(b.data(), len) == desync::xxh3_128(b));
    }
}

TEST_CASE("the XXH3-128 streaming wrapper equals one-shot XXH3-128", "[xxhash]") {
    auto const data = random_bytes(5000, 13);
    std::uint64_t rng = 5;
    for (std::size_t len : {0, 1, 15, 240, 241, 256, 257, 1023, 1024, 1025, 4999}) {
        desync::detail::xxh3_128_stream s;
        for (std::size_t at = 0; at < len;) {
            std::size_t const n = std::min<std::size_t>(len - at, splitmix(rng) % 300);
            s.update(data.data() + at, n);
            at += n;
        }
        CHECK(s.digest() == desync::detail::xxh3_128_runtime(data.data(), len));
    }
}

TEST_CASE("the constexpr XXH64 stream equals one-shot XXH64", "[xxhash]") {
    auto const data = random_bytes(700, 17);
    std::string_view const all{reinterpret_cast<const char*>(data.data()), data.size()};
    for (std::uint64_t seed : seeds) {
        for (std::size_t len = 0; len <= all.size(); len += (len < 70 ? 1 : 37)) {
            desync::detail::xxh64_stream s(seed);
            std::size_t const cut = len / 3;
            s.bytes(all.substr(0, cut));
            for (char ch : all.substr(cut, len - cut)) s.byte(static_cast<std::uint8_t>(ch));
            CHECK(s.digest() == XXH64(all.data(), len, seed));
        }
    }
    constexpr std::uint64_t at_compile_time = [] {
        desync::detail::xxh64_stream s(9);
        s.bytes("hello, ");
        s.bytes("constexpr world: more than thirty-two bytes");
        return s.digest();
    }();
    CHECK(at_compile_time ==
          desync::xxh64("hello, constexpr world: more than thirty-two bytes", 9));
}

TEST_CASE("hash128 compares as a 128-bit number and prints like xxhsum", "[xxhash]") {
    constexpr hash128 a{5, 1}, b{1, 2}, c{6, 1};
    static_assert(a < b && a < c && c < b && a == hash128{5, 1} && a != c);
    CHECK(hash128{0x0123456789abcdefULL, 0xfedcba9876543210ULL}.to_hex() ==
          "fedcba98765432100123456789abcdef");
    CHECK(hash128{}.to_hex() == std::string(32, '0'));
    XXH128_canonical_t canon;
    XXH128_canonicalFromHash(&canon, XXH3_128bits("abc", 3));
    std::string hex;
    for (unsigned char ch : canon.digest)
        hex += {"0123456789abcdef"[ch >> 4], "0123456789abcdef"[ch & 15]};
    CHECK(desync::xxh3_128("abc").to_hex() == hex);
    CHECK(std::hash<hash128>{}(a) == 5);
}
