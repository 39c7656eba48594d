#pragma once
// A result as bytes: one record of a cache file, also what a store keeps (cache_file.hpp
// documents the layout for users). Records are in the writing build's own byte order; the file's
// header (cache/header.hpp) guarantees it is ours. Loaded records stay bytes until a call asks
// for their value.

#include <desync/detail/core/attributes.hpp>
#include <desync/xxhash.hpp>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>

namespace desync::detail::cache_format {

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
DESYNC_DECL std::size_t begin_record(std::string& out, const record_head& h,
                                     std::span<const hash128> children);

/// Writes the value's length and appends the checksum (seeded with `seed`) of the record that
/// starts at `start`.
DESYNC_DECL void finish_record(std::string& out, std::size_t start, std::uint64_t seed);

/// Appends a checked record of another file (or of this one), its checksum made with `seed`.
DESYNC_DECL void copy_record(std::string& out, const record_view& r, std::uint64_t seed);

/// The length of the record at p if it is whole and its checksum (seeded with `seed`) matches;
/// 0 otherwise. Never reads past `left` bytes, whatever the length fields say; adds the bytes
/// it hashed to `hashed` (a loader bounds the total, so that a file of records that each claim
/// the rest of it loads in linear time).
DESYNC_DECL std::size_t check_record(const std::byte* p, std::size_t left, std::uint64_t seed,
                                     std::size_t& hashed,
                                     record_layout layout = layout_v3) noexcept;

/// The next place at or after p where a record marker starts, or end.
DESYNC_DECL const std::byte* find_marker(const std::byte* p, const std::byte* end) noexcept;

}  // namespace desync::detail::cache_format

#if DESYNC_HEADER_ONLY
#include <desync/detail/memo/record.ipp>
#endif
