#pragma once
// The header of a cache file (cache_file.hpp documents the whole layout for users): little-endian,
// so that any build can read it and say why it refuses the file; it names the format version,
// the build (its fingerprint) and the salt, which seed the checksums of the records that follow
// (memo/record.hpp).

#include <cstddef>
#include <cstdint>
#include <desync/detail/core/attributes.hpp>
#include <desync/xxhash.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

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
/// No header is longer (its fingerprint's length is 16 bits): a loader reads this much first.
inline constexpr std::size_t header_limit = header_fixed + 0xFFFF;

// ---- the fingerprint of this build: what decides type names and value layouts ----

DESYNC_DECL std::string compiler_name();

DESYNC_DECL std::string library_name();

DESYNC_DECL std::string_view architecture();

/// What format version 1 called the build (version 2 adds what fingerprint() adds).
DESYNC_DECL const std::string& fingerprint_v1();

/// "GCC 12.2.0, libstdc++ 12 (C++11 ABI), x86_64, little-endian, 64-bit pointers, ...": what
/// decides type names and value layouts, and two flags that change results from the same
/// source and that the compiler announces (-funsigned-char, -ffast-math). Every file of a
/// program that includes desync must agree on them. Contraction into FMA is not announced
/// reliably (clang never defines __FP_FAST_FMA): a build that differs only there needs a salt.
DESYNC_DECL const std::string& fingerprint();

inline std::uint64_t salt_hash(std::string_view salt) noexcept {
    return xxh3_64(salt, 0x73616c74u);  // "salt"
}

/// The seed of a file's record checksums: a record checks only in a file of its own salt and
/// build, wherever else its bytes may be copied (a value that holds another cache file).
DESYNC_DECL std::uint64_t record_seed(std::uint32_t version, std::string_view salt) noexcept;

// ---- the header ----

DESYNC_DECL void put_le(std::string& out, std::uint64_t v, int bytes);
DESYNC_DECL std::uint64_t get_le(const std::byte* p, int bytes) noexcept;

/// This build's header for a file saved with `salt`.
DESYNC_DECL std::string make_header(std::string_view salt);

/// What a header says, or why it cannot be used.
struct header_check {
    std::size_t size = 0;       // where the records start; 0 when refused
    std::string problem;        // why it was refused
    std::uint64_t seed = 0;     // of the record checksums
    std::uint32_t version = 0;  // the file's format version
};

inline header_check refuse(std::string why) { return {0, std::move(why), 0, 0}; }

/// Reads the header at the start of `file`; refuses what this build must not use.
DESYNC_DECL header_check read_header(std::span<const std::byte> file, std::string_view salt);

}  // namespace desync::detail::cache_format

#if DESYNC_HEADER_ONLY
#include <desync/detail/cache/header.ipp>
#endif
