#pragma once
// The layout of a cache file (cache_file.hpp documents it for users): the header, which is
// little-endian so that any build can read it and say why it refuses the file, and the records,
// in the writing build's own byte order (the header's fingerprint guarantees it is ours).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <desync/xxhash.hpp>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <version>

namespace desync::detail::cache_format {

/// PNG-style: a non-ASCII first byte and a line feed, so text-mode transfers are caught too.
inline constexpr unsigned char magic[8] = {0x89, 'D', 'E', 'S', 'Y', 'N', 'C', '\n'};
/// The version this build writes. Version 1 had unseeded record checksums, so a record nested in
/// a value (the bytes of another cache file) could pass for one of the file's own once the
/// record around it was damaged; version 2 seeds them with the salt and build. Version 3 adds to
/// each record the callee's full hash and what its run called (a set of functions, stored once
/// per file as a record of its own): a result is served only if this build still has each of
/// them. Files of versions 1 and 2 are read, but their results cannot be verified: they miss.
inline constexpr std::uint32_t format_version = 3;
inline constexpr std::uint32_t oldest_format_version = 1;
/// The oldest version whose results this build can serve.
inline constexpr std::uint32_t oldest_served_version = 3;

// Header: magic[8] | version u32 | header size u32 | salt hash u64 | fingerprint length u16 |
// fingerprint | checksum u64 (XXH3-64 of everything before it). All little-endian.
inline constexpr std::size_t header_fixed = 8 + 4 + 4 + 8 + 2 + 8;

// Record (version 3): marker u32 | value length u64 | key 16 | result type u64 | duration ns u64 |
// callee's full hash u64 | what its run called u64 (dep_set id, or unknown_deps_ref /
// no_deps_ref) | child count u64 | child keys 16 each | value | checksum u64 (XXH3-64 of
// everything before it in the record, seeded with record_seed: the salt and the build). The
// children are the memoized calls the original call's body made: a hit records them too, so a
// saved cache keeps what the hit's result was made from. A set of functions called is a record
// of result type dep_set_type whose key is {id, id}, whose value is its entries (three u64
// each: full hash, source hash, name hash, sorted), and whose other fields are 0.
inline constexpr std::size_t at_length = 4;
inline constexpr std::size_t at_key = 12;
inline constexpr std::size_t at_type = 28;
inline constexpr std::size_t at_duration = 36;
inline constexpr std::size_t at_callee = 44;
inline constexpr std::size_t at_deps = 52;
inline constexpr std::size_t at_children = 60;
inline constexpr std::size_t at_child_keys = 68;
inline constexpr std::size_t record_overhead = at_child_keys + 8;  // without children or value

/// Where a record's child count and child keys sit: versions 1 and 2 had neither callee nor
/// deps (their records are only counted now).
struct record_layout {
    std::size_t children;
    std::size_t child_keys;
};
inline constexpr record_layout layout_v3{at_children, at_child_keys};
inline constexpr record_layout layout_v2{44, 52};

/// The result type of a record that holds a set of functions called, not a result (no result
/// type has this id: memo_key.hpp).
inline constexpr std::uint64_t dep_set_type = 0;

/// Starts every record; bytes chosen to be rare in numbers and text, to resynchronise on.
inline constexpr std::uint32_t marker = 0xF1C69BE3u;

inline std::uint64_t load_u64(const std::byte* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}
inline std::uint32_t load_u32(const std::byte* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

inline hash128 load_key(const std::byte* p) noexcept { return {load_u64(p), load_u64(p + 8)}; }

/// The fields of a record (version 3) that was checked when its file was loaded.
struct record_view {
    const std::byte* at;

    std::uint64_t value_size() const noexcept { return load_u64(at + at_length); }
    hash128 key() const noexcept { return load_key(at + at_key); }
    std::uint64_t type() const noexcept { return load_u64(at + at_type); }
    std::uint64_t duration_ns() const noexcept { return load_u64(at + at_duration); }
    std::uint64_t callee() const noexcept { return load_u64(at + at_callee); }
    std::uint64_t deps_ref() const noexcept { return load_u64(at + at_deps); }
    std::size_t children() const noexcept {
        return static_cast<std::size_t>(load_u64(at + at_children));
    }
    hash128 child(std::size_t i) const noexcept { return load_key(at + at_child_keys + 16 * i); }
    std::span<const std::byte> value() const noexcept {
        return {at + at_child_keys + 16 * children(), static_cast<std::size_t>(value_size())};
    }
    std::size_t size() const noexcept { return record_overhead + 16 * children() + value().size(); }
};

/// What a record says about the result it holds, besides its value and children.
struct record_head {
    hash128 key;
    std::uint64_t type = 0;
    std::uint64_t duration_ns = 0;
    std::uint64_t callee = 0;
    std::uint64_t deps_ref = 0;
};

/// Appends a record's fields before its value; finish_record() completes it.
inline std::size_t begin_record(std::string& out, const record_head& h,
                                std::span<const hash128> children) {
    std::size_t const start = out.size();
    char head[at_child_keys];  // one append: a save writes millions of small records
    auto put = [&head](std::size_t at, const auto& v) { std::memcpy(head + at, &v, sizeof v); };
    put(0, marker);
    put(at_length, std::uint64_t{0});  // the value's length, once known
    put(at_key, h.key.low), put(at_key + 8, h.key.high);
    put(at_type, h.type), put(at_duration, h.duration_ns);
    put(at_callee, h.callee), put(at_deps, h.deps_ref);
    put(at_children, static_cast<std::uint64_t>(children.size()));
    out.append(head, sizeof head);
    for (const hash128& c : children) {
        out.append(reinterpret_cast<const char*>(&c.low), 8);
        out.append(reinterpret_cast<const char*>(&c.high), 8);
    }
    return start;
}

/// Writes the value's length and appends the checksum (seeded with `seed`) of the record that
/// starts at `start`.
inline void finish_record(std::string& out, std::size_t start, std::uint64_t seed) {
    std::uint64_t children = 0;
    std::memcpy(&children, out.data() + start + at_children, 8);
    std::uint64_t const length = out.size() - start - at_child_keys - 16 * children;
    std::memcpy(out.data() + start + at_length, &length, 8);
    std::uint64_t const sum = XXH3_64bits_withSeed(out.data() + start, out.size() - start, seed);
    out.append(reinterpret_cast<const char*>(&sum), 8);
}

/// Appends a checked record of another file (or of this one), its checksum made with `seed`.
inline void copy_record(std::string& out, const record_view& r, std::uint64_t seed) {
    std::size_t const body = r.size() - 8;
    out.append(reinterpret_cast<const char*>(r.at), body);
    std::uint64_t const sum = XXH3_64bits_withSeed(r.at, body, seed);
    out.append(reinterpret_cast<const char*>(&sum), 8);
}

/// The length of the record at p if it is whole and its checksum (seeded with `seed`) matches;
/// 0 otherwise. Never reads past `left` bytes, whatever the length fields say; adds the bytes
/// it hashed to `hashed` (a loader bounds the total, so that a file of records that each claim
/// the rest of it loads in linear time).
inline std::size_t check_record(const std::byte* p, std::size_t left, std::uint64_t seed,
                                std::size_t& hashed, record_layout layout = layout_v3) noexcept {
    std::size_t const overhead = layout.child_keys + 8;
    if (left < overhead || load_u32(p) != marker) return 0;
    std::uint64_t const room = left - overhead;
    std::uint64_t const children = load_u64(p + layout.children);
    std::uint64_t const length = load_u64(p + at_length);
    if (children > room / 16 || length > room - 16 * children) return 0;
    std::size_t const body = layout.child_keys + static_cast<std::size_t>(16 * children + length);
    hashed += body;
    if (XXH3_64bits_withSeed(p, body, seed) != load_u64(p + body)) return 0;
    return body + 8;
}

/// The next place at or after p where a record marker starts, or end.
inline const std::byte* find_marker(const std::byte* p, const std::byte* end) noexcept {
    unsigned char m[4];
    std::memcpy(m, &marker, 4);
    while (end - p >= 4) {
        auto* hit = static_cast<const std::byte*>(std::memchr(p, m[0], end - p - 3));
        if (!hit) break;
        if (std::memcmp(hit, m, 4) == 0) return hit;
        p = hit + 1;
    }
    return end;
}

// ---- the fingerprint of this build: what decides type names and value layouts ----

inline std::string compiler_name() {
#if defined(__clang__)
    std::string v = "clang " __clang_version__;
    while (!v.empty() && v.back() == ' ') v.pop_back();
    return v;
#elif defined(__GNUC__)
    return "GCC " __VERSION__;
#elif defined(_MSC_VER)
    return "MSVC " + std::to_string(_MSC_FULL_VER);
#else
    return "an unknown compiler";
#endif
}

inline std::string library_name() {
#if defined(_LIBCPP_VERSION)
    return "libc++ " + std::to_string(_LIBCPP_VERSION) + " (ABI " +
           std::to_string(_LIBCPP_ABI_VERSION) + ")";
#elif defined(__GLIBCXX__)
    return "libstdc++ " + std::to_string(_GLIBCXX_RELEASE) +
           (_GLIBCXX_USE_CXX11_ABI ? " (C++11 ABI)" : " (old ABI)");
#elif defined(_MSVC_STL_VERSION)
    return "MSVC STL " + std::to_string(_MSVC_STL_VERSION);
#else
    return "an unknown standard library";
#endif
}

inline std::string_view architecture() {
#if defined(__x86_64__) || defined(_M_X64)
    return "x86_64";
#elif defined(__aarch64__) || defined(_M_ARM64)
    return "aarch64";
#elif defined(__i386__) || defined(_M_IX86)
    return "i386";
#elif defined(__arm__)
    return "arm";
#elif defined(__riscv)
    return "riscv";
#elif defined(__powerpc64__)
    return "ppc64";
#elif defined(__s390x__)
    return "s390x";
#else
    return "an unknown architecture";
#endif
}

/// What format version 1 called the build (version 2 adds what fingerprint() adds).
inline const std::string& fingerprint_v1() {
    static const std::string text = [] {
        auto bits = [](std::size_t bytes) { return std::to_string(8 * bytes); };
        return compiler_name() + ", " + library_name() + ", " + std::string(architecture()) +
               (std::endian::native == std::endian::little ? ", little-endian" : ", big-endian") +
               ", " + bits(sizeof(void*)) + "-bit pointers, " + bits(sizeof(long)) + "-bit long, " +
               bits(sizeof(wchar_t)) + "-bit wchar_t, long double with " +
               std::to_string(std::numeric_limits<long double>::digits) + "-bit mantissa";
    }();
    return text;
}

/// "GCC 12.2.0, libstdc++ 12 (C++11 ABI), x86_64, little-endian, 64-bit pointers, ...": what
/// decides type names and value layouts, and two flags that change results from the same
/// source and that the compiler announces (-funsigned-char, -ffast-math). Every file of a
/// program that includes desync must agree on them. Contraction into FMA is not announced
/// reliably (clang never defines __FP_FAST_FMA): a build that differs only there needs a salt.
inline const std::string& fingerprint() {
    static const std::string text = fingerprint_v1() +
                                    (std::numeric_limits<char>::is_signed ? ", signed char"
                                                                          : ", unsigned char") +
#if defined(__FAST_MATH__)
                                    ", fast math" +
#endif
                                    std::string();
    return text;
}

inline std::uint64_t salt_hash(std::string_view salt) noexcept {
    return xxh3_64(salt, 0x73616c74u);  // "salt"
}

/// The seed of a file's record checksums: a record checks only in a file of its own salt and
/// build, wherever else its bytes may be copied (a value that holds another cache file).
inline std::uint64_t record_seed(std::uint32_t version, std::string_view salt) noexcept {
    if (version < 2) return 0;  // version 1: unseeded (XXH3-64's default seed is 0)
    const std::string& fp = fingerprint();
    return XXH3_64bits_withSeed(fp.data(), fp.size(), salt_hash(salt));
}

// ---- the header ----

inline void put_le(std::string& out, std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
inline std::uint64_t get_le(const std::byte* p, int bytes) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= std::uint64_t(std::to_integer<unsigned>(p[i])) << (8 * i);
    return v;
}

/// This build's header for a file saved with `salt`.
inline std::string make_header(std::string_view salt) {
    const std::string& fp = fingerprint();
    std::string out(reinterpret_cast<const char*>(magic), sizeof magic);
    put_le(out, format_version, 4);
    put_le(out, header_fixed + fp.size(), 4);
    put_le(out, salt_hash(salt), 8);
    put_le(out, fp.size(), 2);
    out += fp;
    put_le(out, XXH3_64bits(out.data(), out.size()), 8);
    return out;
}

/// What a header says, or why it cannot be used.
struct header_check {
    std::size_t size = 0;        // where the records start; 0 when refused
    std::string problem;         // why it was refused
    std::uint64_t seed = 0;      // of the record checksums
    std::uint32_t version = 0;  // the file's format version
};

inline header_check refuse(std::string why) { return {0, std::move(why), 0, 0}; }

/// Reads the header at the start of `file`; refuses what this build must not use.
inline header_check read_header(std::span<const std::byte> file, std::string_view salt) {
    if (file.empty()) return refuse("it is empty");
    if (file.size() < sizeof magic || std::memcmp(file.data(), magic, sizeof magic) != 0)
        return refuse("it is not a desync cache file (bad magic)");
    if (file.size() < 12) return refuse("its header is truncated");
    auto const version = static_cast<std::uint32_t>(get_le(file.data() + 8, 4));
    if (version < oldest_format_version || version > format_version)
        return refuse("it has format version " + std::to_string(version) +
                      "; this build reads versions " + std::to_string(oldest_format_version) +
                      " to " + std::to_string(format_version));
    if (file.size() < header_fixed) return refuse("its header is truncated");
    std::uint64_t const size = get_le(file.data() + 12, 4);
    std::uint64_t const fp_size = get_le(file.data() + 24, 2);
    if (size != header_fixed + fp_size || size > file.size())
        return refuse("its header is damaged or truncated");
    if (XXH3_64bits(file.data(), size - 8) != get_le(file.data() + size - 8, 8))
        return refuse("its header is damaged (checksum mismatch)");
    std::string_view const theirs(reinterpret_cast<const char*>(file.data()) + 26, fp_size);
    const std::string& ours = version < 2 ? fingerprint_v1() : fingerprint();
    if (theirs != ours)
        return refuse("it was written by another build (" + std::string(theirs) +
                      "); this build is " + ours +
                      ": type names, value layouts and results may differ");
    if (get_le(file.data() + 16, 8) != salt_hash(salt))
        return refuse("it was saved with another salt");
    return {static_cast<std::size_t>(size), {}, record_seed(version, salt), version};
}

}  // namespace desync::detail::cache_format
