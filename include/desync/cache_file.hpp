#pragma once
/// \file
/// Cache files: `desync::cache::save` and `desync::cache::load` (POSIX only).
///
/// Layout (format version 2; version 1 files are read too). The header, little-endian:
///   magic "\x89DESYNC\n" (8) | format version u32 | header size u32 | salt hash u64 |
///   fingerprint length u16 | fingerprint text | XXH3-64 of the header's preceding bytes u64.
/// The fingerprint names the compiler and its version, the standard library and its ABI, the
/// architecture, the byte order and the sizes of pointers, long, wchar_t and long double's
/// mantissa: what decides type names (part of every key) and the codec's layouts; and, from
/// version 2, the signedness of char and -ffast-math, which change results computed from the
/// same source (FMA contraction cannot be seen: give such builds a salt of their own). A
/// version 1 file is taken as this build's, and saves as one. A file with
/// another magic, format version, fingerprint or salt, or a damaged header, is refused with a
/// desync::cache_error that says which, and what build wrote it.
/// Then records, each in the writing build's byte order:
///   marker u32 (0xF1C69BE3) | value length u64 | key 16 | result type u64 |
///   duration of the original call in ns u64 | child count u64 | child keys (16 each) |
///   value (codec.hpp) | XXH3-64 of the record u64, seeded (version 2) with a hash of the salt
///   and the fingerprint, so that a record checks only in a file of its own salt and build.
/// The children are the memoized calls the original call's body made: a hit on a record
/// records them too, so that a cache saved after a run of hits still holds what they used.
/// A record whose marker, length or checksum is wrong is dropped and counted; the loader then
/// looks for the next marker and goes on (a record nested in a damaged one's value, such as a
/// cached result holding another cache file's bytes, checks only if saved with the same salt
/// by the same build: then it is a true result of its key). The loader allocates the file's
/// size once, and a list of the records it found: no length field decides an allocation.
/// Values are decoded at the first probe that asks for them, as the type it expects: one that
/// does not decode exactly is a miss.
///
/// Saving writes a unique temporary file next to the target (mkstemp), fsyncs it, renames it
/// over the target and fsyncs the directory: readers and a crash see the old file or the new
/// one, and of two processes saving at once, one's whole file remains. A directory that cannot
/// be synced (an I/O error, or one that cannot be opened; not a file system that cannot sync
/// directories at all) makes save throw, with the new file in place. On Linux the disk starts
/// writing each megabyte as soon as it is written (sync_file_range), so the fsync waits less.
/// The file replaced is freed on a thread of its own. A save locks its temporary file (flock)
/// until the rename; the temporary files of killed saves (unlocked, a minute old) are removed
/// by the next save to the same path.

#include <cstddef>
#include <cstdint>
#include <desync/detail/core/attributes.hpp>
#include <desync/detail/memo/cache.hpp>
#include <desync/detail/memo/record.hpp>
#include <desync/detail/memo/value.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace desync {

namespace detail {

/// A file still arriving: at most `total` bytes; `wait(n)` blocks until n bytes arrived (or the
/// file ended first) and returns how many did.
struct arriving_bytes {
    std::size_t total = 0;
    std::function<std::size_t(std::size_t)> wait;
};

/// Interns the set of functions called that a checked record holds; false if it is not one
/// (its entries unsorted, or its id not theirs).
DESYNC_DECL bool intern_dep_set(const cache_format::record_view& r);

/// Finds the whole records after the header; a damaged stretch counts once. Results go to
/// d.read (and `file` to d.files), sets of functions called are interned; records of a format older
/// than this build serves are only counted (d.outdated). Checking hashes each candidate record
/// whole, so the bytes hashed are bounded by a few times the file's size: a file crafted with a
/// record marker every few bytes, each claiming the rest of the file, still loads in linear time
/// (the rest of it then counts as damaged). With `arriving`, the file is still being read into
/// `file`: each record is checked once its bytes arrived. Returns the bytes it hashed.
DESYNC_DECL std::size_t scan_records(const std::shared_ptr<const file_bytes>& file,
                                     std::size_t from, std::uint64_t seed, std::uint32_t version,
                                     cache_data& d, const arriving_bytes* arriving = nullptr);

/// Asks for a result's cache lines ahead of their use: results live apart from each other,
/// and a save reads millions of them in turn.
DESYNC_DECL void prefetch(const memo_value* v) noexcept;

/// Appends one result's record; false (nothing appended) if its value cannot be encoded.
DESYNC_DECL bool put_record(std::string& out, const made_entry& e, std::uint64_t seed);

/// Appends the record of a set of functions called.
DESYNC_DECL void put_dep_set(std::string& out, const dep_set& s, std::uint64_t seed);

}  // namespace detail
}  // namespace desync

#if DESYNC_HEADER_ONLY
#include <desync/cache_file.ipp>
#endif
