#pragma once
/// \file
/// xxHash for desync: XXH64, XXH3-64 and XXH3-128 as constexpr functions that give the same
/// bits as libxxhash 0.8, and that call libxxhash itself (header-only) when run at run time.

#include <array>
#include <bit>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

// libxxhash, inlined into this translation unit. XXH_INLINE_ALL renames every symbol with an
// XXH_INLINE_ prefix, so a user who includes <xxhash.h> before or after us is not broken.
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#define DESYNC_DETAIL_DEFINED_XXH_INLINE_ALL
#endif
#include <xxhash.h>
#ifdef DESYNC_DETAIL_DEFINED_XXH_INLINE_ALL
#undef XXH_INLINE_ALL
#undef DESYNC_DETAIL_DEFINED_XXH_INLINE_ALL
#endif

namespace desync {

/// A 128-bit hash, with the meaning of XXH128_hash_t: `low` and `high` are its two 64-bit halves.
/// Ordered as a 128-bit number (high half first); `to_hex()` spells it as xxhsum does.
struct hash128 {
    std::uint64_t low = 0;   ///< The low 64 bits (XXH128_hash_t::low64).
    std::uint64_t high = 0;  ///< The high 64 bits (XXH128_hash_t::high64).

    /// 32 lowercase hex digits, high half first: the canonical (big-endian) form of XXH128.
    [[nodiscard]] std::string to_hex() const {
        std::string s(32, '0');
        for (int i = 0; i < 32; ++i) {
            std::uint64_t const word = i < 16 ? high : low;
            s[static_cast<std::size_t>(i)] = "0123456789abcdef"[(word >> (60 - 4 * (i % 16))) & 15];
        }
        return s;
    }

    friend constexpr bool operator==(const hash128&, const hash128&) = default;
    friend constexpr std::strong_ordering operator<=>(const hash128& a, const hash128& b) {
        if (auto c = a.high <=> b.high; c != 0) return c;
        return a.low <=> b.low;
    }
};

namespace detail {

using u8 = std::uint8_t;
using u32 = std::uint32_t;
using u64 = std::uint64_t;

inline constexpr u64 prime32_1 = 0x9E3779B1U;
inline constexpr u64 prime32_2 = 0x85EBCA77U;
inline constexpr u64 prime32_3 = 0xC2B2AE3DU;
inline constexpr u64 prime64_1 = 0x9E3779B185EBCA87ULL;
inline constexpr u64 prime64_2 = 0xC2B2AE3D27D4EB4FULL;
inline constexpr u64 prime64_3 = 0x165667B19E3779F9ULL;
inline constexpr u64 prime64_4 = 0x85EBCA77C2B2AE63ULL;
inline constexpr u64 prime64_5 = 0x27D4EB2F165667C5ULL;

// The default XXH3 secret (xxHash specification, "kSecret").
inline constexpr std::array<u8, 192> xxh3_default_secret = {
    0xb8, 0xfe, 0x6c, 0x39, 0x23, 0xa4, 0x4b, 0xbe, 0x7c, 0x01, 0x81, 0x2c, 0xf7, 0x21, 0xad, 0x1c,
    0xde, 0xd4, 0x6d, 0xe9, 0x83, 0x90, 0x97, 0xdb, 0x72, 0x40, 0xa4, 0xa4, 0xb7, 0xb3, 0x67, 0x1f,
    0xcb, 0x79, 0xe6, 0x4e, 0xcc, 0xc0, 0xe5, 0x78, 0x82, 0x5a, 0xd0, 0x7d, 0xcc, 0xff, 0x72, 0x21,
    0xb8, 0x08, 0x46, 0x74, 0xf7, 0x43, 0x24, 0x8e, 0xe0, 0x35, 0x90, 0xe6, 0x81, 0x3a, 0x26, 0x4c,
    0x3c, 0x28, 0x52, 0xbb, 0x91, 0xc3, 0x00, 0xcb, 0x88, 0xd0, 0x65, 0x8b, 0x1b, 0x53, 0x2e, 0xa3,
    0x71, 0x64, 0x48, 0x97, 0xa2, 0x0d, 0xf9, 0x4e, 0x38, 0x19, 0xef, 0x46, 0xa9, 0xde, 0xac, 0xd8,
    0xa8, 0xfa, 0x76, 0x3f, 0xe3, 0x9c, 0x34, 0x3f, 0xf9, 0xdc, 0xbb, 0xc7, 0xc7, 0x0b, 0x4f, 0x1d,
    0x8a, 0x51, 0xe0, 0x4b, 0xcd, 0xb4, 0x59, 0x31, 0xc8, 0x9f, 0x7e, 0xc9, 0xd9, 0x78, 0x73, 0x64,
    0xea, 0xc5, 0xac, 0x83, 0x34, 0xd3, 0xeb, 0xc3, 0xc5, 0x81, 0xa0, 0xff, 0xfa, 0x13, 0x63, 0xeb,
    0x17, 0x0d, 0xdd, 0x51, 0xb7, 0xf0, 0xda, 0x49, 0xd3, 0x16, 0x55, 0x26, 0x29, 0xd4, 0x68, 0x9e,
    0x2b, 0x16, 0xbe, 0x58, 0x7d, 0x47, 0xa1, 0xfc, 0x8f, 0xf8, 0xb8, 0xd1, 0x7a, 0xd0, 0x31, 0xce,
    0x45, 0xcb, 0x3a, 0x8f, 0x95, 0x16, 0x04, 0x28, 0xaf, 0xd7, 0xfb, 0xca, 0xbb, 0x4b, 0x40, 0x7e,
};

// Reads little-endian words: byte by byte in constant evaluation, where reinterpret_cast and
// memcpy are not allowed; with one load at run time. B is char, unsigned char or std::byte.
template <class B>
struct le_reader {
    const B* p;
    constexpr u64 byte(std::size_t i) const { return static_cast<u8>(p[i]); }
    constexpr u64 r32(std::size_t i) const {
        return byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16 | byte(i + 3) << 24;
    }
    constexpr u64 r64(std::size_t i) const {
        if (!std::is_constant_evaluated() && std::endian::native == std::endian::little) {
            u64 v;
            std::memcpy(&v, p + i, 8);
            return v;
        }
        return r32(i) | r32(i + 4) << 32;
    }
};

using secret_reader = le_reader<u8>;

// std::rotl costs clang's evaluator several steps per call; a one-expression body costs none.
constexpr u64 rotl(u64 x, int r) { return (x << r) | (x >> (64 - r)); }
constexpr u32 rotl32(u32 x, int r) { return static_cast<u32>((x << r) | (x >> (32 - r))); }

constexpr u64 swap64(u64 x) {
    x = (x & 0x00FF00FF00FF00FFULL) << 8 | (x >> 8 & 0x00FF00FF00FF00FFULL);
    x = (x & 0x0000FFFF0000FFFFULL) << 16 | (x >> 16 & 0x0000FFFF0000FFFFULL);
    return x << 32 | x >> 32;
}
constexpr u64 swap32(u64 x) { return swap64(x) >> 32; }
constexpr u64 xorshift(u64 v, int s) { return v ^ (v >> s); }

struct product128 {
    u64 lo;
    u64 hi;
};

// 64x64->128 from four 32x32 products, for compilers without unsigned __int128.
constexpr product128 mul128_portable(u64 a, u64 b) {
    u64 const lo_lo = (a & 0xFFFFFFFF) * (b & 0xFFFFFFFF), hi_lo = (a >> 32) * (b & 0xFFFFFFFF);
    u64 const lo_hi = (a & 0xFFFFFFFF) * (b >> 32), hi_hi = (a >> 32) * (b >> 32);
    u64 const cross = (lo_lo >> 32) + (hi_lo & 0xFFFFFFFF) + lo_hi;
    return {(cross << 32) | (lo_lo & 0xFFFFFFFF), (hi_lo >> 32) + (cross >> 32) + hi_hi};
}

constexpr product128 mul128(u64 a, u64 b) {
#ifdef __SIZEOF_INT128__
    __extension__ using wide = unsigned __int128;
    wide const p = static_cast<wide>(a) * b;
    return {static_cast<u64>(p), static_cast<u64>(p >> 64)};
#else
    return mul128_portable(a, b);
#endif
}

constexpr u64 mul_fold64(u64 a, u64 b) {
    product128 const p = mul128(a, b);
    return p.lo ^ p.hi;
}

// ---- XXH64 ----

constexpr u64 xxh64_round(u64 acc, u64 input) {
    return rotl(acc + input * prime64_2, 31) * prime64_1;
}

constexpr u64 xxh64_merge(u64 acc, u64 v) {
    return (acc ^ xxh64_round(0, v)) * prime64_1 + prime64_4;
}

constexpr u64 xxh64_avalanche(u64 h) {
    h = xorshift(h, 33) * prime64_2;
    h = xorshift(h, 29) * prime64_3;
    return xorshift(h, 32);
}

constexpr u64 xxh64_converge(const u64 (&v)[4]) {
    u64 h = rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18);
    for (u64 lane : v) h = xxh64_merge(h, lane);
    return h;
}

// The tail (len % 32 bytes from `at`) and the final mix.
template <class B>
constexpr u64 xxh64_finalize(u64 h, le_reader<B> in, std::size_t at, std::size_t len) {
    len &= 31;
    for (; len >= 8; len -= 8, at += 8)
        h = rotl(h ^ xxh64_round(0, in.r64(at)), 27) * prime64_1 + prime64_4;
    if (len >= 4) {
        h = rotl(h ^ in.r32(at) * prime64_1, 23) * prime64_2 + prime64_3;
        len -= 4, at += 4;
    }
    for (; len > 0; --len, ++at) h = rotl(h ^ in.byte(at) * prime64_5, 11) * prime64_1;
    return xxh64_avalanche(h);
}

template <class B>
constexpr u64 xxh64_bytes(const B* p, std::size_t len, u64 seed) {
    le_reader<B> const in{p};
    std::size_t at = 0;
    u64 h = seed + prime64_5;
    if (len >= 32) {
        u64 v[4] = {seed + prime64_1 + prime64_2, seed + prime64_2, seed, seed - prime64_1};
        for (; at + 32 <= len; at += 32)
            for (std::size_t i = 0; i < 4; ++i) v[i] = xxh64_round(v[i], in.r64(at + 8 * i));
        h = xxh64_converge(v);
    }
    return xxh64_finalize(h + len, in, at, len);
}

// ---- XXH3, inputs of 0 to 240 bytes ----

constexpr u64 xxh3_avalanche(u64 h) {
    return xorshift(xorshift(h, 37) * 0x165667919E3779F9ULL, 32);
}

constexpr u64 rrmxmx(u64 h, u64 len) {
    h ^= rotl(h, 49) ^ rotl(h, 24);
    h *= 0x9FB21C651E98DF25ULL;
    h ^= (h >> 35) + len;
    return xorshift(h * 0x9FB21C651E98DF25ULL, 28);
}

template <class B>
constexpr u64 mix16(le_reader<B> in, std::size_t at, secret_reader s, std::size_t sat, u64 seed) {
    return mul_fold64(in.r64(at) ^ (s.r64(sat) + seed), in.r64(at + 8) ^ (s.r64(sat + 8) - seed));
}

template <class B>
constexpr u64 xxh3_64_upto16(le_reader<B> in, std::size_t len, secret_reader s, u64 seed) {
    if (len > 8) {
        u64 const lo = in.r64(0) ^ ((s.r64(24) ^ s.r64(32)) + seed);
        u64 const hi = in.r64(len - 8) ^ ((s.r64(40) ^ s.r64(48)) - seed);
        return xxh3_avalanche(len + swap64(lo) + hi + mul_fold64(lo, hi));
    }
    if (len >= 4) {
        seed ^= swap32(seed) << 32;
        u64 const input = in.r32(len - 4) + (in.r32(0) << 32);
        return rrmxmx(input ^ ((s.r64(8) ^ s.r64(16)) - seed), len);
    }
    if (len > 0) {
        u64 const combined =
            in.byte(0) << 16 | in.byte(len >> 1) << 24 | in.byte(len - 1) | len << 8;
        return xxh64_avalanche(combined ^ ((s.r32(0) ^ s.r32(4)) + seed));
    }
    return xxh64_avalanche(seed ^ s.r64(56) ^ s.r64(64));
}

template <class B>
constexpr u64 xxh3_64_upto240(le_reader<B> in, std::size_t len, secret_reader s, u64 seed) {
    u64 acc = len * prime64_1;
    if (len <= 128) {
        // Pairs of 16-byte blocks from both ends, moving inward as the input grows.
        for (std::size_t i = (len - 1) / 32 + 1; i-- > 0;)
            acc += mix16(in, 16 * i, s, 32 * i, seed) +
                   mix16(in, len - 16 * (i + 1), s, 32 * i + 16, seed);
        return xxh3_avalanche(acc);
    }
    for (std::size_t i = 0; i < 8; ++i) acc += mix16(in, 16 * i, s, 16 * i, seed);
    acc = xxh3_avalanche(acc);
    for (std::size_t i = 8; i < len / 16; ++i) acc += mix16(in, 16 * i, s, 16 * (i - 8) + 3, seed);
    return xxh3_avalanche(acc + mix16(in, len - 16, s, 136 - 17, seed));
}

template <class B>
constexpr hash128 xxh3_128_upto16(le_reader<B> in, std::size_t len, secret_reader s, u64 seed) {
    if (len > 8) {
        u64 const lo = in.r64(0);
        u64 hi = in.r64(len - 8);
        product128 m = mul128(lo ^ hi ^ ((s.r64(32) ^ s.r64(40)) - seed), prime64_1);
        m.lo += (len - 1) << 54;
        hi ^= (s.r64(48) ^ s.r64(56)) + seed;
        m.hi += hi + (hi & 0xFFFFFFFF) * (prime32_2 - 1);
        m.lo ^= swap64(m.hi);
        product128 h = mul128(m.lo, prime64_2);
        h.hi += m.hi * prime64_2;
        return {xxh3_avalanche(h.lo), xxh3_avalanche(h.hi)};
    }
    if (len >= 4) {
        seed ^= swap32(seed) << 32;
        u64 const input = in.r32(0) + (in.r32(len - 4) << 32);
        product128 m = mul128(input ^ ((s.r64(16) ^ s.r64(24)) + seed), prime64_1 + (len << 2));
        m.hi += m.lo << 1;
        m.lo ^= m.hi >> 3;
        m.lo = xorshift(xorshift(m.lo, 35) * 0x9FB21C651E98DF25ULL, 28);
        return {m.lo, xxh3_avalanche(m.hi)};
    }
    if (len > 0) {
        u64 const lo = in.byte(0) << 16 | in.byte(len >> 1) << 24 | in.byte(len - 1) | len << 8;
        u64 const hi = rotl32(static_cast<u32>(swap32(lo)), 13);
        return {xxh64_avalanche(lo ^ ((s.r32(0) ^ s.r32(4)) + seed)),
                xxh64_avalanche(hi ^ ((s.r32(8) ^ s.r32(12)) - seed))};
    }
    return {xxh64_avalanche(seed ^ s.r64(64) ^ s.r64(72)),
            xxh64_avalanche(seed ^ s.r64(80) ^ s.r64(88))};
}

template <class B>
constexpr product128 mix32(product128 acc, le_reader<B> in, std::size_t a, std::size_t b,
                           secret_reader s, std::size_t sat, u64 seed) {
    acc.lo += mix16(in, a, s, sat, seed);
    acc.lo ^= in.r64(b) + in.r64(b + 8);
    acc.hi += mix16(in, b, s, sat + 16, seed);
    acc.hi ^= in.r64(a) + in.r64(a + 8);
    return acc;
}

constexpr hash128 xxh3_128_finish(product128 acc, std::size_t len, u64 seed) {
    u64 const hi = acc.lo * prime64_1 + acc.hi * prime64_4 + (len - seed) * prime64_2;
    return {xxh3_avalanche(acc.lo + acc.hi), 0 - xxh3_avalanche(hi)};
}

template <class B>
constexpr hash128 xxh3_128_upto240(le_reader<B> in, std::size_t len, secret_reader s, u64 seed) {
    product128 acc{len * prime64_1, 0};
    if (len <= 128) {
        for (std::size_t i = (len - 1) / 32 + 1; i-- > 0;)
            acc = mix32(acc, in, 16 * i, len - 16 * (i + 1), s, 32 * i, seed);
        return xxh3_128_finish(acc, len, seed);
    }
    for (std::size_t i = 0; i < 4; ++i) acc = mix32(acc, in, 32 * i, 32 * i + 16, s, 32 * i, seed);
    acc = {xxh3_avalanche(acc.lo), xxh3_avalanche(acc.hi)};
    for (std::size_t i = 4; i < len / 32; ++i)
        acc = mix32(acc, in, 32 * i, 32 * i + 16, s, 3 + 32 * (i - 4), seed);
    acc = mix32(acc, in, len - 16, len - 32, s, 136 - 17 - 16, 0 - seed);
    return xxh3_128_finish(acc, len, seed);
}

// ---- XXH3, inputs longer than 240 bytes: 64-byte stripes, 1 KiB blocks, 8 accumulators ----

using xxh3_acc = std::array<u64, 8>;

template <class B>
constexpr void xxh3_stripe(xxh3_acc& acc, le_reader<B> in, std::size_t at, secret_reader s,
                           std::size_t sat) {
    for (std::size_t i = 0; i < 8; ++i) {
        u64 const v = in.r64(at + 8 * i), key = v ^ s.r64(sat + 8 * i);
        acc[i ^ 1] += v;
        acc[i] += (key & 0xFFFFFFFF) * (key >> 32);
    }
}

constexpr void xxh3_scramble(xxh3_acc& acc, secret_reader s, std::size_t sat) {
    for (std::size_t i = 0; i < 8; ++i)
        acc[i] = (xorshift(acc[i], 47) ^ s.r64(sat + 8 * i)) * prime32_1;
}

template <class B>
constexpr xxh3_acc xxh3_long_accumulate(le_reader<B> in, std::size_t len, secret_reader s) {
    xxh3_acc acc = {prime32_3, prime64_1, prime64_2, prime64_3,
                    prime64_4, prime32_2, prime64_5, prime32_1};
    std::size_t const blocks = (len - 1) / 1024;
    for (std::size_t b = 0; b < blocks; ++b) {
        for (std::size_t n = 0; n < 16; ++n) xxh3_stripe(acc, in, 1024 * b + 64 * n, s, 8 * n);
        xxh3_scramble(acc, s, 192 - 64);
    }
    std::size_t const stripes = (len - 1 - 1024 * blocks) / 64;
    for (std::size_t n = 0; n < stripes; ++n)
        xxh3_stripe(acc, in, 1024 * blocks + 64 * n, s, 8 * n);
    xxh3_stripe(acc, in, len - 64, s, 192 - 64 - 7);
    return acc;
}

constexpr u64 xxh3_merge(const xxh3_acc& acc, secret_reader s, std::size_t sat, u64 start) {
    for (std::size_t i = 0; i < 4; ++i)
        start +=
            mul_fold64(acc[2 * i] ^ s.r64(sat + 16 * i), acc[2 * i + 1] ^ s.r64(sat + 16 * i + 8));
    return xxh3_avalanche(start);
}

constexpr std::array<u8, 192> xxh3_seeded_secret(u64 seed) {
    std::array<u8, 192> out{};
    secret_reader const k{xxh3_default_secret.data()};
    for (std::size_t i = 0; i < 192; i += 8) {
        u64 const w = k.r64(i) + ((i & 8) ? 0 - seed : seed);
        for (std::size_t b = 0; b < 8; ++b) out[i + b] = static_cast<u8>(w >> (8 * b));
    }
    return out;
}

template <class B>
constexpr u64 xxh3_64_bytes(const B* p, std::size_t len, u64 seed) {
    le_reader<B> const in{p};
    secret_reader const k{xxh3_default_secret.data()};
    if (len <= 16) return xxh3_64_upto16(in, len, k, seed);
    if (len <= 240) return xxh3_64_upto240(in, len, k, seed);
    auto const secret = seed == 0 ? xxh3_default_secret : xxh3_seeded_secret(seed);
    secret_reader const s{secret.data()};
    return xxh3_merge(xxh3_long_accumulate(in, len, s), s, 11, len * prime64_1);
}

template <class B>
constexpr hash128 xxh3_128_bytes(const B* p, std::size_t len, u64 seed) {
    le_reader<B> const in{p};
    secret_reader const k{xxh3_default_secret.data()};
    if (len <= 16) return xxh3_128_upto16(in, len, k, seed);
    if (len <= 240) return xxh3_128_upto240(in, len, k, seed);
    auto const secret = seed == 0 ? xxh3_default_secret : xxh3_seeded_secret(seed);
    secret_reader const s{secret.data()};
    xxh3_acc const acc = xxh3_long_accumulate(in, len, s);
    return {xxh3_merge(acc, s, 11, len * prime64_1),
            xxh3_merge(acc, s, 192 - 64 - 11, ~(len * prime64_2))};
}

/// The constexpr XXH64, bit-identical to libxxhash's XXH64; never calls the library.
constexpr u64 constexpr_xxh64(std::string_view b, u64 seed = 0) {
    return xxh64_bytes(b.data(), b.size(), seed);
}
constexpr u64 constexpr_xxh64(std::span<const std::byte> b, u64 seed = 0) {
    return xxh64_bytes(b.data(), b.size(), seed);
}

/// The constexpr XXH3-64 (XXH3_64bits_withSeed; seed 0 is XXH3_64bits).
constexpr u64 constexpr_xxh3_64(std::string_view b, u64 seed = 0) {
    return xxh3_64_bytes(b.data(), b.size(), seed);
}
constexpr u64 constexpr_xxh3_64(std::span<const std::byte> b, u64 seed = 0) {
    return xxh3_64_bytes(b.data(), b.size(), seed);
}

/// The constexpr XXH3-128 (XXH3_128bits_withSeed; seed 0 is XXH3_128bits).
constexpr hash128 constexpr_xxh3_128(std::string_view b, u64 seed = 0) {
    return xxh3_128_bytes(b.data(), b.size(), seed);
}
constexpr hash128 constexpr_xxh3_128(std::span<const std::byte> b, u64 seed = 0) {
    return xxh3_128_bytes(b.data(), b.size(), seed);
}

constexpr hash128 from_xxh(XXH128_hash_t h) { return {h.low64, h.high64}; }

/// XXH3-128 (seed 0) of the first Len bytes of `w` (little-endian), 17 <= Len <= 128: the bits
/// of xxh3_128_runtime over the same bytes. Every offset is a constant, so an unaligned read is
/// two words shifted together in registers: no load straddles two recent stores, which would
/// stall for longer than hashing a short input takes.
template <std::size_t Len, std::size_t W>
hash128 xxh3_128_words(const std::array<u64, W>& w) noexcept {
    static_assert(Len > 16 && Len <= 128 && Len <= 8 * W);
    auto const read = [&w]<std::size_t At>(std::integral_constant<std::size_t, At>) {
        if constexpr (At % 8 == 0)
            return w[At / 8];
        else
            return (w[At / 8] >> (8 * (At % 8))) | (w[At / 8 + 1] << (64 - 8 * (At % 8)));
    };
    constexpr secret_reader s{xxh3_default_secret.data()};
    auto const mix16 = [&]<std::size_t At, std::size_t Sat>(
                           std::integral_constant<std::size_t, At>,
                           std::integral_constant<std::size_t, Sat>) {
        constexpr u64 k0 = s.r64(Sat), k1 = s.r64(Sat + 8);
        return mul_fold64(read(std::integral_constant<std::size_t, At>{}) ^ k0,
                          read(std::integral_constant<std::size_t, At + 8>{}) ^ k1);
    };
    constexpr std::size_t rounds = (Len - 1) / 32 + 1;
    product128 acc{Len * prime64_1, 0};
    // As xxh3_128_upto240: round i mixes 16 bytes from each end, the innermost pair first.
    [&]<std::size_t... J>(std::index_sequence<J...>) {
        auto const round = [&]<std::size_t I>(std::integral_constant<std::size_t, I>) {
            using a = std::integral_constant<std::size_t, 16 * I>;
            using b = std::integral_constant<std::size_t, Len - 16 * (I + 1)>;
            acc.lo += mix16(a{}, std::integral_constant<std::size_t, 32 * I>{});
            acc.lo ^= read(b{}) + read(std::integral_constant<std::size_t, b::value + 8>{});
            acc.hi += mix16(b{}, std::integral_constant<std::size_t, 32 * I + 16>{});
            acc.hi ^= read(a{}) + read(std::integral_constant<std::size_t, a::value + 8>{});
        };
        (round(std::integral_constant<std::size_t, rounds - 1 - J>{}), ...);
    }
    (std::make_index_sequence<rounds>{});
    return xxh3_128_finish(acc, Len, 0);
}

/// One-shot XXH3-128 of n bytes at p, through libxxhash.
inline hash128 xxh3_128_runtime(const void* p, std::size_t n) noexcept {
    return from_xxh(XXH3_128bits(p, n));
}

/// XXH3-128 over a stream of writes, through libxxhash's streaming state (no allocation).
/// Tag: construct without initializing, for a state that is reset() before first use.
struct no_init_t {};

class xxh3_128_stream {
public:
    xxh3_128_stream() noexcept { reset(); }
    explicit xxh3_128_stream(no_init_t) noexcept {}
    void reset() noexcept {
        XXH3_INITSTATE(&state_);
        XXH3_128bits_reset(&state_);
    }
    void update(const void* p, std::size_t n) noexcept { XXH3_128bits_update(&state_, p, n); }
    [[nodiscard]] hash128 digest() const noexcept { return from_xxh(XXH3_128bits_digest(&state_)); }

private:
    XXH3_state_t state_;
};

/// XXH64 computed incrementally, one byte or word at a time, in constant evaluation too:
/// the result equals XXH64 of the concatenation of everything fed. Built for the source
/// normalizer: clang's constexpr budget counts steps, so the per-byte path avoids library calls.
class xxh64_stream {
public:
    constexpr explicit xxh64_stream(u64 seed = 0)
        : v_{seed + prime64_1 + prime64_2, seed + prime64_2, seed, seed - prime64_1}, seed_(seed) {}

    constexpr void byte(u64 b) {
        w_[(n_ >> 3) & 3] |= b << (8 * (n_ & 7));
        if ((++n_ & 31) == 0) flush();
    }
    constexpr void bytes(const char* p, std::size_t n) {
        for (std::size_t i = 0; i < n; ++i) {
            w_[(n_ >> 3) & 3] |= u64{static_cast<u8>(p[i])} << (8 * (n_ & 7));
            if ((++n_ & 31) == 0) flush();
        }
    }
    constexpr void bytes(std::string_view s) { bytes(s.data(), s.size()); }
    constexpr u64 digest() const {
        std::array<u8, 32> tail{};
        for (std::size_t i = 0; i < (n_ & 31); ++i)
            tail[i] = static_cast<u8>(w_[i >> 3] >> (8 * (i & 7)));
        u64 const h = n_ >= 32 ? xxh64_converge(v_) : seed_ + prime64_5;
        return xxh64_finalize(h + n_, le_reader<u8>{tail.data()}, 0, n_);
    }

private:
    constexpr void flush() {
        for (std::size_t i = 0; i < 4; ++i) v_[i] = xxh64_round(v_[i], w_[i]), w_[i] = 0;
    }
    u64 v_[4];
    u64 w_[4] = {0, 0, 0, 0};
    u64 seed_;
    std::size_t n_ = 0;
};

}  // namespace detail

/// XXH64 of the bytes, equal to libxxhash's XXH64(data, size, seed); constexpr.
constexpr std::uint64_t xxh64(std::string_view bytes, std::uint64_t seed = 0) noexcept {
    if (std::is_constant_evaluated()) return detail::constexpr_xxh64(bytes, seed);
    return XXH64(bytes.data(), bytes.size(), seed);
}
/// XXH64 of the bytes, equal to libxxhash's XXH64(data, size, seed); constexpr.
constexpr std::uint64_t xxh64(std::span<const std::byte> bytes, std::uint64_t seed = 0) noexcept {
    if (std::is_constant_evaluated()) return detail::constexpr_xxh64(bytes, seed);
    return XXH64(bytes.data(), bytes.size(), seed);
}

/// XXH3-64 of the bytes (XXH3_64bits, or XXH3_64bits_withSeed when seeded); constexpr.
constexpr std::uint64_t xxh3_64(std::string_view bytes, std::uint64_t seed = 0) noexcept {
    if (std::is_constant_evaluated()) return detail::constexpr_xxh3_64(bytes, seed);
    return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}
/// XXH3-64 of the bytes (XXH3_64bits, or XXH3_64bits_withSeed when seeded); constexpr.
constexpr std::uint64_t xxh3_64(std::span<const std::byte> bytes, std::uint64_t seed = 0) noexcept {
    if (std::is_constant_evaluated()) return detail::constexpr_xxh3_64(bytes, seed);
    return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

/// XXH3-128 of the bytes (XXH3_128bits, or XXH3_128bits_withSeed when seeded); constexpr.
constexpr hash128 xxh3_128(std::string_view bytes, std::uint64_t seed = 0) noexcept {
    if (std::is_constant_evaluated()) return detail::constexpr_xxh3_128(bytes, seed);
    return detail::from_xxh(XXH3_128bits_withSeed(bytes.data(), bytes.size(), seed));
}
/// XXH3-128 of the bytes (XXH3_128bits, or XXH3_128bits_withSeed when seeded); constexpr.
constexpr hash128 xxh3_128(std::span<const std::byte> bytes, std::uint64_t seed = 0) noexcept {
    if (std::is_constant_evaluated()) return detail::constexpr_xxh3_128(bytes, seed);
    return detail::from_xxh(XXH3_128bits_withSeed(bytes.data(), bytes.size(), seed));
}

}  // namespace desync

/// Hashes a hash128 for unordered containers: its low half is already uniformly mixed.
template <>
struct std::hash<desync::hash128> {
    std::size_t operator()(const desync::hash128& h) const noexcept {
        return static_cast<std::size_t>(h.low);
    }
};
