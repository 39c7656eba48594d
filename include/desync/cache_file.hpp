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

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <desync/detail/cache/header.hpp>
#include <desync/detail/cache/io.hpp>
#include <desync/detail/memo/cache.hpp>
#include <desync/detail/memo/record.hpp>
#include <desync/detail/memo/value.hpp>
#include <desync/error.hpp>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace desync {

namespace detail {

/// Interns the set of functions called that a checked record holds; false if it is not one
/// (its entries unsorted, or its id not theirs).
inline bool intern_dep_set(const cache_format::record_view& r) {
    std::span<const std::byte> const value = r.value();
    if (value.empty() || value.size() % sizeof(dep_entry) != 0 || r.key().low != r.key().high)
        return false;  // an empty set is never written: a record with no calls refers to none
    std::vector<dep_entry> entries(value.size() / sizeof(dep_entry));
    std::memcpy(entries.data(), value.data(), value.size());
    if (!std::is_sorted(entries.begin(), entries.end()) ||
        std::adjacent_find(entries.begin(), entries.end()) != entries.end() ||
        dep_set::id_of(entries) != r.key().low)
        return false;
    return dep_sets::get().intern(std::move(entries)) != unverifiable_deps();
}

/// Finds the whole records after the header; a damaged stretch counts once. Results go to
/// d.read, sets of functions called are interned; records of a format older than this build
/// serves are only counted (d.outdated). Checking hashes each candidate record whole, so the
/// bytes hashed are bounded by a few times the file's size: a file crafted with a record marker
/// every few bytes, each claiming the rest of the file, still loads in linear time (the rest of
/// it then counts as damaged).
/// Returns the bytes it hashed.
inline std::size_t scan_records(const std::shared_ptr<const file_bytes>& file, std::size_t from,
                                std::uint64_t seed, std::uint32_t version, cache_data& d) {
    const std::byte* p = file->data.get() + from;
    const std::byte* const end = file->data.get() + file->size;
    bool const current = version >= cache_format::oldest_served_version;
    auto const layout = current ? cache_format::layout_v3 : cache_format::layout_v2;
    if (current) d.read.reserve(static_cast<std::size_t>(end - p) / cache_format::record_overhead);
    std::size_t const budget = 4 * file->size + 4096;
    std::size_t hashed = 0;
    bool damaged = false;
    while (p < end) {
        std::size_t const left = static_cast<std::size_t>(end - p);
        if (hashed > budget) {  // a file made of false starts: the rest is damage
            if (!damaged) ++d.dropped;
            break;
        }
        if (std::size_t n = cache_format::check_record(p, left, seed, hashed, layout)) {
            cache_format::record_view const r{p};
            if (!current)
                ++d.outdated;
            else if (r.type() != cache_format::dep_set_type)
                d.read.emplace_back(file, p);  // shares the file
            else if (!intern_dep_set(r))
                ++d.dropped;
            p += n;
            damaged = false;
            continue;
        }
        if (!damaged) ++d.dropped;
        damaged = true;
        p = cache_format::find_marker(p + 1, end);
    }
    return hashed;
}

/// Asks for a result's cache lines ahead of their use: results live apart from each other,
/// and a save reads millions of them in turn.
inline void prefetch(const memo_value* v) noexcept {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_prefetch(v);
    __builtin_prefetch(reinterpret_cast<const char*>(v) + sizeof(memo_value));  // the value
#else
    (void)v;
#endif
}

/// Appends one result's record; false (nothing appended) if its value cannot be encoded.
inline bool put_record(std::string& out, const made_entry& e, std::uint64_t seed) {
    const memo_value& v = *e.value;
    std::size_t const start = cache_format::begin_record(
        out, {e.key, v.type(), v.duration_ns, v.callee, deps_ref_of(v.deps)}, v.children);
    if (!v.encode(out)) {
        out.resize(start);
        return false;
    }
    cache_format::finish_record(out, start, seed);
    return true;
}

/// Appends the record of a set of functions called.
inline void put_dep_set(std::string& out, const dep_set& s, std::uint64_t seed) {
    std::size_t const start = cache_format::begin_record(
        out, {{s.id(), s.id()}, cache_format::dep_set_type, 0, 0, 0}, {});
    out.append(reinterpret_cast<const char*>(s.entries().data()),
               s.entries().size() * sizeof(dep_entry));
    cache_format::finish_record(out, start, seed);
}

}  // namespace detail

inline save_report cache::save(const std::filesystem::path& file, std::string_view salt) const {
    constexpr std::size_t chunk = std::size_t{1} << 20;
    detail::atomic_file out(file);
    std::string buf = detail::cache_format::make_header(salt);
    std::uint64_t const seed =
        detail::cache_format::record_seed(detail::cache_format::format_version, salt);
    buf.reserve(chunk + 4096);
    std::optional<detail::chunk_writer> writer;  // from the second chunk on
    auto flush = [&](std::size_t at_least) {
        if (buf.size() < at_least) return;
        if (at_least == 0 && !writer) return out.write(buf.data(), buf.size());
        if (!writer) writer.emplace(out);
        writer->put(buf);
        if (buf.capacity() < chunk) buf.reserve(chunk + 4096);
    };
    save_report report;
    // Each set of functions called goes just before the first record that refers to it, so that
    // a file cut short still serves every whole record before the cut.
    std::unordered_set<const detail::dep_set*> sets;
    auto put_set = [&](const detail::dep_set* s) {
        if (s && s != detail::unverifiable_deps() && sets.insert(s).second)
            detail::put_dep_set(buf, *s, seed);
    };
    if (data_) {
        const auto& made = data_->made;
        for (std::size_t i = 0; i < made.size(); ++i) {
            if (i + 16 < made.size()) detail::prefetch(made[i + 16].value.get());
            put_set(made[i].value->deps);  // a set of a result that is skipped costs little
            ++(detail::put_record(buf, made[i], seed) ? report.written : report.skipped);
            flush(chunk);
        }
        for (const detail::record_ptr& r : data_->read) {
            // Checked when loaded; its checksum made again for this file's salt and version.
            detail::cache_format::record_view const v{r.get()};
            if (v.deps_ref() > detail::no_deps_ref)
                put_set(detail::dep_sets::get().find(v.deps_ref()));
            detail::cache_format::copy_record(buf, v, seed);
            ++report.written;
            flush(chunk);
        }
    }
    flush(0);
    if (writer) writer->finish();
    out.commit();
    return report;
}

inline cache cache::load(const std::filesystem::path& file, std::string_view salt) {
    std::shared_ptr<const detail::file_bytes> bytes =
        std::make_shared<detail::file_bytes>(detail::read_file(file));
    auto const header = detail::cache_format::read_header({bytes->data.get(), bytes->size}, salt);
    if (header.size == 0)
        throw cache_error("desync: cannot use cache file '" + file.string() +
                          "': " + header.problem);
    auto d = std::make_shared<detail::cache_data>();
    detail::scan_records(bytes, header.size, header.seed, header.version, *d);
    return cache(std::move(d));
}

}  // namespace desync
